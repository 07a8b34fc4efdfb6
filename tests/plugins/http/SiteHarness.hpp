#pragma once

// An in-process kernel running site manifests with the http plugin on real sockets
// (127.0.0.1, port 0), and raw clients on the same loop: the test drives both and waits on
// events (bytes arrive, a connection closes, a bus event) with deadlines, never a sleep.
// The kernel is the real one (SiteManager, the pipeline, the plugin loaded from its .so),
// only without the CLI around it.

#include <cppunit/extensions/HelperMacros.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "Bus.hpp"
#include "Catalog.hpp"
#include "Log.hpp"
#include "Loop.hpp"
#include "PluginInstance.hpp"
#include "Services.hpp"
#include "SiteConfig.hpp"
#include "SiteManager.hpp"

namespace keel::test {

namespace fs = std::filesystem;

/// A site manifest with the http plugin; `routes` and `httpConfig` are JSON fragments. The
/// kernel stops a site's plugins in reverse order (of their names, as it stands): "fixture"
/// and "hello" sort before "http", so http stops first, draining its connections while the
/// handlers still answer.
inline std::string siteJson(const std::string& name, const std::string& routes,
                            const std::string& httpConfig = "{}", const std::string& extra = "",
                            const std::string& listener = R"({"address": "127.0.0.1:0"})") {
    return R"({"name": ")" + name + R"(", "listeners": [)" + listener + R"(],
        "plugins": {"hello": "^0.1.0", "fixture": "^1.0.0", "http": {"version": "^0.1.0", "config": )" +
           httpConfig + R"(}},
        )" +
           extra + R"("routes": [)" + routes + "]}";
}

class SiteHarness {
public:
    /// Starts the sites (throws what the kernel throws: ConfigError, PluginError).
    explicit SiteHarness(const std::vector<std::string>& manifests)
        : catalog_({KEEL_PLUGIN_DIR, KEEL_FIXTURE_PLUGIN_DIR}) {
        previousSink_ = kernel::Log::setSink(
            [this](kernel::LogLevel level, std::string_view source, std::string_view text) {
                logs.push_back(std::string(kernel::toString(level)) + " " + std::string(source) +
                               ": " + std::string(text));
            });
        char pattern[] = "/tmp/keel-http-test-XXXXXX";
        dir = ::mkdtemp(pattern);
        listening_ = bus_.subscribe(
            bus_.topic("http.listening"), 0, [this](kernel::TopicId, const keel_payload& p) {
                const std::string json(static_cast<const char*>(p.data), p.size);
                const auto at = json.find("\"port\":");
                if (at != std::string::npos)
                    ports.push_back(static_cast<std::uint16_t>(std::stoi(json.substr(at + 7))));
            });
        std::vector<kernel::SiteConfig> configs;
        for (std::size_t i = 0; i < manifests.size(); ++i) {
            const std::string file = dir + "/site" + std::to_string(i) + ".json";
            std::ofstream(file) << manifests[i];
            configs.push_back(kernel::loadSite(file));
        }
        loop.runMain([&] { sites.start(std::move(configs)); });
    }

    ~SiteHarness() {
        stop();
        // KEEL_HTTP_TEST_LOGS=1 shows what the kernel and the plugins logged.
        if (std::getenv("KEEL_HTTP_TEST_LOGS") != nullptr)
            for (const auto& l : logs)
                std::fprintf(stderr, "  | %s\n", l.c_str());
        bus_.unsubscribe(listening_);
        kernel::Log::setSink(std::move(previousSink_));
        fs::remove_all(dir);
    }

    SiteHarness(const SiteHarness&) = delete;
    SiteHarness& operator=(const SiteHarness&) = delete;

    std::uint16_t port(std::size_t index = 0) const {
        CPPUNIT_ASSERT_MESSAGE("no http.listening event", index < ports.size());
        return ports[index];
    }

    /// Replaces the sites as `keel run` does on SIGHUP (reload, then site.reloaded); returns
    /// the errors.
    std::vector<std::string> reload(const std::vector<std::string>& manifests) {
        std::vector<kernel::SiteConfig> configs;
        for (std::size_t i = 0; i < manifests.size(); ++i) {
            const std::string file = dir + "/reload" + std::to_string(i) + ".json";
            std::ofstream(file) << manifests[i];
            configs.push_back(kernel::loadSite(file));
        }
        std::vector<std::string> errors;
        loop.runMain([&] {
            errors = sites.reload(std::move(configs));
            if (errors.empty()) bus_.publishJson(bus_.topic("site.reloaded"), "{}");
        });
        return errors;
    }

    /// Graceful stop of every site; true when it finished within the deadline.
    bool stop(unsigned deadlineMs = 10000) {
        if (stopped_) return true;
        stopped_ = true;
        bool done = false;
        loop.runMain([&] { sites.stop([&] { done = true; }); });
        return runUntil([&] { return done; }, deadlineMs);
    }
    /// Starts a graceful stop without waiting (the test drives the loop meanwhile).
    void beginStop(bool& done) {
        stopped_ = true;
        loop.runMain([&] { sites.stop([&done] { done = true; }); });
    }

    /// Runs the loop until `done()` or the deadline.
    bool runUntil(const std::function<bool()>& done, unsigned deadlineMs = 5000) {
        bool timedOut = false;
        const kernel::TimerId guard = loop.setTimeout(deadlineMs, [&] { timedOut = true; });
        // What the last check saw is the answer: asking again could see another thread's
        // later work (a predicate over files the thread pool writes).
        bool finished = false;
        while (!(finished = done()) && !timedOut)
            uv_run(loop.uv(), UV_RUN_ONCE);
        loop.clearTimer(guard);
        return finished;
    }

    bool logged(const std::string& needle) const {
        for (const auto& l : logs)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }

    kernel::Bus& bus() { return bus_; }

    std::string dir;
    std::vector<std::uint16_t> ports;
    std::vector<std::string> logs;

private:
    kernel::Log::Sink previousSink_;
    // The catalog (the plugin libraries) outlives the loop that may still call into them.
    kernel::Catalog catalog_;

public:
    kernel::Loop loop;

private:
    kernel::Bus bus_{loop};
    kernel::Services services_;
    kernel::Runtime runtime_{loop, bus_, services_};

public:
    kernel::SiteManager sites{runtime_, catalog_};

private:
    kernel::SubscriptionId listening_ = 0;
    bool stopped_ = false;
};

/// One HTTP response as a client reads it.
struct Reply {
    int status = 0;
    std::string version;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string raw; // head and body as received
    std::string header(const std::string& name) const {
        for (const auto& [n, v] : headers)
            if (strcasecmp(n.c_str(), name.c_str()) == 0) return v;
        return "";
    }
    bool has(const std::string& name) const {
        for (const auto& [n, v] : headers)
            if (strcasecmp(n.c_str(), name.c_str()) == 0) return true;
        return false;
    }
};

/// Parses responses from the front of `data` (consumed as parsed). `head` marks responses to
/// HEAD (no body). Returns false when `data` does not hold a whole response yet; a response
/// without length completes only when `eof`.
inline bool parseReply(std::string& data, Reply& reply, bool head = false, bool eof = false) {
    const auto end = data.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    Reply r;
    const std::string headText = data.substr(0, end);
    std::size_t pos = headText.find("\r\n");
    const std::string statusLine = headText.substr(0, pos);
    r.version = statusLine.substr(0, 8);
    r.status = std::atoi(statusLine.c_str() + 9);
    while (pos != std::string::npos && pos < headText.size()) {
        const std::size_t next = headText.find("\r\n", pos + 2);
        const std::string line = headText.substr(
            pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.erase(0, 1);
            r.headers.emplace_back(line.substr(0, colon), value);
        }
        pos = next;
    }
    std::size_t at = end + 4;
    const bool noBody = head || r.status == 204 || r.status == 304 || r.status / 100 == 1;
    if (noBody) {
    } else if (strcasecmp(r.header("Transfer-Encoding").c_str(), "chunked") == 0) {
        for (;;) {
            const auto line = data.find("\r\n", at);
            if (line == std::string::npos) return false;
            const std::size_t size = std::stoul(data.substr(at, line - at), nullptr, 16);
            if (data.size() < line + 2 + size + 2) return false;
            r.body += data.substr(line + 2, size);
            at = line + 2 + size + 2;
            if (size == 0) break;
        }
    } else if (r.has("Content-Length")) {
        const std::size_t length = std::stoul(r.header("Content-Length"));
        if (data.size() < at + length) return false;
        r.body = data.substr(at, length);
        at += length;
    } else {
        if (!eof) return false;
        r.body = data.substr(at);
        at = data.size();
    }
    r.raw = data.substr(0, at);
    data.erase(0, at);
    reply = std::move(r);
    return true;
}

/// A raw TCP client on the harness's loop.
class RawClient {
public:
    RawClient(SiteHarness& harness, std::uint16_t port, bool ipv6 = false) : harness_(harness) {
        fd_ = ::socket(ipv6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int rc;
        if (ipv6) {
            sockaddr_in6 a{};
            a.sin6_family = AF_INET6;
            a.sin6_port = htons(port);
            a.sin6_addr = in6addr_loopback;
            rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        } else {
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_port = htons(port);
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        }
        CPPUNIT_ASSERT_MESSAGE(std::string("connect: ") + std::strerror(errno), rc == 0);
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
        uv_poll_init(harness_.loop.uv(), &poll_, fd_);
        poll_.data = this;
        arm();
    }

    ~RawClient() {
        uv_poll_stop(&poll_);
        uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
        uv_run(harness_.loop.uv(), UV_RUN_NOWAIT);
        if (fd_ >= 0) ::close(fd_);
    }

    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    /// Queues bytes and runs the loop until the socket took them all.
    bool send(std::string_view bytes, unsigned deadlineMs = 5000) {
        outbox_.append(bytes);
        flushOutbox();
        arm();
        return harness_.runUntil([&] { return outbox_.empty() || closed; }, deadlineMs);
    }

    /// Runs the loop until `count` whole responses arrived (or the connection closed).
    std::vector<Reply> replies(std::size_t count, unsigned deadlineMs = 5000,
                               std::vector<bool> heads = {}) {
        std::vector<Reply> out;
        harness_.runUntil(
            [&] {
                Reply r;
                while (
                    out.size() < count &&
                    parseReply(buffer_, r, out.size() < heads.size() && heads[out.size()], closed))
                    out.push_back(std::move(r));
                return out.size() >= count || closed;
            },
            deadlineMs);
        // A close can complete the last response (no length): one more try.
        Reply r;
        while (out.size() < count &&
               parseReply(buffer_, r, out.size() < heads.size() && heads[out.size()], closed))
            out.push_back(std::move(r));
        return out;
    }
    Reply reply(unsigned deadlineMs = 5000, bool head = false) {
        auto all = replies(1, deadlineMs, {head});
        return all.empty() ? Reply{} : all.front();
    }

    /// Runs the loop until the server closed the connection.
    bool waitClosed(unsigned deadlineMs = 5000) {
        return harness_.runUntil([&] { return closed; }, deadlineMs);
    }
    /// Runs the loop until at least `n` bytes arrived.
    bool waitBytes(std::size_t n, unsigned deadlineMs = 5000) {
        return harness_.runUntil([&] { return buffer_.size() >= n || closed; }, deadlineMs);
    }
    void shutdownWrite() { ::shutdown(fd_, SHUT_WR); }
    /// Closes abruptly (RST when data is unread).
    void abort() {
        linger l{1, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        uv_poll_stop(&poll_);
        ::close(fd_);
        fd_ = -1;
        closed = true;
    }

    const std::string& received() const { return buffer_; }
    bool closed = false;
    bool reset = false;

private:
    void arm() {
        if (fd_ < 0) return;
        uv_poll_start(&poll_, UV_READABLE | (outbox_.empty() ? 0 : UV_WRITABLE),
                      [](uv_poll_t* p, int status, int events) {
                          auto* self = static_cast<RawClient*>(p->data);
                          if (status < 0) {
                              self->closed = true;
                              uv_poll_stop(p);
                              return;
                          }
                          if (events & UV_WRITABLE) self->flushOutbox();
                          if (events & UV_READABLE) self->readAll();
                          if (!self->closed) self->arm();
                      });
    }
    void flushOutbox() {
        while (!outbox_.empty()) {
            const ssize_t n = ::send(fd_, outbox_.data(), outbox_.size(), MSG_NOSIGNAL);
            if (n > 0) {
                outbox_.erase(0, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EAGAIN) return;
            closed = true;
            return;
        }
    }
    void readAll() {
        char chunk[65536];
        for (;;) {
            const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n > 0) {
                buffer_.append(chunk, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EAGAIN) return;
            if (n < 0 && errno == ECONNRESET) reset = true;
            closed = true;
            uv_poll_stop(&poll_);
            return;
        }
    }

    SiteHarness& harness_;
    int fd_ = -1;
    uv_poll_t poll_{};
    std::string outbox_;
    std::string buffer_;
};

} // namespace keel::test
