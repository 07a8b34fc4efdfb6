#pragma once

// The figures of one run, as the text, JSON and HTML reports and the --ensure checks see them.
// Plain data: Stats (the engine's counters) produces it, Report renders it.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace keel::bench {

/// Latency figures in milliseconds.
struct LatencyFigures {
    double min = 0, mean = 0, p50 = 0, p75 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0, max = 0;
};

/// One second of the run (the last one may be shorter).
struct SecondFigures {
    double endS = 0;       // seconds from the start to the end of this interval
    double durationS = 0;  // the interval's length
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
    std::uint64_t bytes = 0;
    double min = 0, mean = 0, p50 = 0, p90 = 0, p99 = 0, max = 0;  // ms
};

/// An --ensure threshold's outcome.
struct Verdict {
    std::string threshold;  // as the user wrote it
    bool ok = true;
    double actual = 0;
    std::string actualText;  // "0.52 ms", "3.1%", "12000/s"
};

struct Summary {
    std::string title;  // "GET http://127.0.0.1:8080/"
    std::string model;  // "closed model: 64 connections for 5 s"
    bool interrupted = false;
    double durationS = 0;
    std::uint64_t requests = 0;  // responses received
    double requestsPerS = 0;
    std::uint64_t bytes = 0;     // bytes received
    double bytesPerS = 0;
    LatencyFigures latency;
    std::map<int, std::uint64_t> codes;
    std::map<std::string, std::uint64_t> errors;  // per class: ECONNREFUSED, ETIMEDOUT, ...
    std::uint64_t errorCount = 0;
    double errorPercent = 0;  // errors / (responses + failed requests)
    std::uint64_t unfinished = 0;  // in flight or queued when the run ended: not counted
    bool hasVusers = false;
    std::uint64_t vusersCreated = 0, vusersCompleted = 0, vusersFailed = 0, vusersSkipped = 0;
    std::vector<SecondFigures> series;
    std::vector<std::pair<double, double>> curve;  // (percentile, ms), ascending
    std::vector<Verdict> ensure;

    bool ensureBroken() const {
        for (const auto& v : ensure)
            if (!v.ok) return true;
        return false;
    }
};

} // namespace keel::bench
