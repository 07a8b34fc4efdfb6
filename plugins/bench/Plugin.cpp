// bench: `keel bench`, the load generator (artillery's interface, wrk's speed, wrk2's
// honesty). This file is the plugin's entry, manifest and command dispatch only: options are
// parsed in Config, turned into a Plan, and run by a Runner on the kernel's loop.
#include <keel/sdk.hpp>

#include <memory>
#include <span>
#include <string>

#include "Config.hpp"
#include "Plan.hpp"
#include "Runner.hpp"
#include "Scenario.hpp"

namespace keel::bench {

class BenchPlugin {
public:
    static constexpr std::string_view manifest = R"json({
        "name": "bench",
        "version": "0.1.0",
        "description": "Load generator: keel bench quick URL, keel bench run scenario.yml",
        "sdk": "^1.0.0",
        "commands": [{"name": "bench", "description": "Load-test a URL or run an artillery scenario: keel bench quick|run ... (--help)"}]
    })json";

    explicit BenchPlugin(keel::Context ctx) : ctx_(ctx) {}

    int command(std::string_view, std::span<const char* const> args) {
        if (args.size() < 2) return usage(std::string("bench: say quick or run\n") + kBenchUsage);
        const std::string_view sub = args[1];
        const auto rest = args.subspan(2);
        try {
            if (sub == "quick") return quick(rest);
            if (sub == "run") return run(rest);
            if (sub == "-h" || sub == "--help" || sub == "help") {
                ctx_.print(kBenchUsage);
                return 0;
            }
            return usage("bench: unknown subcommand '" + std::string(sub) + "'\n" + kBenchUsage);
        } catch (const UsageError& e) {
            return usage(std::string("bench ") + std::string(sub) + ": " + e.what());
        } catch (const ScenarioError& e) {
            for (const auto& p : e.problems()) ctx_.error(p);
            return 2;
        }
    }

    int stop() {
        if (!runner_ || !runner_->running()) return 0;
        // Ctrl-C during a run: report what ran, then let the kernel go on stopping.
        stopping_ = true;
        runner_->interrupt();
        return keel::pending;
    }

private:
    int usage(const std::string& message) {
        ctx_.error(message);
        return 2;
    }

    int quick(std::span<const char* const> args) {
        QuickOptions o = parseQuickOptions(args);
        if (o.help) {
            ctx_.print(kQuickUsage);
            return 0;
        }
        const bool users = !o.connections && !o.durationS && !o.rate;
        return launch(planQuick(o), o.output, users);
    }

    int run(std::span<const char* const> args) {
        RunOptions o = parseRunOptions(args);
        if (o.help) {
            ctx_.print(kRunUsage);
            return 0;
        }
        const Scenario scenario = loadScenario(o.scenarioPath);
        return launch(planScenario(scenario, o), o.output, true);
    }

    int launch(Plan plan, const OutputOptions& output, bool showUsers) {
        runner_ = std::make_unique<Runner>(ctx_, std::move(plan), output, showUsers);
        runner_->start([this](int code) {
            if (stopping_) {
                ctx_.stopDone();
            } else {
                ctx_.commandDone(code);
            }
        });
        return keel::pending;
    }

    keel::Context ctx_;
    std::unique_ptr<Runner> runner_;
    bool stopping_ = false;
};

} // namespace keel::bench

KEEL_PLUGIN(keel::bench::BenchPlugin)
