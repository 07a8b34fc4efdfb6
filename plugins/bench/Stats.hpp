#pragma once

// The engine's counters: one latency histogram for the run, one for the current second (the
// per-second series and the live line), status codes, error classes and bytes. Loop thread
// only; recording is O(1) and never allocates on the hot path.

#include <keel/Histogram.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "Summary.hpp"

namespace keel::bench {

class Stats {
public:
    /// A response arrived `latencyUs` after its request's start (scheduled or issued).
    void recordResponse(std::uint64_t latencyUs, int status) {
        total_.record(latencyUs);
        second_.record(latencyUs);
        ++responses_;
        ++secondResponses_;
        if (status >= 0 && status < static_cast<int>(codes_.size())) {
            ++codes_[static_cast<std::size_t>(status)];
        } else {
            ++otherCodes_[status];
        }
    }
    /// A request failed without a usable response; `error` names the class (ECONNREFUSED, ...).
    void recordError(std::string_view error);
    void addBytes(std::uint64_t n) {
        bytes_ += n;
        secondBytes_ += n;
    }

    /// Ends the current interval of the per-second series at `endS` seconds into the run.
    void closeSecond(double endS);

    void userCreated() { ++vusersCreated_; }
    void userCompleted() { ++vusersCompleted_; }
    void userFailed() { ++vusersFailed_; }
    void userSkipped() { ++vusersSkipped_; }

    std::uint64_t responses() const { return responses_; }
    std::uint64_t errors() const { return errors_; }
    std::uint64_t bytes() const { return bytes_; }
    const Histogram& latency() const { return total_; }
    const std::vector<SecondFigures>& series() const { return series_; }
    std::uint64_t vusersCreated() const { return vusersCreated_; }

    /// The figures for the report; `durationS` is the run's length, `unfinished` the requests
    /// still in flight or queued at its end.
    Summary summarize(double durationS, std::uint64_t unfinished) const;

private:
    Histogram total_;
    Histogram second_;
    std::uint64_t responses_ = 0;
    std::uint64_t errors_ = 0;
    std::uint64_t bytes_ = 0;
    std::array<std::uint64_t, 600> codes_{};
    std::map<int, std::uint64_t> otherCodes_;
    std::map<std::string, std::uint64_t, std::less<>> errorClasses_;
    std::uint64_t secondResponses_ = 0;
    std::uint64_t secondErrors_ = 0;
    std::uint64_t secondBytes_ = 0;
    double lastSecondEndS_ = 0;
    std::vector<SecondFigures> series_;
    std::uint64_t vusersCreated_ = 0, vusersCompleted_ = 0, vusersFailed_ = 0, vusersSkipped_ = 0;
};

} // namespace keel::bench
