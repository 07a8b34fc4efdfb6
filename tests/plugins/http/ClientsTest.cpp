// The http plugin against real clients, spawned on the test's loop while the in-process
// kernel serves: curl (HTTP/1.0, 1.1, TLS), Python's http.client, openssl s_client (TLS
// versions, SNI, ALPN, resumption), a slowloris client, and a graceful stop under load
// with no failed request.
#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <fstream>

#include "Process.hpp"
#include "SiteHarness.hpp"
#include "TempDir.hpp"

using keel::test::Process;
using keel::test::RawClient;
using keel::test::Reply;
using keel::test::SiteHarness;
using keel::test::siteJson;

using keel::test::TempDir;

namespace {

const std::string kClients = std::string(KEEL_SOURCE_DIR) + "/tests/plugins/http/clients";

bool has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

std::string who(const std::string& name) {
    return R"({"path": "/who", "use": "respond", "config": {"body": ")" + name + R"("}},
              {"path": "/echo", "use": "echo"},
              {"path": "/slow", "use": "slow", "config": {"delay_ms": 20}})";
}

/// A self-signed certificate for `name` (EC P-256) in `dir`: NAME.pem and NAME.key.
void makeCertificate(const std::string& dir, const std::string& name) {
    const std::string command = "openssl req -x509 -newkey ec -pkeyopt "
                                "ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout " +
                                dir + "/" + name + ".key -out " + dir + "/" + name +
                                ".pem -subj /CN=" + name + " -addext subjectAltName=DNS:" + name +
                                " 2>/dev/null";
    CPPUNIT_ASSERT_EQUAL_MESSAGE(command, 0, std::system(command.c_str()));
}

std::string tlsListener(const std::string& dir, const std::string& name) {
    return R"({"address": "127.0.0.1:0", "tls": {"cert": ")" + dir + "/" + name +
           R"(.pem", "key": ")" + dir + "/" + name + R"(.key"}})";
}

/// Runs a client to its end on the harness's loop; returns its stdout and stderr.
struct Ran {
    int status;
    std::string out;
    std::string err;
};
Ran run(SiteHarness& h, std::vector<std::string> args, unsigned deadlineMs = 20000) {
    Process p(h.loop, std::move(args));
    const bool exited = p.waitExit(deadlineMs);
    CPPUNIT_ASSERT_MESSAGE("the client did not finish: " + p.err(), exited);
    return Ran{p.status(), p.out(), p.err()};
}

std::string url(SiteHarness& h, const std::string& path, const std::string& scheme = "http") {
    return scheme + "://127.0.0.1:" + std::to_string(h.port()) + path;
}

} // namespace

class ClientsTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ClientsTest);
    CPPUNIT_TEST(testCurl);
    CPPUNIT_TEST(testPythonHttpClient);
    CPPUNIT_TEST(testSlowlorisClient);
    CPPUNIT_TEST(testGracefulStopUnderLoad);
    CPPUNIT_TEST(testTlsWithCurl);
    CPPUNIT_TEST(testTlsVersionsSniAndAlpn);
    CPPUNIT_TEST(testTlsSessionResumption);
    CPPUNIT_TEST(testCertificatesReloadOnHangup);
    CPPUNIT_TEST(testBadKeyIsAClearError);
    CPPUNIT_TEST_SUITE_END();

public:
    void testCurl() {
        SiteHarness h({siteJson("t", who("t"))});
        Ran r = run(h, {"curl", "-sS", "-i", url(h, "/who"), url(h, "/who")});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.status);
        CPPUNIT_ASSERT(has(r.out, "HTTP/1.1 200 OK"));
        CPPUNIT_ASSERT(has(r.out, "\r\n\r\nt"));
        CPPUNIT_ASSERT(!has(r.err, "Re-using") || true);
        r = run(h, {"curl", "-sS", "-0", "-i", url(h, "/who")});
        CPPUNIT_ASSERT_EQUAL(0, r.status);
        CPPUNIT_ASSERT(has(r.out, "HTTP/1.0 200 OK"));
        // A body curl streams chunked, and one it sends after 100 Continue.
        r = run(h, {"curl", "-sS", "-H", "Transfer-Encoding: chunked", "--data-binary", "chunky",
                    url(h, "/echo")});
        CPPUNIT_ASSERT_MESSAGE(r.out, has(r.out, "\"body\":\"chunky\""));
        r = run(h, {"curl", "-sS", "-v", "-H", "Expect: 100-continue", "--data-binary",
                    std::string(2000, 'q'), url(h, "/echo")});
        CPPUNIT_ASSERT_MESSAGE(r.err, has(r.err, "HTTP/1.1 100 Continue"));
        CPPUNIT_ASSERT(has(r.out, std::string(2000, 'q')));
        r = run(h, {"curl", "-sS", "-I", url(h, "/who")});
        CPPUNIT_ASSERT(has(r.out, "Content-Length: 1\r\n"));
    }

    void testPythonHttpClient() {
        SiteHarness h({siteJson("t", who("t"))});
        const Ran r = run(h, {"python3", kClients + "/http_client.py", std::to_string(h.port())});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.out + r.err, 0, r.status);
        CPPUNIT_ASSERT_MESSAGE(r.out, has(r.out, "ok"));
    }

    void testSlowlorisClient() {
        SiteHarness h({siteJson("t", who("t"), R"({"limits": {"headers_timeout_ms": 500}})")});
        // 50 connections trickling a header line every 100 ms; every one is cut at the
        // headers timeout, and meanwhile a normal client is served.
        Process loris(
            h.loop, {"python3", kClients + "/slowloris.py", std::to_string(h.port()), "50", "100"});
        Ran curl = run(h, {"curl", "-sS", url(h, "/who")});
        CPPUNIT_ASSERT_EQUAL(std::string("t"), curl.out);
        CPPUNIT_ASSERT(loris.waitExit(20000));
        CPPUNIT_ASSERT_MESSAGE(loris.out() + loris.err(), has(loris.out(), "all 50 cut after"));
        CPPUNIT_ASSERT_EQUAL(0, loris.status());
    }

    void testGracefulStopUnderLoad() {
        SiteHarness h({siteJson("t", who("t"))});
        int requests = 0;
        const auto onRequest =
            h.bus().subscribe(h.bus().topic("http.request"), 0,
                              [&](keel::kernel::TopicId, const keel_payload&) { ++requests; });
        // The client keeps 20 connections busy, keep-alive, and reports every failed request;
        // a refused new connection after the stop is not a failure, an error on a request that
        // was sent is.
        Process load(h.loop, {"python3", kClients + "/load.py", std::to_string(h.port()), "20"});
        CPPUNIT_ASSERT(load.waitForOutput("running", 10000));
        CPPUNIT_ASSERT(h.runUntil([&] { return requests >= 500; }, 20000)); // under load now
        bool stopped = false;
        h.beginStop(stopped);
        CPPUNIT_ASSERT(h.runUntil([&] { return stopped; }, 10000));
        CPPUNIT_ASSERT(load.waitExit(10000));
        CPPUNIT_ASSERT_MESSAGE(load.out() + load.err(), has(load.out(), " failed 0"));
        CPPUNIT_ASSERT_EQUAL(0, load.status());
        h.bus().unsubscribe(onRequest);
    }

    void testTlsWithCurl() {
        TempDir dir;
        makeCertificate(dir.path(), "a.test");
        SiteHarness h({siteJson("a", who("a"), "{}", R"("hosts": ["a.test"],)",
                                tlsListener(dir.path(), "a.test"))});
        CPPUNIT_ASSERT(h.logged("(site a, TLS)"));
        const std::string port = std::to_string(h.port());
        Ran r = run(h, {"curl", "-sS", "-i", "--cacert", dir.path() + "/a.test.pem", "--resolve",
                        "a.test:" + port + ":127.0.0.1", "https://a.test:" + port + "/who",
                        "https://a.test:" + port + "/who"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.status);
        CPPUNIT_ASSERT(has(r.out, "HTTP/1.1 200 OK"));
        CPPUNIT_ASSERT(has(r.out, "\r\n\r\na"));
        r = run(h, {"curl", "-sS", "--http1.0", "--cacert", dir.path() + "/a.test.pem", "--resolve",
                    "a.test:" + port + ":127.0.0.1", "--data-binary", std::string(100000, 'z'),
                    "https://a.test:" + port + "/echo"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.status);
        CPPUNIT_ASSERT(has(r.out, std::string(100000, 'z')));
        // Plain HTTP on the TLS port is not a request.
        RawClient plain(h, h.port());
        plain.send("GET /who HTTP/1.1\r\nHost: a.test\r\n\r\n");
        CPPUNIT_ASSERT(plain.waitClosed());
        CPPUNIT_ASSERT(!has(plain.received(), "200 OK"));
    }

    void testTlsVersionsSniAndAlpn() {
        TempDir dir;
        makeCertificate(dir.path(), "a.test");
        makeCertificate(dir.path(), "b.test");
        SiteHarness h({siteJson("a", who("a"), "{}", R"("hosts": ["a.test"], "default": true,)",
                                tlsListener(dir.path(), "a.test")),
                       siteJson("b", who("b"), "{}", R"("hosts": ["b.test"],)",
                                tlsListener(dir.path(), "b.test"))});
        const std::string connect = "127.0.0.1:" + std::to_string(h.port());
        auto client = [&](std::vector<std::string> extra) {
            std::vector<std::string> args{"openssl", "s_client", "-connect", connect, "-brief"};
            args.insert(args.end(), extra.begin(), extra.end());
            return run(h, args);
        };
        Ran r = client({"-servername", "b.test", "-tls1_3"});
        CPPUNIT_ASSERT_MESSAGE(r.err, has(r.err, "Protocol version: TLSv1.3"));
        CPPUNIT_ASSERT_MESSAGE(r.err, has(r.err, "CN = b.test"));
        r = client({"-servername", "a.test", "-tls1_2"});
        CPPUNIT_ASSERT_MESSAGE(r.err, has(r.err, "Protocol version: TLSv1.2"));
        CPPUNIT_ASSERT_MESSAGE(r.err, has(r.err, "CN = a.test"));
        CPPUNIT_ASSERT_MESSAGE(r.err, has(r.err, "Ciphersuite: ECDHE-ECDSA-AES"));
        // An unknown name gets the address's default site's certificate.
        r = client({"-servername", "c.test"});
        CPPUNIT_ASSERT_MESSAGE(r.err, has(r.err, "CN = a.test"));
        // Older protocols are refused.
        r = client({"-servername", "a.test", "-tls1_1"});
        CPPUNIT_ASSERT(r.status != 0);
        CPPUNIT_ASSERT(!has(r.err, "Protocol version: TLSv1.1"));
        // ALPN: http/1.1 when offered; nothing (not a failure) for an h2-only client.
        r = run(h, {"openssl", "s_client", "-connect", connect, "-servername", "a.test", "-alpn",
                    "h2,http/1.1"});
        CPPUNIT_ASSERT_MESSAGE(r.out, has(r.out, "ALPN protocol: http/1.1"));
        r = run(h, {"openssl", "s_client", "-connect", connect, "-servername", "a.test", "-alpn",
                    "h2"});
        CPPUNIT_ASSERT_MESSAGE(r.out, has(r.out, "No ALPN negotiated"));
        CPPUNIT_ASSERT_MESSAGE(r.out, has(r.out, "New, TLSv1.3"));
        // Through SNI to the right site's pipeline.
        const std::string port = std::to_string(h.port());
        r = run(h, {"curl", "-sS", "--cacert", dir.path() + "/b.test.pem", "--resolve",
                    "b.test:" + port + ":127.0.0.1", "https://b.test:" + port + "/who"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, std::string("b"), r.out);
    }

    void testTlsSessionResumption() {
        TempDir dir;
        makeCertificate(dir.path(), "a.test");
        SiteHarness h({siteJson("a", who("a"), "{}", R"("hosts": ["a.test"],)",
                                tlsListener(dir.path(), "a.test"))});
        const Ran r = run(h, {"python3", kClients + "/tls_resume.py", std::to_string(h.port()),
                              dir.path() + "/a.test.pem"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.out + r.err, 0, r.status);
        CPPUNIT_ASSERT_MESSAGE(r.out, has(r.out, "TLSv1.2 reused True"));
        CPPUNIT_ASSERT_MESSAGE(r.out, has(r.out, "TLSv1.3 reused True"));
    }

    void testCertificatesReloadOnHangup() {
        TempDir dir;
        makeCertificate(dir.path(), "a.test");
        SiteHarness h({siteJson("a", who("a"), "{}", R"("hosts": ["a.test"],)",
                                tlsListener(dir.path(), "a.test"))});
        const std::string connect = "127.0.0.1:" + std::to_string(h.port());
        auto serial = [&] {
            Ran r = run(h, {"openssl", "s_client", "-connect", connect, "-servername", "a.test",
                            "-showcerts"});
            const auto begin = r.out.find("-----BEGIN CERTIFICATE-----");
            return begin == std::string::npos ? std::string() : r.out.substr(begin, 200);
        };
        const std::string before = serial();
        CPPUNIT_ASSERT(!before.empty());
        makeCertificate(dir.path(), "a.test"); // a new certificate in the same files
        CPPUNIT_ASSERT(serial() == before);  // not read until told
        h.bus().publishJson(h.bus().topic("kernel.reload"), "{}");
        const std::string after = serial();
        CPPUNIT_ASSERT(!after.empty());
        CPPUNIT_ASSERT(after != before);
        // A broken file on reload: an error, and the certificate in use stays.
        std::ofstream(dir.path() + "/a.test.pem") << "not a certificate";
        h.bus().publishJson(h.bus().topic("kernel.reload"), "{}");
        CPPUNIT_ASSERT(h.logged("keeping the certificate loaded before"));
        CPPUNIT_ASSERT(serial() == after);
    }

    void testBadKeyIsAClearError() {
        TempDir dir;
        makeCertificate(dir.path(), "a.test");
        makeCertificate(dir.path(), "b.test");
        const std::string listener = R"({"address": "127.0.0.1:0", "tls": {"cert": ")" + dir.path() +
                                     R"(/a.test.pem", "key": ")" + dir.path() + R"(/b.test.key"}})";
        const std::string missing = R"({"address": "127.0.0.1:0", "tls": {"cert": ")" + dir.path() +
                                    R"(/none.pem", "key": ")" + dir.path() + R"(/b.test.key"}})";
        // Refused at start (or, while the kernel starts a site's plugins before publishing
        // the site, logged as the site's listeners open): either way, the message says what.
        for (const auto& [l, message] :
             {std::pair{listener, std::string("does not match the certificate")},
              std::pair{missing, std::string("cannot read")}}) {
            std::string text;
            try {
                SiteHarness h({siteJson("a", who("a"), "{}", "", l)});
                for (const auto& line : h.logs)
                    text += line + "\n";
                CPPUNIT_ASSERT(h.ports.empty());
            } catch (const std::exception& e) {
                text = e.what();
            }
            CPPUNIT_ASSERT_MESSAGE(text, has(text, message));
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ClientsTest);
