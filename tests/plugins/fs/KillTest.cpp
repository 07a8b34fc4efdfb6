// Atomic writes under kill -9 (issue 5), against the real binary: `keel run` serves a site
// whose `files` route writes, a raw socket PUTs 256 KiB of 'a' and of 'b' in turn to the same
// file, and keel is SIGKILLed after a random delay (a seeded RNG; the delay is a poll() on the
// socket with that timeout, so the PUTs go on meanwhile). After every kill the file holds
// exactly A or B (never torn, never missing once a PUT succeeded); after every restart the
// site load removes the leftover temporary files before the test looks again.
#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "Process.hpp"

namespace {

namespace stdfs = std::filesystem;
using keel::kernel::Loop;
using keel::test::Process;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kSize = 256 * 1024;
constexpr int kRounds = 60;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> tempFiles(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : stdfs::recursive_directory_iterator(dir))
        if (e.path().filename().string().starts_with(".keel-tmp-")) out.push_back(e.path());
    return out;
}

int portOf(const std::string& err) {
    std::smatch m;
    if (!std::regex_search(err, m, std::regex("listening on 127\\.0\\.0\\.1:([0-9]+)"))) return 0;
    return std::stoi(m[1]);
}

/// How many leftover temporary files the scan of the N-th start (0-based) reported removing.
int removedAt(const std::string& err, int start) {
    static const std::regex line("removed ([0-9]+) leftover temporary files");
    int i = 0;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), line); it != std::sregex_iterator();
         ++it, ++i)
        if (i == start) return std::stoi((*it)[1]);
    return -1;
}

/// A blocking-free client that PUTs A and B in turn until a deadline, reading the answers.
class Writer {
public:
    explicit Writer(int port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        const int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        CPPUNIT_ASSERT(rc == 0 || errno == EINPROGRESS);
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        queueNext();
    }
    ~Writer() { ::close(fd_); }
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    /// Runs the PUT loop until `deadline` (poll() with the time that is left as its timeout).
    void runUntil(Clock::time_point deadline) {
        for (;;) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0 || broken) return;
            pollfd p{fd_, static_cast<short>(POLLIN | (out_.empty() ? 0 : POLLOUT)), 0};
            const int n = ::poll(&p, 1, static_cast<int>(left.count()));
            if (n <= 0) continue;
            if (p.revents & POLLOUT) flush();
            if (p.revents & (POLLIN | POLLHUP | POLLERR)) read();
        }
    }

    int succeeded = 0;                         // PUTs answered 200/201
    bool inFlight() const { return sentAny_; } // a PUT was started and not yet answered
    bool broken = false;

private:
    void queueNext() {
        const char c = (succeeded + failed_) % 2 == 0 ? 'a' : 'b';
        out_ = "PUT /files/target HTTP/1.1\r\nHost: k\r\nContent-Length: " + std::to_string(kSize) +
               "\r\n\r\n" + std::string(kSize, c);
        sentAny_ = false;
    }
    void flush() {
        while (!out_.empty()) {
            const ssize_t n = ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
            if (n > 0) {
                out_.erase(0, static_cast<std::size_t>(n));
                sentAny_ = true;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINPROGRESS)) return;
            broken = true;
            return;
        }
    }
    void read() {
        char buf[4096];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n > 0) {
                in_.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EAGAIN) break;
            broken = true;
            return;
        }
        // Each answer is a small JSON body with Content-Length.
        for (;;) {
            const auto end = in_.find("\r\n\r\n");
            if (end == std::string::npos) return;
            const auto cl = in_.find("Content-Length: ");
            if (cl == std::string::npos || cl > end) {
                broken = true;
                return;
            }
            const std::size_t length = std::stoul(in_.substr(cl + 16));
            if (in_.size() < end + 4 + length) return;
            const int status = std::atoi(in_.c_str() + 9);
            in_.erase(0, end + 4 + length);
            if (status == 200 || status == 201)
                ++succeeded;
            else
                ++failed_;
            CPPUNIT_ASSERT_MESSAGE("PUT answered " + std::to_string(status),
                                   status == 200 || status == 201);
            queueNext();
        }
    }

    int fd_ = -1;
    std::string out_;
    std::string in_;
    int failed_ = 0;
    bool sentAny_ = false;
};

} // namespace

class KillTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(KillTest);
    CPPUNIT_TEST(testKillNineDuringWritesNeverTearsTheFile);
    CPPUNIT_TEST_SUITE_END();

public:
    void testKillNineDuringWritesNeverTearsTheFile() {
        char pattern[] = "/tmp/keel-fs-kill-XXXXXX";
        const std::string dir = ::mkdtemp(pattern);
        const std::string data = dir + "/data";
        std::ofstream(dir + "/site.json")
            << R"({"name": "kill", "listeners": [{"address": "127.0.0.1:0"}],
            "plugins": {"http": "^0.1.0", "fs": "^0.1.0"},
            "routes": [{"path": "/files/*", "use": "files", "body_limit": 1048576,
                        "config": {"root": "data", "write": true}}]})";
        const std::string a(kSize, 'a'), b(kSize, 'b');
        std::mt19937 rng(20261126); // seeded: a failure replays with the same delays
        std::uniform_int_distribution<int> delayMs(1, 80);
        Loop loop;
        bool everWritten = false;
        int killedMidRequest = 0, leftoversRemoved = 0, puts = 0;
        for (int round = 0; round <= kRounds; ++round) {
            Process keel(loop, {KEEL_BINARY, "run", dir, "--no-lock"},
                         {{"KEEL_PLUGIN_PATH", KEEL_PLUGIN_DIR}});
            // Started: listening, and the site load's scan has cleaned the root.
            CPPUNIT_ASSERT_MESSAGE(keel.err(),
                                   keel.waitForOutput("leftover temporary files", 20000));
            CPPUNIT_ASSERT_MESSAGE(keel.err(),
                                   keel.waitForOutput("listening on 127.0.0.1:", 20000));
            const int removed = removedAt(keel.err(), 0);
            CPPUNIT_ASSERT_MESSAGE(keel.err(), removed >= 0);
            leftoversRemoved += removed;
            const auto left = tempFiles(data);
            CPPUNIT_ASSERT_MESSAGE("round " + std::to_string(round) + ": " +
                                       (left.empty() ? "" : left.front()),
                                   left.empty());
            if (everWritten) {
                const std::string now = slurp(data + "/target");
                CPPUNIT_ASSERT_MESSAGE("round " + std::to_string(round) + ": torn file of " +
                                           std::to_string(now.size()) + " bytes",
                                       now == a || now == b);
            }
            if (round == kRounds) {
                keel.kill(SIGTERM);
                CPPUNIT_ASSERT(keel.waitExit(15000));
                CPPUNIT_ASSERT_EQUAL_MESSAGE(keel.err(), 0, keel.status());
                CPPUNIT_ASSERT_MESSAGE(keel.err(),
                                       keel.err().find("Sanitizer") == std::string::npos);
                break;
            }
            const int port = portOf(keel.err());
            CPPUNIT_ASSERT(port > 0);
            {
                Writer w(port);
                w.runUntil(Clock::now() + std::chrono::milliseconds(delayMs(rng)));
                keel.kill(SIGKILL);
                CPPUNIT_ASSERT(keel.waitExit(15000));
                CPPUNIT_ASSERT_EQUAL(SIGKILL, keel.signal());
                if (w.inFlight()) ++killedMidRequest;
                puts += w.succeeded;
                if (w.succeeded > 0) everWritten = true;
            }
            // Right after the kill: old or new content, whatever the moment was.
            if (everWritten) {
                const std::string now = slurp(data + "/target");
                CPPUNIT_ASSERT_MESSAGE("after kill " + std::to_string(round) + ": torn file of " +
                                           std::to_string(now.size()) + " bytes",
                                       now == a || now == b);
            }
        }
        std::fprintf(
            stderr,
            "\n  KillTest: %d rounds, %d PUTs answered, %d kills during a PUT, %d leftover "
            "temporary files removed at restart\n",
            kRounds, puts, killedMidRequest, leftoversRemoved);
        stdfs::remove_all(dir);
        CPPUNIT_ASSERT(everWritten);
        // The kills must land in the write path, or the test proves nothing.
        CPPUNIT_ASSERT(killedMidRequest >= kRounds / 4);
        CPPUNIT_ASSERT(leftoversRemoved > 0);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(KillTest);
