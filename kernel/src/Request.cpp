#include "Request.hpp"

#include <keel/Text.hpp>
#include <openssl/rand.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <tuple>

#include "Json.hpp"
#include "LagMonitor.hpp"
#include "Log.hpp"
#include "Pipeline.hpp"

namespace keel::kernel {

namespace {

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Request ids: a per-process random prefix and a counter, so ids from several workers and
// restarts do not collide in merged logs.
std::string nextRequestId() {
    static const std::uint32_t prefix = [] {
        std::uint32_t p = 0;
        if (RAND_bytes(reinterpret_cast<unsigned char*>(&p), sizeof p) != 1) p = static_cast<std::uint32_t>(::getpid());
        return p;
    }();
    static std::uint64_t counter = 0;
    char text[24];
    std::snprintf(text, sizeof text, "%08x%08llx", prefix, static_cast<unsigned long long>(++counter));
    return text;
}

std::string_view reasonCode(int status) {
    switch (status) {
    case 400: return "BAD_REQUEST";
    case 401: return "UNAUTHORIZED";
    case 403: return "FORBIDDEN";
    case 404: return "NOT_FOUND";
    case 413: return "PAYLOAD_TOO_LARGE";
    case 429: return "TOO_MANY_REQUESTS";
    default: return status >= 500 ? "INTERNAL_ERROR" : "ERROR";
    }
}

} // namespace

bool pathNeedsDecoding(std::string_view raw) {
    return std::find_if(raw.begin(), raw.end(), [](char c) { return c == '%' || c == '\0'; }) != raw.end();
}

bool decodePath(std::string_view raw, std::string& out) {
    // Most paths have no escape: one scan for '%' and NUL, one copy.
    if (!pathNeedsDecoding(raw)) {
        out.assign(raw);
        return true;
    }
    out.clear();
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '%') {
            if (i + 2 >= raw.size()) return false;
            const int hi = hexValue(raw[i + 1]);
            const int lo = hexValue(raw[i + 2]);
            if (hi < 0 || lo < 0) return false;
            const char decoded = static_cast<char>(hi * 16 + lo);
            if (decoded == '\0') return false;
            out += decoded;
            i += 2;
        } else if (c == '\0') {
            return false;
        } else {
            out += c;
        }
    }
    return true;
}

std::string decodeQueryComponent(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const char c = raw[i];
        if (c == '+') {
            out += ' ';
        } else if (c == '%' && i + 2 < raw.size() && hexValue(raw[i + 1]) >= 0 && hexValue(raw[i + 2]) >= 0) {
            out += static_cast<char>(hexValue(raw[i + 1]) * 16 + hexValue(raw[i + 2]));
            i += 2;
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace keel::kernel

using keel::kernel::CompiledRoute;
using keel::kernel::logError;

namespace {

/// The loop thread's free list of finished requests (thread-local, so a test creating
/// requests on another thread is safe). Bounded, and a request whose buffers grew past
/// kKeptCapacity (huge headers or body) is freed rather than kept.
#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer nothing is kept: every request is really freed, so a use after
// free is still caught.
constexpr bool kRecycle = false;
#else
constexpr bool kRecycle = true;
#endif
constexpr std::size_t kKeptRequests = 256;
constexpr std::size_t kKeptCapacity = 8192;

// Set when the thread's recycler is destroyed (at thread or process exit): a request freed
// after that, by a plugin's static object say, is freed plainly. Trivially destructible, so
// it stays readable then.
thread_local bool recyclerGone = false;

struct Recycler {
    std::vector<keel_request*> requests;
    ~Recycler() {
        recyclerGone = true;
        for (keel_request* r : requests) delete r;
    }
};
thread_local Recycler recycler;

bool recycling() { return kRecycle && !recyclerGone; }

} // namespace

keel_request* keel_request::create(std::shared_ptr<const Site> site, const keel_request_info& info,
                                   const keel_transport_vtable* transport, void* conn) {
    if (!recycling() || recycler.requests.empty()) return new keel_request(std::move(site), info, transport, conn);
    keel_request* r = recycler.requests.back();
    recycler.requests.pop_back();
    r->adopt(std::move(site), info, transport, conn);
    return r;
}

void keel_request::destroy() {
    if (!recycling() || recycler.requests.size() >= kKeptRequests || stringsCapacity_ > kKeptCapacity ||
        headers_.capacity() * sizeof headers_[0] > kKeptCapacity ||
        responseHeaders_.capacity() * sizeof responseHeaders_[0] > kKeptCapacity || body_.capacity() > kKeptCapacity ||
        decodedPath_.capacity() > kKeptCapacity) {
        delete this;
        return;
    }
    recycle();
    if (recycler.requests.capacity() == 0) recycler.requests.reserve(kKeptRequests);
    recycler.requests.push_back(this);
}

void keel_request::recycle() {
    // Every member is listed here. A member added to keel_request changes its size and stops
    // the build below: reset it here, then update the size.
    static_assert(sizeof(keel_request) == 504, "keel_request changed: reset the new member in recycle()");
    site_.reset();
    transport_ = nullptr;
    conn_ = nullptr;
    // strings_ and stringsCapacity_ are kept: the next request's strings reuse them.
    method_ = target_ = path_ = query_ = client_ = id_ = {};
    decodedPath_.clear();
    headers_.clear();
    params_.clear();
    attributes_.clear();
    queryParams_.clear();
    queryParsed_ = false;
    contentLength_ = 0;
    expectContinue_ = false;
    route_ = nullptr;
    step_ = 0;
    pending_ = false;
    running_ = false;
    allow_.clear();
    bodyMode_ = BodyMode::none;
    body_.clear();
    bodyReceived_ = 0;
    bodyEnded_ = false;
    bodyPaused_ = false;
    continueSent_ = false;
    deferredBody_ = false;
    bodyDone_ = nullptr;
    chunk_ = nullptr;
    bodyUser_ = nullptr;
    status_ = 200;
    responseHeaders_.clear();
    headSent_ = false;
    ended_ = false;
    aborted_ = false;
    released_ = false;
    waitingDrain_ = false;
    drain_ = nullptr;
    drainUser_ = nullptr;
    abortFn_ = nullptr;
    abortUser_ = nullptr;
}

keel_request::keel_request(std::shared_ptr<const Site> site, const keel_request_info& info,
                           const keel_transport_vtable* transport, void* conn) {
    adopt(std::move(site), info, transport, conn);
}

void keel_request::adopt(std::shared_ptr<const Site> site, const keel_request_info& info,
                         const keel_transport_vtable* transport, void* conn) {
    site_ = std::move(site);
    transport_ = transport;
    conn_ = conn;
    contentLength_ = info.content_length;
    expectContinue_ = info.expect_continue != 0;
    const std::string generatedId = info.request_id.len != 0 ? std::string() : keel::kernel::nextRequestId();
    const std::string_view id = info.request_id.len != 0 ? std::string_view(info.request_id.ptr, info.request_id.len)
                                                         : std::string_view(generatedId);
    std::size_t total = info.method.len + info.target.len + info.client_address.len + id.size();
    for (std::size_t i = 0; i < info.header_count; ++i) total += info.headers[i].name.len + info.headers[i].value.len;
    if (total > stringsCapacity_) {
        strings_.reset(new char[total]);
        stringsCapacity_ = total;
    }
    char* at = strings_.get();
    auto keep = [&at](std::string_view s) {
        keel::copyBytes(at, s.data(), s.size());
        const std::string_view kept(at, s.size());
        at += s.size();
        return kept;
    };
    method_ = keep({info.method.ptr, info.method.len});
    target_ = keep({info.target.ptr, info.target.len});
    client_ = keep({info.client_address.ptr, info.client_address.len});
    id_ = keep(id);
    headers_.reserve(info.header_count);
    for (std::size_t i = 0; i < info.header_count; ++i) {
        const std::string_view name = keep({info.headers[i].name.ptr, info.headers[i].name.len});
        headers_.emplace_back(name, keep({info.headers[i].value.ptr, info.headers[i].value.len}));
    }
}

void keel_request::begin() {
    // Absolute form ("http://host/p?q") carries the origin form after the authority.
    std::string_view target = target_;
    if (!target.empty() && target.front() != '/') {
        if (const auto scheme = target.find("://"); scheme != std::string_view::npos) {
            const auto slash = target.find('/', scheme + 3);
            target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
        }
    }
    const auto q = target.find('?');
    std::string_view rawPath = target.substr(0, q);
    if (q != std::string_view::npos) query_ = target.substr(q + 1);
    if (auto hash = rawPath.find('#'); hash != std::string_view::npos) rawPath = rawPath.substr(0, hash);

    // A path without escapes is viewed where it is (in strings_); only a decoded one is copied.
    bool valid = true;
    if (!keel::kernel::pathNeedsDecoding(rawPath)) {
        path_ = rawPath;
    } else {
        valid = keel::kernel::decodePath(rawPath, decodedPath_);
        path_ = decodedPath_;
    }
    if (!valid || path_.empty() || (path_[0] != '/' && path_ != "*")) {
        route_ = &site_->badRequest;
    } else {
        const auto match = site_->router.match(method_, path_);
        using Result = keel::kernel::Router::Match::Result;
        if (match.result == Result::found) {
            route_ = &site_->routes[static_cast<std::size_t>(match.id)];
            params_.reserve(match.paramCount);
            for (std::size_t i = 0; i < match.paramCount; ++i)
                params_.emplace_back(match.params[i].name, match.params[i].value);
        } else if (match.result == Result::methodNotAllowed) {
            allow_ = match.allow;
            route_ = &site_->methodNotAllowed;
        } else {
            route_ = &site_->notFound;
        }
    }
    run();
}

void keel_request::run() {
    running_ = true;
    keel::kernel::LagMonitor* lag = site_->lag;
    const bool timed = lag != nullptr && lag->blockThresholdMs() != 0;
    std::uint64_t stamp = timed ? keel::kernel::LagMonitor::clockNs() : 0;
    while (!ended_ && !aborted_ && step_ < route_->steps.size()) {
        const keel::kernel::Step& step = *route_->steps[step_++];
        const std::uint64_t attributed = timed ? lag->attributedNs() : 0;
        const int result = step.vtable->handle(step.self, step.state, this);
        if (timed) {
            // A step that blocked the loop is named with its plugin and its place in the site.
            const std::uint64_t now = keel::kernel::LagMonitor::clockNs();
            lag->callbackFinished(step.owner, step.blame.c_str(), now - stamp, attributed);
            stamp = now;
        }
        if (result == KEEL_NEXT) continue;
        if (result == KEEL_PENDING) {
            pending_ = true;
            running_ = false;
            // A body the step asked for may already be complete: hand it over now that the
            // step has returned and holds the request.
            if (deferredBody_) {
                deferredBody_ = false;
                if (bodyMode_ == BodyMode::buffer) bodyDone_(bodyUser_, this);
                else deliverBuffered();
            }
            finishIfDone();
            return;
        }
        running_ = false;
        finishIfDone();
        return;
    }
    running_ = false;
    if (!ended_ && !aborted_ && step_ >= route_->steps.size())
        fail(500, "NO_RESPONSE", "the route's handler finished without responding (" + route_->pattern + ")", true);
    finishIfDone();
}

void keel_request::resume(int result) {
    if (!pending_) {
        logError("site " + site_->name, "request " + std::string(id_) + ": resume() without a pending step (ignored)");
        return;
    }
    pending_ = false;
    if (result == KEEL_NEXT && !aborted_) {
        run();
    } else {
        finishIfDone();
    }
}

void keel_request::finishIfDone() {
    if (released_ && !pending_ && !running_) destroy();
}

void keel_request::release() {
    // The transport is done with the request (the response ended, or the connection went):
    // a step still waiting for the body's end or a drain is told now, since callbacks run
    // exactly once and their user data is freed there.
    endBodyCallbacks();
    if (drain_ != nullptr) {
        keel_request_fn fn = drain_;
        drain_ = nullptr;
        fn(drainUser_, this);
    }
    released_ = true;
    finishIfDone();
}

void keel_request::endBodyCallbacks() {
    if (bodyEnded_) return;
    bodyEnded_ = true;
    if (bodyMode_ == BodyMode::buffer && bodyDone_ != nullptr) bodyDone_(bodyUser_, this);
    else if (bodyMode_ == BodyMode::stream) chunk_(bodyUser_, this, nullptr, 0);
}

void keel_request::abort() {
    if (aborted_ || ended_) return;
    aborted_ = true;
    // Every callback a step registered runs exactly once, so plugins can free what they
    // attached to it: the abort notice, then a pending body or drain callback.
    if (abortFn_ != nullptr) abortFn_(abortUser_, this);
    endBodyCallbacks();
    if (drain_ != nullptr) {
        keel_request_fn fn = drain_;
        drain_ = nullptr;
        fn(drainUser_, this);
    }
}

// --- body -----------------------------------------------------------------------------------

bool keel_request::wantsBody() const {
    if (route_ == nullptr || route_->terminal) return false;
    return contentLength_ < 0 || static_cast<std::uint64_t>(contentLength_) <= route_->bodyLimit;
}

void keel_request::bodyData(const void* data, std::size_t len) {
    if (aborted_ || ended_) return;
    bodyReceived_ += len;
    if (route_ != nullptr && bodyReceived_ > route_->bodyLimit) {
        setResponseHeader("Connection", "close", true);
        fail(413, "PAYLOAD_TOO_LARGE",
             "the request body is larger than this route's limit of " + std::to_string(route_->bodyLimit) + " bytes", false);
        // The step waiting for the body is told (its callback sees the response sent), so
        // it can resume and the request be freed.
        if (!running_) endBodyCallbacks();
        return;
    }
    if (bodyMode_ == BodyMode::stream && !bodyPaused_) {
        if (chunk_(bodyUser_, this, data, len) != 0) {
            bodyPaused_ = true;
            transport_->pause_body(conn_, this, 1);
        }
        return;
    }
    // Buffered, or not asked for yet: keep it (within the limit) until a step reads it.
    body_.append(static_cast<const char*>(data), len);
    if (bodyMode_ == BodyMode::none && body_.size() >= 64 * 1024 && !bodyPaused_) {
        bodyPaused_ = true;
        transport_->pause_body(conn_, this, 1);
    }
}

void keel_request::bodyEnd() {
    if (bodyEnded_) return;
    bodyEnded_ = true;
    if (aborted_) return; // abort() already told the step
    if (bodyMode_ == BodyMode::buffer) {
        if (bodyDone_ != nullptr) bodyDone_(bodyUser_, this);
    } else if (bodyMode_ == BodyMode::stream && !bodyPaused_) {
        chunk_(bodyUser_, this, nullptr, 0);
    }
}

bool keel_request::refuseAnnouncedBody() {
    if (route_ == nullptr || contentLength_ < 0 || static_cast<std::uint64_t>(contentLength_) <= route_->bodyLimit ||
        bodyEnded_)
        return false;
    // The announced length is over the limit: answer 413 now (no 100 Continue, nothing read)
    // and close, rather than make the client send what would be refused.
    setResponseHeader("Connection", "close", true);
    fail(413, "PAYLOAD_TOO_LARGE",
         "the request body (" + std::to_string(contentLength_) + " bytes) is larger than this route's limit of " +
             std::to_string(route_->bodyLimit) + " bytes",
         false);
    bodyEnded_ = true;
    body_.clear();
    return true;
}

int keel_request::readBody(keel_request_fn done, void* user) {
    bodyMode_ = BodyMode::buffer;
    bodyDone_ = done;
    bodyUser_ = user;
    if (refuseAnnouncedBody()) {
        // The step's callback still runs once (it sees the response sent).
        if (running_) deferredBody_ = true;
        else done(user, this);
        return KEEL_PENDING;
    }
    if (expectContinue_ && !continueSent_ && !bodyEnded_) {
        continueSent_ = true;
        if (transport_->send_continue) transport_->send_continue(conn_, this);
    }
    if (bodyPaused_) {
        bodyPaused_ = false;
        transport_->pause_body(conn_, this, 0);
    }
    if (bodyEnded_ || contentLength_ == 0) {
        bodyEnded_ = true;
        // From inside a step, completion waits until the step has returned KEEL_PENDING.
        if (running_) deferredBody_ = true;
        else done(user, this);
    }
    return KEEL_PENDING;
}

int keel_request::streamBody(keel_chunk_fn onChunk, void* user) {
    bodyMode_ = BodyMode::stream;
    chunk_ = onChunk;
    bodyUser_ = user;
    if (refuseAnnouncedBody()) {
        if (running_) deferredBody_ = true;
        else deliverBuffered();
        return KEEL_PENDING;
    }
    if (expectContinue_ && !continueSent_ && !bodyEnded_) {
        continueSent_ = true;
        if (transport_->send_continue) transport_->send_continue(conn_, this);
    }
    if (running_) deferredBody_ = true;
    else deliverBuffered();
    return KEEL_PENDING;
}

void keel_request::deliverBuffered() {
    bodyPaused_ = false;
    if (!body_.empty()) {
        std::string buffered;
        buffered.swap(body_);
        if (chunk_(bodyUser_, this, buffered.data(), buffered.size()) != 0) {
            bodyPaused_ = true;
            return;
        }
    }
    if (bodyEnded_ || contentLength_ == 0) {
        bodyEnded_ = true;
        chunk_(bodyUser_, this, nullptr, 0);
        return;
    }
    transport_->pause_body(conn_, this, 0);
}

void keel_request::resumeBody() {
    if (bodyMode_ != BodyMode::stream || !bodyPaused_) return;
    deliverBuffered();
}

// --- response -------------------------------------------------------------------------------

void keel_request::setResponseHeader(std::string_view name, std::string_view value, bool replace) {
    if (replace)
        std::erase_if(responseHeaders_, [&](const auto& h) { return keel::equalsIgnoreCase(h.first, name); });
    responseHeaders_.emplace_back(std::piecewise_construct, std::forward_as_tuple(name), std::forward_as_tuple(value));
}

void keel_request::sendHead(std::int64_t contentLength) {
    headSent_ = true;
    // On the stack for the usual few headers; on the heap past that.
    keel_header local[16];
    std::vector<keel_header> many;
    keel_header* headers = local;
    if (responseHeaders_.size() > std::size(local)) {
        many.resize(responseHeaders_.size());
        headers = many.data();
    }
    std::size_t count = 0;
    for (const auto& [n, v] : responseHeaders_) headers[count++] = keel_header{{n.data(), n.size()}, {v.data(), v.size()}};
    transport_->write_head(conn_, this, status_, headers, count, contentLength);
}

int keel_request::write(const void* data, std::size_t len) {
    if (ended_ || aborted_) return 0;
    if (!headSent_) sendHead(-1);
    if (len == 0 || head()) return waitingDrain_ ? 1 : 0;
    if (transport_->write_body(conn_, this, data, len) != 0) waitingDrain_ = true;
    return waitingDrain_ ? 1 : 0;
}

void keel_request::drained() {
    waitingDrain_ = false;
    if (drain_ != nullptr && !ended_ && !aborted_) {
        keel_request_fn fn = drain_;
        drain_ = nullptr;
        fn(drainUser_, this);
    }
}

void keel_request::end(const void* data, std::size_t len) {
    if (ended_ || aborted_) return;
    if (!headSent_) {
        sendHead(static_cast<std::int64_t>(len));
    }
    if (len != 0 && !head()) transport_->write_body(conn_, this, data, len);
    ended_ = true;
    transport_->end(conn_, this);
}

int keel_request::sendFile(int fd, std::uint64_t offset, std::uint64_t length) {
    if (ended_ || aborted_) {
        ::close(fd);
        return -ECANCELED;
    }
    if (!headSent_) sendHead(static_cast<std::int64_t>(length));
    if (head()) {
        ::close(fd);
        ended_ = true;
        transport_->end(conn_, this);
        return 0;
    }
    if (transport_->send_file != nullptr) {
        const int rc = transport_->send_file(conn_, this, fd, offset, length);
        ended_ = true;
        transport_->end(conn_, this);
        return rc;
    }
    // No sendfile in this transport (the test client): read and write.
    std::string buffer(64 * 1024, '\0');
    std::uint64_t left = length;
    while (left > 0) {
        const ssize_t n = ::pread(fd, buffer.data(), std::min<std::uint64_t>(left, buffer.size()),
                                  static_cast<off_t>(offset));
        if (n <= 0) break;
        transport_->write_body(conn_, this, buffer.data(), static_cast<std::size_t>(n));
        left -= static_cast<std::uint64_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    ended_ = true;
    transport_->end(conn_, this);
    return left == 0 ? 0 : -EIO;
}

void keel_request::fail(int status, std::string_view code, std::string_view message, bool internal) {
    if (status < 400 || status > 599) status = 500;
    if (code.empty()) code = keel::kernel::reasonCode(status);
    const bool hide = internal && !site_->development;
    if (status >= 500 || internal)
        logError("site " + site_->name, "request " + std::string(id_) + " " + std::string(method_) + " " + std::string(path_) + " -> " + std::to_string(status) +
                                            " " + std::string(code) + ": " + std::string(message));
    if (ended_ || aborted_) return;
    if (headSent_) {
        // Too late for a status: cut the response short rather than let it look complete.
        ended_ = true;
        if (transport_->reset != nullptr) transport_->reset(conn_, this);
        else transport_->end(conn_, this);
        return;
    }
    status_ = status;
    std::erase_if(responseHeaders_, [](const auto& h) {
        return keel::equalsIgnoreCase(h.first, "Content-Length") ||
               keel::equalsIgnoreCase(h.first, "Content-Encoding") ||
               keel::equalsIgnoreCase(h.first, "ETag") || keel::equalsIgnoreCase(h.first, "Last-Modified");
    });
    setResponseHeader("Content-Type", "application/json; charset=utf-8", true);
    setResponseHeader("Cache-Control", "no-store", true);
    const std::string body = "{\"success\":false,\"code\":" + keel::kernel::quoteJson(hide ? "INTERNAL_ERROR" : code) +
                             ",\"message\":" + keel::kernel::quoteJson(hide ? "Internal Server Error" : message) + "}";
    end(body.data(), body.size());
}

// --- lookups --------------------------------------------------------------------------------

bool keel_request::header(std::string_view name, std::size_t index, std::string_view& value) const {
    for (const auto& [n, v] : headers_) {
        if (keel::equalsIgnoreCase(n, name)) {
            if (index == 0) {
                value = v;
                return true;
            }
            --index;
        }
    }
    return false;
}

bool keel_request::queryParam(std::string_view name, std::size_t index, std::string_view& value) {
    if (!queryParsed_) {
        queryParsed_ = true;
        std::string_view rest = query_;
        while (!rest.empty()) {
            const auto amp = rest.find('&');
            std::string_view pair = rest.substr(0, amp);
            rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
            if (pair.empty()) continue;
            const auto eq = pair.find('=');
            queryParams_.emplace_back(keel::kernel::decodeQueryComponent(pair.substr(0, eq)),
                                      eq == std::string_view::npos ? std::string()
                                                                   : keel::kernel::decodeQueryComponent(pair.substr(eq + 1)));
        }
    }
    for (const auto& [n, v] : queryParams_) {
        if (n == name) {
            if (index == 0) {
                value = v;
                return true;
            }
            --index;
        }
    }
    return false;
}

bool keel_request::param(std::string_view name, std::string_view& value) const {
    for (const auto& [n, v] : params_) {
        if (n == name) {
            value = v;
            return true;
        }
    }
    return false;
}
