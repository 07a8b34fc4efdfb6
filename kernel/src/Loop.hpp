#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>

#include "LagMonitor.hpp"
#include "Owner.hpp"

namespace keel::kernel {

using Task = std::function<void()>;
using TimerId = std::uint64_t;
using ImmediateId = std::uint64_t;

/// One libuv loop with Node's scheduling and ordering. Loop thread only, except that
/// offload()'s work function runs on the thread pool.
///
/// Ordering, as in Node: every callback the loop invokes (a timer, an immediate, an I/O
/// completion, an offload's done, a signal) is followed by draining the nextTick queue, then
/// the microtask queue, repeatedly until both are empty. Timers run in libuv's timers phase,
/// immediates in the check phase (an immediate queued by an immediate runs on the next
/// iteration), and a pending immediate keeps the poll phase from blocking.
class Loop {
public:
    Loop();
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    uv_loop_t* uv() { return &loop_; }

    /// setTimeout: delays below 1 ms become 1 ms, as in Node. Returns an id > 0.
    TimerId setTimeout(std::uint64_t ms, Task task, const Owner* owner = nullptr);
    /// setInterval: first call after `ms`, then every `ms`.
    TimerId setInterval(std::uint64_t ms, Task task, const Owner* owner = nullptr);
    /// The general form: first call after `timeoutMs`, then every `repeatMs` (0: once).
    TimerId setTimer(std::uint64_t timeoutMs, std::uint64_t repeatMs, Task task, const Owner* owner = nullptr);
    /// clearTimeout / clearInterval; false when the id is unknown or already fired.
    bool clearTimer(TimerId id);
    /// Lets the loop exit while this timer is pending (uv_unref; Node's timeout.unref()).
    void unrefTimer(TimerId id);

    ImmediateId setImmediate(Task task, const Owner* owner = nullptr);
    bool clearImmediate(ImmediateId id);

    void nextTick(Task task, const Owner* owner = nullptr);
    void queueMicrotask(Task task, const Owner* owner = nullptr);

    /// Runs `work` on the loop's thread pool, then `done(status)` on the loop thread:
    /// status 0, UV_ECANCELED when the loop shut down first, or -1 when `work` threw (the
    /// exception is logged). Returns 0 or a libuv error (then nothing runs).
    int offload(std::function<void()> work, std::function<void(int status)> done,
                const Owner* owner = nullptr);

    /// How many of `owner`'s offloads have not had their `done` yet.
    std::size_t offloadsInFlight(const Owner* owner) const;
    /// How many offloads, of every owner, have not had their `done` yet.
    std::size_t offloadsInFlight() const;
    /// Runs `task` once `owner` has no offload in flight (at once when it has none). One
    /// waiter per owner: a second call replaces the first. clearOwner drops it. A plugin's
    /// stop completes this way only after the work it offloaded came back, so `done` runs
    /// plugin code while the plugin's subscriptions and services still stand.
    void whenOffloadsDone(const Owner* owner, Task task);

    /// Ends every timer and immediate `owner` still holds (pending ticks of that owner are
    /// dropped too, and so is its whenOffloadsDone waiter). Called when a plugin instance stops.
    void clearOwner(const Owner* owner);

    /// Runs `task` as Node runs the main module: synchronously, then drains ticks.
    void runMain(Task task, const Owner* owner = nullptr);
    /// Runs the loop until nothing keeps it alive or stop() is called. Returns uv_run's result.
    int run();
    void stop();
    /// The loop's cached clock, in milliseconds.
    std::uint64_t now() const { return uv_now(&loop_); }

    /// Invokes a loop callback on behalf of `owner`: times it for the lag monitor, logs and
    /// contains an exception, then drains nextTick and microtask queues. Integrations that
    /// receive libuv callbacks directly (I/O, signals) call this.
    void invoke(const Owner* owner, const char* what, const Task& task);
    /// The same for a plain function and its argument (a plugin's callback through the SDK),
    /// without building a std::function for each call.
    void invoke(const Owner* owner, const char* what, void (*fn)(void*), void* user);

    LagMonitor& lag() { return lag_; }
    const Owner* kernelOwner() const { return &kernelOwner_; }

    /// Counts for tests and diagnostics.
    std::size_t pendingTimers() const { return timers_.size(); }
    std::size_t pendingImmediates() const { return immediates_.size(); }

private:
    struct Timer;
    struct Immediate {
        ImmediateId id;
        std::uint64_t generation;
        Task task;
        const Owner* owner;
    };
    struct Tick {
        Task task;
        const Owner* owner;
    };

    void closeTimer(Timer* timer);
    void runImmediates();
    void drainTicks();
    /// Runs `task` (begun at `start`, a LagMonitor::clockNs reading) and returns the time it ended.
    std::uint64_t invokeOne(const Owner* owner, const char* what, const Task& task, std::uint64_t start) {
        return invokeOne(owner, what, [](void* t) { (*static_cast<const Task*>(t))(); },
                         const_cast<Task*>(&task), start);
    }
    std::uint64_t invokeOne(const Owner* owner, const char* what, void (*fn)(void*), void* user, std::uint64_t start);
    static void onTimer(uv_timer_t* handle);
    static void onCheck(uv_check_t* handle);

    uv_loop_t loop_{};
    Owner kernelOwner_{"kernel"};
    LagMonitor lag_;

    std::uint64_t nextTimerId_ = 1;
    std::unordered_map<TimerId, Timer*> timers_;

    void offloadFinished(const Owner* owner);
    std::unordered_map<const Owner*, std::size_t> offloads_;
    std::unordered_map<const Owner*, Task> offloadWaiters_;

    uv_check_t check_{};
    uv_idle_t idle_{};
    std::uint64_t nextImmediateId_ = 1;
    std::uint64_t immediateGeneration_ = 0;
    std::list<Immediate> immediateQueue_;
    std::unordered_map<ImmediateId, std::list<Immediate>::iterator> immediates_;

    std::deque<Tick> nextTicks_;
    std::deque<Tick> microtasks_;
    int invokeDepth_ = 0;
    bool draining_ = false;
};

} // namespace keel::kernel
