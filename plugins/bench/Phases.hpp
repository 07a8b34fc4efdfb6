#pragma once

// Artillery's load phases and the arithmetic that turns them into arrival times. The same
// schedule paces virtual users (closed model) and requests (--rate, open model).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keel::bench {

struct Phase {
    std::string name;
    double durationS = 0;
    double arrivalRate = 0;                     // arrivals per second at the phase's start
    std::optional<double> rampTo;               // ... rising (or falling) linearly to this
    std::optional<std::uint64_t> arrivalCount;  // instead of a rate: this many, evenly spread
    bool pause = false;                         // no arrivals for durationS
    std::optional<std::uint64_t> maxVusers;     // arrivals beyond this many active users are skipped

    /// How many arrivals the phase makes: ceil(rate x duration) for a constant rate,
    /// ceil((rate + rampTo) / 2 x duration) for a ramp, arrivalCount as given.
    std::uint64_t arrivals() const;
    /// Seconds from the phase's start to arrival k (0-based, k < arrivals()): k/rate for a
    /// constant rate, k x duration/arrivalCount for a count, and for a ramp the time at which
    /// the integral of the linear rate reaches k.
    double offsetS(std::uint64_t k) const;
};

/// Walks the phases in order, yielding each arrival once.
class ArrivalSchedule {
public:
    struct Arrival {
        std::uint64_t atNs;  // from the run's start
        std::size_t phase;
    };

    explicit ArrivalSchedule(std::vector<Phase> phases);

    /// The next arrival without consuming it, or nullopt once every phase is over.
    std::optional<Arrival> peek() const { return next_; }
    void pop();

    const std::vector<Phase>& phases() const { return phases_; }
    std::uint64_t phaseStartNs(std::size_t i) const { return starts_[i]; }
    /// The sum of the phases' durations.
    std::uint64_t totalNs() const { return starts_.back(); }
    /// Arrivals over every phase.
    std::uint64_t totalArrivals() const;

private:
    void settle();

    std::vector<Phase> phases_;
    std::vector<std::uint64_t> starts_;  // phases_.size() + 1 entries
    std::size_t phase_ = 0;
    std::uint64_t k_ = 0;
    std::optional<Arrival> next_;
};

} // namespace keel::bench
