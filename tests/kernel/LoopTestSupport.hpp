#pragma once

#include <string>
#include <vector>

#include "Log.hpp"
#include "Loop.hpp"

namespace keel::kernel::test {

/// Runs the loop until it has nothing left to do, or fails the test when `deadlineMs`
/// passes first. The deadline timer does not keep the loop alive.
inline bool runWithDeadline(Loop& loop, std::uint64_t deadlineMs = 5000) {
    bool timedOut = false;
    const TimerId guard = loop.setTimeout(deadlineMs, [&] {
        timedOut = true;
        loop.stop();
    });
    loop.unrefTimer(guard);
    loop.run();
    loop.clearTimer(guard);
    return !timedOut;
}

/// Captures log lines for the life of the object.
class LogCapture {
public:
    LogCapture() {
        previous_ = Log::setSink([this](LogLevel level, std::string_view source, std::string_view text) {
            lines.push_back(std::string(toString(level)) + " " + std::string(source) + ": " + std::string(text));
        });
    }
    ~LogCapture() { Log::setSink(std::move(previous_)); }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;

    bool contains(std::string_view needle) const {
        for (const auto& line : lines)
            if (line.find(needle) != std::string::npos) return true;
        return false;
    }

    std::vector<std::string> lines;

private:
    Log::Sink previous_;
};

} // namespace keel::kernel::test
