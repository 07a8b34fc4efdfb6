#include "Ensure.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace keel::bench {

namespace {

const char* const kForm =
    "expected METRIC<VALUE such as 'p99<50ms', 'mean<=20ms', 'errors<0.1%', 'errors=0' or 'rps>1000' "
    "(metrics: min, max, mean, median, p50, p75, p90, p95, p99, p99.9, rps, requests, errors)";

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

double latencyValue(const LatencyFigures& l, const std::string& stat) {
    if (stat == "min") return l.min;
    if (stat == "mean") return l.mean;
    if (stat == "p50") return l.p50;
    if (stat == "p75") return l.p75;
    if (stat == "p90") return l.p90;
    if (stat == "p95") return l.p95;
    if (stat == "p99") return l.p99;
    if (stat == "p99.9") return l.p999;
    return l.max;
}

std::string format(double v, const char* unit) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3f%s", v, unit);
    std::string s = buf;
    // 12.500 ms reads worse than 12.5 ms.
    const std::size_t dot = s.find('.');
    std::size_t end = s.find_first_not_of("0123456789.", dot == std::string::npos ? 0 : dot);
    if (end == std::string::npos) end = s.size();
    if (dot != std::string::npos) {
        std::size_t last = end;
        while (last > dot + 1 && s[last - 1] == '0') --last;
        if (last == dot + 1) --last;
        s.erase(last, end - last);
    }
    return s;
}

} // namespace

std::string latencyStat(std::string_view name) {
    std::string n = lower(name);
    if (n.rfind("http.response_time.", 0) == 0) n = n.substr(19);
    if (n == "median") return "p50";
    if (n == "avg" || n == "mean") return "mean";
    if (n == "p999") return "p99.9";
    for (const char* s : {"min", "max", "p50", "p75", "p90", "p95", "p99", "p99.9"})
        if (n == s) return s;
    return "";
}

Threshold parseThreshold(std::string_view text) {
    Threshold t;
    t.text = std::string(trim(text));
    std::string_view s = t.text;
    const std::size_t opAt = s.find_first_of("<>=");
    if (opAt == std::string_view::npos || opAt == 0)
        throw std::invalid_argument("ensure '" + t.text + "': " + kForm);
    const std::string metric = lower(trim(s.substr(0, opAt)));
    std::size_t valueAt = opAt + 1;
    const char c0 = s[opAt];
    const bool eq = opAt + 1 < s.size() && s[opAt + 1] == '=';
    if (c0 == '<') {
        t.op = eq ? Threshold::Op::lessEqual : Threshold::Op::less;
    } else if (c0 == '>') {
        t.op = eq ? Threshold::Op::greaterEqual : Threshold::Op::greater;
    } else {
        // 'errors=0' and 'errors==0' read naturally; as a bound they mean <= 0.
        t.op = Threshold::Op::lessEqual;
    }
    if (eq) ++valueAt;
    std::string_view rest = trim(s.substr(valueAt));
    double value = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
    if (ec != std::errc() || !std::isfinite(value)) throw std::invalid_argument("ensure '" + t.text + "': " + kForm);
    const std::string unit = lower(trim(rest.substr(static_cast<std::size_t>(p - rest.data()))));

    if (const std::string stat = latencyStat(metric); !stat.empty()) {
        t.metric = Threshold::Metric::latency;
        t.stat = stat;
        if (unit.empty() || unit == "ms") {
            t.value = value;
        } else if (unit == "s") {
            t.value = value * 1000;
        } else if (unit == "us" || unit == "µs") {
            t.value = value / 1000;
        } else {
            throw std::invalid_argument("ensure '" + t.text + "': a latency is in us, ms (the default) or s, not '" + unit + "'");
        }
    } else if (metric == "rps" || metric == "http.request_rate" || metric == "requests/s" || metric == "rate") {
        t.metric = Threshold::Metric::requestsPerS;
        if (!unit.empty() && unit != "/s") throw std::invalid_argument("ensure '" + t.text + "': rps is a plain number of requests per second");
        t.value = value;
    } else if (metric == "requests" || metric == "http.requests" || metric == "http.responses") {
        t.metric = Threshold::Metric::requests;
        if (!unit.empty()) throw std::invalid_argument("ensure '" + t.text + "': requests is a plain count");
        t.value = value;
    } else if (metric == "errors" || metric == "error_rate" || metric == "errorrate") {
        const bool rate = metric != "errors";
        if (unit == "%" || rate) {
            if (!unit.empty() && unit != "%") throw std::invalid_argument("ensure '" + t.text + "': an error rate is a percentage");
            t.metric = Threshold::Metric::errorPercent;
        } else if (unit.empty()) {
            t.metric = Threshold::Metric::errors;
        } else {
            throw std::invalid_argument("ensure '" + t.text + "': errors is a count, or a percentage with %");
        }
        t.value = value;
    } else {
        throw std::invalid_argument("ensure '" + t.text + "': unknown metric '" + metric + "'; " + kForm);
    }
    return t;
}

std::vector<Threshold> parseCondition(std::string_view text) {
    std::vector<Threshold> out;
    std::string_view rest = text;
    while (true) {
        const std::string low = lower(rest);
        const std::size_t at = low.find(" and ");
        out.push_back(parseThreshold(rest.substr(0, at)));
        if (at == std::string::npos) break;
        rest = rest.substr(at + 5);
    }
    return out;
}

Verdict evaluate(const Threshold& t, const Summary& s) {
    Verdict v;
    v.threshold = t.text;
    switch (t.metric) {
    case Threshold::Metric::latency:
        v.actual = latencyValue(s.latency, t.stat);
        v.actualText = t.stat + " " + format(v.actual, " ms");
        break;
    case Threshold::Metric::requestsPerS:
        v.actual = s.requestsPerS;
        v.actualText = format(v.actual, "/s");
        break;
    case Threshold::Metric::requests:
        v.actual = static_cast<double>(s.requests);
        v.actualText = std::to_string(s.requests) + " requests";
        break;
    case Threshold::Metric::errors:
        v.actual = static_cast<double>(s.errorCount);
        v.actualText = std::to_string(s.errorCount) + " errors";
        break;
    case Threshold::Metric::errorPercent:
        v.actual = s.errorPercent;
        v.actualText = format(v.actual, "%") + " errors";
        break;
    }
    switch (t.op) {
    case Threshold::Op::less: v.ok = v.actual < t.value; break;
    case Threshold::Op::lessEqual: v.ok = v.actual <= t.value; break;
    case Threshold::Op::greater: v.ok = v.actual > t.value; break;
    case Threshold::Op::greaterEqual: v.ok = v.actual >= t.value; break;
    }
    return v;
}

} // namespace keel::bench
