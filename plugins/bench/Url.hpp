#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace keel::bench {

/// An http:// or https:// URL split the way a client needs it: where to connect (host, port,
/// TLS) and what to put on the request line (target).
struct Url {
    bool tls = false;
    std::string host;          // without the brackets of an IPv6 literal
    std::uint16_t port = 80;
    std::string target = "/";  // path and query, as sent on the request line

    /// Throws std::invalid_argument naming what is wrong ("expected http:// or https://").
    static Url parse(std::string_view text);

    /// `ref` against this URL the way artillery joins config.target and a step's url: an
    /// absolute URL stands alone, anything else is appended to this URL's path.
    Url resolve(std::string_view ref) const;

    /// host[:port] with the port left out when it is the scheme's default: the Host header.
    std::string authority() const;
    std::string origin() const;
    std::string toString() const { return origin() + target; }
    bool sameEndpoint(const Url& other) const { return tls == other.tls && port == other.port && host == other.host; }
};

} // namespace keel::bench
