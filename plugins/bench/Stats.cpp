#include "Stats.hpp"

#include <cmath>

namespace keel::bench {

namespace {

double ms(std::uint64_t us) { return static_cast<double>(us) / 1000.0; }

} // namespace

void Stats::recordError(std::string_view error) {
    ++errors_;
    ++secondErrors_;
    auto it = errorClasses_.find(error);
    if (it == errorClasses_.end()) {
        errorClasses_.emplace(std::string(error), 1);
    } else {
        ++it->second;
    }
}

void Stats::closeSecond(double endS) {
    SecondFigures f;
    f.endS = endS;
    f.durationS = endS - lastSecondEndS_;
    f.requests = secondResponses_;
    f.errors = secondErrors_;
    f.bytes = secondBytes_;
    if (second_.count() > 0) {
        f.min = ms(second_.min());
        f.mean = second_.mean() / 1000.0;
        f.p50 = ms(second_.percentile(50));
        f.p90 = ms(second_.percentile(90));
        f.p99 = ms(second_.percentile(99));
        f.max = ms(second_.max());
    }
    series_.push_back(f);
    lastSecondEndS_ = endS;
    second_.reset();
    secondResponses_ = secondErrors_ = secondBytes_ = 0;
}

Summary Stats::summarize(double durationS, std::uint64_t unfinished) const {
    Summary s;
    s.durationS = durationS;
    s.requests = responses_;
    s.requestsPerS = durationS > 0 ? static_cast<double>(responses_) / durationS : 0;
    s.bytes = bytes_;
    s.bytesPerS = durationS > 0 ? static_cast<double>(bytes_) / durationS : 0;
    const Histogram& h = total_;
    if (h.count() > 0) {
        s.latency.min = ms(h.min());
        s.latency.mean = h.mean() / 1000.0;
        s.latency.p50 = ms(h.percentile(50));
        s.latency.p75 = ms(h.percentile(75));
        s.latency.p90 = ms(h.percentile(90));
        s.latency.p95 = ms(h.percentile(95));
        s.latency.p99 = ms(h.percentile(99));
        s.latency.p999 = ms(h.percentile(99.9));
        s.latency.max = ms(h.max());
        // The percentile curve (HdrHistogram's plot): five points per halving of the distance
        // to 100%, until a point would rank beyond the last recorded value.
        const double n = static_cast<double>(h.count());
        for (int k = 0;; ++k) {
            const double tail = std::pow(0.5, k / 5.0);
            const double p = 100.0 * (1.0 - tail);
            if (k > 0 && tail * n < 1.0) break;
            s.curve.emplace_back(p, ms(h.percentile(p)));
            if (k > 200) break;
        }
        s.curve.emplace_back(100.0, ms(h.max()));
    }
    for (std::size_t code = 0; code < codes_.size(); ++code)
        if (codes_[code] != 0) s.codes[static_cast<int>(code)] = codes_[code];
    for (const auto& [code, n] : otherCodes_) s.codes[code] = n;
    for (const auto& [name, n] : errorClasses_) s.errors[name] = n;
    s.errorCount = errors_;
    // An expectation failure is a response and an error at once; a transport failure is only
    // an error. The rate is over every request that was answered or failed.
    std::uint64_t expectFailures = 0;
    for (const auto& [name, n] : errorClasses_)
        if (name.rfind("expect.", 0) == 0) expectFailures += n;
    const std::uint64_t attempts = responses_ + (errors_ - expectFailures);
    s.errorPercent = attempts > 0 ? 100.0 * static_cast<double>(errors_) / static_cast<double>(attempts) : 0;
    s.unfinished = unfinished;
    s.vusersCreated = vusersCreated_;
    s.vusersCompleted = vusersCompleted_;
    s.vusersFailed = vusersFailed_;
    s.vusersSkipped = vusersSkipped_;
    s.series = series_;
    return s;
}

} // namespace keel::bench
