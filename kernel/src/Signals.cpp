#include "Signals.hpp"

#include <csignal>
#include <cstring>
#include <string>

#include "Log.hpp"
#include "Loop.hpp"

namespace keel::kernel {

Signals::Signals(Loop& loop, Hooks hooks, std::uint64_t deadlineMs)
    : loop_(loop), hooks_(std::move(hooks)), deadlineMs_(deadlineMs) {
    for (auto [handle, signum] : {std::pair{&term_, SIGTERM}, std::pair{&interrupt_, SIGINT}, std::pair{&hangup_, SIGHUP}}) {
        uv_signal_init(loop_.uv(), handle);
        handle->data = this;
        uv_signal_start(handle, &Signals::onSignal, signum);
        uv_unref(reinterpret_cast<uv_handle_t*>(handle));
    }
}

Signals::~Signals() {
    if (deadlineTimer_ != 0) loop_.clearTimer(deadlineTimer_);
    for (uv_signal_t* handle : {&term_, &interrupt_, &hangup_}) {
        uv_signal_stop(handle);
        uv_close(reinterpret_cast<uv_handle_t*>(handle), nullptr);
    }
    // The handles live in this object: let their close callbacks run before it goes away.
    uv_run(loop_.uv(), UV_RUN_NOWAIT);
}

void Signals::onSignal(uv_signal_t* handle, int signum) {
    auto* self = static_cast<Signals*>(handle->data);
    self->loop_.invoke(self->loop_.kernelOwner(), "signal", [self, signum] {
        if (signum == SIGHUP) {
            logInfo("kernel", "SIGHUP: reloading");
            if (self->hooks_.onReload) self->hooks_.onReload();
            return;
        }
        if (self->stopping_) {
            logWarn("kernel", std::string("second ") + strsignal(signum) + ": stopping now");
            if (self->hooks_.onForce) self->hooks_.onForce(signum);
            return;
        }
        self->beginStop(signum);
    });
}

void Signals::beginStop(int signum) {
    if (stopping_) return;
    stopping_ = true;
    logInfo("kernel", std::string(strsignal(signum)) + ": stopping gracefully (deadline " +
                          std::to_string(deadlineMs_) + " ms; send it again to stop now)");
    deadlineTimer_ = loop_.setTimeout(deadlineMs_, [this, signum] {
        deadlineTimer_ = 0;
        logWarn("kernel", "graceful stop deadline of " + std::to_string(deadlineMs_) + " ms passed: stopping now");
        if (hooks_.onForce) hooks_.onForce(signum);
    });
    // The deadline must not by itself keep a loop alive that has finished its work.
    loop_.unrefTimer(deadlineTimer_);
    if (hooks_.onStop) hooks_.onStop(signum);
}

} // namespace keel::kernel
