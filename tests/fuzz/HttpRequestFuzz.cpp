// libFuzzer target over the http plugin's request parsing and the kernel's routing: each
// input is the byte stream of one client connection, fed through a socketpair to the
// plugin's Connection (llhttp, limits, smuggling checks, pipelining, bodies, responses), on
// a loop of its own. Behind it, a small stand-in for the kernel's pipeline routes each
// request with the kernel's Router and path decoding, and answers in the ways handlers
// do: a fixed response, an echo of the body read in pieces (with pauses), a streamed
// response, a 100-continue, a response cut short. Whatever the input, nothing may crash,
// leak or misbehave under AddressSanitizer, and every response must start as one.
#include <keel/abi.h>
#include <uv.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "Connection.hpp"
#include "Listener.hpp"
#include "Request.hpp" // kernel: decodePath
#include "Router.hpp"  // kernel: the site's router
#include "Server.hpp"

namespace {

using namespace keel::http;

// --- a stand-in for the kernel ------------------------------------------------------------

enum Route { kPlain, kEcho, kStream, kCut, kUser, kFiles };

struct FakeRequest {
    const keel_transport_vtable* transport;
    void* conn;
    std::string method;
    std::string target;
    std::int64_t contentLength;
    bool expectContinue;
    int route = -1;
    std::string body;
    bool ended = false;
    bool aborted = false;
    int pieces = 0;
};

keel_site* const kSite = reinterpret_cast<keel_site*>(0x1);
uv_loop_t gLoop;
keel::kernel::Router gRouter;
std::string gSitesJson =
    R"([{"name":"f","listeners":[],"hosts":[],"default":true,"mode":"production"}])";

void respond(FakeRequest* r, int status, std::string_view body, bool known = true) {
    if (r->ended || r->aborted) return;
    r->ended = true;
    static const char kType[] = "text/plain";
    keel_header headers[] = {{{"Content-Type", 12}, {kType, sizeof kType - 1}}};
    r->transport->write_head(r->conn, reinterpret_cast<keel_request*>(r), status, headers, 1,
                             known ? static_cast<std::int64_t>(body.size()) : -1);
    if (!body.empty())
        r->transport->write_body(r->conn, reinterpret_cast<keel_request*>(r), body.data(),
                                 body.size());
    r->transport->end(r->conn, reinterpret_cast<keel_request*>(r));
}

keel_request* requestBegin(keel_ctx*, keel_site*, const keel_request_info* info,
                           const keel_transport_vtable* transport, void* conn) {
    auto* r = new FakeRequest{transport,
                              conn,
                              std::string(info->method.ptr, info->method.len),
                              std::string(info->target.ptr, info->target.len),
                              info->content_length,
                              info->expect_continue != 0};
    auto* req = reinterpret_cast<keel_request*>(r);
    std::string_view target = r->target;
    if (auto scheme = target.find("://");
        scheme != std::string_view::npos && !target.empty() && target.front() != '/') {
        const auto slash = target.find('/', scheme + 3);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    std::string path;
    if (!keel::kernel::decodePath(target.substr(0, target.find('?')), path)) {
        respond(r, 400, "bad");
        return req;
    }
    const auto match = gRouter.match(r->method, path);
    if (match.result != keel::kernel::Router::Match::Result::found) {
        respond(r, match.result == keel::kernel::Router::Match::Result::notFound ? 404 : 405, "no");
        return req;
    }
    r->route = match.id;
    switch (match.id) {
    case kPlain: respond(r, 200, "Hello World!"); break;
    case kStream: {
        r->ended = true;
        transport->write_head(conn, req, 200, nullptr, 0, -1);
        for (int i = 0; i < 3; ++i)
            transport->write_body(conn, req, "chunk", 5);
        transport->end(conn, req);
        break;
    }
    case kCut:
        r->ended = true;
        transport->write_head(conn, req, 200, nullptr, 0, -1);
        transport->write_body(conn, req, "part", 4);
        transport->reset(conn, req);
        break;
    case kEcho:
        if (r->expectContinue) transport->send_continue(conn, req);
        if (r->contentLength == 0) respond(r, 200, r->body);
        break;
    default: respond(r, 200, match.paramCount > 0 ? match.params[0].value : "x"); break;
    }
    return req;
}

void requestBody(keel_request* req, const void* data, size_t length) {
    auto* r = reinterpret_cast<FakeRequest*>(req);
    if (r->ended || r->aborted) return;
    if (length == 0) {
        respond(r, 200, r->body);
        return;
    }
    if (r->body.size() + length > 4096) { // the route's limit
        respond(r, 413, "too big");
        return;
    }
    r->body.append(static_cast<const char*>(data), length);
    // Every third piece the "handler" asks for a pause, and resumes at once.
    if (++r->pieces % 3 == 0) {
        r->transport->pause_body(r->conn, req, 1);
        r->transport->pause_body(r->conn, req, 0);
    }
}

const keel_transport_api kTransport = {
    sizeof(keel_transport_api),
    [](keel_ctx*) {
        return keel_str{gSitesJson.data(), gSitesJson.size()};
    },
    [](keel_ctx*, keel_str, keel_str, int) { return kSite; },
    [](keel_site*) {
        return keel_str{"f", 1};
    },
    [](keel_ctx*) {
        return keel_str{"f", 1};
    },
    &requestBegin,
    &requestBody,
    [](keel_request*) {},
    [](keel_request* req) { reinterpret_cast<FakeRequest*>(req)->aborted = true; },
    [](keel_request* req) { delete reinterpret_cast<FakeRequest*>(req); },
    [](keel_request*) { return 1; },
};

keel_request_api makeRequestApi() {
    keel_request_api api{};
    api.size = sizeof api;
    api.id = [](keel_request*) { return keel_str{"fuzz-1", 6}; };
    return api;
}
const keel_request_api kRequestApi = makeRequestApi();

keel_host_api makeHost() {
    keel_host_api host{};
    host.size = sizeof host;
    host.abi_major = KEEL_ABI_MAJOR;
    host.abi_minor = KEEL_ABI_MINOR;
    host.log = [](keel_ctx*, keel_log_level, keel_str) {};
    host.now_ms = [](keel_ctx*) { return uv_now(&gLoop); };
    host.topic = [](keel_ctx*, keel_str) { return keel_topic(1); };
    host.has_subscribers = [](keel_ctx*, keel_topic) { return 0; };
    host.publish = [](keel_ctx*, keel_topic, const keel_payload*) {};
    host.uv_loop = [](keel_ctx*) -> void* { return &gLoop; };
    host.make_callback = [](keel_ctx*, const char*, keel_task_fn fn, void* user) { fn(user); };
    host.request = &kRequestApi;
    host.transport = &kTransport;
    return host;
}
const keel_host_api kHost = makeHost();

// --- the server --------------------------------------------------------------------------

Member gMember;
ListenerPtr gListener;

void setUp() {
    uv_loop_init(&gLoop);
    gRouter.add("/plain", {"GET"}, kPlain);
    gRouter.add("/echo", {"POST", "PUT"}, kEcho);
    gRouter.add("/stream", {}, kStream);
    gRouter.add("/cut", {}, kCut);
    gRouter.add("/users/:id", {"GET"}, kUser);
    gRouter.add("/files/*", {}, kFiles);
    gRouter.compile();
    auto settings = std::make_shared<SiteSettings>();
    settings->site = "f";
    settings->config = Config::parse(
        R"({"limits": {"header_bytes": 2048, "header_count": 20, "url_bytes": 512}})");
    gMember.ctx = reinterpret_cast<keel_ctx*>(0x2);
    gMember.host = &kHost;
    gMember.site = "f";
    gMember.settings = settings;
    Server::get().join(gMember); // the site lists no listener: nothing is bound
    gListener = std::make_shared<Listener>("fuzz", "", 0, false);
    gListener->setDefaults(settings);
    gListener->users.push_back(&gMember);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool ready = (setUp(), true);
    (void)ready;
    if (size > 256 * 1024) return 0;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return 0;
    const int client = fds[1];
    int buffer = 1 << 20;
    ::setsockopt(client, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    ::fcntl(client, F_SETFL, O_NONBLOCK);
    auto* connection = new Connection(gListener);
    connection->adopt(fds[0]);

    std::size_t sent = 0;
    std::string received;
    char chunk[65536];
    // Send what the socket takes, run the server, read its answers, until it closes or
    // stops making progress.
    for (int round = 0; round < 200 && Server::get().connections() > 0; ++round) {
        if (sent < size) {
            const ssize_t n = ::send(client, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0) sent += static_cast<std::size_t>(n);
            if (sent == size) ::shutdown(client, SHUT_WR);
        }
        uv_run(&gLoop, UV_RUN_NOWAIT);
        ssize_t n;
        bool progress = false;
        while ((n = ::recv(client, chunk, sizeof chunk, 0)) > 0) {
            received.append(chunk, static_cast<std::size_t>(n));
            progress = true;
        }
        if (!progress && sent == size && round > 20) break;
    }
    if (!received.empty() && received.compare(0, 7, "HTTP/1.") != 0) std::abort(); // not a response
    // The client goes away; the server must let go of everything.
    ::close(client);
    for (int round = 0; round < 1000 && Server::get().connections() > 0; ++round)
        uv_run(&gLoop, UV_RUN_NOWAIT);
    if (Server::get().connections() > 0) std::abort(); // a connection that never closes
    return 0;
}
