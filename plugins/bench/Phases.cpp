#include "Phases.hpp"

#include <algorithm>
#include <cmath>

namespace keel::bench {

namespace {

// Rates times durations are rarely exact in binary (0.1 x 30); without the tolerance a phase
// meant to make 3 arrivals would make 4.
std::uint64_t ceilCount(double n) {
    if (!(n > 1e-9)) return 0;
    return static_cast<std::uint64_t>(std::ceil(n - 1e-9));
}

} // namespace

std::uint64_t Phase::arrivals() const {
    if (pause) return 0;
    if (arrivalCount) return *arrivalCount;
    if (rampTo) return ceilCount((arrivalRate + *rampTo) / 2.0 * durationS);
    return ceilCount(arrivalRate * durationS);
}

double Phase::offsetS(std::uint64_t k) const {
    if (k == 0) return 0;
    const double kd = static_cast<double>(k);
    if (arrivalCount) return *arrivalCount == 0 ? 0 : kd * durationS / static_cast<double>(*arrivalCount);
    if (!rampTo || durationS <= 0) return arrivalRate > 0 ? kd / arrivalRate : 0;
    // Arrivals up to t: N(t) = r0 t + a t^2 with a = (r1 - r0) / 2d. Solving N(t) = k with
    // the form 2k / (r0 + sqrt(r0^2 + 4ak)) stays exact when a is 0 or negative (ramp down)
    // and never divides by a.
    const double r0 = arrivalRate;
    const double a = (*rampTo - r0) / (2.0 * durationS);
    const double disc = std::max(0.0, r0 * r0 + 4.0 * a * kd);
    const double denom = r0 + std::sqrt(disc);
    if (!(denom > 0)) return durationS;
    return std::min(durationS, 2.0 * kd / denom);
}

ArrivalSchedule::ArrivalSchedule(std::vector<Phase> phases) : phases_(std::move(phases)) {
    starts_.push_back(0);
    for (const auto& p : phases_)
        starts_.push_back(starts_.back() + static_cast<std::uint64_t>(std::llround(p.durationS * 1e9)));
    settle();
}

std::uint64_t ArrivalSchedule::totalArrivals() const {
    std::uint64_t n = 0;
    for (const auto& p : phases_) n += p.arrivals();
    return n;
}

void ArrivalSchedule::pop() {
    if (!next_) return;
    ++k_;
    settle();
}

void ArrivalSchedule::settle() {
    while (phase_ < phases_.size() && k_ >= phases_[phase_].arrivals()) {
        ++phase_;
        k_ = 0;
    }
    if (phase_ >= phases_.size()) {
        next_.reset();
        return;
    }
    const double offset = phases_[phase_].offsetS(k_);
    next_ = Arrival{starts_[phase_] + static_cast<std::uint64_t>(std::llround(offset * 1e9)), phase_};
}

} // namespace keel::bench
