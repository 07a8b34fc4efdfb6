#pragma once

// Renders a Summary: the final text report, -o JSON, --html page, and the live progress
// lines. Pure functions of their inputs, so they are unit-tested without a run.

#include <cstdint>
#include <string>

#include "Summary.hpp"

namespace keel::bench {

std::string renderText(const Summary& s);
/// The same figures as the text, machine-readable, with the per-second series and the
/// percentile curve. Latencies in milliseconds.
std::string renderJson(const Summary& s);
/// One self-contained page: inline CSS and SVG, no script, nothing fetched.
std::string renderHtml(const Summary& s);

/// What the live line shows.
struct Progress {
    double elapsedS = 0;
    double totalS = 0;             // 0: not known in advance
    std::uint64_t requests = 0;    // responses so far
    std::uint64_t totalRequests = 0;  // 0: not known in advance
    double requestsPerS = 0;       // over the last interval
    double p99Ms = 0;              // over the run so far
    std::uint64_t errors = 0;
};

/// On a terminal: one line, redrawn in place ("\r" and erase to the end of the line).
std::string liveLine(const Progress& p);
/// Not on a terminal: a summary line every 10 s, like artillery's periodic reports.
std::string periodicLine(const Progress& p);

/// "0.283", "12.5", "1043" milliseconds with three significant decimals where they matter.
std::string formatMs(double ms);
/// "83.72 MB", "512 B".
std::string formatBytes(double bytes);

} // namespace keel::bench
