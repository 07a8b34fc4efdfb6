#pragma once

// Command-line options of `keel bench quick` and `keel bench run`: parsed and checked here,
// turned into a Plan (Plan.hpp) elsewhere, so the engine never sees a string from argv.

#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keel::bench {

/// A bad command line: the message names the option and what it accepts. Exit code 2.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

using Header = std::pair<std::string, std::string>;

/// What both commands write at the end.
struct OutputOptions {
    std::string jsonPath;             // -o: the report as JSON, with the per-second series
    std::string htmlPath;             // --html: a self-contained page
    std::vector<std::string> ensure;  // --ensure: thresholds, checked after the run
    bool quiet = false;               // -q: no live line or periodic summaries
};

struct QuickOptions {
    std::string url;
    std::optional<std::uint64_t> count;        // --count: virtual users arriving over 1 s (artillery)
    std::optional<std::uint64_t> perUser;      // -n: requests each virtual user or connection sends
    std::optional<std::uint64_t> connections;  // -c: connections opened at once (wrk, autocannon)
    std::optional<double> durationS;           // -d
    std::optional<double> rate;                // --rate: open model, requests per second
    std::uint32_t pipelining = 1;              // -p: requests in flight per connection
    std::vector<Header> headers;               // -H 'Name: value'
    std::string method = "GET";                // -m
    std::string bodyFile;                      // --body
    bool insecure = false;                     // -k: skip TLS certificate verification
    double timeoutS = 10;                      // --timeout
    OutputOptions output;
    bool help = false;
};

struct RunOptions {
    std::string scenarioPath;
    std::optional<std::string> target;  // --target: replaces config.target
    bool insecure = false;
    OutputOptions output;
    bool help = false;
};

/// `args` are the words after `quick` / `run`. Throw UsageError.
QuickOptions parseQuickOptions(std::span<const char* const> args);
RunOptions parseRunOptions(std::span<const char* const> args);

/// "10", "10s", "1.5m", "500ms", "1h" -> seconds. Throws std::invalid_argument.
double parseSeconds(std::string_view text);

extern const char* const kQuickUsage;
extern const char* const kRunUsage;
extern const char* const kBenchUsage;

} // namespace keel::bench
