#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

namespace keel::kernel {

class Loop;

/// SIGTERM/SIGINT stop gracefully, SIGHUP reloads. The first stop signal calls `onStop`
/// and arms a deadline; a second stop signal, or the deadline passing, calls `onForce`.
/// The signal handles do not keep the loop alive. Loop thread only.
class Signals {
public:
    struct Hooks {
        std::function<void(int signum)> onStop;  // begin a graceful stop
        std::function<void(int signum)> onForce; // stop now
        std::function<void()> onReload;          // SIGHUP
    };

    Signals(Loop& loop, Hooks hooks, std::uint64_t deadlineMs);
    ~Signals();
    Signals(const Signals&) = delete;
    Signals& operator=(const Signals&) = delete;

    bool stopping() const { return stopping_; }
    /// Starts the graceful stop as a signal would (used by `keel` when a command ends).
    void beginStop(int signum);

private:
    static void onSignal(uv_signal_t* handle, int signum);

    Loop& loop_;
    Hooks hooks_;
    std::uint64_t deadlineMs_;
    uv_signal_t term_{};
    uv_signal_t interrupt_{};
    uv_signal_t hangup_{};
    std::uint64_t deadlineTimer_ = 0;
    bool stopping_ = false;
};

} // namespace keel::kernel
