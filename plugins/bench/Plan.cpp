#include "Plan.hpp"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <strings.h>

namespace keel::bench {

namespace {

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g s", s);
    return buf;
}

void addEnsure(Plan& plan, const std::vector<std::string>& texts) {
    for (const auto& text : texts) {
        try {
            plan.ensure.push_back(parseThreshold(text));
        } catch (const std::invalid_argument& e) {
            throw UsageError(std::string("--") + e.what());
        }
    }
}

} // namespace

Plan planQuick(const QuickOptions& o) {
    Plan plan;
    RequestSpec request;
    request.method = o.method;
    try {
        request.url = Url::parse(o.url);
    } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("quick: ") + e.what());
    }
    request.headers = o.headers;
    if (!o.bodyFile.empty()) {
        std::ifstream in(o.bodyFile, std::ios::binary);
        if (!in) throw UsageError("--body: cannot read '" + o.bodyFile + "'");
        std::ostringstream text;
        text << in.rdbuf();
        request.body = text.str();
    }
    request.build();
    plan.title = request.method + " " + request.url.toString();
    plan.requests.push_back(std::move(request));
    plan.pipelining = o.pipelining;
    plan.timeoutS = o.timeoutS;
    plan.insecure = o.insecure;
    addEnsure(plan, o.output.ensure);

    if (o.rate) {
        plan.model = Plan::Model::open;
        plan.connections = static_cast<std::uint32_t>(o.connections.value_or(10));
        const double d = o.durationS.value_or(10);
        plan.durationS = d;
        Phase p;
        p.durationS = d;
        p.arrivalRate = *o.rate;
        plan.phases.push_back(p);
        plan.expectedDurationS = d;
        char buf[160];
        std::snprintf(buf, sizeof buf, "open model: %g requests/s for %s on %u connections", *o.rate, seconds(d).c_str(),
                      plan.connections);
        plan.description = buf;
        return plan;
    }

    plan.repeat = true;
    Phase arrivals;
    if (o.connections || o.durationS) {
        // wrk and autocannon: every connection opens at once and keeps going.
        const std::uint64_t c = o.connections.value_or(10);
        arrivals.arrivalCount = c;
        arrivals.durationS = 0;
        plan.stopUserOnError = false;
        plan.perUser = o.perUser;
        if (!o.perUser) plan.durationS = o.durationS.value_or(10);
        else plan.durationS = o.durationS;
        plan.description = "closed model: " + std::to_string(c) + " connection" + (c == 1 ? "" : "s");
        if (plan.perUser) plan.description += " x " + std::to_string(*plan.perUser) + " requests";
        if (plan.durationS) plan.description += (plan.perUser ? ", at most " : " for ") + seconds(*plan.durationS);
        if (plan.pipelining > 1) plan.description += ", pipelining " + std::to_string(plan.pipelining);
        if (plan.perUser) plan.expectedRequests = c * *plan.perUser;
    } else {
        // artillery quick: --count users arrive over one second, each sending -n requests.
        const std::uint64_t c = o.count.value_or(10);
        arrivals.arrivalCount = c;
        arrivals.durationS = 1;
        plan.perUser = o.perUser.value_or(10);
        plan.description = "closed model: " + std::to_string(c) + " virtual user" + (c == 1 ? "" : "s") + " x " +
                           std::to_string(*plan.perUser) + " requests";
        plan.expectedRequests = c * *plan.perUser;
    }
    plan.expectedDurationS = plan.durationS.value_or(0);
    plan.phases.push_back(arrivals);
    Flow flow;
    Step loop;
    loop.kind = Step::Kind::loop;
    loop.count = plan.perUser;
    loop.steps.push_back(Step{});  // a request step: requests[0]
    flow.steps.push_back(loop);
    plan.flows.push_back(flow);
    return plan;
}

Plan planScenario(const Scenario& s, const RunOptions& o) {
    Plan plan;
    plan.title = s.file;
    plan.phases = s.phases;
    plan.flows = s.flows;
    plan.timeoutS = s.timeoutS;
    plan.insecure = s.insecure || o.insecure;
    plan.ensure = s.ensure;
    addEnsure(plan, o.output.ensure);
    std::string target = o.target.value_or(s.target);
    Url base;
    if (!target.empty()) {
        try {
            base = Url::parse(target);
        } catch (const std::invalid_argument& e) {
            throw UsageError(std::string(o.target ? "--target: " : "config.target: ") + e.what());
        }
    }
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < s.requests.size(); ++i) {
        RequestSpec r = s.requests[i];
        const std::string& ref = s.urls[i];
        try {
            r.url = (ref.rfind("http://", 0) == 0 || ref.rfind("https://", 0) == 0) ? Url::parse(ref) : base.resolve(ref);
            if (target.empty() && ref.rfind("http", 0) != 0) throw std::invalid_argument("'" + ref + "' is relative and there is no target");
        } catch (const std::invalid_argument& e) {
            problems.push_back(s.file + ":" + std::to_string(r.line) + ": " + e.what());
            continue;
        }
        for (const auto& h : s.defaultHeaders) {
            bool given = false;
            for (const auto& mine : r.headers) given = given || strcasecmp(mine.first.c_str(), h.first.c_str()) == 0;
            if (!given) r.headers.push_back(h);
        }
        r.build();
        plan.requests.push_back(std::move(r));
    }
    if (!problems.empty()) throw ScenarioError(problems);
    ArrivalSchedule schedule(plan.phases);
    plan.expectedDurationS = static_cast<double>(schedule.totalNs()) / 1e9;
    char buf[200];
    std::snprintf(buf, sizeof buf, "closed model: %llu virtual users over %zu phase%s (%s), %zu scenario%s",
                  static_cast<unsigned long long>(schedule.totalArrivals()), plan.phases.size(),
                  plan.phases.size() == 1 ? "" : "s", seconds(plan.expectedDurationS).c_str(), plan.flows.size(),
                  plan.flows.size() == 1 ? "" : "s");
    plan.description = buf;
    if (!target.empty()) plan.title += " against " + base.origin();
    return plan;
}

} // namespace keel::bench
