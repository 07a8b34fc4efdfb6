#pragma once

// One listening address ("127.0.0.1:8080", "[::1]:8443", ":80"), shared by every site that
// lists it: accepts connections, knows the TLS contexts of its sites (SNI picks one per
// connection), and the settings of its default site, which govern what happens before a
// request's Host has chosen a site (header limits, the connection cap). Loop thread only.

#include <keel/abi.h>
#include <uv.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "Server.hpp"
#include "Tls.hpp"

namespace keel::http {

class Listener : public std::enable_shared_from_this<Listener> {
public:
    /// `host` "" listens on every interface (IPv6 and IPv4 where the system allows).
    Listener(std::string address, std::string host, std::uint16_t port, bool tls);
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    /// Binds and listens. Throws ConfigError naming the address and the reason.
    void open(uv_loop_t* loop);
    /// Stops accepting (the handle closes); connections already accepted finish.
    void close();

    const std::string& address() const { return address_; }
    bool tls() const { return tls_; }
    bool closed() const { return closed_; }
    /// The port the system gave (the configured one unless that was 0).
    std::uint16_t boundPort() const { return boundPort_; }
    /// "127.0.0.1:PORT", "[::1]:PORT", "*:PORT".
    std::string boundText() const;

    // --- who uses it ----------------------------------------------------------------------
    std::vector<Member*> users;
    /// The context for callbacks: a user's, else the last user's (whose stop waits for the
    /// connections still running here).
    keel_ctx* ctx() const { return users.empty() ? lastCtx_ : users.front()->ctx; }
    void setLastCtx(keel_ctx* ctx) { lastCtx_ = ctx; }

    // --- settings -----------------------------------------------------------------------
    const SiteSettingsPtr& defaults() const { return defaults_; }
    void setDefaults(SiteSettingsPtr settings) { defaults_ = std::move(settings); }
    const Limits& limits() const { return defaults_->config.limits; }

    // --- TLS ----------------------------------------------------------------------------
    /// The contexts by site name, and the default site's name.
    void setTls(std::map<std::string, TlsContextPtr, std::less<>> bySite, std::string defaultSite);
    SSL_CTX* defaultTls() const { return defaultTls_ ? defaultTls_->get() : nullptr; }
    const SniResolver* sni() const { return &sni_; }
    const std::map<std::string, TlsContextPtr, std::less<>>& tlsBySite() const {
        return tlsBySite_;
    }

    // --- the sites of Host names ---------------------------------------------------------
    /// The site a Host header chose lately, while `generation` (Server::generation(), which
    /// moves whenever sites or settings change) is current: most connections send one Host,
    /// and a lookup by the kernel costs a lower-cased copy and a scan of the address's sites.
    bool cachedSite(std::string_view host, std::uint64_t generation, keel_site*& site,
                    SiteSettingsPtr& settings) const {
        for (const auto& c : hostCache_)
            if (c.site != nullptr && c.generation == generation && c.host == host) {
                site = c.site;
                settings = c.settings;
                return true;
            }
        return false;
    }
    void rememberSite(std::string_view host, std::uint64_t generation, keel_site* site,
                      SiteSettingsPtr settings) {
        if (host.size() > 255) return;
        CachedHost& c = hostCache_[nextCached_++ % hostCache_.size()];
        c.host.assign(host);
        c.generation = generation;
        c.site = site;
        c.settings = std::move(settings);
    }

    // --- connections --------------------------------------------------------------------
    std::size_t connections = 0;

private:
    static void onConnection(uv_stream_t* handle, int status);

    std::string address_;
    std::string host_;
    std::uint16_t port_;
    std::uint16_t boundPort_ = 0;
    bool tls_;
    bool closed_ = true;
    uv_tcp_t* handle_ = nullptr;
    keel_ctx* lastCtx_ = nullptr;
    SiteSettingsPtr defaults_;
    std::map<std::string, TlsContextPtr, std::less<>> tlsBySite_;
    TlsContextPtr defaultTls_;
    SniResolver sni_;
    struct CachedHost {
        std::string host;
        std::uint64_t generation = 0;
        keel_site* site = nullptr;
        SiteSettingsPtr settings;
    };
    std::array<CachedHost, 4> hostCache_;
    unsigned nextCached_ = 0;
};

} // namespace keel::http
