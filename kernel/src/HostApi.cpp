// The kernel side of keel_host_api: each entry point turns a keel_ctx into its plugin
// instance and calls the loop, the bus or the service registry on its behalf, attributing
// everything to that instance so it can be released when the instance stops.
#include <cstdio>
#include <memory>

#include "Log.hpp"
#include "PluginInstance.hpp"
#include "Request.hpp"

namespace keel::kernel {

namespace {

PluginInstance& self(keel_ctx* ctx) { return *ctx->instance; }
std::string_view view(keel_str s) { return std::string_view(s.ptr, s.len); }

// Owns a plugin's user data: released through its free function exactly once, when the
// kernel drops the registration holding it.
std::shared_ptr<void> hold(void* user, keel_free_fn freeUser) {
    if (freeUser == nullptr) return std::shared_ptr<void>(user, [](void*) {});
    return std::shared_ptr<void>(user, freeUser);
}

Task task(keel_task_fn fn, void* user, keel_free_fn freeUser) {
    return [fn, data = hold(user, freeUser)] { fn(data.get()); };
}

keel_str instanceName(keel_ctx* ctx) {
    const std::string& n = self(ctx).name();
    return keel_str{n.data(), n.size()};
}

keel_str configJson(keel_ctx* ctx) {
    const std::string& c = self(ctx).configJson();
    return keel_str{c.data(), c.size()};
}

void log(keel_ctx* ctx, keel_log_level level, keel_str message) {
    const int l = static_cast<int>(level);
    Log::write(static_cast<LogLevel>(l < 0 ? 0 : (l > 4 ? 4 : l)), self(ctx).name(), view(message));
}

void setError(keel_ctx* ctx, keel_str message) { self(ctx).setError(std::string(view(message))); }

uint64_t nowMs(keel_ctx* ctx) { return self(ctx).runtime().loop.now(); }

uint64_t setTimer(keel_ctx* ctx, uint64_t timeout, uint64_t repeat, keel_task_fn fn, void* user, keel_free_fn freeUser) {
    Loop& loop = self(ctx).runtime().loop;
    if (fn == nullptr) {
        hold(user, freeUser);
        return 0;
    }
    return loop.setTimer(timeout, repeat, task(fn, user, freeUser), self(ctx).owner());
}

int clearTimer(keel_ctx* ctx, uint64_t id) { return self(ctx).runtime().loop.clearTimer(id) ? 0 : -1; }

uint64_t setImmediate(keel_ctx* ctx, keel_task_fn fn, void* user, keel_free_fn freeUser) {
    if (fn == nullptr) {
        hold(user, freeUser);
        return 0;
    }
    return self(ctx).runtime().loop.setImmediate(task(fn, user, freeUser), self(ctx).owner());
}

int clearImmediate(keel_ctx* ctx, uint64_t id) { return self(ctx).runtime().loop.clearImmediate(id) ? 0 : -1; }

void nextTick(keel_ctx* ctx, keel_task_fn fn, void* user, keel_free_fn freeUser) {
    if (fn == nullptr) {
        hold(user, freeUser);
        return;
    }
    self(ctx).runtime().loop.nextTick(task(fn, user, freeUser), self(ctx).owner());
}

void queueMicrotask(keel_ctx* ctx, keel_task_fn fn, void* user, keel_free_fn freeUser) {
    if (fn == nullptr) {
        hold(user, freeUser);
        return;
    }
    self(ctx).runtime().loop.queueMicrotask(task(fn, user, freeUser), self(ctx).owner());
}

int offload(keel_ctx* ctx, keel_work_fn work, keel_done_fn done, void* user) {
    if (work == nullptr || done == nullptr) return UV_EINVAL;
    return self(ctx).runtime().loop.offload([work, user] { work(user); }, [done, user](int status) { done(user, status); },
                                            self(ctx).owner());
}

keel_topic topic(keel_ctx* ctx, keel_str name) { return self(ctx).runtime().bus.topic(view(name)); }

uint64_t subscribe(keel_ctx* ctx, keel_topic t, int32_t priority, int once, keel_event_fn fn, void* user,
                   keel_free_fn freeUser) {
    auto data = hold(user, freeUser);
    if (fn == nullptr) return 0;
    Bus& bus = self(ctx).runtime().bus;
    Handler handler = [fn, data](TopicId id, const keel_payload& payload) { fn(data.get(), id, &payload); };
    return once != 0 ? bus.once(t, priority, std::move(handler), self(ctx).owner())
                     : bus.subscribe(t, priority, std::move(handler), self(ctx).owner());
}

int unsubscribe(keel_ctx* ctx, uint64_t id) { return self(ctx).runtime().bus.unsubscribe(id) ? 0 : -1; }

void publish(keel_ctx* ctx, keel_topic t, const keel_payload* payload) {
    if (payload != nullptr) self(ctx).runtime().bus.publish(t, *payload);
}

void post(keel_ctx* ctx, keel_topic t, const keel_payload* payload) {
    if (payload != nullptr) self(ctx).runtime().bus.post(t, *payload);
}

int hasSubscribers(keel_ctx* ctx, keel_topic t) { return self(ctx).runtime().bus.hasSubscribers(t) ? 1 : 0; }

int provide(keel_ctx* ctx, keel_str name, uint32_t major, keel_service service) {
    try {
        self(ctx).services().provide(view(name), major, service, self(ctx).owner(), self(ctx).library().name());
        return 0;
    } catch (const ServiceError& e) {
        self(ctx).setError(e.what());
        return -1;
    }
}

int lookup(keel_ctx* ctx, keel_str name, uint32_t major, keel_service* out) {
    auto found = self(ctx).services().lookup(view(name), major);
    if (!found || out == nullptr) return -1;
    *out = *found;
    return 0;
}

void commandDone(keel_ctx* ctx, int code) { self(ctx).commandDone(code); }
void stopDone(keel_ctx* ctx) { self(ctx).stopDone(); }

void print(keel_ctx*, keel_str text) {
    std::fwrite(text.ptr, 1, text.len, stdout);
    std::fflush(stdout);
}

void* uvLoop(keel_ctx* ctx) { return self(ctx).runtime().loop.uv(); }

void makeCallback(keel_ctx* ctx, const char* what, keel_task_fn fn, void* user) {
    if (fn == nullptr) return;
    self(ctx).runtime().loop.invoke(self(ctx).owner(), what ? what : "callback", fn, user);
}

int registerHandler(keel_ctx* ctx, keel_str name, const keel_handler_vtable* vtable, void* handlerSelf) {
    return self(ctx).registerHandler(std::string(view(name)), vtable, handlerSelf) ? 0 : -1;
}

const keel_host_api kHostApi = {
    sizeof(keel_host_api),
    KEEL_ABI_MAJOR,
    KEEL_ABI_MINOR,
    &instanceName,
    &configJson,
    &log,
    &setError,
    &nowMs,
    &setTimer,
    &clearTimer,
    &setImmediate,
    &clearImmediate,
    &nextTick,
    &queueMicrotask,
    &offload,
    &topic,
    &subscribe,
    &unsubscribe,
    &publish,
    &post,
    &hasSubscribers,
    &provide,
    &lookup,
    &commandDone,
    &stopDone,
    &print,
    &uvLoop,
    &makeCallback,
    &registerHandler,
    requestApi(),
    transportApi(),
};

} // namespace

const keel_host_api* hostApi() { return &kHostApi; }

} // namespace keel::kernel
