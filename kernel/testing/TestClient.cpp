// The in-process transport behind keel::testing::TestClient: a keel_transport_vtable that
// records the response instead of writing to a socket.
#include <keel/testing/TestClient.hpp>

#include <strings.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "Bus.hpp"
#include "Catalog.hpp"
#include "Log.hpp"
#include "Loop.hpp"
#include "Request.hpp"
#include "Services.hpp"
#include "SiteConfig.hpp"
#include "SiteManager.hpp"

namespace keel::testing {

namespace fs = std::filesystem;
using namespace keel::kernel;

std::optional<std::string> Response::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (n.size() == name.size() && ::strncasecmp(n.data(), name.data(), n.size()) == 0) return v;
    return std::nullopt;
}

namespace {

/// One exchange: what the pipeline wrote back, and the transport's flow-control state.
struct Exchange {
    Response response;
    bool paused = false;
    bool released = false;
    keel_request* request = nullptr;
};

const keel_transport_vtable kTransport = {
    sizeof(keel_transport_vtable),
    [](void* conn, keel_request*, int status, const keel_header* headers, size_t count, int64_t contentLength) {
        auto* x = static_cast<Exchange*>(conn);
        x->response.status = status;
        for (size_t i = 0; i < count; ++i)
            x->response.headers.emplace_back(std::string(headers[i].name.ptr, headers[i].name.len),
                                             std::string(headers[i].value.ptr, headers[i].value.len));
        if (contentLength >= 0 && !x->response.header("Content-Length"))
            x->response.headers.emplace_back("Content-Length", std::to_string(contentLength));
    },
    [](void* conn, keel_request*, const void* data, size_t len) {
        static_cast<Exchange*>(conn)->response.body.append(static_cast<const char*>(data), len);
        return 0;
    },
    nullptr, // no sendfile: the kernel reads the file through write_body
    [](void* conn, keel_request*) { static_cast<Exchange*>(conn)->response.complete = true; },
    [](void* conn, keel_request*, int paused) { static_cast<Exchange*>(conn)->paused = paused != 0; },
    [](void* conn, keel_request*) { static_cast<Exchange*>(conn)->response.sentContinue = true; },
    [](void* conn, keel_request*) { static_cast<Exchange*>(conn)->response.reset = true; },
};

std::vector<std::string> defaultPluginPath(std::vector<std::string> given) {
    if (!given.empty()) return given;
    if (const char* env = std::getenv("KEEL_PLUGIN_PATH"); env != nullptr && *env != '\0') return splitPath(env);
    return Catalog::defaultPath("");
}

/// A manifest given as text goes through the same loader as files: written to a private
/// temporary folder, read, and the site's folder then set to the caller's.
SiteConfig loadFromText(std::string_view json, const std::string& dir) {
    char pattern[] = "/tmp/keel-test-site-XXXXXX";
    const char* tmp = ::mkdtemp(pattern);
    if (tmp == nullptr) throw std::runtime_error("TestClient: cannot create a temporary folder");
    const fs::path file = fs::path(tmp) / "site.json";
    std::ofstream(file) << json;
    SiteConfig config;
    try {
        config = loadSite(file.string());
    } catch (...) {
        fs::remove_all(tmp);
        throw;
    }
    fs::remove_all(tmp);
    config.dir = dir;
    return config;
}

} // namespace

struct TestClient::Impl {
    std::vector<std::string> logs;
    Log::Sink previousSink;
    // Before the loop: the loop's teardown runs close callbacks that may live in plugin
    // libraries, so the catalog (which unloads them) must outlive it.
    Catalog catalog;
    Loop loop;
    Bus bus{loop};
    Services services;
    Runtime runtime{loop, bus, services};
    SiteManager sites{runtime, catalog};
    std::string dir;
    std::map<int, std::unique_ptr<Exchange>> started;
    int nextTicket = 1;

    explicit Impl(std::vector<std::string> pluginPath) : catalog(defaultPluginPath(std::move(pluginPath))) {
        previousSink = Log::setSink([this](LogLevel level, std::string_view source, std::string_view text) {
            logs.push_back(std::string(toString(level)) + " " + std::string(source) + ": " + std::string(text));
        });
    }
    ~Impl() {
        sites.abandon();
        // Let closing timers free their tasks (plugin user data) while the plugins exist.
        uv_run(loop.uv(), UV_RUN_NOWAIT);
        Log::setSink(std::move(previousSink));
    }

    void start(SiteConfig config) {
        std::vector<SiteConfig> configs;
        configs.push_back(std::move(config));
        loop.runMain([&] { sites.start(std::move(configs)); });
        if (sites.size() == 0) throw std::runtime_error("TestClient: the site did not start:\n" + joinedLogs());
    }

    std::string joinedLogs() const {
        std::string out;
        for (const auto& l : logs) out += l + "\n";
        return out;
    }

    /// Runs the loop until `done` or the deadline.
    bool runUntil(const std::function<bool()>& done, unsigned deadlineMs) {
        bool timedOut = false;
        const TimerId guard = loop.setTimeout(deadlineMs, [&] { timedOut = true; });
        while (!done() && !timedOut) uv_run(loop.uv(), UV_RUN_ONCE);
        loop.clearTimer(guard);
        return done();
    }

    keel_request* begin(const Request& spec, Exchange& x) {
        keel_site* site = sites.sites().all().empty() ? nullptr : sites.sites().all().front();
        if (!spec.host.empty())
            for (keel_site* s : sites.sites().all())
                if (s->info.hosts.empty() ||
                    std::find(s->info.hosts.begin(), s->info.hosts.end(), normalizeHost(spec.host)) != s->info.hosts.end()) {
                    site = s;
                    break;
                }
        if (site == nullptr) throw std::runtime_error("TestClient: no site is running");
        std::vector<std::pair<std::string, std::string>> headers = spec.headers;
        headers.emplace_back("Host", spec.host.empty() ? "localhost" : spec.host);
        if (!spec.body.empty() && !spec.chunked) headers.emplace_back("Content-Length", std::to_string(spec.body.size()));
        if (spec.chunked) headers.emplace_back("Transfer-Encoding", "chunked");
        if (spec.expectContinue) headers.emplace_back("Expect", "100-continue");
        std::vector<keel_header> raw;
        for (const auto& [n, v] : headers) raw.push_back(keel_header{{n.data(), n.size()}, {v.data(), v.size()}});
        keel_request_info info{sizeof(keel_request_info),
                               {spec.method.data(), spec.method.size()},
                               {spec.target.data(), spec.target.size()},
                               raw.data(),
                               raw.size(),
                               {spec.client.data(), spec.client.size()},
                               {nullptr, 0},
                               spec.chunked ? -1 : static_cast<int64_t>(spec.body.size()),
                               spec.expectContinue ? 1 : 0};
        keel_request* request = nullptr;
        loop.runMain([&] {
            request = new keel_request(site->current, info, &kTransport, &x);
            request->begin();
        });
        return request;
    }

    /// Feeds the body in 16 KiB pieces, honouring pause_body, from loop callbacks.
    void feedBody(const Request& spec, Exchange& x, keel_request* request, unsigned deadlineMs) {
        std::size_t offset = 0;
        const std::size_t piece = 16 * 1024;
        while (!x.response.complete && !x.response.reset) {
            if (x.paused) {
                if (!runUntil([&] { return !x.paused || x.response.complete || x.response.reset; }, deadlineMs)) return;
                continue;
            }
            if (offset >= spec.body.size()) {
                loop.runMain([&] { transportApi()->request_body(request, nullptr, 0); });
                return;
            }
            const std::size_t n = std::min(piece, spec.body.size() - offset);
            loop.runMain([&] { transportApi()->request_body(request, spec.body.data() + offset, n); });
            offset += n;
        }
    }
};

TestClient::TestClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TestClient::TestClient(TestClient&&) noexcept = default;
TestClient& TestClient::operator=(TestClient&&) noexcept = default;
TestClient::~TestClient() = default;

TestClient TestClient::fromManifest(const std::string& fileOrDir, std::vector<std::string> pluginPath) {
    auto impl = std::make_unique<Impl>(std::move(pluginPath));
    impl->start(loadSite(fileOrDir));
    return TestClient(std::move(impl));
}

TestClient TestClient::fromJson(std::string_view json, const std::string& dir, std::vector<std::string> pluginPath) {
    auto impl = std::make_unique<Impl>(std::move(pluginPath));
    impl->dir = dir;
    impl->start(loadFromText(json, dir));
    return TestClient(std::move(impl));
}

Response TestClient::request(const Request& spec, unsigned deadlineMs) {
    Exchange x;
    keel_request* request = impl_->begin(spec, x);
    impl_->feedBody(spec, x, request, deadlineMs);
    impl_->runUntil([&] { return x.response.complete || x.response.reset; }, deadlineMs);
    impl_->loop.runMain([&] { transportApi()->request_release(request); });
    return x.response;
}

int TestClient::start(const Request& spec) {
    auto x = std::make_unique<Exchange>();
    x->request = impl_->begin(spec, *x);
    impl_->feedBody(spec, *x, x->request, 10000);
    const int ticket = impl_->nextTicket++;
    impl_->started.emplace(ticket, std::move(x));
    return ticket;
}

Response TestClient::finish(int ticket, unsigned deadlineMs) {
    auto it = impl_->started.find(ticket);
    if (it == impl_->started.end()) throw std::invalid_argument("TestClient::finish: unknown ticket");
    std::unique_ptr<Exchange> x = std::move(it->second);
    impl_->started.erase(it);
    impl_->runUntil([&] { return x->response.complete || x->response.reset; }, deadlineMs);
    impl_->loop.runMain([&] { transportApi()->request_release(x->request); });
    return x->response;
}

Response TestClient::get(const std::string& target, Headers headers) {
    Request spec;
    spec.target = target;
    spec.headers = std::move(headers);
    return request(spec);
}

Response TestClient::post(const std::string& target, std::string body, std::string contentType, Headers headers) {
    Request spec;
    spec.method = "POST";
    spec.target = target;
    spec.body = std::move(body);
    spec.headers = std::move(headers);
    spec.headers.emplace_back("Content-Type", std::move(contentType));
    return request(spec);
}

Response TestClient::requestAndAbort(const Request& spec) {
    Exchange x;
    keel_request* request = impl_->begin(spec, x);
    impl_->loop.runMain([&] {
        transportApi()->request_abort(request);
        transportApi()->request_release(request);
    });
    return x.response;
}

std::vector<std::string> TestClient::reload(std::string_view json) {
    std::vector<std::string> errors;
    try {
        std::vector<SiteConfig> configs;
        configs.push_back(loadFromText(json, impl_->dir.empty() ? "." : impl_->dir));
        impl_->loop.runMain([&] { errors = impl_->sites.reload(std::move(configs)); });
    } catch (const ConfigError& e) {
        errors = e.errors();
    }
    return errors;
}

void TestClient::settle(unsigned deadlineMs) {
    bool timedOut = false;
    const TimerId guard = impl_->loop.setTimeout(deadlineMs, [&] {
        timedOut = true;
        impl_->loop.stop();
    });
    impl_->loop.unrefTimer(guard);
    impl_->loop.run();
    impl_->loop.clearTimer(guard);
}

const std::vector<std::string>& TestClient::logs() const { return impl_->logs; }

} // namespace keel::testing
