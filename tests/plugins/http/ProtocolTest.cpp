// The http plugin on real sockets, in-process with the real kernel: keep-alive, pipelining,
// bodies, 100-continue, HEAD, framing, the malformed-request battery, limits and timeouts,
// host routing, disconnects and graceful stop. Raw sockets, so every byte is checked.
#include <cppunit/extensions/HelperMacros.h>

#include <fstream>
#include <sstream>

#include "SiteHarness.hpp"

using keel::test::RawClient;
using keel::test::Reply;
using keel::test::SiteHarness;
using keel::test::siteJson;

namespace {

const std::string kRoutes = R"(
    {"path": "/plain", "methods": ["GET"], "use": "respond", "config": {"body": "Hello World!", "content_type": "text/plain"}},
    {"path": "/greet/:name", "use": "greet"},
    {"path": "/echo", "use": "echo", "body_limit": "2mb"},
    {"path": "/small", "use": "echo", "body_limit": 64},
    {"path": "/slow", "use": "slow", "config": {"delay_ms": 30}},
    {"path": "/stream", "use": "stream", "config": {"chunks": 3, "size": 5}},
    {"path": "/bigstream", "use": "stream", "config": {"chunks": 64, "size": 16384}},
    {"path": "/broken", "use": "broken"},
    {"path": "/slowbody", "use": "slowbody", "body_limit": "10mb"},
    {"path": "/hold", "use": "hold"},
    {"path": "/spin", "use": "spin", "config": {"ms": 150}},
    {"path": "/early", "use": "early", "body_limit": "10mb"},
    {"path": "/moved/", "use": "redirect", "config": {"to": "https://example.com{path}{query}", "status": 301}})";

std::string site(const std::string& httpConfig = "{}", const std::string& extraRoutes = "") {
    return siteJson("t", kRoutes + extraRoutes, httpConfig);
}

std::string get(const std::string& target, const std::string& extra = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
}

bool has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

/// Sends `request` on a fresh connection and expects `status` and the connection closed.
void expectRefused(SiteHarness& h, const std::string& request, int status,
                   const std::string& label) {
    RawClient c(h, h.port());
    c.send(request);
    const Reply r = c.reply();
    CPPUNIT_ASSERT_EQUAL_MESSAGE(label + ": " + c.received(), status, r.status);
    CPPUNIT_ASSERT_EQUAL_MESSAGE(label, std::string("close"), r.header("Connection"));
    CPPUNIT_ASSERT_MESSAGE(label + ": the connection stays open", c.waitClosed());
}

} // namespace

class ProtocolTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ProtocolTest);
    CPPUNIT_TEST(testKeepAliveAndResponseHeaders);
    CPPUNIT_TEST(testRecycledRequestsStartFresh);
    CPPUNIT_TEST(testHttp10);
    CPPUNIT_TEST(testHeadHasNoBody);
    CPPUNIT_TEST(testPipelinedResponsesInOrder);
    CPPUNIT_TEST(testRequestsArrivingTogether);
    CPPUNIT_TEST(testConnectionClose);
    CPPUNIT_TEST(testChunkedRequestBody);
    CPPUNIT_TEST(testLargeBodyWithBackpressure);
    CPPUNIT_TEST(testBodyOverTheRouteLimit);
    CPPUNIT_TEST(testExpectContinue);
    CPPUNIT_TEST(testMalformedRequests);
    CPPUNIT_TEST(testLimits);
    CPPUNIT_TEST(testHeadSplitAcrossReads);
    CPPUNIT_TEST(testAbsoluteFormAndRedirect);
    CPPUNIT_TEST(testStreamedResponses);
    CPPUNIT_TEST(testSendFile);
    CPPUNIT_TEST(testResponseCutShortAfterItsHead);
    CPPUNIT_TEST(testSlowloris);
    CPPUNIT_TEST(testKeepAliveTimeout);
    CPPUNIT_TEST(testBodyIdleTimeout);
    CPPUNIT_TEST(testStepThatBlocksTheLoopIsBlamed);
    CPPUNIT_TEST(testStepAnsweringBeforeTheBodyEndsIsToldItEnded);
    CPPUNIT_TEST(testClientGoesAway);
    CPPUNIT_TEST(testHostRouting);
    CPPUNIT_TEST(testMaxConnections);
    CPPUNIT_TEST(testGracefulStop);
    CPPUNIT_TEST(testEvents);
    CPPUNIT_TEST(testAccessLogAndTrustedProxy);
    CPPUNIT_TEST(testAccessLogIsFlushedWhileServing);
    CPPUNIT_TEST(testIpv6);
    CPPUNIT_TEST(testReloadFollowsTheManifest);
    CPPUNIT_TEST_SUITE_END();

public:
    // The kernel hands a finished request's object to the next request: nothing of the
    // first (status, response headers, Allow, body) shows in the next one's response.
    void testRecycledRequestsStartFresh() {
        SiteHarness h({site("{}", R"(,
            {"path": "/made", "use": "respond",
             "config": {"status": 201, "headers": {"X-Made": "yes"}, "body": "made"}})")});
        RawClient c(h, h.port());
        c.send(get("/made"));
        Reply r = c.reply();
        CPPUNIT_ASSERT_EQUAL(201, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("yes"), r.header("X-Made"));
        c.send(get("/plain"));
        r = c.reply();
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_MESSAGE(r.raw, !r.has("X-Made"));
        c.send("DELETE /plain HTTP/1.1\r\nHost: localhost\r\n\r\n");
        r = c.reply();
        CPPUNIT_ASSERT_EQUAL(405, r.status);
        CPPUNIT_ASSERT(r.has("Allow"));
        c.send(get("/plain"));
        r = c.reply();
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_MESSAGE(r.raw, !r.has("Allow"));
        c.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nfirst");
        CPPUNIT_ASSERT(has(c.reply().body, R"("body":"first")"));
        c.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nsec");
        CPPUNIT_ASSERT(has(c.reply().body, R"("body":"sec")"));
        c.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n");
        CPPUNIT_ASSERT(has(c.reply().body, R"("body":"")"));
    }

    void testKeepAliveAndResponseHeaders() {
        SiteHarness h({site()});
        CPPUNIT_ASSERT(
            h.logged("listening on 127.0.0.1:" + std::to_string(h.port()) + " (site t)"));
        RawClient c(h, h.port());
        for (int i = 0; i < 3; ++i) {
            c.send(get("/plain"));
            const Reply r = c.reply();
            CPPUNIT_ASSERT_EQUAL(200, r.status);
            CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), r.body);
            CPPUNIT_ASSERT_EQUAL(std::string("12"), r.header("Content-Length"));
            CPPUNIT_ASSERT_EQUAL(std::string("text/plain"), r.header("Content-Type"));
            CPPUNIT_ASSERT(has(r.header("Date"), " GMT"));
            CPPUNIT_ASSERT_EQUAL(std::size_t(29), r.header("Date").size());
            CPPUNIT_ASSERT(!r.header("X-Request-Id").empty());
            CPPUNIT_ASSERT(!r.has("Server")); // no server version to advertise
            CPPUNIT_ASSERT(!r.has("Connection"));
        }
        CPPUNIT_ASSERT(!c.closed);
        c.send(get("/greet/Ada"));
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, Ada!"), c.reply().body);
        c.send(get("/nowhere"));
        CPPUNIT_ASSERT_EQUAL(404, c.reply().status);
        CPPUNIT_ASSERT(!c.closed);
    }

    void testHttp10() {
        SiteHarness h({site()});
        {
            RawClient c(h, h.port());
            c.send("GET /plain HTTP/1.0\r\n\r\n");
            const Reply r = c.reply();
            CPPUNIT_ASSERT_EQUAL(std::string("HTTP/1.0"), r.version);
            CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), r.body);
            CPPUNIT_ASSERT(c.waitClosed());
        }
        {
            RawClient c(h, h.port());
            c.send("GET /plain HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            Reply r = c.reply();
            CPPUNIT_ASSERT_EQUAL(std::string("keep-alive"), r.header("Connection"));
            c.send("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
            // No chunked encoding in 1.0: the body ends with the connection.
            CPPUNIT_ASSERT(c.waitClosed());
            r = c.reply();
            CPPUNIT_ASSERT(!r.has("Transfer-Encoding"));
            CPPUNIT_ASSERT_EQUAL(std::string(15, 'x'), r.body);
        }
    }

    void testHeadHasNoBody() {
        SiteHarness h({site()});
        RawClient c(h, h.port());
        c.send("HEAD /plain HTTP/1.1\r\nHost: x\r\n\r\n");
        Reply r = c.reply(5000, true);
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("12"), r.header("Content-Length"));
        c.send("HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n");
        r = c.reply(5000, true);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(c.received(), 200, r.status);
        // No stray body bytes before the next response.
        c.send(get("/plain"));
        r = c.reply();
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), r.body);
        CPPUNIT_ASSERT(c.received().empty());
    }

    void testPipelinedResponsesInOrder() {
        SiteHarness h({site()});
        RawClient c(h, h.port());
        // The slow one first: the others wait for it, whatever their own speed.
        c.send(get("/slow") + get("/plain") +
               "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
               get("/greet/Ada") + "HEAD /plain HTTP/1.1\r\nHost: x\r\n\r\n" + get("/greet/Bob"));
        const auto replies = c.replies(6, 5000, {false, false, false, false, true, false});
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), replies.size());
        CPPUNIT_ASSERT_EQUAL(std::string("finally"), replies[0].body);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), replies[1].body);
        CPPUNIT_ASSERT(has(replies[2].body, "\"body\":\"abc\""));
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, Ada!"), replies[3].body);
        CPPUNIT_ASSERT_EQUAL(std::string(""), replies[4].body);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, Bob!"), replies[5].body);
        CPPUNIT_ASSERT(!c.closed);
    }

    // Reads that arrive in one poll phase are answered together after it (the server's read
    // batch): more connections than one batch takes, each with pipelined requests, a body,
    // a handler that answers later, and clients that half-close right after their request.
    void testRequestsArrivingTogether() {
        SiteHarness h({site()});
        constexpr int kClients = 300; // several batches of 64, answered when full, and the rest
        std::vector<std::unique_ptr<RawClient>> clients;
        for (int i = 0; i < kClients; ++i)
            clients.push_back(std::make_unique<RawClient>(h, h.port()));
        // Every request is in its socket before the loop runs again.
        for (int i = 0; i < kClients; ++i) {
            const std::string name = "n" + std::to_string(i);
            if (i % 3 == 0) {
                CPPUNIT_ASSERT(clients[i]->send("GET /greet/" + name + " HTTP/1.0\r\n\r\n"));
                clients[i]->shutdownWrite();
            } else {
                CPPUNIT_ASSERT(clients[i]->send(
                    get("/greet/" + name) + (i % 3 == 1 ? get("/slow") : get("/plain")) +
                    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"));
            }
        }
        for (int i = 0; i < kClients; ++i) {
            RawClient& c = *clients[i];
            const std::string label = "client " + std::to_string(i);
            if (i % 3 == 0) {
                const Reply r = c.reply();
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label + ": " + c.received(), 200, r.status);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(label, "Hello, n" + std::to_string(i) + "!", r.body);
                CPPUNIT_ASSERT_MESSAGE(label, c.waitClosed());
                continue;
            }
            const auto replies = c.replies(3);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(label + ": " + c.received(), std::size_t(3),
                                         replies.size());
            CPPUNIT_ASSERT_EQUAL_MESSAGE(label, "Hello, n" + std::to_string(i) + "!",
                                         replies[0].body);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(
                label, std::string(i % 3 == 1 ? "finally" : "Hello World!"), replies[1].body);
            CPPUNIT_ASSERT_MESSAGE(label, has(replies[2].body, "\"body\":\"ok\""));
            CPPUNIT_ASSERT_MESSAGE(label, !c.closed);
        }
        // Reads of nearly 16 KiB each (still batched): the arena fills before the batch does.
        const std::string body(15000, 'b');
        std::vector<std::unique_ptr<RawClient>> large;
        for (int i = 0; i < 40; ++i) {
            large.push_back(std::make_unique<RawClient>(h, h.port()));
            CPPUNIT_ASSERT(large.back()->send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                              std::to_string(body.size()) + "\r\n\r\n" + body));
        }
        for (auto& c : large) {
            const Reply r = c->reply();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(c->received(), 200, r.status);
            CPPUNIT_ASSERT(has(r.body, "\"body\":\"" + body + "\""));
        }
    }

    void testConnectionClose() {
        SiteHarness h({site()});
        RawClient c(h, h.port());
        c.send(get("/plain", "Connection: close\r\n") + get("/plain"));
        const Reply r = c.reply();
        CPPUNIT_ASSERT_EQUAL(std::string("close"), r.header("Connection"));
        CPPUNIT_ASSERT(c.waitClosed());
        CPPUNIT_ASSERT(c.received().empty()); // the pipelined second request was not answered
    }

    void testChunkedRequestBody() {
        SiteHarness h({site()});
        RawClient c(h, h.port());
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel");
        c.send("lo\r\n6;ext=1\r\n world\r\n");
        c.send("0\r\nX-Trailer: t\r\n\r\n");
        const Reply r = c.reply();
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT(has(r.body, "\"body\":\"hello world\""));
        c.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, c.reply().status);
    }

    void testLargeBodyWithBackpressure() {
        SiteHarness h({site()});
        RawClient c(h, h.port());
        const std::size_t size = 3 * 1024 * 1024;
        // The handler pauses after every piece: reading stops, the client's send blocks, and
        // all of it still arrives.
        c.send("POST /slowbody HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) +
                   "\r\n\r\n" + std::string(size, 'b'),
               20000);
        Reply r = c.reply(20000);
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::to_string(size), r.body);
        // Chunked, streamed the same way.
        std::string chunked =
            "POST /slowbody HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 100; ++i)
            chunked += "2710\r\n" + std::string(10000, 'c') + "\r\n";
        c.send(chunked + "0\r\n\r\n", 20000);
        r = c.reply(20000);
        CPPUNIT_ASSERT_EQUAL(std::string("1000000"), r.body);
        // And a buffered one: 1.5 MiB echoed back.
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1500000\r\n\r\n" +
                   std::string(1500000, 'e'),
               20000);
        r = c.reply(20000);
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT(has(r.body, std::string(1500000, 'e')));
    }

    void testBodyOverTheRouteLimit() {
        SiteHarness h({site()});
        {
            RawClient c(h, h.port());
            c.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" +
                   std::string(100, 'a'));
            const Reply r = c.reply();
            CPPUNIT_ASSERT_EQUAL(413, r.status);
            CPPUNIT_ASSERT_EQUAL(std::string("close"), r.header("Connection"));
            CPPUNIT_ASSERT(c.waitClosed());
        }
        {
            RawClient c(h, h.port());
            c.send("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" +
                   std::string(64, 'a') + "\r\n1\r\na\r\n0\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(413, c.reply().status);
            CPPUNIT_ASSERT(c.waitClosed());
        }
    }

    void testExpectContinue() {
        SiteHarness h({site()});
        {
            RawClient c(h, h.port());
            c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: "
                   "100-continue\r\n\r\n");
            CPPUNIT_ASSERT(c.waitBytes(25));
            CPPUNIT_ASSERT_EQUAL(std::string("HTTP/1.1 100 Continue\r\n\r\n"), c.received());
            c.send("hello");
            auto replies = c.replies(2);
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), replies.size());
            CPPUNIT_ASSERT_EQUAL(100, replies[0].status);
            CPPUNIT_ASSERT_EQUAL(200, replies[1].status);
            CPPUNIT_ASSERT(has(replies[1].body, "\"body\":\"hello\""));
            CPPUNIT_ASSERT(!c.closed);
        }
        {
            // No route wants the body: the final status at once, no 100, and the connection
            // closes (the client may or may not send the body it announced).
            RawClient c(h, h.port());
            c.send("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: "
                   "100-continue\r\n\r\n");
            const Reply r = c.reply();
            CPPUNIT_ASSERT_EQUAL(404, r.status);
            CPPUNIT_ASSERT_EQUAL(std::string("close"), r.header("Connection"));
            CPPUNIT_ASSERT(c.waitClosed());
        }
        {
            // Over the route's limit: no 100, the 413 at once (the client sends nothing more)
            // and the connection closes.
            RawClient c(h, h.port());
            c.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nExpect: "
                   "100-continue\r\n\r\n");
            const Reply r = c.reply();
            CPPUNIT_ASSERT_EQUAL(413, r.status);
            CPPUNIT_ASSERT_EQUAL(std::string("close"), r.header("Connection"));
            CPPUNIT_ASSERT(!has(c.received(), "100 Continue"));
            CPPUNIT_ASSERT(c.waitClosed());
        }
        {
            // The same without Expect: refused from the announced length, before the body.
            RawClient c(h, h.port());
            c.send("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(413, c.reply().status);
            CPPUNIT_ASSERT(c.waitClosed());
        }
        expectRefused(h,
                      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: "
                      "something-else\r\n\r\nx",
                      417, "Expect other than 100-continue");
    }

    void testMalformedRequests() {
        SiteHarness h({site()});
        const std::vector<std::tuple<std::string, std::string, int>> cases = {
            {"CL and TE",
             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: "
             "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
             400},
            {"TE and CL",
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: "
             "3\r\n\r\n0\r\n\r\n",
             400},
            {"differing CLs",
             "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
             400},
            {"CL list", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc", 400},
            {"negative CL", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
            {"TE not chunked",
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400},
            {"TE chunked twice",
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, "
             "chunked\r\n\r\n0\r\n\r\n",
             400},
            {"obs-fold", "GET /plain HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
            {"obs-fold on an empty value", "GET /plain HTTP/1.1\r\nHost: x\r\nX-A:\r\n\tb\r\n\r\n",
             400},
            {"space in a name", "GET /plain HTTP/1.1\r\nHost: x\r\nX A: a\r\n\r\n", 400},
            {"space before the colon", "GET /plain HTTP/1.1\r\nHost : x\r\n\r\n", 400},
            {"control character in a name",
             std::string("GET /plain HTTP/1.1\r\nHost: x\r\nX\x01: a\r\n\r\n"), 400},
            {"control character in a value",
             std::string("GET /plain HTTP/1.1\r\nHost: x\r\nX-A: a") + '\x01' + "b\r\n\r\n", 400},
            {"NUL in a value",
             std::string("GET /plain HTTP/1.1\r\nHost: x\r\nX-A: a") + '\0' + "b\r\n\r\n", 400},
            {"bad chunk size",
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
             "chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
             400},
            {"chunk size overflow",
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
             "chunked\r\n\r\nfffffffffffffffffff\r\n",
             400},
            {"chunk data too long",
             "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
             "chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
             400},
            {"%00 in the path", get("/greet/a%00b"), 400},
            {"invalid percent-encoding", get("/greet/%zz"), 400},
            {"truncated percent-encoding", get("/greet/%4"), 400},
            {"bare LF", "GET /plain HTTP/1.1\nHost: x\n\n", 400},
            {"no Host in 1.1", "GET /plain HTTP/1.1\r\n\r\n", 400},
            {"two Hosts", "GET /plain HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
            {"Host with a slash", "GET /plain HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
            {"Host with user info", "GET /plain HTTP/1.1\r\nHost: u@a\r\n\r\n", 400},
            {"user info in an absolute target",
             "GET http://u@localhost/plain HTTP/1.1\r\nHost: x\r\n\r\n", 400},
            {"HTTP/2.0", "GET /plain HTTP/2.0\r\nHost: x\r\n\r\n", 505},
            {"garbage version", "GET /plain HTTP/X\r\nHost: x\r\n\r\n", 400},
            {"unknown method", "FROB /plain HTTP/1.1\r\nHost: x\r\n\r\n", 400},
            {"control character in the target",
             std::string("GET /pl") + '\x01' + "ain HTTP/1.1\r\nHost: x\r\n\r\n", 400},
            {"space in the target", "GET /pl ain HTTP/1.1\r\nHost: x\r\n\r\n", 400},
            {"relative target", "GET plain HTTP/1.1\r\nHost: x\r\n\r\n", 400},
            {"binary garbage", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
             400},
        };
        for (const auto& [label, request, status] : cases)
            expectRefused(h, request, status, label);
        // After all that, the server still answers.
        RawClient c(h, h.port());
        c.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, c.reply().status);
    }

    void testLimits() {
        SiteHarness h(
            {site(R"({"limits": {"header_bytes": 1024, "header_count": 8, "url_bytes": 100}})")});
        expectRefused(h, get("/plain", "X-Big: " + std::string(1100, 'a') + "\r\n"), 431,
                      "header block too large");
        std::string many;
        for (int i = 0; i < 9; ++i)
            many += "X-" + std::to_string(i) + ": v\r\n";
        expectRefused(h, get("/plain", many), 431, "too many headers");
        expectRefused(h, get("/greet/" + std::string(120, 'a')), 414, "URL too long");
        // Trailers count too.
        expectRefused(
            h,
            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: " +
                std::string(1100, 't') + "\r\n\r\n",
            431, "trailers too large");
        // Within the limits, in pieces of one byte: the same request parses.
        RawClient c(h, h.port());
        const std::string request = get("/greet/Ada", "X-1: one\r\nX-2: two   \r\n");
        for (char ch : request)
            c.send(std::string(1, ch));
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, Ada!"), c.reply().body);
    }

    void testHeadSplitAcrossReads() {
        // A head that arrives in two reads, split at every byte: the server reads the first
        // part before the second is sent, so the parts of the target, names and values it has
        // so far are kept past the first read. Every part reaches the handler intact.
        SiteHarness h({site()});
        const std::string request = "POST /echo?q=1 HTTP/1.1\r\nHost: x\r\nX-One: first  \r\n"
                                    "Content-Type: text/x-split\r\nContent-Length: 4\r\n\r\nbody";
        const std::size_t headEnd = request.find("\r\n\r\n") + 4;
        for (std::size_t at = 1; at < headEnd; ++at) {
            // A first request, answered: the server has the connection and reads it.
            RawClient c(h, h.port());
            c.send(get("/plain"));
            CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), c.reply().body);
            c.send(request.substr(0, at));
            // The first part is in the server's socket once send() returns (loopback): one
            // turn of the loop without waiting reads it.
            uv_run(h.loop.uv(), UV_RUN_NOWAIT);
            c.send(request.substr(at));
            const Reply r = c.reply();
            const std::string where = "split at byte " + std::to_string(at);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(where, 200, r.status);
            CPPUNIT_ASSERT_MESSAGE(where + ": " + r.body, has(r.body, R"("path":"/echo")"));
            CPPUNIT_ASSERT_MESSAGE(where + ": " + r.body, has(r.body, R"("query":"q=1")"));
            CPPUNIT_ASSERT_MESSAGE(where + ": " + r.body,
                                   has(r.body, R"("contentType":"text/x-split")"));
            CPPUNIT_ASSERT_MESSAGE(where + ": " + r.body, has(r.body, R"("body":"body")"));
        }
    }

    void testAbsoluteFormAndRedirect() {
        SiteHarness h({site()});
        RawClient c(h, h.port());
        c.send("GET http://localhost/plain HTTP/1.1\r\nHost: elsewhere\r\n\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), c.reply().body);
        c.send(get("/moved/a/b?x=1&y=2"));
        const Reply r = c.reply();
        CPPUNIT_ASSERT_EQUAL(301, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("https://example.com/moved/a/b?x=1&y=2"),
                             r.header("Location"));
        CPPUNIT_ASSERT_EQUAL(std::string("0"), r.header("Content-Length"));
    }

    void testStreamedResponses() {
        SiteHarness h({site()});
        RawClient c(h, h.port());
        c.send(get("/stream"));
        Reply r = c.reply();
        CPPUNIT_ASSERT_EQUAL(std::string("chunked"), r.header("Transfer-Encoding"));
        CPPUNIT_ASSERT(!r.has("Content-Length"));
        CPPUNIT_ASSERT_EQUAL(std::string(15, 'x'), r.body);
        CPPUNIT_ASSERT(has(r.raw, "\r\n\r\n5\r\nxxxxx\r\n5\r\nxxxxx\r\n5\r\nxxxxx\r\n0\r\n\r\n"));
        // 1 MiB in 16 KiB pieces: the handler waits for drain when the socket is full.
        c.send(get("/bigstream"));
        r = c.reply(20000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(64 * 16384), r.body.size());
        c.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, c.reply().status);
    }

    void testSendFile() {
        const std::string path = "/tmp/keel-http-sendfile-" + std::to_string(::getpid());
        std::string content;
        for (int i = 0; i < 300000; ++i)
            content += static_cast<char>('a' + i % 26);
        std::ofstream(path, std::ios::binary) << content;
        {
            SiteHarness h({site("{}", R"(, {"path": "/file", "use": "file", "config": {"path": ")" +
                                          path + R"("}})")});
            RawClient c(h, h.port());
            c.send(get("/file"));
            Reply r = c.reply(10000);
            CPPUNIT_ASSERT_EQUAL(200, r.status);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw.substr(0, 300), std::to_string(content.size()),
                                         r.header("Content-Length"));
            CPPUNIT_ASSERT(r.body == content);
            c.send("HEAD /file HTTP/1.1\r\nHost: x\r\n\r\n");
            r = c.reply(5000, true);
            CPPUNIT_ASSERT_EQUAL(std::to_string(content.size()), r.header("Content-Length"));
            c.send(get("/file") + get("/plain"));
            auto replies = c.replies(2, 10000);
            CPPUNIT_ASSERT_EQUAL(std::size_t(2), replies.size());
            CPPUNIT_ASSERT(replies[0].body == content);
            CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), replies[1].body);
        }
        std::remove(path.c_str());
    }

    void testResponseCutShortAfterItsHead() {
        SiteHarness h({site()});
        RawClient c(h, h.port());
        c.send(get("/broken"));
        CPPUNIT_ASSERT(c.waitClosed());
        // The head and what was written went out; the final chunk never does.
        CPPUNIT_ASSERT(has(c.received(), "HTTP/1.1 200 OK\r\n"));
        const std::string body = c.received().substr(c.received().find("\r\n\r\n") + 4);
        CPPUNIT_ASSERT_EQUAL(std::string("7\r\npartial\r\n"), body); // no "0\r\n\r\n" after it
    }

    void testSlowloris() {
        SiteHarness h({site(R"({"limits": {"headers_timeout_ms": 300}})")});
        RawClient partial(h, h.port());
        RawClient silent(h, h.port());
        partial.send("GET /plain HTTP/1.1\r\nHost: x\r\n");
        const Reply r = partial.reply(5000);
        CPPUNIT_ASSERT_EQUAL(408, r.status);
        CPPUNIT_ASSERT(partial.waitClosed());
        CPPUNIT_ASSERT(silent.waitClosed());
        CPPUNIT_ASSERT(silent.received().empty());
        // Trickling bytes does not reset the clock.
        RawClient trickle(h, h.port());
        const std::string request = get("/plain", "X-Slow: 1\r\n");
        std::size_t i = 0;
        h.runUntil(
            [&] {
                if (!trickle.closed && i < request.size() - 2)
                    trickle.send(std::string(1, request[i++]));
                return trickle.closed;
            },
            5000);
        CPPUNIT_ASSERT(trickle.closed);
    }

    void testKeepAliveTimeout() {
        SiteHarness h({site(R"({"limits": {"keepalive_timeout_ms": 200}})")});
        RawClient c(h, h.port());
        c.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, c.reply().status);
        CPPUNIT_ASSERT(c.waitClosed(5000));
        CPPUNIT_ASSERT(c.received().empty()); // closed silently
    }

    void testBodyIdleTimeout() {
        SiteHarness h({site(R"({"limits": {"body_idle_timeout_ms": 300}})")});
        RawClient c(h, h.port());
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
        const Reply r = c.reply(5000);
        CPPUNIT_ASSERT_EQUAL(408, r.status);
        CPPUNIT_ASSERT(c.waitClosed());
    }

    void testStepThatBlocksTheLoopIsBlamed() {
        // A request step that holds the loop past the threshold (100 ms) is logged with its
        // plugin and its place in the site, like a timer callback would be.
        SiteHarness h({site()});
        RawClient c(h, h.port());
        c.send(get("/spin"));
        CPPUNIT_ASSERT_EQUAL(200, c.reply().status);
        CPPUNIT_ASSERT(h.runUntil([&] { return h.logged("event loop blocked"); }));
        std::string line;
        for (const auto& l : h.logs)
            if (has(l, "event loop blocked")) line += l + "\n";
        // One report, the step's: the http read callback that ran it is not blamed too.
        CPPUNIT_ASSERT_MESSAGE(line, line.find("event loop blocked") == line.rfind("event loop blocked"));
        CPPUNIT_ASSERT_MESSAGE(line, has(line, "by plugin 'fixture#t'"));
        CPPUNIT_ASSERT_MESSAGE(line, has(line, "request step at "));
        CPPUNIT_ASSERT_MESSAGE(line, has(line, "routes["));
    }

    void testStepAnsweringBeforeTheBodyEndsIsToldItEnded() {
        // A step streaming the body answers before the body is complete: once the transport
        // is done with the request, the step still gets its end-of-body call (exactly once),
        // so what it attached to the request is freed.
        SiteHarness h({site()});
        int ends = 0;
        [[maybe_unused]] const auto sub = h.bus().subscribe(h.bus().topic("fixture.body_end"), 0,
                                           [&](keel::kernel::TopicId, const keel_payload&) { ++ends; });
        RawClient c(h, h.port());
        c.send("POST /early HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" +
               std::string(1024, 'q') + "\r\n");
        const Reply r = c.reply();
        CPPUNIT_ASSERT_EQUAL(413, r.status);
        CPPUNIT_ASSERT(h.runUntil([&] { return ends == 1; }));
        CPPUNIT_ASSERT_EQUAL(1, ends);
    }

    void testClientGoesAway() {
        SiteHarness h({site()});
        int aborted = 0;
        const auto sub =
            h.bus().subscribe(h.bus().topic("fixture.aborted"), 0,
                              [&](keel::kernel::TopicId, const keel_payload&) { ++aborted; });
        int requests = 0;
        const auto onRequest =
            h.bus().subscribe(h.bus().topic("http.request"), 0,
                              [&](keel::kernel::TopicId, const keel_payload&) { ++requests; });
        {
            RawClient c(h, h.port());
            c.send(get("/hold"));
            CPPUNIT_ASSERT(h.runUntil([&] { return requests == 1; }));
            c.abort();
            CPPUNIT_ASSERT(h.runUntil([&] { return aborted == 1; }));
        }
        {
            // Halfway through a body, and halfway through a big response.
            RawClient body(h, h.port());
            body.send("POST /slowbody HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" +
                      std::string(300000, 'z'));
            RawClient response(h, h.port());
            response.send(get("/bigstream"));
            CPPUNIT_ASSERT(response.waitBytes(1000));
            body.abort();
            response.abort();
        }
        RawClient c(h, h.port());
        c.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, c.reply().status);
        h.bus().unsubscribe(sub);
        h.bus().unsubscribe(onRequest);
    }

    void testHostRouting() {
        auto who = [](const std::string& name) {
            return R"({"path": "/who", "use": "respond", "config": {"body": ")" + name + R"("}})";
        };
        {
            SiteHarness h({siteJson("a", who("a"), R"({"unknown_host": "421"})",
                                    R"("hosts": ["a.test"], "default": true,)"),
                           siteJson("b", who("b"), "{}", R"("hosts": ["b.test", "*.b.test"],)")});
            CPPUNIT_ASSERT_EQUAL(std::size_t(1), h.ports.size()); // one socket for both sites
            RawClient c(h, h.port());
            c.send("GET /who HTTP/1.1\r\nHost: a.test\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("a"), c.reply().body);
            c.send("GET /who HTTP/1.1\r\nHost: B.TEST:8080\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("b"), c.reply().body);
            c.send("GET /who HTTP/1.1\r\nHost: x.b.test\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("b"), c.reply().body);
            expectRefused(h, "GET /who HTTP/1.1\r\nHost: c.test\r\n\r\n", 421, "unknown host, 421");
        }
        {
            SiteHarness h({siteJson("a", who("a"), R"({"unknown_host": "404"})",
                                    R"("hosts": ["a.test"], "default": true,)"),
                           siteJson("b", who("b"), "{}", R"("hosts": ["b.test"],)")});
            expectRefused(h, "GET /who HTTP/1.1\r\nHost: c.test\r\n\r\n", 404, "unknown host, 404");
        }
        {
            SiteHarness h(
                {siteJson("a", who("a"), "{}", R"("hosts": ["a.test"],)"),
                 siteJson("b", who("b"), "{}", R"("hosts": ["b.test"], "default": true,)")});
            RawClient c(h, h.port());
            c.send("GET /who HTTP/1.1\r\nHost: c.test\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("b"), c.reply().body); // the address's default site
            c.send("GET /who HTTP/1.0\r\n\r\n");
            CPPUNIT_ASSERT_EQUAL(std::string("b"), c.reply().body);
        }
    }

    void testMaxConnections() {
        SiteHarness h({site(R"({"limits": {"max_connections": 2}})")});
        RawClient a(h, h.port());
        RawClient b(h, h.port());
        a.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, a.reply().status);
        b.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, b.reply().status);
        RawClient c(h, h.port());
        CPPUNIT_ASSERT(c.waitClosed());
        CPPUNIT_ASSERT(c.received().empty());
        // Once the server has seen one go, a new one is served (until then it is refused).
        a.abort();
        bool served = false;
        for (int attempt = 0; attempt < 100 && !served; ++attempt) {
            RawClient d(h, h.port());
            d.send(get("/plain"));
            served = d.reply().status == 200;
        }
        CPPUNIT_ASSERT(served);
    }

    void testGracefulStop() {
        SiteHarness h({site()});
        RawClient idle(h, h.port());
        idle.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, idle.reply().status);
        int requests = 0;
        const auto onRequest =
            h.bus().subscribe(h.bus().topic("http.request"), 0,
                              [&](keel::kernel::TopicId, const keel_payload&) { ++requests; });
        RawClient busy(h, h.port());
        busy.send(get("/slow"));
        CPPUNIT_ASSERT(h.runUntil([&] { return requests == 1; })); // in the pipeline now
        int closes = 0;
        const auto sub =
            h.bus().subscribe(h.bus().topic("http.close"), 0,
                              [&](keel::kernel::TopicId, const keel_payload&) { ++closes; });
        bool stopped = false;
        h.beginStop(stopped);
        // The idle connection closes at once; the busy one gets its answer, told to close.
        CPPUNIT_ASSERT(idle.waitClosed());
        const Reply r = busy.reply();
        CPPUNIT_ASSERT_EQUAL(std::string("finally"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("close"), r.header("Connection"));
        CPPUNIT_ASSERT(busy.waitClosed());
        CPPUNIT_ASSERT(h.runUntil([&] { return stopped; }));
        CPPUNIT_ASSERT_EQUAL(1, closes);
        // Nobody listens any more.
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(h.port());
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CPPUNIT_ASSERT(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0);
        ::close(fd);
        h.bus().unsubscribe(sub);
        h.bus().unsubscribe(onRequest);
    }

    void testEvents() {
        SiteHarness h({site()});
        std::vector<std::pair<std::string, std::string>> events;
        std::vector<keel::kernel::SubscriptionId> subs;
        for (const char* topic : {"http.connection", "http.request", "http.checkContinue"}) {
            subs.push_back(h.bus().subscribe(
                h.bus().topic(topic), 0, [&, topic](keel::kernel::TopicId, const keel_payload& p) {
                    events.emplace_back(topic,
                                        std::string(static_cast<const char*>(p.data), p.size));
                }));
        }
        RawClient c(h, h.port());
        c.send(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
        CPPUNIT_ASSERT(c.waitBytes(25));
        c.send("hi");
        CPPUNIT_ASSERT_EQUAL(2u, static_cast<unsigned>(c.replies(2).size()));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), events.size());
        CPPUNIT_ASSERT_EQUAL(std::string("http.connection"), events[0].first);
        CPPUNIT_ASSERT(has(events[0].second, "\"remote\":\"127.0.0.1\""));
        CPPUNIT_ASSERT_EQUAL(std::string("http.checkContinue"), events[1].first);
        CPPUNIT_ASSERT_EQUAL(std::string("http.request"), events[2].first);
        CPPUNIT_ASSERT(has(events[2].second, R"("site":"t","method":"POST","target":"/echo")"));
        for (auto id : subs)
            h.bus().unsubscribe(id);
    }

    // Buffered lines reach the file within a second of being written, while the server
    // keeps running (the flush timer is armed by the first waiting line).
    void testAccessLogIsFlushedWhileServing() {
        char pattern[] = "/tmp/keel-http-access-XXXXXX";
        const std::string dir = ::mkdtemp(pattern);
        const std::string path = dir + "/live.log";
        SiteHarness h({site(R"({"access_log": {"path": ")" + path + R"("}})")});
        RawClient c(h, h.port());
        c.send(get("/plain"));
        c.reply();
        auto contents = [&] {
            std::ifstream in(path);
            std::stringstream all;
            all << in.rdbuf();
            return all.str();
        };
        // The loop runs (and blocks until its next timer) while the file is checked.
        CPPUNIT_ASSERT_MESSAGE(
            "no access log line within 5 s",
            h.runUntil([&] { return has(contents(), "\"GET /plain HTTP/1.1\" 200 "); }, 5000));
        CPPUNIT_ASSERT(h.stop());
    }

    void testAccessLogAndTrustedProxy() {
        char pattern[] = "/tmp/keel-http-access-XXXXXX";
        const std::string dir = ::mkdtemp(pattern);
        {
            SiteHarness h({site(R"({"access_log": {"path": ")" + dir + R"(/combined.log"}})")});
            RawClient c(h, h.port());
            c.send(get("/plain",
                       "User-Agent: test/1\r\nReferer: http://r/\r\nX-Request-Id: forged\r\n"));
            const Reply r = c.reply();
            CPPUNIT_ASSERT(r.header("X-Request-Id") != "forged"); // not from an untrusted peer
            c.send(get("/nowhere"));
            c.reply();
            CPPUNIT_ASSERT(h.stop());
            std::ifstream in(dir + "/combined.log");
            std::string first, second;
            std::getline(in, first);
            std::getline(in, second);
            CPPUNIT_ASSERT_MESSAGE(first, has(first, "127.0.0.1 - - ["));
            CPPUNIT_ASSERT_MESSAGE(
                first, has(first, "] \"GET /plain HTTP/1.1\" 200 12 \"http://r/\" \"test/1\" \"" +
                                      r.header("X-Request-Id") + "\""));
            CPPUNIT_ASSERT_MESSAGE(second, has(second, "\"GET /nowhere HTTP/1.1\" 404 "));
        }
        {
            SiteHarness h({site(R"({"trusted_proxies": ["127.0.0.0/8"], "access_log": {"path": ")" +
                                dir + R"(/access.json", "format": "json"}})")});
            RawClient c(h, h.port());
            c.send(
                get("/plain",
                    "X-Request-Id: from-proxy-1\r\nX-Forwarded-For: 203.0.113.9, 127.0.0.5\r\n"));
            CPPUNIT_ASSERT_EQUAL(std::string("from-proxy-1"), c.reply().header("X-Request-Id"));
            CPPUNIT_ASSERT(h.stop());
            std::ifstream in(dir + "/access.json");
            std::string line;
            std::getline(in, line);
            CPPUNIT_ASSERT_MESSAGE(
                line,
                has(line, R"("site":"t","remote":"203.0.113.9","method":"GET","target":"/plain")"));
            CPPUNIT_ASSERT_MESSAGE(line, has(line, R"("status":200,"bytes":12,)"));
            CPPUNIT_ASSERT_MESSAGE(line, has(line, R"("request_id":"from-proxy-1"})"));
        }
        std::filesystem::remove_all(dir);
    }

    void testIpv6() {
        const int probe = ::socket(AF_INET6, SOCK_STREAM, 0);
        if (probe < 0) return; // no IPv6 here
        ::close(probe);
        SiteHarness h({siteJson("six", kRoutes, "{}", "", R"({"address": "[::1]:0"})")});
        CPPUNIT_ASSERT(h.logged("listening on [::1]:"));
        RawClient c(h, h.port(), true);
        c.send("GET /plain HTTP/1.1\r\nHost: [::1]\r\n\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), c.reply().body);
    }

    void testReloadFollowsTheManifest() {
        SiteHarness h({site()});
        RawClient kept(h, h.port());
        kept.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, kept.reply().status);
        // A second address, and stricter limits (a new http instance): the first socket and
        // its connections stay.
        const std::string two = R"({"address": "127.0.0.1:0"}, {"address": "127.0.0.2:0"})";
        CPPUNIT_ASSERT(
            h.reload({siteJson("t", kRoutes, R"({"limits": {"header_count": 2}})", "", two)})
                .empty());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), h.ports.size());
        CPPUNIT_ASSERT(h.logged("listening on 127.0.0.2:"));
        kept.send(get("/plain"));
        CPPUNIT_ASSERT_EQUAL(200, kept.reply().status);
        kept.send(get("/plain", "X-1: a\r\nX-2: b\r\n")); // three headers now too many
        CPPUNIT_ASSERT_EQUAL(431, kept.reply().status);
        {
            const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(h.port(1));
            a.sin_addr.s_addr = htonl(0x7f000002);
            CPPUNIT_ASSERT(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
            ::close(fd);
        }
        // Back to one address: the second closes.
        CPPUNIT_ASSERT(h.reload({site()}).empty());
        const auto refused = [&] {
            const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(h.port(1));
            a.sin_addr.s_addr = htonl(0x7f000002);
            const bool no = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 &&
                            errno == ECONNREFUSED;
            ::close(fd);
            return no;
        };
        CPPUNIT_ASSERT(h.runUntil(refused));
        RawClient again(h, h.port());
        again.send(get("/plain", "X-1: a\r\nX-2: b\r\n"));
        CPPUNIT_ASSERT_EQUAL(200, again.reply().status);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ProtocolTest);
