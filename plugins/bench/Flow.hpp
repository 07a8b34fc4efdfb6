#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keel::bench {

/// One step of a virtual user's flow: send a request and wait for its response, think
/// (pause), or repeat a block.
struct Step {
    enum class Kind { request, think, loop };
    Kind kind = Kind::request;
    std::size_t request = 0;             // request: index into the plan's requests
    double thinkS = 0;                   // think
    std::optional<std::uint64_t> count;  // loop: how many times; none: until the run ends
    std::vector<Step> steps;             // loop: the body
};

/// What one virtual user does, start to end (artillery's scenarios[].flow).
struct Flow {
    std::string name;
    double weight = 1;
    std::vector<Step> steps;
};

} // namespace keel::bench
