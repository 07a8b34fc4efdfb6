// The http plugin in the real binary: `keel run SITE --listen 127.0.0.1:0`, port from the
// log line, real clients, SIGHUP, SIGTERM (graceful), and start-up errors.
#include <cppunit/extensions/HelperMacros.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "Process.hpp"
#include "TempDir.hpp"

using keel::kernel::Loop;
using keel::test::Process;

using keel::test::TempDir;

namespace {

const std::string kKeel = KEEL_BINARY;
const std::map<std::string, std::string> kEnv{{"KEEL_PLUGIN_PATH", KEEL_PLUGIN_DIR}};

bool has(const std::string& text, const std::string& needle) {
    return text.find(needle) != std::string::npos;
}

/// Waits for "listening on 127.0.0.1:PORT" and returns PORT (0 when it never came).
int portOf(Process& keel) {
    if (!keel.waitForOutput("listening on 127.0.0.1:", 15000)) return 0;
    std::smatch m;
    const std::string err = keel.err();
    if (!std::regex_search(err, m, std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)"))) return 0;
    return std::stoi(m[1]);
}

struct Ran {
    int status;
    std::string out;
    std::string err;
};
Ran run(Loop& loop, std::vector<std::string> args) {
    Process p(loop, std::move(args));
    CPPUNIT_ASSERT(p.waitExit(20000));
    return Ran{p.status(), p.out(), p.err()};
}

void makeCertificate(const std::string& dir, const std::string& name) {
    const std::string command = "openssl req -x509 -newkey ec -pkeyopt "
                                "ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout " +
                                dir + "/" + name + ".key -out " + dir + "/" + name +
                                ".pem -subj /CN=" + name + " 2>/dev/null";
    CPPUNIT_ASSERT_EQUAL(0, std::system(command.c_str()));
}

} // namespace

class RunTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RunTest);
    CPPUNIT_TEST(testBenchSiteServesAndStopsGracefully);
    CPPUNIT_TEST(testTlsSiteAndCertificateReloadOnSighup);
    CPPUNIT_TEST(testMismatchedKeyIsReported);
    CPPUNIT_TEST(testBusyPortFailsTheStart);
    CPPUNIT_TEST_SUITE_END();

public:
    void testBenchSiteServesAndStopsGracefully() {
        Loop loop;
        Process keel(loop,
                     {kKeel, "run", std::string(KEEL_SOURCE_DIR) + "/sites/bench", "--listen",
                      "127.0.0.1:0", "--no-lock"},
                     kEnv);
        const int port = portOf(keel);
        CPPUNIT_ASSERT_MESSAGE(keel.err(), port > 0);
        CPPUNIT_ASSERT(has(keel.err(), "(site bench)"));
        const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/plain";
        Ran r = run(loop, {"curl", "-sS", "-v", "-i", url, url});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, 0, r.status);
        CPPUNIT_ASSERT(has(r.out, "HTTP/1.1 200 OK\r\n"));
        CPPUNIT_ASSERT(has(r.out, "Content-Type: text/plain\r\n"));
        CPPUNIT_ASSERT(has(r.out, "Content-Length: 12\r\n"));
        CPPUNIT_ASSERT(has(r.out, "\r\n\r\nHello World!HTTP/1.1 200 OK"));
        CPPUNIT_ASSERT_MESSAGE(r.err, has(r.err, "Re-using existing connection")); // kept alive
        r = run(loop, {"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                       "http://127.0.0.1:" + std::to_string(port) + "/nope"});
        CPPUNIT_ASSERT_EQUAL(std::string("404"), r.out);
        keel.kill(SIGTERM);
        CPPUNIT_ASSERT(keel.waitExit(15000));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(keel.err(), 0, keel.status());
        CPPUNIT_ASSERT(has(keel.err(), "stopping gracefully"));
    }

    void testTlsSiteAndCertificateReloadOnSighup() {
        TempDir dir;
        makeCertificate(dir.path(), "one");
        std::ofstream(dir.path() + "/site.json")
            << R"({"name": "secure", "listeners": [{"address": "127.0.0.1:0",
            "tls": {"cert": "cert.pem", "key": "key.pem"}}], "plugins": {"http": "^0.1.0"},
            "routes": [{"path": "/plain", "use": "respond", "config": {"body": "tls"}}]})";
        std::filesystem::copy_file(dir.path() + "/one.pem", dir.path() + "/cert.pem");
        std::filesystem::copy_file(dir.path() + "/one.key", dir.path() + "/key.pem");
        Loop loop;
        Process keel(loop, {kKeel, "run", dir.path(), "--no-lock"}, kEnv);
        const int port = portOf(keel);
        CPPUNIT_ASSERT_MESSAGE(keel.err(), port > 0);
        const std::string connect = "127.0.0.1:" + std::to_string(port);
        auto subject = [&] {
            Ran s = run(loop, {"openssl", "s_client", "-connect", connect, "-brief"});
            return s.err;
        };
        CPPUNIT_ASSERT_MESSAGE(subject(), has(subject(), "CN = one"));
        Ran r = run(loop, {"curl", "-sS", "-k", "https://" + connect + "/plain"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.err, std::string("tls"), r.out);
        // New files in place, then SIGHUP: new connections get the new certificate.
        makeCertificate(dir.path(), "two");
        std::filesystem::copy_file(dir.path() + "/two.pem", dir.path() + "/cert.pem",
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::copy_file(dir.path() + "/two.key", dir.path() + "/key.pem",
                                   std::filesystem::copy_options::overwrite_existing);
        keel.kill(SIGHUP);
        CPPUNIT_ASSERT(keel.waitForOutput("reloaded", 10000));
        CPPUNIT_ASSERT_MESSAGE(subject(), has(subject(), "CN = two"));
        keel.kill(SIGTERM);
        CPPUNIT_ASSERT(keel.waitExit(15000));
        CPPUNIT_ASSERT_EQUAL(0, keel.status());
    }

    void testMismatchedKeyIsReported() {
        TempDir dir;
        makeCertificate(dir.path(), "one");
        makeCertificate(dir.path(), "two");
        std::ofstream(dir.path() + "/site.json")
            << R"({"name": "bad", "listeners": [{"address": "127.0.0.1:0",
            "tls": {"cert": "one.pem", "key": "two.key"}}], "plugins": {"http": "^0.1.0"},
            "routes": [{"path": "/plain", "use": "respond", "config": {"body": "x"}}]})";
        Loop loop;
        Process keel(loop, {kKeel, "run", dir.path(), "--no-lock"}, kEnv);
        // Refused at start: keel exits 1 and the message names both files.
        CPPUNIT_ASSERT(keel.waitExit(15000));
        CPPUNIT_ASSERT_EQUAL(1, keel.status());
        CPPUNIT_ASSERT(has(keel.err(), "does not match the certificate"));
        CPPUNIT_ASSERT(has(keel.err(), "two.key"));
        CPPUNIT_ASSERT(has(keel.err(), "one.pem"));
        CPPUNIT_ASSERT(!has(keel.err(), "listening on"));
    }

    void testBusyPortFailsTheStart() {
        // A port another socket holds: keel run exits 1 naming the address and the site file.
        const int holder = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CPPUNIT_ASSERT_EQUAL(0, ::bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof addr));
        CPPUNIT_ASSERT_EQUAL(0, ::listen(holder, 1));
        socklen_t len = sizeof addr;
        ::getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len);
        const std::string address = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
        TempDir dir;
        std::ofstream(dir.path() + "/site.json")
            << R"({"name": "busy", "listeners": [{"address": ")" << address
            << R"("}], "plugins": {"http": "^0.1.0"},
            "routes": [{"path": "/plain", "use": "respond", "config": {"body": "x"}}]})";
        Loop loop;
        Process keel(loop, {kKeel, "run", dir.path(), "--no-lock"}, kEnv);
        CPPUNIT_ASSERT(keel.waitExit(15000));
        ::close(holder);
        CPPUNIT_ASSERT_EQUAL(1, keel.status());
        CPPUNIT_ASSERT_MESSAGE(keel.err(), has(keel.err(), address));
        CPPUNIT_ASSERT_MESSAGE(keel.err(), has(keel.err(), "site.json"));
        CPPUNIT_ASSERT(!has(keel.err(), "listening on"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RunTest);
