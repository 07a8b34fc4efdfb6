#include <cppunit/extensions/HelperMacros.h>

#include <keel/testing/TestClient.hpp>

using keel::testing::Request;
using keel::testing::TestClient;

namespace {

const std::vector<std::string> kPluginPath{KEEL_PLUGIN_DIR};

std::string site(const std::string& mode = "production", const std::string& extraRoutes = "") {
    return R"({
        // a site made for the pipeline tests
        "name": "t", "mode": ")" + mode + R"(",
        "listeners": [{"address": "127.0.0.1:0"}],
        "plugins": {"hello": "^0.1.0"},
        "middleware": [{"use": "stamp", "config": {"value": "site"}}],
        "routes": [
            {"path": "/greet/:name", "methods": ["GET"], "use": "greet"},
            {"path": "/greet", "use": "greet", "config": {"greeting": "Bonjour"}},
            {"path": "/items/:id", "methods": ["POST", "PUT"], "use": "echo", "body_limit": 64},
            {"path": "/items/special", "methods": ["GET"], "use": "greet"},
            {"path": "/files/*", "use": "echo"},
            {"path": "/echo", "use": "echo"},
            {"path": "/teapot", "use": "fail"},
            {"path": "/crash", "use": "fail", "config": {"kind": "exception"}},
            {"path": "/slow", "use": "slow", "config": {"delay_ms": 30}})" + extraRoutes + R"(
        ]
    })";
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

bool logged(const TestClient& client, const std::string& needle) {
    for (const auto& line : client.logs())
        if (has(line, needle)) return true;
    return false;
}

} // namespace

class HelloSiteTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(HelloSiteTest);
    CPPUNIT_TEST(testRoutesParamsAndQuery);
    CPPUNIT_TEST(testStaticBeforeParamAndMethodFallThrough);
    CPPUNIT_TEST(testMiddlewareRunsForEveryRequest);
    CPPUNIT_TEST(testNotFoundAndMethodNotAllowed);
    CPPUNIT_TEST(testBadTargetsAreRefused);
    CPPUNIT_TEST(testErrorHandlerInProduction);
    CPPUNIT_TEST(testErrorHandlerInDevelopment);
    CPPUNIT_TEST(testBodies);
    CPPUNIT_TEST(testBodyLimitAndContinue);
    CPPUNIT_TEST(testHeadHasNoBody);
    CPPUNIT_TEST(testPendingStepAndAbort);
    CPPUNIT_TEST(testReloadSwapsBetweenRequests);
    CPPUNIT_TEST(testBadReloadKeepsServing);
    CPPUNIT_TEST(testReloadWithRequestsInFlight);
    CPPUNIT_TEST_SUITE_END();

public:
    void testRoutesParamsAndQuery() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        auto res = client.get("/greet/Ada");
        CPPUNIT_ASSERT_EQUAL(200, res.status);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, Ada!"), res.body);
        CPPUNIT_ASSERT_EQUAL(std::string("11"), res.header("content-length").value_or(""));
        CPPUNIT_ASSERT_EQUAL(std::string("Bonjour, Bob Li!"), client.get("/greet?name=Bob+Li").body);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, Adé!"), client.get("/greet/Ad%C3%A9").body);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, a b!"), client.get("http://example.com/greet/a%20b?x=1").body);
        auto files = client.get("/files/css/site.css?v=2");
        CPPUNIT_ASSERT(has(files.body, "\"rest\":\"css/site.css\""));
        CPPUNIT_ASSERT(has(files.body, "\"query\":\"v=2\""));
    }

    void testStaticBeforeParamAndMethodFallThrough() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, world!"), client.get("/items/special").body);
        // POST /items/special: the static route takes only GET, the param route takes POST.
        auto res = client.post("/items/special", "{}");
        CPPUNIT_ASSERT_EQUAL(200, res.status);
        CPPUNIT_ASSERT(has(res.body, "\"id\":\"special\""));
    }

    void testMiddlewareRunsForEveryRequest() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        CPPUNIT_ASSERT_EQUAL(std::string("site"), client.get("/greet/x").header("X-Hello-Stamp").value_or(""));
        CPPUNIT_ASSERT_EQUAL(std::string("site"), client.get("/nowhere").header("X-Hello-Stamp").value_or(""));
        CPPUNIT_ASSERT(has(client.post("/echo", "").body, "\"stamp\":\"site\""));
    }

    void testNotFoundAndMethodNotAllowed() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        auto missing = client.get("/nowhere");
        CPPUNIT_ASSERT_EQUAL(404, missing.status);
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"success":false,"code":"NOT_FOUND","message":"no route for GET /nowhere"})"),
                             missing.body);
        CPPUNIT_ASSERT_EQUAL(std::string("application/json; charset=utf-8"), missing.header("Content-Type").value_or(""));
        Request del;
        del.method = "DELETE";
        del.target = "/items/7";
        auto notAllowed = client.request(del);
        CPPUNIT_ASSERT_EQUAL(405, notAllowed.status);
        CPPUNIT_ASSERT_EQUAL(std::string("POST, PUT"), notAllowed.header("Allow").value_or(""));
        CPPUNIT_ASSERT(has(notAllowed.body, "\"code\":\"METHOD_NOT_ALLOWED\""));
    }

    void testBadTargetsAreRefused() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        for (const char* target : {"/greet/a%00b", "/greet/%zz", "/greet/%4", "relative"}) {
            auto res = client.get(target);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(target, 400, res.status);
            CPPUNIT_ASSERT(has(res.body, "\"code\":\"BAD_REQUEST\""));
            CPPUNIT_ASSERT_EQUAL(std::string("close"), res.header("Connection").value_or(""));
        }
    }

    void testErrorHandlerInProduction() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        auto teapot = client.get("/teapot");
        CPPUNIT_ASSERT_EQUAL(418, teapot.status);
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"success":false,"code":"TEAPOT","message":"I refuse to brew coffee"})"), teapot.body);
        auto crash = client.get("/crash");
        CPPUNIT_ASSERT_EQUAL(500, crash.status);
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"success":false,"code":"INTERNAL_ERROR","message":"Internal Server Error"})"),
                             crash.body);
        CPPUNIT_ASSERT(!has(crash.body, "hunter2"));
        // The operator sees the real cause, with the request id.
        CPPUNIT_ASSERT(logged(client, "GET /crash -> 500 INTERNAL_ERROR: database password is hunter2"));
        CPPUNIT_ASSERT(logged(client, "ERROR site t: request "));
    }

    void testErrorHandlerInDevelopment() {
        TestClient client = TestClient::fromJson(site("development"), ".", kPluginPath);
        auto crash = client.get("/crash");
        CPPUNIT_ASSERT_EQUAL(500, crash.status);
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"success":false,"code":"INTERNAL_ERROR","message":"database password is hunter2"})"),
                             crash.body);
    }

    void testBodies() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        auto res = client.post("/items/42", R"({"name":"lamp"})");
        CPPUNIT_ASSERT_EQUAL(200, res.status);
        CPPUNIT_ASSERT(has(res.body, R"("body":"{\"name\":\"lamp\"}")"));
        CPPUNIT_ASSERT(has(res.body, R"("contentType":"application/json")"));
        Request chunked;
        chunked.method = "POST";
        chunked.target = "/echo";
        chunked.chunked = true;
        chunked.body = std::string(100000, 'x'); // several pieces, with pauses
        auto big = client.request(chunked);
        CPPUNIT_ASSERT_EQUAL(200, big.status);
        CPPUNIT_ASSERT(has(big.body, std::string(100000, 'x')));
    }

    void testBodyLimitAndContinue() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        auto tooBig = client.post("/items/1", std::string(65, 'x'));
        CPPUNIT_ASSERT_EQUAL(413, tooBig.status);
        CPPUNIT_ASSERT(has(tooBig.body, "larger than this route's limit of 64 bytes"));
        Request ask;
        ask.method = "PUT";
        ask.target = "/items/1";
        ask.body = "{}";
        ask.expectContinue = true;
        auto accepted = client.request(ask);
        CPPUNIT_ASSERT(accepted.sentContinue);
        CPPUNIT_ASSERT_EQUAL(200, accepted.status);
        ask.target = "/nowhere"; // no route wants the body: the final status, no 100
        auto refused = client.request(ask);
        CPPUNIT_ASSERT(!refused.sentContinue);
        CPPUNIT_ASSERT_EQUAL(404, refused.status);
    }

    void testHeadHasNoBody() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        Request head;
        head.method = "HEAD";
        head.target = "/greet/Ada";
        auto res = client.request(head);
        CPPUNIT_ASSERT_EQUAL(200, res.status);
        CPPUNIT_ASSERT_EQUAL(std::string(""), res.body);
        CPPUNIT_ASSERT_EQUAL(std::string("11"), res.header("Content-Length").value_or(""));
    }

    void testPendingStepAndAbort() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        auto res = client.get("/slow");
        CPPUNIT_ASSERT_EQUAL(200, res.status);
        CPPUNIT_ASSERT_EQUAL(std::string("finally"), res.body);
        Request slow;
        slow.target = "/slow";
        auto abandoned = client.requestAndAbort(slow);
        CPPUNIT_ASSERT_EQUAL(0, abandoned.status); // nothing was written before the abort
        client.settle(2000); // the handler's timer was cleared: nothing left to run
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, x!"), client.get("/greet/x").body);
    }

    void testReloadSwapsBetweenRequests() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        CPPUNIT_ASSERT_EQUAL(404, client.get("/new").status);
        const auto creates = [&] {
            int n = 0;
            for (const auto& line : client.logs())
                if (has(line, "Hello from hello#t")) ++n;
            return n;
        };
        CPPUNIT_ASSERT_EQUAL(1, creates());
        CPPUNIT_ASSERT(client.reload(site("production", R"(, {"path": "/new", "use": "greet"})")).empty());
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, world!"), client.get("/new").body);
        CPPUNIT_ASSERT_EQUAL(1, creates()); // the plugin's config did not change: same instance
    }

    void testBadReloadKeepsServing() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        auto errors = client.reload(R"({"name": "t", "listeners": [{"address": "127.0.0.1:0"}],
            "plugins": {"hello": "^0.1.0"}, "routes": [{"path": "/x", "use": "greeet"}]})");
        CPPUNIT_ASSERT(!errors.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, Ada!"), client.get("/greet/Ada").body);
    }

    // A request in flight finishes on the configuration it started with; a bad reload
    // changes nothing under it; the plugin instance whose config changed is replaced, and the
    // old one stops only after the requests still using it.
    void testReloadWithRequestsInFlight() {
        TestClient client = TestClient::fromJson(site(), ".", kPluginPath);
        Request slow;
        slow.target = "/slow";
        const int inFlight = client.start(slow); // 30 ms on the old configuration
        CPPUNIT_ASSERT(!client.reload("{\"name\": 5}").empty());
        auto changed = site();
        replace(changed, "\"delay_ms\": 30", "\"delay_ms\": 60000");
        replace(changed, "\"hello\": \"^0.1.0\"", "\"hello\": {\"version\": \"^0.1.0\", \"config\": {\"greeting\": \"Hej\"}}");
        const auto errors = client.reload(changed);
        CPPUNIT_ASSERT_MESSAGE(errors.empty() ? "" : errors.front(), errors.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("Hej, Ada!"), client.get("/greet/Ada").body); // new requests: new config
        CPPUNIT_ASSERT(!logged(client, "hello#t: stopping after")); // the old instance still serves one
        auto old = client.finish(inFlight, 5000);
        CPPUNIT_ASSERT_EQUAL(200, old.status);
        CPPUNIT_ASSERT_EQUAL(std::string("finally"), old.body); // old state: 30 ms, not 60 s
        int hellos = 0;
        for (const auto& line : client.logs())
            if (has(line, "from hello#t")) ++hellos;
        CPPUNIT_ASSERT_EQUAL(2, hellos); // the changed plugin was restarted
        CPPUNIT_ASSERT(logged(client, "hello#t: stopping after")); // ... and the old instance stopped
    }

private:
    static void replace(std::string& text, const std::string& from, const std::string& to) {
        const auto at = text.find(from);
        CPPUNIT_ASSERT(at != std::string::npos);
        text.replace(at, from.size(), to);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(HelloSiteTest);
