#include "Config.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace keel::http {

namespace {

using Poco::JSON::Object;

std::uint64_t number(const Object::Ptr& obj, const std::string& key, std::uint64_t fallback,
                     std::uint64_t min, std::uint64_t max, const std::string& path) {
    if (!obj->has(key)) return fallback;
    const auto value = obj->get(key);
    if (!value.isInteger() || value.isBoolean())
        throw ConfigError(path + key + ": expected an integer");
    const std::int64_t n = value.convert<std::int64_t>();
    if (n < static_cast<std::int64_t>(min) || static_cast<std::uint64_t>(n) > max)
        throw ConfigError(path + key + ": expected an integer from " + std::to_string(min) +
                          " to " + std::to_string(max) + ", found " + std::to_string(n));
    return static_cast<std::uint64_t>(n);
}

} // namespace

Cidr Cidr::parse(std::string_view text) {
    Cidr c;
    const auto slash = text.find('/');
    const std::string ip(text.substr(0, slash));
    if (::inet_pton(AF_INET, ip.c_str(), c.bytes) == 1) {
        c.family = AF_INET;
        c.prefix = 32;
    } else if (::inet_pton(AF_INET6, ip.c_str(), c.bytes) == 1) {
        c.family = AF_INET6;
        c.prefix = 128;
    } else {
        throw ConfigError("trusted_proxies: \"" + std::string(text) +
                          "\" is not an IP address or network; expected a form such as "
                          "\"10.0.0.0/8\" or \"::1\"");
    }
    if (slash != std::string_view::npos) {
        const std::string_view bits = text.substr(slash + 1);
        unsigned prefix = 0;
        auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
        if (ec != std::errc() || end != bits.data() + bits.size() || bits.empty() ||
            prefix > c.prefix)
            throw ConfigError("trusted_proxies: \"" + std::string(text) +
                              "\": the prefix length must be 0 to " + std::to_string(c.prefix));
        c.prefix = prefix;
    }
    return c;
}

bool Cidr::contains(int addressFamily, const unsigned char* address) const {
    if (addressFamily == AF_INET6 && family == AF_INET) {
        // ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket.
        static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(address, kMapped, 12) != 0) return false;
        address += 12;
        addressFamily = AF_INET;
    }
    if (addressFamily != family) return false;
    const unsigned whole = prefix / 8;
    if (std::memcmp(address, bytes, whole) != 0) return false;
    const unsigned rest = prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (address[whole] & mask) == (bytes[whole] & mask);
}

Config Config::parse(std::string_view json) {
    Config c;
    Object::Ptr root;
    try {
        Poco::JSON::Parser parser;
        root = parser.parse(std::string(json.empty() ? std::string_view("{}") : json))
                   .extract<Object::Ptr>();
    } catch (const Poco::Exception& e) {
        throw ConfigError("invalid configuration JSON: " + e.displayText());
    }
    if (root->has("limits")) {
        const auto limits = root->getObject("limits");
        if (!limits) throw ConfigError("limits: expected an object");
        const std::string at = "limits.";
        Limits& l = c.limits;
        l.headerBytes = static_cast<std::uint32_t>(
            number(limits, "header_bytes", l.headerBytes, 256, 1 << 20, at));
        l.headerCount =
            static_cast<std::uint32_t>(number(limits, "header_count", l.headerCount, 1, 10000, at));
        l.urlBytes =
            static_cast<std::uint32_t>(number(limits, "url_bytes", l.urlBytes, 16, 1 << 20, at));
        l.headersTimeoutMs =
            number(limits, "headers_timeout_ms", l.headersTimeoutMs, 1, 3600000, at);
        l.keepaliveTimeoutMs =
            number(limits, "keepalive_timeout_ms", l.keepaliveTimeoutMs, 0, 3600000, at);
        l.bodyIdleTimeoutMs =
            number(limits, "body_idle_timeout_ms", l.bodyIdleTimeoutMs, 1, 3600000, at);
        l.maxConnections = static_cast<std::uint32_t>(
            number(limits, "max_connections", l.maxConnections, 1, 10000000, at));
        if (l.urlBytes > l.headerBytes)
            throw ConfigError("limits.url_bytes (" + std::to_string(l.urlBytes) +
                              ") cannot exceed limits.header_bytes (" +
                              std::to_string(l.headerBytes) +
                              "): the request line is part of the header block");
    }
    if (root->has("unknown_host")) {
        const std::string policy = root->getValue<std::string>("unknown_host");
        if (policy == "default")
            c.unknownHost = UnknownHost::useDefault;
        else if (policy == "421")
            c.unknownHost = UnknownHost::misdirected;
        else if (policy == "404")
            c.unknownHost = UnknownHost::notFound;
        else
            throw ConfigError("unknown_host: expected \"default\", \"421\" or \"404\", found \"" +
                              policy + "\"");
    }
    if (root->has("access_log")) {
        const auto log = root->getObject("access_log");
        if (!log)
            throw ConfigError(
                "access_log: expected an object such as {\"path\": \"/var/log/keel/access.log\"}");
        AccessLogConfig a;
        if (!log->has("path"))
            throw ConfigError("access_log.path: missing; expected the log file's path");
        a.path = log->getValue<std::string>("path");
        if (a.path.empty())
            throw ConfigError("access_log.path: expected the log file's path, found \"\"");
        if (log->has("format")) {
            const std::string format = log->getValue<std::string>("format");
            if (format == "combined")
                a.format = AccessLogConfig::Format::combined;
            else if (format == "json")
                a.format = AccessLogConfig::Format::json;
            else
                throw ConfigError("access_log.format: expected \"combined\" or \"json\", found \"" +
                                  format + "\"");
        }
        c.accessLog = std::move(a);
    }
    if (root->has("trusted_proxies")) {
        const auto list = root->getArray("trusted_proxies");
        if (!list)
            throw ConfigError("trusted_proxies: expected a list such as [\"10.0.0.0/8\", \"::1\"]");
        for (const auto& item : *list)
            c.trustedProxies.push_back(Cidr::parse(item.toString()));
    }
    if (root->has("echo_request_id")) c.echoRequestId = root->getValue<bool>("echo_request_id");
    return c;
}

bool Config::trusts(int family, const unsigned char* address) const {
    for (const auto& net : trustedProxies)
        if (net.contains(family, address)) return true;
    return false;
}

} // namespace keel::http
