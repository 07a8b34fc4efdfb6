#pragma once

// The header-only C++ layer over keel/abi.h: what a C++ plugin sees of the kernel.
//
// Threading: a Context and every handle made from it are used on the loop thread only,
// except that Context::offload's work function runs on the thread pool and must not touch
// the Context. Lifetime: a Context is valid from the plugin's constructor until its
// destructor returns; RAII handles (Timer, Immediate, Subscription) cancel what they hold
// when destroyed, so keep them as members of the plugin object.
//
// Exceptions never cross into the kernel: every callback this layer hands to the kernel
// catches them and logs them as errors under the plugin's name.

#include <keel/abi.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace keel {

inline keel_str toStr(std::string_view s) { return keel_str{s.data(), s.size()}; }
inline std::string_view toView(keel_str s) { return std::string_view(s.ptr, s.len); }

enum class LogLevel { trace = KEEL_LOG_TRACE, debug = KEEL_LOG_DEBUG, info = KEEL_LOG_INFO, warn = KEEL_LOG_WARN, error = KEEL_LOG_ERROR };

/// An event as a subscriber sees it: topic, payload type and bytes, borrowed for the call.
struct Event {
    keel_topic topic;
    std::string_view type;
    std::string_view data;
};

class Context;

namespace detail {

/// Runs `f`, logging any exception through the host under the plugin's name.
template <class F>
void guarded(keel_ctx* ctx, const keel_host_api* host, const char* where, F&& f) noexcept {
    try {
        f();
    } catch (const std::exception& e) {
        std::string text = std::string("uncaught exception in ") + where + ": " + e.what();
        host->log(ctx, KEEL_LOG_ERROR, keel_str{text.data(), text.size()});
    } catch (...) {
        std::string text = std::string("uncaught non-standard exception in ") + where;
        host->log(ctx, KEEL_LOG_ERROR, keel_str{text.data(), text.size()});
    }
}

template <class Fn>
struct Boxed {
    keel_ctx* ctx;
    const keel_host_api* host;
    Fn fn;
    static void release(void* user) { delete static_cast<Boxed*>(user); }
};

} // namespace detail

/// A pending setTimeout/setInterval; clears it when destroyed. Move-only.
class [[nodiscard]] Timer {
public:
    Timer() = default;
    Timer(keel_ctx* ctx, const keel_host_api* host, std::uint64_t id) : ctx_(ctx), host_(host), id_(id) {}
    Timer(Timer&& o) noexcept : ctx_(o.ctx_), host_(o.host_), id_(std::exchange(o.id_, 0)) {}
    Timer& operator=(Timer&& o) noexcept {
        if (this != &o) {
            clear();
            ctx_ = o.ctx_;
            host_ = o.host_;
            id_ = std::exchange(o.id_, 0);
        }
        return *this;
    }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    ~Timer() { clear(); }

    /// clearTimeout / clearInterval. Harmless when it already fired or was cleared.
    void clear() {
        if (id_ != 0) host_->clear_timer(ctx_, std::exchange(id_, 0));
    }
    /// Lets the timer live on without this handle (Node's default for setTimeout).
    std::uint64_t release() { return std::exchange(id_, 0); }
    std::uint64_t id() const { return id_; }

private:
    keel_ctx* ctx_ = nullptr;
    const keel_host_api* host_ = nullptr;
    std::uint64_t id_ = 0;
};

/// A pending setImmediate; clears it when destroyed. Move-only.
class [[nodiscard]] Immediate {
public:
    Immediate() = default;
    Immediate(keel_ctx* ctx, const keel_host_api* host, std::uint64_t id) : ctx_(ctx), host_(host), id_(id) {}
    Immediate(Immediate&& o) noexcept : ctx_(o.ctx_), host_(o.host_), id_(std::exchange(o.id_, 0)) {}
    Immediate& operator=(Immediate&& o) noexcept {
        if (this != &o) {
            clear();
            ctx_ = o.ctx_;
            host_ = o.host_;
            id_ = std::exchange(o.id_, 0);
        }
        return *this;
    }
    Immediate(const Immediate&) = delete;
    Immediate& operator=(const Immediate&) = delete;
    ~Immediate() { clear(); }

    void clear() {
        if (id_ != 0) host_->clear_immediate(ctx_, std::exchange(id_, 0));
    }
    std::uint64_t release() { return std::exchange(id_, 0); }

private:
    keel_ctx* ctx_ = nullptr;
    const keel_host_api* host_ = nullptr;
    std::uint64_t id_ = 0;
};

/// A bus subscription; unsubscribes when destroyed. Move-only.
class [[nodiscard]] Subscription {
public:
    Subscription() = default;
    Subscription(keel_ctx* ctx, const keel_host_api* host, std::uint64_t id) : ctx_(ctx), host_(host), id_(id) {}
    Subscription(Subscription&& o) noexcept : ctx_(o.ctx_), host_(o.host_), id_(std::exchange(o.id_, 0)) {}
    Subscription& operator=(Subscription&& o) noexcept {
        if (this != &o) {
            reset();
            ctx_ = o.ctx_;
            host_ = o.host_;
            id_ = std::exchange(o.id_, 0);
        }
        return *this;
    }
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { reset(); }

    /// Unsubscribes; safe from inside the subscriber itself.
    void reset() {
        if (id_ != 0) host_->unsubscribe(ctx_, std::exchange(id_, 0));
    }
    std::uint64_t release() { return std::exchange(id_, 0); }
    explicit operator bool() const { return id_ != 0; }

private:
    keel_ctx* ctx_ = nullptr;
    const keel_host_api* host_ = nullptr;
    std::uint64_t id_ = 0;
};

/// A plugin's view of the kernel. Cheap to copy (two pointers).
class Context {
public:
    Context(keel_ctx* ctx, const keel_host_api* host) : ctx_(ctx), host_(host) {}

    keel_ctx* raw() const { return ctx_; }
    const keel_host_api* host() const { return host_; }

    /// "name", or "name#site" when a site runs it.
    std::string_view name() const { return toView(host_->instance_name(ctx_)); }
    /// This instance's configuration, JSON text already checked against the manifest's schema.
    std::string_view configJson() const { return toView(host_->config_json(ctx_)); }

    void log(LogLevel level, std::string_view text) const {
        host_->log(ctx_, static_cast<keel_log_level>(level), toStr(text));
    }
    void debug(std::string_view text) const { log(LogLevel::debug, text); }
    void info(std::string_view text) const { log(LogLevel::info, text); }
    void warn(std::string_view text) const { log(LogLevel::warn, text); }
    void error(std::string_view text) const { log(LogLevel::error, text); }

    /// The loop's cached clock in milliseconds.
    std::uint64_t now() const { return host_->now_ms(ctx_); }

    // --- Node's scheduling -----------------------------------------------------------------

    Timer setTimeout(std::uint64_t ms, std::function<void()> fn) const { return timer(ms, 0, std::move(fn)); }
    Timer setInterval(std::uint64_t ms, std::function<void()> fn) const { return timer(ms, ms, std::move(fn)); }

    Immediate setImmediate(std::function<void()> fn) const {
        auto* box = new Task{ctx_, host_, std::move(fn)};
        return Immediate(ctx_, host_, host_->set_immediate(ctx_, &runTask, box, &Task::release));
    }

    void nextTick(std::function<void()> fn) const {
        host_->next_tick(ctx_, &runTask, new Task{ctx_, host_, std::move(fn)}, &Task::release);
    }

    void queueMicrotask(std::function<void()> fn) const {
        host_->queue_microtask(ctx_, &runTask, new Task{ctx_, host_, std::move(fn)}, &Task::release);
    }

    /// Runs `work` on the thread pool and then `done` on the loop thread with the result,
    /// or with the exception `work` threw (rethrown by Result::get()).
    template <class T>
    class Result {
    public:
        bool ok() const { return !error_; }
        /// The value, or rethrows what the work threw (or a cancellation).
        T& get() {
            if (error_) std::rethrow_exception(error_);
            return *value_;
        }

    private:
        friend class Context;
        std::optional<T> value_;
        std::exception_ptr error_;
    };

    template <class W, class D>
    void offload(W work, D done) const {
        using T = decltype(work());
        static_assert(!std::is_void_v<T>, "offload work must return a value (return a bool or a struct)");
        struct Job {
            keel_ctx* ctx;
            const keel_host_api* host;
            W work;
            D done;
            Result<T> result;
        };
        auto* job = new Job{ctx_, host_, std::move(work), std::move(done), {}};
        const int rc = host_->offload(
            ctx_,
            [](void* user) {
                auto* j = static_cast<Job*>(user);
                try {
                    j->result.value_.emplace(j->work());
                } catch (...) {
                    j->result.error_ = std::current_exception();
                }
            },
            [](void* user, int status) {
                std::unique_ptr<Job> j(static_cast<Job*>(user));
                if (status != 0 && !j->result.error_)
                    j->result.error_ = std::make_exception_ptr(std::runtime_error("offloaded work was cancelled"));
                detail::guarded(j->ctx, j->host, "offload done", [&] { j->done(j->result); });
            },
            job);
        if (rc != 0) {
            delete job;
            throw std::runtime_error("offload failed: libuv error " + std::to_string(rc));
        }
    }

    // --- the bus ---------------------------------------------------------------------------

    keel_topic topic(std::string_view name) const { return host_->topic(ctx_, toStr(name)); }

    Subscription subscribe(keel_topic t, std::int32_t priority, std::function<void(const Event&)> fn) const {
        return subscribeImpl(t, priority, false, std::move(fn));
    }
    Subscription subscribe(std::string_view t, std::function<void(const Event&)> fn, std::int32_t priority = 0) const {
        return subscribeImpl(topic(t), priority, false, std::move(fn));
    }
    Subscription once(std::string_view t, std::function<void(const Event&)> fn, std::int32_t priority = 0) const {
        return subscribeImpl(topic(t), priority, true, std::move(fn));
    }

    bool hasSubscribers(keel_topic t) const { return host_->has_subscribers(ctx_, t) != 0; }

    void publish(keel_topic t, std::string_view type, std::string_view data) const {
        keel_payload p{toStr(type), data.data(), data.size()};
        host_->publish(ctx_, t, &p);
    }
    void publishJson(keel_topic t, std::string_view json) const { publish(t, "application/json", json); }
    void post(keel_topic t, std::string_view type, std::string_view data) const {
        keel_payload p{toStr(type), data.data(), data.size()};
        host_->post(ctx_, t, &p);
    }

    // --- services --------------------------------------------------------------------------

    /// Provides `name@major`: `vtable` is a C struct of function pointers whose first member
    /// is its size (uint32_t); `self` is passed back to them. Both must outlive the instance.
    template <class VTable>
    void provide(std::string_view name, std::uint32_t major, const VTable* vtable, void* self) const {
        if (host_->provide(ctx_, toStr(name), major, keel_service{vtable, self}) != 0)
            throw std::runtime_error("cannot provide service " + std::string(name) + "@" + std::to_string(major));
    }

    /// Looks `name@major` up; the vtable is checked to be at least as large as VTable
    /// (an older provider missing members the caller needs is treated as absent).
    template <class VTable>
    std::optional<std::pair<const VTable*, void*>> lookup(std::string_view name, std::uint32_t major) const {
        keel_service s{};
        if (host_->lookup(ctx_, toStr(name), major, &s) != 0) return std::nullopt;
        const auto* vt = static_cast<const VTable*>(s.vtable);
        if (vt->size < sizeof(VTable)) return std::nullopt;
        return std::pair{vt, s.self};
    }

    // --- commands --------------------------------------------------------------------------

    /// Writes to the command's standard output.
    void print(std::string_view text) const { host_->print(ctx_, toStr(text)); }
    /// Finishes a command that returned keel::pending.
    void commandDone(int code) const { host_->command_done(ctx_, code); }
    /// Finishes a stop() that returned keel::pending.
    void stopDone() const { host_->stop_done(ctx_); }

    // --- plugins doing their own I/O ------------------------------------------------------

    /// The kernel's uv_loop_t (cast it: `static_cast<uv_loop_t*>(ctx.uvLoop())`).
    void* uvLoop() const { return host_->uv_loop(ctx_); }

    /// Runs `fn` as a loop callback of this plugin (Node's MakeCallback): timed for the lag
    /// monitor, exceptions logged, nextTick and microtask queues drained after it. Call it
    /// from every raw libuv callback.
    template <class F>
    void makeCallback(const char* what, F&& fn) const {
        struct Call {
            F* fn;
            keel_ctx* ctx;
            const keel_host_api* host;
            const char* what;
        } call{&fn, ctx_, host_, what};
        host_->make_callback(ctx_, what, [](void* user) {
            auto* c = static_cast<Call*>(user);
            detail::guarded(c->ctx, c->host, c->what, *c->fn);
        }, &call);
    }

private:
    using Task = detail::Boxed<std::function<void()>>;
    using Listener = detail::Boxed<std::function<void(const Event&)>>;

    static void runTask(void* user) {
        auto* t = static_cast<Task*>(user);
        detail::guarded(t->ctx, t->host, "loop callback", t->fn);
    }

    Timer timer(std::uint64_t ms, std::uint64_t repeat, std::function<void()> fn) const {
        auto* box = new Task{ctx_, host_, std::move(fn)};
        return Timer(ctx_, host_, host_->set_timer(ctx_, ms, repeat, &runTask, box, &Task::release));
    }

    Subscription subscribeImpl(keel_topic t, std::int32_t priority, bool once,
                               std::function<void(const Event&)> fn) const {
        auto* box = new Listener{ctx_, host_, std::move(fn)};
        const std::uint64_t id = host_->subscribe(
            ctx_, t, priority, once ? 1 : 0,
            [](void* user, keel_topic topic, const keel_payload* p) {
                auto* l = static_cast<Listener*>(user);
                Event e{topic, toView(p->type),
                        std::string_view(static_cast<const char*>(p->data), p->size)};
                detail::guarded(l->ctx, l->host, "bus subscriber", [&] { l->fn(e); });
            },
            box, &Listener::release);
        return Subscription(ctx_, host_, id);
    }

    keel_ctx* ctx_;
    const keel_host_api* host_;
};

/// Returned by a command or stop() that finishes later (commandDone / stopDone).
inline constexpr int pending = KEEL_PENDING;

} // namespace keel
