#pragma once

// The http plugin's configuration, one per site (the plugin's "config" in the site
// manifest): parsed and checked here, used by the runtime files as plain values. The kernel
// has already checked the JSON against the manifest's schema; this adds what a schema cannot
// say (CIDR syntax, limits that only make sense together) with messages naming the key.

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keel::http {

class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What the server accepts from a client before it refuses it. The defaults are safe for a
/// public server (nginx's and Node's, rounded).
struct Limits {
    std::uint32_t headerBytes = 16 * 1024; // request line + header block, else 431
    std::uint32_t headerCount = 100;       // else 431
    std::uint32_t urlBytes = 8 * 1024;     // else 414
    std::uint64_t headersTimeoutMs =
        10000; // from the first byte (or accept) to the end of the headers: 408
    std::uint64_t keepaliveTimeoutMs = 5000; // idle between requests: closed silently
    std::uint64_t bodyIdleTimeoutMs =
        30000; // no body byte (or no write progress) for this long: 408 / closed
    std::uint32_t maxConnections = 10000; // per process; more are closed at accept
};

/// What an unknown Host gets on an address: the address's default site, or a refusal.
enum class UnknownHost { useDefault, misdirected, notFound };

struct AccessLogConfig {
    enum class Format { combined, json };
    std::string path;
    Format format = Format::combined;
};

/// An IPv4 or IPv6 network ("10.0.0.0/8", "::1/128", "192.168.1.7").
struct Cidr {
    int family = AF_INET;
    unsigned char bytes[16] = {};
    unsigned prefix = 0;

    /// Throws ConfigError naming the text.
    static Cidr parse(std::string_view text);
    /// Whether the address (`family` AF_INET with 4 bytes, or AF_INET6 with 16, IPv4-mapped
    /// IPv6 included) lies in the network.
    bool contains(int family, const unsigned char* address) const;
};

struct Config {
    Limits limits;
    UnknownHost unknownHost = UnknownHost::useDefault;
    std::optional<AccessLogConfig> accessLog;
    std::vector<Cidr> trustedProxies;
    bool echoRequestId = true; // X-Request-Id in every response

    /// Parses the instance's config JSON (already schema-checked). Throws ConfigError.
    static Config parse(std::string_view json);
    /// Whether the peer is a trusted proxy (its X-Request-Id and X-Forwarded-For are believed).
    bool trusts(int family, const unsigned char* address) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

} // namespace keel::http
