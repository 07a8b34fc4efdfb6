// The respond and redirect handlers, through the SDK's in-process test client, and their
// configuration checks.
#include <cppunit/extensions/HelperMacros.h>

#include <keel/testing/TestClient.hpp>

#include "Handlers.hpp"

using keel::http::RedirectState;
using keel::http::RespondState;
using keel::testing::TestClient;

namespace {

const std::vector<std::string> kPluginPath{KEEL_PLUGIN_DIR};

std::string site(const std::string& routes) {
    return R"({"name": "h", "listeners": [{"address": "127.0.0.1:0"}], "plugins": {"http": "^0.1.0"},
               "routes": [)" +
           routes + "]}";
}

std::string refusal(const std::string& routes) {
    try {
        TestClient::fromJson(site(routes), ".", kPluginPath);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

std::string parseError(const std::string& json, bool redirect = false) {
    try {
        if (redirect)
            RedirectState::parse(json);
        else
            RespondState::parse(json);
    } catch (const std::exception& e) {
        return e.what();
    }
    return "";
}

bool has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

} // namespace

class HandlersTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(HandlersTest);
    CPPUNIT_TEST(testRespond);
    CPPUNIT_TEST(testManyHeadersThenFew);
    CPPUNIT_TEST(testRedirect);
    CPPUNIT_TEST(testConfigurationErrors);
    CPPUNIT_TEST_SUITE_END();

public:
    void testRespond() {
        TestClient client = TestClient::fromJson(
            site(R"({"path": "/plain", "use": "respond", "config": {"body": "Hello World!"}},
                    {"path": "/json", "use": "respond", "config": {"status": 201, "body": "{}", "content_type": "application/json",
                     "headers": {"Cache-Control": "no-cache", "X-Thing": "yes"}}},
                    {"path": "/empty", "use": "respond", "config": {"status": 204}})"),
            ".", kPluginPath);
        auto res = client.get("/plain");
        CPPUNIT_ASSERT_EQUAL(200, res.status);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), res.body);
        CPPUNIT_ASSERT_EQUAL(std::string("text/plain; charset=utf-8"),
                             res.header("Content-Type").value_or(""));
        res = client.get("/json");
        CPPUNIT_ASSERT_EQUAL(201, res.status);
        CPPUNIT_ASSERT_EQUAL(std::string("application/json"),
                             res.header("Content-Type").value_or(""));
        CPPUNIT_ASSERT_EQUAL(std::string("no-cache"), res.header("Cache-Control").value_or(""));
        CPPUNIT_ASSERT_EQUAL(std::string("yes"), res.header("X-Thing").value_or(""));
        res = client.get("/empty");
        CPPUNIT_ASSERT_EQUAL(204, res.status);
        CPPUNIT_ASSERT(!res.header("Content-Type"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), res.body);
    }

    // More response headers than the kernel keeps on the stack for a head (16), then a
    // request reusing the first one's recycled buffers: nothing of the first leaks into it.
    void testManyHeadersThenFew() {
        std::string headers;
        for (int i = 1; i <= 20; ++i)
            headers += std::string(i > 1 ? ", " : "") + "\"X-H" + std::to_string(i) + "\": \"value " + std::to_string(i) + "\"";
        TestClient client = TestClient::fromJson(
            site(R"({"path": "/many", "use": "respond", "config": {"body": "m", "headers": {)" + headers + R"(}}},
                    {"path": "/few", "use": "respond", "config": {"body": "f"}})"),
            ".", kPluginPath);
        for (int round = 0; round < 3; ++round) {
            auto res = client.get("/many");
            CPPUNIT_ASSERT_EQUAL(200, res.status);
            for (int i = 1; i <= 20; ++i)
                CPPUNIT_ASSERT_EQUAL("value " + std::to_string(i), res.header("X-H" + std::to_string(i)).value_or(""));
            res = client.get("/few?a=%41");
            CPPUNIT_ASSERT_EQUAL(200, res.status);
            CPPUNIT_ASSERT_EQUAL(std::string("f"), res.body);
            CPPUNIT_ASSERT(!res.header("X-H1"));
            CPPUNIT_ASSERT(!res.header("X-H20"));
        }
    }

    void testRedirect() {
        TestClient client = TestClient::fromJson(
            site(
                R"({"path": "/old/", "use": "redirect", "config": {"to": "https://example.com/new{path}{query}", "status": 308}},
                    {"path": "/home", "use": "redirect", "config": {"to": "/"}})"),
            ".", kPluginPath);
        auto res = client.get("/old/a%20b?x=1&y=2");
        CPPUNIT_ASSERT_EQUAL(308, res.status);
        CPPUNIT_ASSERT_EQUAL(std::string("https://example.com/new/old/a%20b?x=1&y=2"),
                             res.header("Location").value_or(""));
        res = client.get("/home");
        CPPUNIT_ASSERT_EQUAL(302, res.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/"), res.header("Location").value_or(""));
        CPPUNIT_ASSERT_EQUAL(
            std::string("https://x/p"),
            RedirectState::parse(R"({"to": "https://x{path}"})").location("http://h/p#f"));
        CPPUNIT_ASSERT_EQUAL(
            std::string("/n?q=1"),
            RedirectState::parse(R"({"to": "/n{query}"})").location("/o?q=1#frag"));
    }

    void testConfigurationErrors() {
        // The manifest's schemas, checked by the kernel.
        CPPUNIT_ASSERT(
            has(refusal(R"({"path": "/", "use": "respond", "config": {"status": 99}})"), "status"));
        CPPUNIT_ASSERT(has(refusal(R"({"path": "/", "use": "redirect", "config": {}})"), "to"));
        CPPUNIT_ASSERT(has(
            refusal(R"({"path": "/", "use": "redirect", "config": {"to": "/", "status": 200}})"),
            "status"));
        // What only the handlers know.
        CPPUNIT_ASSERT(has(
            refusal(
                R"({"path": "/", "use": "respond", "config": {"headers": {"Content-Length": "5"}}})"),
            "headers.Content-Length: the server sets this header itself"));
        CPPUNIT_ASSERT(
            has(parseError(R"({"headers": {"Bad Name": "x"}})"), "is not a valid header name"));
        CPPUNIT_ASSERT(has(parseError(R"({"headers": {"X-A": "a\r\nb"}})"), "control characters"));
        CPPUNIT_ASSERT(
            has(parseError(R"({"headers": {"X-A": 5}})"), "headers.X-A: expected a string"));
        CPPUNIT_ASSERT(
            has(parseError(R"({"status": 304, "body": "x"})"), "a 304 response has no body"));
        CPPUNIT_ASSERT(has(parseError(R"({"to": "a\nb"})", true), "without control characters"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(HandlersTest);
