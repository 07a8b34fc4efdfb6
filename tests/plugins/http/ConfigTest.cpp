#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>

#include "Config.hpp"

using namespace keel::http;

namespace {

bool contains(const char* network, const char* address) {
    const Cidr cidr = Cidr::parse(network);
    unsigned char bytes[16];
    if (::inet_pton(AF_INET, address, bytes) == 1) return cidr.contains(AF_INET, bytes);
    ::inet_pton(AF_INET6, address, bytes);
    return cidr.contains(AF_INET6, bytes);
}

std::string errorOf(const std::string& json) {
    try {
        Config::parse(json);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

} // namespace

class ConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ConfigTest);
    CPPUNIT_TEST(testDefaults);
    CPPUNIT_TEST(testEverything);
    CPPUNIT_TEST(testErrorsNameTheKey);
    CPPUNIT_TEST(testCidr);
    CPPUNIT_TEST_SUITE_END();

public:
    void testDefaults() {
        const Config c = Config::parse("{}");
        CPPUNIT_ASSERT_EQUAL(16384u, c.limits.headerBytes);
        CPPUNIT_ASSERT_EQUAL(100u, c.limits.headerCount);
        CPPUNIT_ASSERT_EQUAL(8192u, c.limits.urlBytes);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(10000), c.limits.headersTimeoutMs);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(5000), c.limits.keepaliveTimeoutMs);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(30000), c.limits.bodyIdleTimeoutMs);
        CPPUNIT_ASSERT_EQUAL(10000u, c.limits.maxConnections);
        CPPUNIT_ASSERT(c.unknownHost == UnknownHost::useDefault);
        CPPUNIT_ASSERT(!c.accessLog);
        CPPUNIT_ASSERT(c.trustedProxies.empty());
        CPPUNIT_ASSERT(c.echoRequestId);
    }

    void testEverything() {
        const Config c = Config::parse(
            R"({"limits": {"header_bytes": 4096, "header_count": 20, "url_bytes": 1024,
            "headers_timeout_ms": 500, "keepalive_timeout_ms": 0, "body_idle_timeout_ms": 700, "max_connections": 3},
            "unknown_host": "421", "access_log": {"path": "/tmp/a.log", "format": "json"},
            "trusted_proxies": ["10.0.0.0/8", "::1"], "echo_request_id": false})");
        CPPUNIT_ASSERT_EQUAL(4096u, c.limits.headerBytes);
        CPPUNIT_ASSERT_EQUAL(20u, c.limits.headerCount);
        CPPUNIT_ASSERT_EQUAL(1024u, c.limits.urlBytes);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(500), c.limits.headersTimeoutMs);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), c.limits.keepaliveTimeoutMs);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(700), c.limits.bodyIdleTimeoutMs);
        CPPUNIT_ASSERT_EQUAL(3u, c.limits.maxConnections);
        CPPUNIT_ASSERT(c.unknownHost == UnknownHost::misdirected);
        CPPUNIT_ASSERT(c.accessLog && c.accessLog->format == AccessLogConfig::Format::json);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), c.trustedProxies.size());
        CPPUNIT_ASSERT(!c.echoRequestId);
        CPPUNIT_ASSERT(Config::parse(R"({"unknown_host": "404"})").unknownHost ==
                       UnknownHost::notFound);
    }

    void testErrorsNameTheKey() {
        CPPUNIT_ASSERT(errorOf(R"({"limits": {"url_bytes": 20000}})").find("limits.url_bytes") !=
                       std::string::npos);
        CPPUNIT_ASSERT(errorOf(R"({"limits": {"header_bytes": 10}})")
                           .find("limits.header_bytes: expected an integer from 256") !=
                       std::string::npos);
        CPPUNIT_ASSERT(errorOf(R"({"trusted_proxies": ["10.0.0.0/33"]})")
                           .find("prefix length must be 0 to 32") != std::string::npos);
        CPPUNIT_ASSERT(
            errorOf(R"({"trusted_proxies": ["example.com"]})").find("not an IP address") !=
            std::string::npos);
        CPPUNIT_ASSERT(errorOf(R"({"unknown_host": "500"})").find("unknown_host") !=
                       std::string::npos);
    }

    void testCidr() {
        CPPUNIT_ASSERT(contains("10.0.0.0/8", "10.1.2.3"));
        CPPUNIT_ASSERT(!contains("10.0.0.0/8", "11.1.2.3"));
        CPPUNIT_ASSERT(contains("192.168.1.0/25", "192.168.1.127"));
        CPPUNIT_ASSERT(!contains("192.168.1.0/25", "192.168.1.128"));
        CPPUNIT_ASSERT(contains("127.0.0.1", "127.0.0.1"));
        CPPUNIT_ASSERT(
            contains("127.0.0.1", "::ffff:127.0.0.1")); // a dual-stack socket's IPv4 client
        CPPUNIT_ASSERT(contains("::1", "::1"));
        CPPUNIT_ASSERT(!contains("::1", "127.0.0.1"));
        CPPUNIT_ASSERT(contains("2001:db8::/32", "2001:db8:1::5"));
        CPPUNIT_ASSERT(contains("0.0.0.0/0", "8.8.8.8"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigTest);
