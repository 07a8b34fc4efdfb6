#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "Pipeline.hpp"

namespace keel::kernel {

/// Where and for whom a site answers (from its manifest, or --listen).
struct SiteListener {
    std::string address; // "127.0.0.1:8080", "[::1]:8443", "0.0.0.0:80": the transport's key
    std::string host;
    std::uint16_t port = 0;
    std::string tlsCert;
    std::string tlsKey;
};

struct SiteInfo {
    std::string name;
    std::string dir; // absolute: relative paths in the site's configs resolve against it
    std::vector<SiteListener> listeners;
    std::vector<std::string> hosts; // "example.com", "*.example.com"; empty: any host
    bool isDefault = false;
    bool development = false;
};

} // namespace keel::kernel

/// The ABI's keel_site: one named site. Its compiled configuration is swapped by reloads;
/// the object itself lives as long as the process (a transport may hold it across a reload).
struct keel_site {
    keel::kernel::SiteInfo info;
    keel::kernel::CompiledSitePtr current;
    bool retired = false;
    bool staged = false; // listed while its plugins start; put() makes it live
};

namespace keel::kernel {

/// The process's sites, as transports see them: lookup by listener address and Host, and
/// their description as JSON. Loop thread only.
class Sites {
public:
    /// Adds or updates the site `info.name` with a newly compiled configuration; requests in
    /// flight keep the one they started with.
    keel_site* put(SiteInfo info, CompiledSitePtr compiled);
    /// Lists a site that is starting (its plugins' start() runs next) in sites_json, so a
    /// transport can open its listeners from start() and fail the start when it cannot. No
    /// request reaches it until put(). Does nothing when the site already runs.
    void stage(SiteInfo info);
    /// Takes back a stage() whose start failed (a running site is left alone).
    void unstage(const std::string& name);
    /// Takes a site out of service (a reload removed it).
    void retire(const std::string& name);
    keel_site* find(std::string_view name) const;
    std::vector<keel_site*> all() const;

    /// The site for a listener and a Host header: exact host, then the longest wildcard,
    /// then a site without host names; unless `exactOnly`, then the address's `default`
    /// site, then its first site. nullptr when none.
    keel_site* siteFor(std::string_view address, std::string_view host, bool exactOnly) const;
    /// The sites and their listeners as JSON (see keel_transport_api.sites_json).
    const std::string& json() const { return json_; }

private:
    void rebuild();

    std::vector<std::unique_ptr<keel_site>> sites_; // never freed before the process ends
    std::map<std::string, std::vector<keel_site*>, std::less<>> byAddress_;
    std::string json_ = "[]";
};

/// Lower-cases a Host header and drops its port and a trailing dot ("Example.COM.:80" -> "example.com").
std::string normalizeHost(std::string_view host);

} // namespace keel::kernel
