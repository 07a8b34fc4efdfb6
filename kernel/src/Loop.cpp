#include "Loop.hpp"

#include <exception>
#include <string>
#include <vector>

#include "Log.hpp"

namespace keel::kernel {

struct Loop::Timer {
    uv_timer_t handle{};
    TimerId id = 0;
    bool repeat = false;
    Task task;
    const Owner* owner = nullptr;
    Loop* loop = nullptr;
    bool running = false;
    bool closed = false;
};

namespace {

std::string ownerName(const Owner* owner) { return owner ? owner->name : std::string("kernel"); }

} // namespace

Loop::Loop() {
    uv_loop_init(&loop_);
    loop_.data = this;
    uv_check_init(&loop_, &check_);
    check_.data = this;
    uv_check_start(&check_, &Loop::onCheck);
    // The check handle alone must not keep the loop alive; pending immediates do, via idle_.
    uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
    uv_idle_init(&loop_, &idle_);
    idle_.data = this;
}

Loop::~Loop() {
    lag_.stop();
    while (!timers_.empty()) closeTimer(timers_.begin()->second);
    // Close every other handle still open (ours and any an integration left), then let the
    // close callbacks run so that everything is freed.
    uv_walk(
        &loop_,
        [](uv_handle_t* handle, void*) {
            if (!uv_is_closing(handle)) uv_close(handle, nullptr);
        },
        nullptr);
    while (uv_run(&loop_, UV_RUN_DEFAULT) != 0) {
    }
    uv_loop_close(&loop_);
}

// --- timers -------------------------------------------------------------------------------

TimerId Loop::setTimeout(std::uint64_t ms, Task task, const Owner* owner) {
    return setTimer(ms, 0, std::move(task), owner);
}

TimerId Loop::setInterval(std::uint64_t ms, Task task, const Owner* owner) {
    return setTimer(ms, ms == 0 ? 1 : ms, std::move(task), owner);
}

TimerId Loop::setTimer(std::uint64_t ms, std::uint64_t repeat, Task task, const Owner* owner) {
    if (ms == 0) ms = 1; // Node: a delay below 1 ms is 1 ms
    auto* timer = new Timer;
    timer->id = nextTimerId_++;
    timer->repeat = repeat != 0;
    timer->task = std::move(task);
    timer->owner = owner;
    timer->loop = this;
    uv_timer_init(&loop_, &timer->handle);
    timer->handle.data = timer;
    uv_timer_start(&timer->handle, &Loop::onTimer, ms, repeat);
    timers_.emplace(timer->id, timer);
    return timer->id;
}

void Loop::onTimer(uv_timer_t* handle) {
    auto* timer = static_cast<Timer*>(handle->data);
    Loop* self = timer->loop;
    timer->running = true;
    if (!timer->repeat) {
        // A timeout is over once it fires: clearTimeout from inside it is a no-op, and the
        // Timer (with its task) is freed by the close callback, after the call returns.
        self->closeTimer(timer);
    }
    self->invoke(timer->owner, "timer", timer->task);
    timer->running = false;
    // A finished timeout (or an interval cleared from inside) drops its task right away,
    // while its owner surely exists, rather than in the close callback.
    if (timer->closed) Task released = std::move(timer->task);
}

bool Loop::clearTimer(TimerId id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) return false;
    closeTimer(it->second);
    return true;
}

void Loop::unrefTimer(TimerId id) {
    auto it = timers_.find(id);
    if (it != timers_.end()) uv_unref(reinterpret_cast<uv_handle_t*>(&it->second->handle));
}

void Loop::closeTimer(Timer* timer) {
    timer->closed = true;
    timers_.erase(timer->id);
    uv_timer_stop(&timer->handle);
    // A cleared timer's task (and what it captured, a plugin's user data) goes now, while
    // its owner surely exists; only a task still running waits for the close callback.
    if (!timer->running) Task released = std::move(timer->task);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer->handle),
             [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
}

// --- immediates ---------------------------------------------------------------------------

ImmediateId Loop::setImmediate(Task task, const Owner* owner) {
    const ImmediateId id = nextImmediateId_++;
    immediateQueue_.push_back(Immediate{id, immediateGeneration_, std::move(task), owner});
    immediates_.emplace(id, std::prev(immediateQueue_.end()));
    if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&idle_)))
        uv_idle_start(&idle_, [](uv_idle_t*) {});
    return id;
}

bool Loop::clearImmediate(ImmediateId id) {
    auto it = immediates_.find(id);
    if (it == immediates_.end()) return false;
    immediateQueue_.erase(it->second);
    immediates_.erase(it);
    if (immediateQueue_.empty()) uv_idle_stop(&idle_);
    return true;
}

void Loop::onCheck(uv_check_t* handle) { static_cast<Loop*>(handle->data)->runImmediates(); }

void Loop::runImmediates() {
    // Only the immediates queued before this check phase run now; those they queue wait for
    // the next iteration (Node's semantics).
    const std::uint64_t generation = immediateGeneration_++;
    while (!immediateQueue_.empty() && immediateQueue_.front().generation <= generation) {
        Immediate immediate = std::move(immediateQueue_.front());
        immediates_.erase(immediate.id);
        immediateQueue_.pop_front();
        invoke(immediate.owner, "immediate", immediate.task);
    }
    if (immediateQueue_.empty()) uv_idle_stop(&idle_);
}

// --- ticks and microtasks -----------------------------------------------------------------

void Loop::nextTick(Task task, const Owner* owner) { nextTicks_.push_back(Tick{std::move(task), owner}); }

void Loop::queueMicrotask(Task task, const Owner* owner) {
    microtasks_.push_back(Tick{std::move(task), owner});
}

void Loop::drainTicks() {
    // Most callbacks queue nothing: no clock read for them.
    if (draining_ || (nextTicks_.empty() && microtasks_.empty())) return;
    draining_ = true;
    // One clock read per task: each one's end is the next one's start.
    std::uint64_t stamp = LagMonitor::clockNs();
    do {
        while (!nextTicks_.empty()) {
            Tick tick = std::move(nextTicks_.front());
            nextTicks_.pop_front();
            stamp = invokeOne(tick.owner, "nextTick", tick.task, stamp);
        }
        while (!microtasks_.empty()) {
            Tick tick = std::move(microtasks_.front());
            microtasks_.pop_front();
            stamp = invokeOne(tick.owner, "microtask", tick.task, stamp);
        }
    } while (!nextTicks_.empty() || !microtasks_.empty());
    draining_ = false;
}

// --- invocation ---------------------------------------------------------------------------

std::uint64_t Loop::invokeOne(const Owner* owner, const char* what, void (*fn)(void*), void* user,
                              std::uint64_t start) {
    const std::uint64_t attributed = lag_.attributedNs();
    ++invokeDepth_;
    try {
        fn(user);
    } catch (const std::exception& e) {
        logError("loop", "uncaught exception in " + std::string(what) + " callback of plugin '" + ownerName(owner) +
                             "': " + e.what());
    } catch (...) {
        logError("loop", "uncaught non-standard exception in " + std::string(what) + " callback of plugin '" +
                             ownerName(owner) + "'");
    }
    --invokeDepth_;
    const std::uint64_t end = LagMonitor::clockNs();
    lag_.callbackFinished(owner, what, end - start, attributed);
    return end;
}

void Loop::invoke(const Owner* owner, const char* what, const Task& task) {
    invokeOne(owner, what, task, LagMonitor::clockNs());
    // Nested invocations (a publish inside a callback) leave the drain to the outermost one.
    if (invokeDepth_ == 0) drainTicks();
}

void Loop::invoke(const Owner* owner, const char* what, void (*fn)(void*), void* user) {
    invokeOne(owner, what, fn, user, LagMonitor::clockNs());
    if (invokeDepth_ == 0) drainTicks();
}

void Loop::runMain(Task task, const Owner* owner) { invoke(owner, "main", task); }

// --- offload ------------------------------------------------------------------------------

namespace {

struct Work {
    uv_work_t req{};
    std::function<void()> work;
    std::function<void(int)> done;
    const Owner* owner = nullptr;
    bool threw = false;
    std::string error;
};

} // namespace

int Loop::offload(std::function<void()> work, std::function<void(int status)> done, const Owner* owner) {
    auto item = std::make_unique<Work>();
    item->work = std::move(work);
    item->done = std::move(done);
    item->owner = owner;
    item->req.data = item.get();
    const int rc = uv_queue_work(
        &loop_, &item->req,
        [](uv_work_t* req) {
            auto* w = static_cast<Work*>(req->data);
            try {
                w->work();
            } catch (const std::exception& e) {
                w->threw = true;
                w->error = e.what();
            } catch (...) {
                w->threw = true;
                w->error = "non-standard exception";
            }
        },
        [](uv_work_t* req, int status) {
            std::unique_ptr<Work> w(static_cast<Work*>(req->data));
            auto* self = static_cast<Loop*>(req->loop->data);
            if (w->threw) {
                logError("loop", "offloaded work of plugin '" + ownerName(w->owner) + "' threw: " + w->error);
                status = -1;
            }
            if (w->done) self->invoke(w->owner, "offload done", [&] { w->done(status); });
            self->offloadFinished(w->owner);
        });
    if (rc != 0) return rc;
    ++offloads_[owner];
    item.release();
    return 0;
}

std::size_t Loop::offloadsInFlight(const Owner* owner) const {
    const auto it = offloads_.find(owner);
    return it == offloads_.end() ? 0 : it->second;
}

void Loop::whenOffloadsDone(const Owner* owner, Task task) {
    if (offloadsInFlight(owner) == 0) {
        invoke(owner, "offloads done", task);
        return;
    }
    offloadWaiters_[owner] = std::move(task);
}

std::size_t Loop::offloadsInFlight() const {
    std::size_t total = 0;
    for (const auto& [owner, count] : offloads_) total += count;
    return total;
}

void Loop::offloadFinished(const Owner* owner) {
    const auto it = offloads_.find(owner);
    if (it == offloads_.end() || --it->second != 0) return;
    offloads_.erase(it);
    const auto waiter = offloadWaiters_.find(owner);
    if (waiter == offloadWaiters_.end()) return;
    Task task = std::move(waiter->second);
    offloadWaiters_.erase(waiter);
    invoke(owner, "offloads done", task);
}

// --- owners and running -------------------------------------------------------------------

void Loop::clearOwner(const Owner* owner) {
    offloadWaiters_.erase(owner);
    std::vector<TimerId> ids;
    for (const auto& [id, timer] : timers_)
        if (timer->owner == owner) ids.push_back(id);
    for (TimerId id : ids) clearTimer(id);
    for (auto it = immediateQueue_.begin(); it != immediateQueue_.end();) {
        if (it->owner == owner) {
            immediates_.erase(it->id);
            it = immediateQueue_.erase(it);
        } else {
            ++it;
        }
    }
    if (immediateQueue_.empty()) uv_idle_stop(&idle_);
    auto dropOwned = [owner](std::deque<Tick>& queue) {
        std::erase_if(queue, [owner](const Tick& t) { return t.owner == owner; });
    };
    dropOwned(nextTicks_);
    dropOwned(microtasks_);
}

int Loop::run() { return uv_run(&loop_, UV_RUN_DEFAULT); }

void Loop::stop() { uv_stop(&loop_); }

} // namespace keel::kernel
