#pragma once

// The C++ layer over the request pipeline: keel::Request (a step's view of one request),
// keel::Error (the central error handler's input), and keel::handle() to register a
// handler or middleware a site can `use`.
//
//   struct Greeting { std::string word; };
//   greet_ = keel::handle(ctx_, "greet",
//       [](const keel::Use& use) { return Greeting{readWord(use.configJson)}; },   // at site load
//       [](Greeting& g, keel::Request req) {                                       // per request
//           req.send(200, "text/plain", g.word + ", " + std::string(req.param("name").value_or("you")));
//           return keel::done;
//       });
//
// A handler returns keel::next (go on), keel::done (responded) or keel::pending (it holds the
// request and calls req.resume(next|done) later, from the loop). Throwing keel::Error{404,
// "NO_USER", "no such user"} answers {"success":false,"code":"NO_USER","message":...} with
// 404; any other exception answers 500 (its text shown only in development mode).
// Threading: loop thread only. Lifetime: a Request is a handle, valid while the kernel's
// request is (until the response ended and the step returned, or resumed).

#include <keel/Context.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace keel {

inline constexpr int next = KEEL_NEXT;
inline constexpr int done = KEEL_DONE;

/// An error with an HTTP status and a machine-readable code, for the central error handler.
class Error : public std::runtime_error {
public:
    Error(int status, std::string code, const std::string& message)
        : std::runtime_error(message), status_(status), code_(std::move(code)) {}
    int status() const { return status_; }
    const std::string& code() const { return code_; }

private:
    int status_;
    std::string code_;
};

/// One use of a handler in a site (a middleware entry or a route), at configure time.
struct Use {
    std::string_view configJson; // validated against the handler's schema
    std::string_view where;      // "sites/demo/site.json:14: routes[2]"
    std::string_view siteName;
    std::string_view siteDir;    // absolute
    bool development = false;
    std::string_view routePath;  // empty for site middleware
};

class Request {
public:
    Request(keel_request* req, const keel_request_api* api) : req_(req), api_(api) {}

    keel_request* raw() const { return req_; }
    const keel_request_api* api() const { return api_; }

    std::string_view method() const { return toView(api_->method(req_)); }
    std::string_view target() const { return toView(api_->target(req_)); }
    std::string_view path() const { return toView(api_->path(req_)); }
    std::string_view queryString() const { return toView(api_->query(req_)); }
    std::optional<std::string_view> query(std::string_view name, std::size_t index = 0) const {
        keel_str v{};
        if (api_->query_param(req_, toStr(name), index, &v) != 0) return std::nullopt;
        return toView(v);
    }
    std::optional<std::string_view> header(std::string_view name, std::size_t index = 0) const {
        keel_str v{};
        if (api_->header(req_, toStr(name), index, &v) != 0) return std::nullopt;
        return toView(v);
    }
    std::optional<std::string_view> param(std::string_view name) const {
        keel_str v{};
        if (api_->param(req_, toStr(name), &v) != 0) return std::nullopt;
        return toView(v);
    }
    std::string_view clientAddress() const { return toView(api_->client_address(req_)); }
    std::string_view id() const { return toView(api_->id(req_)); }
    void setAttribute(std::string_view key, std::string_view value) const {
        api_->set_attribute(req_, toStr(key), toStr(value));
    }
    std::optional<std::string_view> attribute(std::string_view key) const {
        keel_str v{};
        if (api_->attribute(req_, toStr(key), &v) != 0) return std::nullopt;
        return toView(v);
    }

    // --- body ---
    std::int64_t contentLength() const { return api_->content_length(req_); }
    /// Buffers the body (within the route's limit), then calls `fn(req)`; returns
    /// keel::pending: return it from the step. `fn` runs exactly once, also when the client
    /// went away (check aborted()). Exceptions from `fn` reach the error handler.
    template <class F>
    int readBody(F fn) const {
        struct Box {
            F fn;
            const keel_request_api* api;
        };
        return api_->read_body(
            req_,
            [](void* user, keel_request* r) {
                std::unique_ptr<Box> box(static_cast<Box*>(user));
                Request req(r, box->api);
                req.guard([&] { box->fn(req); });
            },
            new Box{std::move(fn), api_});
    }
    std::string_view body() const { return toView(api_->body(req_)); }
    /// The route's body limit in bytes.
    std::uint64_t bodyLimit() const { return api_->body_limit(req_); }
    /// Streams the body to `fn(req, chunk)`; an empty chunk is the end (or the abort: check
    /// aborted()), and comes exactly once. `fn` returns true to pause reading until
    /// resumeBody(). Returns keel::pending: return it from the step.
    template <class F>
    int streamBody(F fn) const {
        struct Box {
            F fn;
            const keel_request_api* api;
        };
        return api_->stream_body(
            req_,
            [](void* user, keel_request* r, const void* data, std::size_t len) -> int {
                auto* box = static_cast<Box*>(user);
                Request req(r, box->api);
                bool pause = false;
                req.guard([&] { pause = box->fn(req, std::string_view(static_cast<const char*>(data), len)); });
                if (len == 0) {
                    delete box;
                    return 0;
                }
                return pause ? 1 : 0;
            },
            new Box{std::move(fn), api_});
    }
    void resumeBody() const { api_->resume_body(req_); }

    // --- pending steps ---
    void resume(int result) const { api_->resume(req_, result); }
    bool aborted() const { return api_->aborted(req_) != 0; }
    /// `fn(user, req)` runs once if the client goes away before the response ends (and
    /// never otherwise, so `user` must be owned elsewhere).
    void onAbort(keel_request_fn fn, void* user) const { api_->on_abort(req_, fn, user); }

    // --- response ---
    void status(int code) const { api_->set_status(req_, code); }
    void setHeader(std::string_view name, std::string_view value) const {
        api_->set_header(req_, toStr(name), toStr(value));
    }
    void addHeader(std::string_view name, std::string_view value) const {
        api_->add_header(req_, toStr(name), toStr(value));
    }
    /// Returns true when the caller should wait for drain before writing more.
    bool write(std::string_view data) const { return api_->write(req_, data.data(), data.size()) != 0; }
    void end(std::string_view data = {}) const { api_->end(req_, data.data(), data.size()); }
    /// After write() asked to wait: `fn(req)` runs once, when the transport drained or the
    /// client went away (check aborted()).
    template <class F>
    void onDrain(F fn) const {
        struct Box {
            F fn;
            const keel_request_api* api;
        };
        api_->on_drain(
            req_,
            [](void* user, keel_request* r) {
                std::unique_ptr<Box> box(static_cast<Box*>(user));
                Request req(r, box->api);
                req.guard([&] { box->fn(req); });
            },
            new Box{std::move(fn), api_});
    }
    /// Sends `length` bytes of `fd` from `offset` as the whole body (sendfile(2) where the
    /// transport can) and ends the response. Takes ownership of fd. Returns 0 or -errno.
    int sendFile(int fd, std::uint64_t offset, std::uint64_t length) const {
        return api_->send_file(req_, fd, offset, length);
    }
    /// status + Content-Type + whole body.
    void send(int code, std::string_view contentType, std::string_view body) const {
        status(code);
        setHeader("Content-Type", contentType);
        end(body);
    }
    void json(int code, std::string_view jsonText) const { send(code, "application/json; charset=utf-8", jsonText); }
    void fail(int code, std::string_view errorCode, std::string_view message, bool internal = false) const {
        api_->fail(req_, code, toStr(errorCode), toStr(message), internal ? 1 : 0);
    }
    bool headersSent() const { return api_->headers_sent(req_) != 0; }

    /// Runs `f`, turning exceptions into error responses (used by the SDK's trampolines).
    template <class F>
    bool guard(F&& f) const {
        try {
            f();
            return true;
        } catch (const Error& e) {
            fail(e.status(), e.code(), e.what());
        } catch (const std::exception& e) {
            fail(500, "INTERNAL_ERROR", e.what(), true);
        } catch (...) {
            fail(500, "INTERNAL_ERROR", "non-standard exception", true);
        }
        return false;
    }

private:
    keel_request* req_;
    const keel_request_api* api_;
};

/// Keeps a handler registered; destroy it no earlier than the plugin instance (a member).
class HandlerRegistration {
public:
    HandlerRegistration() = default;
    explicit HandlerRegistration(std::shared_ptr<void> box) : box_(std::move(box)) {}

private:
    std::shared_ptr<void> box_;
};

/// Registers handler `name` (listed in the manifest's "handlers"): `configure(const Use&)`
/// returns the per-use state T (throw to refuse the site, the message is shown with the
/// use's location); `handle(T&, Request)` returns keel::next, keel::done or keel::pending.
template <class Configure, class Handle>
[[nodiscard]] HandlerRegistration handle(const Context& ctx, std::string_view name, Configure configure, Handle handler) {
    using State = std::decay_t<decltype(configure(std::declval<const Use&>()))>;
    struct Box {
        Context ctx;
        Configure configure;
        Handle handle;
    };
    static const keel_handler_vtable vtable = {
        sizeof(keel_handler_vtable),
        [](void* self, const keel_use_info* use) -> void* {
            auto* box = static_cast<Box*>(self);
            Use u{toView(use->config_json), toView(use->where), toView(use->site_name), toView(use->site_dir),
                  use->development != 0, toView(use->route_path)};
            try {
                return new State(box->configure(u));
            } catch (const std::exception& e) {
                box->ctx.host()->set_error(box->ctx.raw(), toStr(e.what()));
            } catch (...) {
                box->ctx.host()->set_error(box->ctx.raw(), toStr("non-standard exception"));
            }
            return nullptr;
        },
        [](void*, void* state) { delete static_cast<State*>(state); },
        [](void* self, void* state, keel_request* r) -> int {
            auto* box = static_cast<Box*>(self);
            Request req(r, box->ctx.host()->request);
            int result = done;
            if (!req.guard([&] { result = box->handle(*static_cast<State*>(state), req); })) return done;
            return result;
        },
    };
    auto box = std::make_shared<Box>(Box{ctx, std::move(configure), std::move(handler)});
    if (ctx.host()->register_handler(ctx.raw(), toStr(name), &vtable, box.get()) != 0)
        throw std::runtime_error("cannot register handler '" + std::string(name) + "'");
    return HandlerRegistration(std::move(box));
}

} // namespace keel
