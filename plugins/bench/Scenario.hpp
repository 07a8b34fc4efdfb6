#pragma once

// Artillery scenario files (YAML, or JSON, which yaml-cpp reads as YAML): config.target,
// config.phases, config.http.timeout, config.tls, config.defaults.headers, config.ensure, and
// scenarios[] with weight and a flow of get/post/put/patch/delete/head, think and loop.
// Anything else is an error with its file, line and column, never silently ignored.

#include <stdexcept>
#include <string>
#include <vector>

#include "Config.hpp"
#include "Ensure.hpp"
#include "Flow.hpp"
#include "Phases.hpp"
#include "Request.hpp"

namespace keel::bench {

/// Every problem found in a scenario file, each "FILE:LINE:COLUMN: message".
class ScenarioError : public std::runtime_error {
public:
    explicit ScenarioError(std::vector<std::string> problems);
    const std::vector<std::string>& problems() const { return problems_; }

private:
    std::vector<std::string> problems_;
};

struct Scenario {
    std::string file;
    std::string target;  // config.target; may be empty when every url is absolute
    std::vector<Phase> phases;
    double timeoutS = 10;
    bool insecure = false;
    std::vector<Header> defaultHeaders;
    std::vector<Threshold> ensure;
    std::vector<RequestSpec> requests;  // url not yet resolved: see urls
    std::vector<std::string> urls;      // each request's url as written
    std::vector<Flow> flows;
};

/// Throws ScenarioError listing every problem (not just the first).
Scenario parseScenario(const std::string& text, const std::string& file);
Scenario loadScenario(const std::string& path);

} // namespace keel::bench
