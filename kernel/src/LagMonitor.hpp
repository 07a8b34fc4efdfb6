#pragma once

#include <uv.h>

#include <time.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <keel/Histogram.hpp>

#include "Owner.hpp"

namespace keel::kernel {

/// Node's monitorEventLoopDelay plus blame: a timer samples how late the loop wakes it
/// (the histogram, in nanoseconds), and every callback the loop invokes is timed so that one
/// running longer than the threshold is logged with the name of the plugin that owns it.
/// The sampler rests while the loop is idle: a sample that finds no callback ran since the
/// one before stops the timer, and the next callback restarts it (recording its own run
/// time, the delay it caused, as a sample). An idle server is not woken 100 times a second
/// to learn that nothing is late. Loop thread only.
class LagMonitor {
public:
    struct Block {
        std::string owner;
        std::string what;
        std::uint64_t durationNs = 0;
    };
    using BlockHandler = std::function<void(const Block&)>;

    LagMonitor() = default;

    /// The clock callbacks and request steps are timed with: CLOCK_MONOTONIC_COARSE, a few
    /// nanoseconds to read (the vDSO returns the tick's value, no TSC read) with a few
    /// milliseconds of resolution, plenty to spot a callback that blocks the loop for 100 ms.
    /// Two clock reads per callback are on every request's path.
    static std::uint64_t clockNs() {
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
    }
    LagMonitor(const LagMonitor&) = delete;
    LagMonitor& operator=(const LagMonitor&) = delete;

    /// Starts sampling every `resolutionMs` (Node's default is 10). The sampling timer does
    /// not keep the loop alive.
    void start(uv_loop_t* loop, std::uint64_t resolutionMs = 10);
    void stop();
    bool running() const { return running_; }
    /// Whether the sampling timer is armed (false while started but resting on an idle loop).
    bool sampling() const { return running_ && !resting_; }

    /// Callbacks longer than this are reported (default 100 ms; 0 disables reports).
    void setBlockThresholdMs(std::uint64_t ms) { thresholdNs_ = ms * 1000000; }
    std::uint64_t blockThresholdMs() const { return thresholdNs_ / 1000000; }
    /// Called for each report, after it is logged.
    void onBlock(BlockHandler handler) { handler_ = std::move(handler); }

    /// Loop delay samples, nanoseconds.
    const Histogram& delays() const { return delays_; }
    std::uint64_t blockCount() const { return blocks_; }
    const std::optional<Block>& lastBlock() const { return lastBlock_; }
    void reset();

    /// A running count of nanoseconds already attributed to callbacks and request steps:
    /// read it when one starts, and pass it to callbackFinished.
    std::uint64_t attributedNs() const { return attributed_; }
    /// Loop::invoke reports each callback's run time here, and the pipeline each request
    /// step's. Time that nested callbacks or steps took since `attributedBefore` is theirs,
    /// so a transport's read callback is not blamed for the slow step it ran.
    void callbackFinished(const Owner* owner, const char* what, std::uint64_t durationNs,
                          std::uint64_t attributedBefore) {
        const std::uint64_t inner = attributed_ - attributedBefore;
        const std::uint64_t own = durationNs > inner ? durationNs - inner : 0;
        attributed_ = attributedBefore + (durationNs > inner ? durationNs : inner);
        if (thresholdNs_ != 0 && own > thresholdNs_) report(owner, what, own);
        ++callbacks_;
        if (resting_) [[unlikely]] wake(durationNs);
    }

    /// A one-line summary: "loop delay: min 0.01 ms, max ..., mean ..., p50 ..., p90 ..., p99 ...".
    std::string summary() const;

private:
    void report(const Owner* owner, const char* what, std::uint64_t durationNs);
    static void onSample(uv_timer_t* timer);
    /// A callback ran while the sampler rested: arm it again.
    void wake(std::uint64_t callbackNs);
    /// Starts the sampling timer, the first sample due one period from now.
    void arm();

    uv_timer_t timer_{};
    bool initialised_ = false;
    bool running_ = false;
    bool resting_ = false;
    std::uint64_t callbacks_ = 0;     // callbacks finished so far
    std::uint64_t callbacksSeen_ = 0; // ... as of the last sample
    std::uint64_t resolutionMs_ = 10;
    std::uint64_t expectedNs_ = 0;
    std::uint64_t thresholdNs_ = 100000000;
    Histogram delays_;
    std::uint64_t blocks_ = 0;
    std::uint64_t attributed_ = 0;
    std::optional<Block> lastBlock_;
    BlockHandler handler_;
};

} // namespace keel::kernel
