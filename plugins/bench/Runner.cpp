#include "Runner.hpp"

#include <unistd.h>

#include <cmath>
#include <fstream>

#include "Report.hpp"

namespace keel::bench {

Runner::Runner(keel::Context ctx, Plan plan, OutputOptions output, bool showUsers)
    : ctx_(ctx), plan_(std::move(plan)), output_(std::move(output)), showUsers_(showUsers) {}

Runner::~Runner() = default;

void Runner::start(std::function<void(int)> done) {
    done_ = std::move(done);
    running_ = true;
    tty_ = isatty(STDOUT_FILENO) == 1;
    engine_ = std::make_unique<Engine>(ctx_, plan_);
    engine_->onSecond = [this] { onSecond(); };
    engine_->start([this](const Engine::Outcome& o) { finish(o); });
}

void Runner::interrupt() {
    if (engine_) engine_->stop();
}

void Runner::onSecond() {
    if (output_.quiet) return;
    const Stats& s = engine_->stats();
    Progress p;
    p.elapsedS = engine_->elapsedS();
    p.totalS = plan_.expectedDurationS;
    p.requests = s.responses();
    p.totalRequests = plan_.expectedRequests;
    p.p99Ms = static_cast<double>(s.latency().percentile(99)) / 1000.0;
    p.errors = s.errors();
    if (tty_) {
        const auto& last = s.series().back();
        p.requestsPerS = last.durationS > 0 ? static_cast<double>(last.requests) / last.durationS : 0;
        ctx_.print(liveLine(p));
        liveShown_ = true;
        return;
    }
    // Off a terminal, artillery's rhythm: one line per 10 s, with the rate over those 10 s.
    const auto& series = s.series();
    if (series.size() % 10 != 0) return;
    std::uint64_t n = 0;
    double d = 0;
    for (std::size_t i = series.size() - 10; i < series.size(); ++i) {
        n += series[i].requests;
        d += series[i].durationS;
    }
    p.requestsPerS = d > 0 ? static_cast<double>(n) / d : 0;
    ctx_.print(periodicLine(p));
}

bool Runner::writeFile(const std::string& path, const std::string& text, const char* what) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        ctx_.error(std::string("cannot write the ") + what + " to '" + path + "'");
        return false;
    }
    return true;
}

void Runner::finish(const Engine::Outcome& o) {
    running_ = false;
    if (liveShown_) ctx_.print("\r\x1b[K");
    if (!o.error.empty()) {
        ctx_.error(o.error);
        auto done = std::move(done_);
        if (done) done(1);
        return;
    }
    Summary s = engine_->stats().summarize(o.durationS, o.unfinished);
    s.title = plan_.title;
    s.model = plan_.description;
    s.interrupted = o.interrupted;
    s.hasVusers = showUsers_;
    for (const auto& t : plan_.ensure) s.ensure.push_back(evaluate(t, s));
    ctx_.print(renderText(s));
    bool written = true;
    if (!output_.jsonPath.empty()) written = writeFile(output_.jsonPath, renderJson(s), "JSON report") && written;
    if (!output_.htmlPath.empty()) written = writeFile(output_.htmlPath, renderHtml(s), "HTML report") && written;
    int code = 0;
    if (s.ensureBroken()) {
        std::string broken;
        for (const auto& v : s.ensure)
            if (!v.ok) broken += (broken.empty() ? "" : ", ") + v.threshold + " (" + v.actualText + ")";
        ctx_.error("ensure failed: " + broken);
        code = 1;
    }
    if (!written) code = 1;
    auto done = std::move(done_);
    if (done) done(code);
}

} // namespace keel::bench
