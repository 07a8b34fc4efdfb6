#include "Listener.hpp"

#include <cstring>

#include "Connection.hpp"

namespace keel::http {

Listener::Listener(std::string address, std::string host, std::uint16_t port, bool tls)
    : address_(std::move(address)), host_(std::move(host)), port_(port), tls_(tls) {
    sni_ = [this](std::string_view name) -> SSL_CTX* {
        Server& server = Server::get();
        if (server.host() == nullptr) return nullptr;
        keel_site* site =
            server.transport()->site_for(ctx(), keel_str{address_.data(), address_.size()},
                                         keel_str{name.data(), name.size()}, 1);
        if (site == nullptr) return nullptr;
        const keel_str siteName = server.transport()->site_name(site);
        auto it = tlsBySite_.find(std::string_view(siteName.ptr, siteName.len));
        return it == tlsBySite_.end() ? nullptr : it->second->get();
    };
}

Listener::~Listener() {
    close();
}

void Listener::open(uv_loop_t* loop) {
    sockaddr_storage address{};
    int rc = 0;
    if (host_.empty()) {
        // Every interface: IPv6 with IPv4 mapped where the system has IPv6, else IPv4.
        rc = uv_ip6_addr("::", port_, reinterpret_cast<sockaddr_in6*>(&address));
    } else if (host_.find(':') != std::string::npos) {
        rc = uv_ip6_addr(host_.c_str(), port_, reinterpret_cast<sockaddr_in6*>(&address));
    } else {
        rc = uv_ip4_addr(host_.c_str(), port_, reinterpret_cast<sockaddr_in*>(&address));
    }
    if (rc != 0)
        throw ConfigError("listener " + address_ + ": not an IP address: " + uv_strerror(rc));
    handle_ = new uv_tcp_t;
    uv_tcp_init(loop, handle_);
    handle_->data = this;
    auto fail = [&](int code) {
        uv_close(reinterpret_cast<uv_handle_t*>(handle_),
                 [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
        handle_ = nullptr;
        throw ConfigError("cannot listen on " + address_ + ": " + uv_strerror(code));
    };
    rc = uv_tcp_bind(handle_, reinterpret_cast<const sockaddr*>(&address), 0);
    if (rc == UV_EAFNOSUPPORT && host_.empty()) {
        uv_ip4_addr("0.0.0.0", port_, reinterpret_cast<sockaddr_in*>(&address));
        rc = uv_tcp_bind(handle_, reinterpret_cast<const sockaddr*>(&address), 0);
    }
    if (rc != 0) fail(rc);
    // The kernel caps the backlog at net.core.somaxconn.
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(handle_), 4096, &Listener::onConnection);
    if (rc != 0) fail(rc);
    sockaddr_storage bound{};
    int length = sizeof bound;
    if (uv_tcp_getsockname(handle_, reinterpret_cast<sockaddr*>(&bound), &length) == 0)
        boundPort_ =
            ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    closed_ = false;
}

void Listener::close() {
    if (handle_ == nullptr) {
        closed_ = true;
        return;
    }
    closed_ = true;
    handle_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(handle_),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
    handle_ = nullptr;
}

std::string Listener::boundText() const {
    const std::string port = std::to_string(boundPort_);
    if (host_.empty()) return "*:" + port;
    if (host_.find(':') != std::string::npos) return "[" + host_ + "]:" + port;
    return host_ + ":" + port;
}

void Listener::setTls(std::map<std::string, TlsContextPtr, std::less<>> bySite,
                      std::string defaultSite) {
    tlsBySite_ = std::move(bySite);
    auto it = tlsBySite_.find(defaultSite);
    if (it != tlsBySite_.end())
        defaultTls_ = it->second;
    else if (!tlsBySite_.empty())
        defaultTls_ = tlsBySite_.begin()->second;
    else
        defaultTls_.reset();
}

void Listener::onConnection(uv_stream_t* handle, int status) {
    auto* self = static_cast<Listener*>(handle->data);
    if (self == nullptr) return;
    Server& server = Server::get();
    if (status < 0) {
        server.log(self->ctx(), KEEL_LOG_WARN,
                   "accept on " + self->address_ + " failed: " + uv_strerror(status));
        return;
    }
    invoke(self->ctx(), "connection", [&] {
        auto* connection = new Connection(self->shared_from_this());
        connection->accept(handle);
    });
}

} // namespace keel::http
