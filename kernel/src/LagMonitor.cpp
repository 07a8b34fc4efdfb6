#include "LagMonitor.hpp"

#include <cstdio>

#include "Log.hpp"

namespace keel::kernel {

void LagMonitor::start(uv_loop_t* loop, std::uint64_t resolutionMs) {
    if (resolutionMs == 0) resolutionMs = 1;
    if (!initialised_) {
        uv_timer_init(loop, &timer_);
        timer_.data = this;
        initialised_ = true;
    }
    resolutionMs_ = resolutionMs;
    arm();
    uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));
    running_ = true;
}

void LagMonitor::arm() {
    resting_ = false;
    expectedNs_ = uv_hrtime() + resolutionMs_ * 1000000;
    callbacksSeen_ = callbacks_;
    uv_timer_start(&timer_, &LagMonitor::onSample, resolutionMs_, resolutionMs_);
}

void LagMonitor::stop() {
    if (!initialised_) return;
    uv_timer_stop(&timer_);
    running_ = false;
    resting_ = false;
}

void LagMonitor::onSample(uv_timer_t* timer) {
    auto* self = static_cast<LagMonitor*>(timer->data);
    const std::uint64_t now = uv_hrtime();
    // A late wake-up is the delay; an early one (clock granularity) counts as zero.
    self->delays_.record(now > self->expectedNs_ ? now - self->expectedNs_ : 0);
    self->expectedNs_ = now + self->resolutionMs_ * 1000000;
    // Nothing ran for a whole period: the loop is idle, and the sampler rests until a
    // callback runs (callbackFinished wakes it).
    if (self->callbacks_ == self->callbacksSeen_) {
        uv_timer_stop(&self->timer_);
        self->resting_ = true;
    }
    self->callbacksSeen_ = self->callbacks_;
}

void LagMonitor::wake(std::uint64_t callbackNs) {
    if (!running_) return;
    // Whatever arrived while this callback ran waited for it: its run time is the delay
    // the sampler would have seen.
    delays_.record(callbackNs);
    arm();
}

void LagMonitor::reset() {
    delays_.reset();
    blocks_ = 0;
    lastBlock_.reset();
}

void LagMonitor::report(const Owner* owner, const char* what, std::uint64_t durationNs) {
    ++blocks_;
    Block block{owner ? owner->name : std::string("kernel"), what ? what : "callback", durationNs};
    char text[256];
    // "timer" -> "timer callback"; a request step names itself ("request step at FILE:LINE: routes[2]").
    const bool named = block.what.find(' ') != std::string::npos;
    std::snprintf(text, sizeof text, "event loop blocked for %.1f ms by plugin '%s' (%s%s; threshold %llu ms)",
                  static_cast<double>(durationNs) / 1e6, block.owner.c_str(), block.what.c_str(),
                  named ? "" : " callback", static_cast<unsigned long long>(thresholdNs_ / 1000000));
    logWarn("loop", text);
    lastBlock_ = block;
    if (handler_) handler_(*lastBlock_);
}

std::string LagMonitor::summary() const {
    char text[256];
    auto ms = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e6; };
    std::snprintf(text, sizeof text,
                  "loop delay over %llu samples: min %.2f ms, max %.2f ms, mean %.2f ms, p50 %.2f ms, "
                  "p90 %.2f ms, p99 %.2f ms",
                  static_cast<unsigned long long>(delays_.count()), ms(delays_.min()), ms(delays_.max()),
                  delays_.mean() / 1e6, ms(delays_.percentile(50)), ms(delays_.percentile(90)),
                  ms(delays_.percentile(99)));
    return text;
}

} // namespace keel::kernel
