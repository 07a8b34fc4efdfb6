#pragma once

// What the engine executes, whichever command asked for it: `quick` options and scenario files
// both become a Plan, so the engine has one input and the parsers have no engine.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "Config.hpp"
#include "Ensure.hpp"
#include "Flow.hpp"
#include "Phases.hpp"
#include "Request.hpp"
#include "Scenario.hpp"

namespace keel::bench {

struct Plan {
    /// closed: virtual users (or connections) send their next request when the last one has
    /// completed. open: requests leave on a fixed schedule, whatever the server does.
    enum class Model { closed, open };
    Model model = Model::closed;
    std::string title;        // "GET http://127.0.0.1:8080/" or the scenario file
    std::string description;  // "closed model: 64 connections for 5 s"
    std::vector<RequestSpec> requests;
    std::vector<Flow> flows;  // closed: what each virtual user runs (picked by weight)
    std::vector<Phase> phases;  // closed: virtual user arrivals; open: request arrivals
    bool repeat = false;                   // quick: each user repeats requests[0] ...
    std::optional<std::uint64_t> perUser;  // ... this many times (none: until the run ends)
    std::uint32_t connections = 10;        // open: the connection pool
    std::uint32_t pipelining = 1;
    std::optional<double> durationS;  // hard stop; in-flight requests are then not counted
    double timeoutS = 10;
    bool insecure = false;
    /// artillery: a virtual user stops at its first error (vusers.failed). wrk: a connection
    /// reconnects and carries on.
    bool stopUserOnError = true;
    std::vector<Threshold> ensure;
    std::uint64_t expectedRequests = 0;  // for the progress line; 0 when unknown
    double expectedDurationS = 0;        // likewise
};

/// Throws UsageError (bad URL, unreadable --body file, bad --ensure).
Plan planQuick(const QuickOptions& options);
/// Throws UsageError (bad --target or --ensure) or ScenarioError (a url that does not resolve).
Plan planScenario(const Scenario& scenario, const RunOptions& options);

} // namespace keel::bench
