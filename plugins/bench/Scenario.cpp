#include "Scenario.hpp"

#include <keel/Json.hpp>

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>

namespace keel::bench {

namespace {

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
    return out;
}

std::string list(std::initializer_list<const char*> names) {
    std::string out;
    for (const char* n : names) out += (out.empty() ? "" : ", ") + std::string(n);
    return out;
}


bool isJsonNumber(const std::string& s) {
    if (s.empty()) return false;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size() || !std::isfinite(v)) return false;
    // YAML reads 0x1F and .5 as numbers; JSON does not, so those stay strings.
    const char first = s[0] == '-' ? (s.size() > 1 ? s[1] : ' ') : s[0];
    return first >= '0' && first <= '9' && s.find_first_of("xX") == std::string::npos;
}

/// A YAML value as JSON text: a flow's `json:` becomes the request body.
void toJson(const YAML::Node& node, std::string& out) {
    if (node.IsMap()) {
        out += '{';
        bool first = true;
        for (const auto& kv : node) {
            if (!first) out += ',';
            first = false;
            keel::appendJsonString(out, kv.first.Scalar());
            out += ':';
            toJson(kv.second, out);
        }
        out += '}';
    } else if (node.IsSequence()) {
        out += '[';
        for (std::size_t i = 0; i < node.size(); ++i) {
            if (i) out += ',';
            toJson(node[i], out);
        }
        out += ']';
    } else if (node.IsNull() || !node.IsDefined()) {
        out += "null";
    } else {
        const std::string& s = node.Scalar();
        // Only plain (unquoted) scalars can be numbers, booleans or null; "42" stays a string.
        if (node.Tag() == "?") {
            if (s == "true" || s == "false" || s == "null") {
                out += s;
                return;
            }
            if (s == "~") {
                out += "null";
                return;
            }
            if (isJsonNumber(s)) {
                out += s;
                return;
            }
        }
        keel::appendJsonString(out, s);
    }
}

class Parser {
public:
    explicit Parser(std::string file) : file_(std::move(file)) {}

    Scenario parse(const std::string& text) {
        YAML::Node root;
        try {
            root = YAML::Load(text);
        } catch (const YAML::ParserException& e) {
            problems_.push_back(where(e.mark) + "YAML syntax: " + e.msg);
            throw ScenarioError(problems_);
        }
        scenario_.file = file_;
        if (!root.IsMap()) {
            problem(root, "expected a mapping with 'config' and 'scenarios'");
            throw ScenarioError(problems_);
        }
        checkKeys(root, "the top level", {"config", "scenarios"});
        if (!root["config"]) {
            problem(root, "missing 'config' (with target and phases)");
        } else {
            parseConfig(root["config"]);
        }
        if (!root["scenarios"]) {
            problem(root, "missing 'scenarios' (a list of flows)");
        } else {
            parseScenarios(root["scenarios"]);
        }
        if (!problems_.empty()) throw ScenarioError(problems_);
        return std::move(scenario_);
    }

private:
    std::string where(const YAML::Mark& m) const {
        if (m.line < 0) return file_ + ": ";
        return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
    }
    void problem(const YAML::Node& at, const std::string& message) { problems_.push_back(where(at.Mark()) + message); }

    /// Reports every key of `map` that is not in `allowed`, at the key's own line.
    bool checkKeys(const YAML::Node& map, const std::string& context, std::initializer_list<const char*> allowed) {
        if (!map.IsMap()) {
            problem(map, context + ": expected a mapping");
            return false;
        }
        for (const auto& kv : map) {
            const std::string key = kv.first.Scalar();
            bool ok = false;
            for (const char* a : allowed) ok = ok || key == a;
            if (!ok) problem(kv.first, "unsupported key '" + key + "' in " + context + " (supported: " + list(allowed) + ")");
        }
        return true;
    }

    std::optional<double> number(const YAML::Node& n, const std::string& what, double min = 0) {
        if (!n.IsScalar()) {
            problem(n, what + ": expected a number");
            return std::nullopt;
        }
        try {
            const double v = n.as<double>();
            if (!std::isfinite(v) || v < min) throw YAML::BadConversion(n.Mark());
            return v;
        } catch (const YAML::BadConversion&) {
            problem(n, what + ": expected a number >= " + trimmed(min) + ", found '" + n.Scalar() + "'");
            return std::nullopt;
        }
    }

    std::optional<std::uint64_t> count(const YAML::Node& n, const std::string& what, std::uint64_t min = 0) {
        auto v = number(n, what, static_cast<double>(min));
        if (!v) return std::nullopt;
        if (std::floor(*v) != *v) {
            problem(n, what + ": expected a whole number, found '" + n.Scalar() + "'");
            return std::nullopt;
        }
        return static_cast<std::uint64_t>(*v);
    }

    /// A duration in seconds: a number, or a string with a unit (30s, 2m, 500ms, 1h).
    std::optional<double> seconds(const YAML::Node& n, const std::string& what) {
        if (!n.IsScalar()) {
            problem(n, what + ": expected a number of seconds");
            return std::nullopt;
        }
        try {
            return parseSeconds(n.Scalar());
        } catch (const std::invalid_argument&) {
            problem(n, what + ": expected a number of seconds or a duration such as 30s, 2m or 500ms, found '" + n.Scalar() + "'");
            return std::nullopt;
        }
    }

    std::optional<std::string> string(const YAML::Node& n, const std::string& what) {
        if (!n.IsScalar()) {
            problem(n, what + ": expected a string");
            return std::nullopt;
        }
        return n.Scalar();
    }

    static std::string trimmed(double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%g", v);
        return buf;
    }

    void noTemplates(const YAML::Node& n, const std::string& text, const std::string& what) {
        if (text.find("{{") != std::string::npos)
            problem(n, what + ": templates ({{ ... }}) are not supported; write the value out");
    }

    std::vector<Header> headers(const YAML::Node& n, const std::string& what) {
        std::vector<Header> out;
        if (!n.IsMap()) {
            problem(n, what + ": expected a mapping of header names to values");
            return out;
        }
        for (const auto& kv : n) {
            const std::string name = kv.first.Scalar();
            if (!kv.second.IsScalar()) {
                problem(kv.second, what + "." + name + ": expected a string");
                continue;
            }
            const std::string value = kv.second.Scalar();
            if (value.find_first_of("\r\n") != std::string::npos) problem(kv.second, what + "." + name + ": line breaks are not allowed");
            noTemplates(kv.second, value, what + "." + name);
            out.emplace_back(name, value);
        }
        return out;
    }

    void parseConfig(const YAML::Node& config) {
        if (!checkKeys(config, "config", {"target", "phases", "http", "tls", "defaults", "ensure"})) return;
        if (config["target"]) {
            if (auto t = string(config["target"], "config.target")) {
                scenario_.target = *t;
                noTemplates(config["target"], *t, "config.target");
                try {
                    (void)Url::parse(*t);
                } catch (const std::invalid_argument& e) {
                    problem(config["target"], std::string("config.target: ") + e.what());
                }
            }
        }
        if (!config["phases"]) {
            problem(config, "config: missing 'phases' (for example: - duration: 60, arrivalRate: 10)");
        } else {
            parsePhases(config["phases"]);
        }
        if (const auto http = config["http"]) {
            if (checkKeys(http, "config.http", {"timeout"}) && http["timeout"])
                if (auto t = seconds(http["timeout"], "config.http.timeout")) {
                    if (*t <= 0) {
                        problem(http["timeout"], "config.http.timeout: expected a number of seconds > 0");
                    } else {
                        scenario_.timeoutS = *t;
                    }
                }
        }
        if (const auto tls = config["tls"]) {
            if (checkKeys(tls, "config.tls", {"rejectUnauthorized"}) && tls["rejectUnauthorized"]) {
                try {
                    scenario_.insecure = !tls["rejectUnauthorized"].as<bool>();
                } catch (const YAML::BadConversion&) {
                    problem(tls["rejectUnauthorized"], "config.tls.rejectUnauthorized: expected true or false");
                }
            }
        }
        if (const auto defaults = config["defaults"]) {
            if (checkKeys(defaults, "config.defaults", {"headers"}) && defaults["headers"])
                scenario_.defaultHeaders = headers(defaults["headers"], "config.defaults.headers");
        }
        if (const auto ensure = config["ensure"]) parseEnsure(ensure);
    }

    void parsePhases(const YAML::Node& phases) {
        if (!phases.IsSequence() || phases.size() == 0) {
            problem(phases, "config.phases: expected a list of phases");
            return;
        }
        for (std::size_t i = 0; i < phases.size(); ++i) {
            const YAML::Node p = phases[i];
            const std::string what = "config.phases[" + std::to_string(i) + "]";
            if (!checkKeys(p, what, {"duration", "arrivalRate", "rampTo", "arrivalCount", "pause", "maxVusers", "name"})) continue;
            Phase phase;
            if (p["name"]) phase.name = p["name"].Scalar();
            if (p["pause"]) {
                phase.pause = true;
                if (auto s = seconds(p["pause"], what + ".pause")) phase.durationS = *s;
                for (const char* k : {"duration", "arrivalRate", "rampTo", "arrivalCount", "maxVusers"})
                    if (p[k]) problem(p[k], what + ": a pause phase takes no '" + std::string(k) + "'");
                scenario_.phases.push_back(phase);
                continue;
            }
            if (!p["duration"]) {
                problem(p, what + ": missing 'duration' (seconds)");
            } else if (auto s = seconds(p["duration"], what + ".duration")) {
                phase.durationS = *s;
                if (*s <= 0) problem(p["duration"], what + ".duration: expected a duration > 0");
            }
            if (p["arrivalRate"] && p["arrivalCount"])
                problem(p["arrivalCount"], what + ": give arrivalRate or arrivalCount, not both");
            if (p["arrivalRate"]) {
                if (auto r = number(p["arrivalRate"], what + ".arrivalRate")) phase.arrivalRate = *r;
            } else if (p["arrivalCount"]) {
                phase.arrivalCount = count(p["arrivalCount"], what + ".arrivalCount");
            } else {
                problem(p, what + ": missing 'arrivalRate' or 'arrivalCount'");
            }
            if (p["rampTo"]) {
                if (!p["arrivalRate"]) problem(p["rampTo"], what + ".rampTo: ramps go from an arrivalRate");
                phase.rampTo = number(p["rampTo"], what + ".rampTo");
            }
            if (p["maxVusers"]) phase.maxVusers = count(p["maxVusers"], what + ".maxVusers", 1);
            scenario_.phases.push_back(phase);
        }
    }

    void addThreshold(const YAML::Node& at, const std::string& text) {
        try {
            for (auto& t : parseCondition(text)) scenario_.ensure.push_back(std::move(t));
        } catch (const std::invalid_argument& e) {
            problem(at, e.what());
        }
    }

    /// Three spellings: artillery 1's {p95: 200, maxErrorRate: 1}, artillery 2's
    /// {thresholds: [{http.response_time.p99: 100}], conditions: [{expression: ...}]}, and a
    /// list of --ensure expressions.
    void parseEnsure(const YAML::Node& ensure) {
        if (ensure.IsSequence()) {
            for (const auto& e : ensure)
                if (auto s = string(e, "config.ensure[]")) addThreshold(e, *s);
            return;
        }
        if (!ensure.IsMap()) {
            problem(ensure, "config.ensure: expected a mapping or a list of expressions such as 'p99<50ms'");
            return;
        }
        for (const auto& kv : ensure) {
            const std::string key = kv.first.Scalar();
            const YAML::Node value = kv.second;
            if (key == "thresholds") {
                if (!value.IsSequence()) {
                    problem(value, "config.ensure.thresholds: expected a list of {metric: limit}");
                    continue;
                }
                for (const auto& item : value) {
                    if (!item.IsMap() || item.size() != 1) {
                        problem(item, "config.ensure.thresholds: each entry is one {metric: limit}");
                        continue;
                    }
                    for (const auto& t : item)
                        if (auto limit = number(t.second, "config.ensure.thresholds." + t.first.Scalar()))
                            addThreshold(t.first, t.first.Scalar() + "<=" + trimmed(*limit));
                }
            } else if (key == "conditions") {
                if (!value.IsSequence()) {
                    problem(value, "config.ensure.conditions: expected a list of {expression: ...}");
                    continue;
                }
                for (const auto& item : value) {
                    if (!checkKeys(item, "config.ensure.conditions[]", {"expression", "strict"})) continue;
                    if (!item["expression"]) {
                        problem(item, "config.ensure.conditions[]: missing 'expression'");
                    } else if (auto s = string(item["expression"], "expression")) {
                        addThreshold(item["expression"], *s);
                    }
                }
            } else if (key == "maxErrorRate") {
                if (auto limit = number(value, "config.ensure.maxErrorRate")) addThreshold(kv.first, "errors<=" + trimmed(*limit) + "%");
            } else if (const std::string stat = latencyStat(key); !stat.empty()) {
                if (auto limit = number(value, "config.ensure." + key)) addThreshold(kv.first, key + "<=" + trimmed(*limit) + "ms");
            } else {
                problem(kv.first, "unsupported key '" + key + "' in config.ensure (supported: thresholds, conditions, "
                                  "maxErrorRate, min, max, median, p50, p75, p90, p95, p99, p999)");
            }
        }
    }

    void parseScenarios(const YAML::Node& scenarios) {
        if (!scenarios.IsSequence() || scenarios.size() == 0) {
            problem(scenarios, "scenarios: expected a list of scenarios, each with a flow");
            return;
        }
        for (std::size_t i = 0; i < scenarios.size(); ++i) {
            const YAML::Node s = scenarios[i];
            const std::string what = "scenarios[" + std::to_string(i) + "]";
            if (!checkKeys(s, what, {"name", "weight", "flow", "engine"})) continue;
            Flow flow;
            if (s["name"]) flow.name = s["name"].Scalar();
            if (s["engine"] && s["engine"].Scalar() != "http")
                problem(s["engine"], what + ".engine: only the http engine is supported");
            if (s["weight"]) {
                if (auto w = number(s["weight"], what + ".weight")) flow.weight = *w;
            }
            if (!s["flow"]) {
                problem(s, what + ": missing 'flow'");
            } else {
                flow.steps = parseSteps(s["flow"], what + ".flow");
            }
            scenario_.flows.push_back(std::move(flow));
        }
        double total = 0;
        for (const auto& f : scenario_.flows) total += f.weight;
        if (!scenario_.flows.empty() && !(total > 0)) problem(scenarios, "scenarios: the weights add up to 0");
    }

    std::vector<Step> parseSteps(const YAML::Node& flow, const std::string& what) {
        std::vector<Step> steps;
        if (!flow.IsSequence()) {
            problem(flow, what + ": expected a list of steps (get, post, think, loop, ...)");
            return steps;
        }
        for (std::size_t i = 0; i < flow.size(); ++i) {
            const YAML::Node step = flow[i];
            const std::string here = what + "[" + std::to_string(i) + "]";
            if (!step.IsMap()) {
                problem(step, here + ": expected a step such as '- get: {url: \"/\"}' or '- think: 1'");
                continue;
            }
            bool found = false;
            for (const auto& kv : step) {
                const std::string key = kv.first.Scalar();
                static const char* const kMethods[] = {"get", "post", "put", "patch", "delete", "head"};
                bool method = false;
                for (const char* m : kMethods) method = method || key == m;
                if (method) {
                    if (found) problem(kv.first, here + ": one action per step");
                    found = true;
                    if (auto r = parseRequest(kv.second, key, here + "." + key, kv.first.Mark().line + 1)) steps.push_back(*r);
                } else if (key == "think") {
                    if (found) problem(kv.first, here + ": one action per step");
                    found = true;
                    if (auto s = seconds(kv.second, here + ".think")) {
                        Step st;
                        st.kind = Step::Kind::think;
                        st.thinkS = *s;
                        steps.push_back(st);
                    }
                } else if (key == "loop") {
                    if (found) problem(kv.first, here + ": one action per step");
                    found = true;
                    Step st;
                    st.kind = Step::Kind::loop;
                    st.steps = parseSteps(kv.second, here + ".loop");
                    if (step["count"]) st.count = count(step["count"], here + ".count");
                    steps.push_back(std::move(st));
                } else if (key == "count" && step["loop"]) {
                    // read with its loop
                } else {
                    problem(kv.first, "unsupported key '" + key + "' in a flow step (supported: get, post, put, patch, "
                                      "delete, head, think, loop with count)");
                    found = true;
                }
            }
        }
        return steps;
    }

    std::optional<Step> parseRequest(const YAML::Node& r, const std::string& method, const std::string& what, int line) {
        if (!checkKeys(r, "a " + method + " step", {"url", "headers", "json", "body", "expect", "name"})) return std::nullopt;
        RequestSpec spec;
        spec.method = method;
        for (char& c : spec.method) c = static_cast<char>(c - 'a' + 'A');
        spec.line = line;
        std::string url;
        if (!r["url"]) {
            problem(r, what + ": missing 'url'");
        } else if (auto u = string(r["url"], what + ".url")) {
            url = *u;
            if (url.find("{{") != std::string::npos) {
                noTemplates(r["url"], url, what + ".url");
            } else if (url.find_first_of(" \t\r\n") != std::string::npos) {
                problem(r["url"], what + ".url: white space is not allowed in a URL");
            }
            if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0 && scenario_.target.empty())
                problem(r["url"], what + ".url: '" + url + "' is relative and config.target is not set");
        }
        if (r["headers"]) spec.headers = headers(r["headers"], what + ".headers");
        if (r["json"] && r["body"]) problem(r["body"], what + ": give json or body, not both");
        if (r["json"]) {
            toJson(r["json"], spec.body);
            noTemplates(r["json"], spec.body, what + ".json");
            bool typed = false;
            for (const auto& h : spec.headers) typed = typed || strcasecmpEq(h.first, "content-type");
            if (!typed) spec.headers.emplace_back("Content-Type", "application/json");
        } else if (r["body"]) {
            if (auto b = string(r["body"], what + ".body")) {
                spec.body = *b;
                noTemplates(r["body"], spec.body, what + ".body");
            }
        }
        if (r["expect"]) parseExpect(r["expect"], what + ".expect", spec);
        Step st;
        st.kind = Step::Kind::request;
        st.request = scenario_.requests.size();
        scenario_.requests.push_back(std::move(spec));
        scenario_.urls.push_back(url);
        return st;
    }

    static bool strcasecmpEq(const std::string& a, const char* b) {
        std::string l = a;
        for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return l == b;
    }

    void statusCodes(const YAML::Node& n, const std::string& what, RequestSpec& spec) {
        auto one = [&](const YAML::Node& v) {
            if (auto c = count(v, what, 100)) {
                if (*c > 599) {
                    problem(v, what + ": expected a status code from 100 to 599");
                } else {
                    spec.expectStatus.push_back(static_cast<int>(*c));
                }
            }
        };
        if (n.IsSequence()) {
            for (const auto& v : n) one(v);
        } else {
            one(n);
        }
    }

    /// {statusCode: 200 | [200, 201]} or artillery-plugin-expect's [{statusCode: 200}].
    void parseExpect(const YAML::Node& e, const std::string& what, RequestSpec& spec) {
        if (e.IsSequence()) {
            for (const auto& item : e) {
                if (!checkKeys(item, what + "[]", {"statusCode"})) continue;
                if (item["statusCode"]) statusCodes(item["statusCode"], what + ".statusCode", spec);
            }
            return;
        }
        if (!checkKeys(e, what, {"statusCode"})) return;
        if (e["statusCode"]) statusCodes(e["statusCode"], what + ".statusCode", spec);
    }

    std::string file_;
    Scenario scenario_;
    std::vector<std::string> problems_;
};

} // namespace

ScenarioError::ScenarioError(std::vector<std::string> problems)
    : std::runtime_error(joined(problems)), problems_(std::move(problems)) {}

Scenario parseScenario(const std::string& text, const std::string& file) { return Parser(file).parse(text); }

Scenario loadScenario(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ScenarioError({path + ": cannot read the file"});
    std::ostringstream text;
    text << in.rdbuf();
    return parseScenario(text.str(), path);
}

} // namespace keel::bench
