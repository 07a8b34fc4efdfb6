#pragma once

// --ensure thresholds ('p99<50ms', 'errors<0.1%', 'rps>=1000') and artillery's ensure block,
// checked against the final figures. A broken threshold makes the run exit with 1.

#include <string>
#include <string_view>
#include <vector>

#include "Summary.hpp"

namespace keel::bench {

struct Threshold {
    enum class Metric { latency, requestsPerS, requests, errors, errorPercent };
    enum class Op { less, lessEqual, greater, greaterEqual };
    std::string text;        // as written, to name it when it breaks
    Metric metric = Metric::latency;
    std::string stat;        // latency: min, mean, p50, p75, p90, p95, p99, p99.9, max
    Op op = Op::less;
    double value = 0;        // ms for latency, percent for errorPercent
};

/// Parses one comparison: METRIC OP NUMBER[UNIT]. Metrics: min, max, mean, median, p50, p75,
/// p90, p95, p99, p99.9 (or p999), each optionally prefixed by http.response_time. (units
/// us, ms (default), s); rps or http.request_rate; requests; errors (a count, or with % the
/// share of requests that failed). Throws std::invalid_argument with the accepted form.
Threshold parseThreshold(std::string_view text);

/// Artillery's conditions: comparisons joined by 'and'.
std::vector<Threshold> parseCondition(std::string_view text);

/// A latency stat name (p99, http.response_time.p95, median, ...) in canonical form, or "".
std::string latencyStat(std::string_view name);

Verdict evaluate(const Threshold& t, const Summary& s);

} // namespace keel::bench
