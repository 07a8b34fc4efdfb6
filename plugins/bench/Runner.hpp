#pragma once

// One `keel bench` run from start to exit code: the engine, the live progress, the final
// report (text on stdout, -o JSON, --html page) and the --ensure verdicts.

#include <keel/sdk.hpp>

#include <functional>
#include <memory>

#include "Config.hpp"
#include "Engine.hpp"
#include "Plan.hpp"

namespace keel::bench {

class Runner {
public:
    /// `showUsers`: report virtual users (artillery's runs and --count), not for -c / --rate.
    Runner(keel::Context ctx, Plan plan, OutputOptions output, bool showUsers);
    Runner(const Runner&) = delete;
    Runner& operator=(const Runner&) = delete;
    ~Runner();

    /// Starts the run; `done(exitCode)` runs once, from the loop, after the report is out:
    /// 0, 1 when an --ensure threshold broke or the run could not start, 130-style codes are
    /// the kernel's business.
    void start(std::function<void(int)> done);
    /// Ctrl-C: stop now and report what ran.
    void interrupt();
    bool running() const { return running_; }

private:
    void onSecond();
    void finish(const Engine::Outcome& outcome);
    bool writeFile(const std::string& path, const std::string& text, const char* what);

    keel::Context ctx_;
    Plan plan_;
    OutputOptions output_;
    bool showUsers_;
    bool tty_ = false;
    bool running_ = false;
    bool liveShown_ = false;
    std::unique_ptr<Engine> engine_;
    std::function<void(int)> done_;
};

} // namespace keel::bench
