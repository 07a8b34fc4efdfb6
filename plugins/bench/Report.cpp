#include "Report.hpp"

#include <keel/Json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <string_view>
#include <vector>

namespace keel::bench {

namespace {

[[gnu::format(printf, 1, 2)]] std::string fmt(const char* format, ...) {
    char buf[128];
    va_list args;
    va_start(args, format);
    std::vsnprintf(buf, sizeof buf, format, args);
    va_end(args);
    return buf;
}

std::string num(double v) {
    if (!std::isfinite(v)) return "0";
    if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt("%.0f", v);
    return fmt("%.10g", v);
}


std::string html(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string count(std::uint64_t n) { return std::to_string(n); }

std::string percentLabel(double p) {
    std::string s = fmt("%.4f", p);
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
    return s + "%";
}

/// A round step for about `ticks` ticks over [0, max].
double niceStep(double max, int ticks) {
    if (!(max > 0)) return 1;
    const double raw = max / ticks;
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (raw <= m * mag) return m * mag;
    return 10 * mag;
}

struct Line {
    std::string label;
    std::string color;
    std::vector<std::pair<double, double>> points;  // data coordinates
};

/// A line chart as inline SVG: linear axes from 0, a legend, and the tick labels given by
/// `xLabel` (so the percentile chart can label its log axis in percent).
std::string svgChart(const std::string& title, const std::string& yUnit, const std::vector<Line>& lines, double xMax,
                     const std::vector<std::pair<double, std::string>>& xTicks) {
    const double w = 760, h = 300, left = 64, right = 32, top = 34, bottom = 40;
    const double pw = w - left - right, ph = h - top - bottom;
    double yMax = 0;
    for (const auto& l : lines)
        for (const auto& [x, y] : l.points) yMax = std::max(yMax, y);
    const double step = niceStep(yMax * 1.05, 5);
    yMax = std::max(step, std::ceil(yMax * 1.05 / step) * step);
    if (!(xMax > 0)) xMax = 1;
    auto X = [&](double x) { return left + pw * std::clamp(x / xMax, 0.0, 1.0); };
    auto Y = [&](double y) { return top + ph * (1.0 - std::clamp(y / yMax, 0.0, 1.0)); };
    std::string svg = "<svg viewBox=\"0 0 " + num(w) + " " + num(h) + "\" width=\"" + num(w) + "\" height=\"" + num(h) +
                      "\" role=\"img\" aria-label=\"" + html(title) + "\">\n";
    svg += "<text x=\"" + num(left) + "\" y=\"20\" class=\"t\">" + html(title) + "</text>\n";
    for (double y = 0; y <= yMax + step / 2; y += step) {
        const std::string py = fmt("%.1f", Y(y));
        svg += "<line x1=\"" + num(left) + "\" x2=\"" + num(left + pw) + "\" y1=\"" + py + "\" y2=\"" + py + "\" class=\"g\"/>";
        svg += "<text x=\"" + num(left - 6) + "\" y=\"" + py + "\" class=\"yl\">" + fmt("%g", y) + "</text>\n";
    }
    svg += "<text x=\"12\" y=\"" + num(top + ph / 2) + "\" class=\"u\" transform=\"rotate(-90 12 " + num(top + ph / 2) + ")\">" +
           html(yUnit) + "</text>\n";
    for (const auto& [x, label] : xTicks) {
        const std::string px = fmt("%.1f", X(x));
        svg += "<line x1=\"" + px + "\" x2=\"" + px + "\" y1=\"" + num(top) + "\" y2=\"" + num(top + ph) + "\" class=\"g\"/>";
        svg += "<text x=\"" + px + "\" y=\"" + num(top + ph + 16) + "\" class=\"xl\">" + html(label) + "</text>\n";
    }
    double legendX = left + pw;
    for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
        legendX -= 14 + 8 * static_cast<double>(it->label.size()) + 18;
        svg += "<rect x=\"" + num(legendX) + "\" y=\"12\" width=\"12\" height=\"4\" fill=\"" + it->color + "\"/>";
        svg += "<text x=\"" + num(legendX + 16) + "\" y=\"18\" class=\"lg\">" + html(it->label) + "</text>\n";
    }
    for (const auto& l : lines) {
        if (l.points.empty()) continue;
        svg += "<polyline fill=\"none\" stroke=\"" + l.color + "\" stroke-width=\"1.6\" points=\"";
        for (const auto& [x, y] : l.points) svg += fmt("%.1f", X(x)) + "," + fmt("%.1f", Y(y)) + " ";
        svg += "\"/>\n";
    }
    svg += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
           "\" class=\"f\"/>\n</svg>\n";
    return svg;
}

} // namespace

std::string formatMs(double ms) {
    if (ms >= 100) return fmt("%.1f", ms);
    if (ms >= 10) return fmt("%.2f", ms);
    return fmt("%.3f", ms);
}

std::string formatBytes(double bytes) {
    if (bytes >= 1e9) return fmt("%.2f GB", bytes / 1e9);
    if (bytes >= 1e6) return fmt("%.2f MB", bytes / 1e6);
    if (bytes >= 1e3) return fmt("%.2f kB", bytes / 1e3);
    return fmt("%.0f B", bytes);
}

std::string renderText(const Summary& s) {
    const auto& l = s.latency;
    std::string out = "keel bench: " + s.title + (s.interrupted ? " (interrupted)" : "") + "\n";
    out += "  " + s.model + "\n";
    out += "  Requests     " + count(s.requests) + " in " + fmt("%.2f", s.durationS) + " s, " + fmt("%.1f", s.requestsPerS) +
           " requests/s\n";
    out += "  Received     " + formatBytes(static_cast<double>(s.bytes)) + ", " + formatBytes(s.bytesPerS) + "/s\n";
    if (s.requests > 0) {
        out += "  Latency      min " + formatMs(l.min) + " ms, mean " + formatMs(l.mean) + " ms, max " + formatMs(l.max) + " ms\n";
        out += "  Percentiles  p50 " + formatMs(l.p50) + ", p75 " + formatMs(l.p75) + ", p90 " + formatMs(l.p90) + ", p95 " +
               formatMs(l.p95) + ", p99 " + formatMs(l.p99) + ", p99.9 " + formatMs(l.p999) + " (ms)\n";
    } else {
        out += "  Latency      no responses\n";
    }
    out += "  Codes        ";
    if (s.codes.empty()) out += "none";
    bool first = true;
    for (const auto& [code, n] : s.codes) {
        out += (first ? "" : ", ") + std::to_string(code) + ": " + count(n);
        first = false;
    }
    out += "\n  Errors       ";
    if (s.errors.empty()) out += "none";
    first = true;
    for (const auto& [name, n] : s.errors) {
        out += (first ? "" : ", ") + name + ": " + count(n);
        first = false;
    }
    if (s.errorCount > 0) out += " (" + fmt("%.3g", s.errorPercent) + "% of requests)";
    out += "\n";
    if (s.hasVusers)
        out += "  Vusers       created " + count(s.vusersCreated) + ", completed " + count(s.vusersCompleted) + ", failed " +
               count(s.vusersFailed) + ", skipped " + count(s.vusersSkipped) + "\n";
    if (s.unfinished > 0)
        out += "  Unfinished   " + count(s.unfinished) + " request" + (s.unfinished == 1 ? " was" : "s were") +
               " in flight or queued when the run ended (not counted)\n";
    first = true;
    for (const auto& v : s.ensure) {
        out += std::string(first ? "  Ensure       " : "               ") + (v.ok ? "ok      " : "FAILED  ") + v.threshold + " (" +
               v.actualText + ")\n";
        first = false;
    }
    return out;
}

std::string renderJson(const Summary& s) {
    const auto& l = s.latency;
    std::string o = "{\n";
    o += "  \"title\": " + keel::quoteJson(s.title) + ",\n";
    o += "  \"model\": " + keel::quoteJson(s.model) + ",\n";
    o += "  \"interrupted\": " + std::string(s.interrupted ? "true" : "false") + ",\n";
    o += "  \"durationSeconds\": " + num(s.durationS) + ",\n";
    o += "  \"requests\": " + count(s.requests) + ",\n";
    o += "  \"requestsPerSecond\": " + num(s.requestsPerS) + ",\n";
    o += "  \"bytes\": " + count(s.bytes) + ",\n";
    o += "  \"bytesPerSecond\": " + num(s.bytesPerS) + ",\n";
    o += "  \"latencyMs\": {\"min\": " + num(l.min) + ", \"mean\": " + num(l.mean) + ", \"p50\": " + num(l.p50) +
         ", \"p75\": " + num(l.p75) + ", \"p90\": " + num(l.p90) + ", \"p95\": " + num(l.p95) + ", \"p99\": " + num(l.p99) +
         ", \"p99.9\": " + num(l.p999) + ", \"max\": " + num(l.max) + "},\n";
    o += "  \"codes\": {";
    bool first = true;
    for (const auto& [code, n] : s.codes) {
        o += std::string(first ? "" : ", ") + "\"" + std::to_string(code) + "\": " + count(n);
        first = false;
    }
    o += "},\n  \"errors\": {";
    first = true;
    for (const auto& [name, n] : s.errors) {
        o += std::string(first ? "" : ", ") + keel::quoteJson(name) + ": " + count(n);
        first = false;
    }
    o += "},\n";
    o += "  \"errorCount\": " + count(s.errorCount) + ",\n";
    o += "  \"errorPercent\": " + num(s.errorPercent) + ",\n";
    o += "  \"unfinished\": " + count(s.unfinished) + ",\n";
    if (s.hasVusers)
        o += "  \"vusers\": {\"created\": " + count(s.vusersCreated) + ", \"completed\": " + count(s.vusersCompleted) +
             ", \"failed\": " + count(s.vusersFailed) + ", \"skipped\": " + count(s.vusersSkipped) + "},\n";
    o += "  \"ensure\": [";
    first = true;
    for (const auto& v : s.ensure) {
        o += std::string(first ? "" : ", ") + "{\"threshold\": " + keel::quoteJson(v.threshold) + ", \"ok\": " + (v.ok ? "true" : "false") +
             ", \"actual\": " + num(v.actual) + "}";
        first = false;
    }
    o += "],\n  \"series\": [";
    first = true;
    for (const auto& f : s.series) {
        o += std::string(first ? "\n" : ",\n") + "    {\"second\": " + num(f.endS) + ", \"durationSeconds\": " + num(f.durationS) +
             ", \"requests\": " + count(f.requests) + ", \"requestsPerSecond\": " +
             num(f.durationS > 0 ? static_cast<double>(f.requests) / f.durationS : 0) + ", \"errors\": " + count(f.errors) +
             ", \"bytes\": " + count(f.bytes) + ", \"latencyMs\": {\"min\": " + num(f.min) + ", \"mean\": " + num(f.mean) +
             ", \"p50\": " + num(f.p50) + ", \"p90\": " + num(f.p90) + ", \"p99\": " + num(f.p99) + ", \"max\": " + num(f.max) + "}}";
        first = false;
    }
    o += std::string(first ? "" : "\n  ") + "],\n  \"percentiles\": [";
    first = true;
    for (const auto& [p, v] : s.curve) {
        o += std::string(first ? "" : ", ") + "{\"percentile\": " + num(p) + ", \"latencyMs\": " + num(v) + "}";
        first = false;
    }
    o += "]\n}\n";
    return o;
}

std::string renderHtml(const Summary& s) {
    const auto& l = s.latency;
    std::string page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>keel bench: " + html(s.title) +
                       "</title>\n<style>\n"
                       "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:800px}\n"
                       "h1{font-size:20px}table{border-collapse:collapse;margin:12px 0}td,th{padding:3px 12px 3px 0;text-align:left}\n"
                       "td.n{text-align:right;font-variant-numeric:tabular-nums}.bad{color:#b00020;font-weight:bold}.ok{color:#1b5e20}\n"
                       "svg{display:block;margin:18px 0}svg text{font:12px system-ui,sans-serif;fill:#333}\n"
                       "svg .t{font-weight:bold}svg .yl{text-anchor:end;dominant-baseline:middle}svg .xl{text-anchor:middle}\n"
                       "svg .u{text-anchor:middle}svg .g{stroke:#e4e4e4}svg .f{fill:none;stroke:#999}\n"
                       "</style></head><body>\n";
    page += "<h1>keel bench: " + html(s.title) + (s.interrupted ? " (interrupted)" : "") + "</h1>\n<p>" + html(s.model) + "</p>\n";
    page += "<table>\n";
    page += "<tr><th>requests</th><td class=\"n\">" + count(s.requests) + "</td><td>in " + fmt("%.2f", s.durationS) + " s</td></tr>\n";
    page += "<tr><th>requests/s</th><td class=\"n\">" + fmt("%.1f", s.requestsPerS) + "</td><td></td></tr>\n";
    page += "<tr><th>received</th><td class=\"n\">" + formatBytes(static_cast<double>(s.bytes)) + "</td><td>" +
            formatBytes(s.bytesPerS) + "/s</td></tr>\n";
    const std::pair<const char*, double> lat[] = {{"min", l.min}, {"mean", l.mean}, {"p50", l.p50},    {"p75", l.p75}, {"p90", l.p90},
                                                  {"p95", l.p95}, {"p99", l.p99},   {"p99.9", l.p999}, {"max", l.max}};
    for (const auto& [name, v] : lat)
        page += std::string("<tr><th>latency ") + name + "</th><td class=\"n\">" + formatMs(v) + "</td><td>ms</td></tr>\n";
    for (const auto& [code, n] : s.codes)
        page += "<tr><th>status " + std::to_string(code) + "</th><td class=\"n\">" + count(n) + "</td><td></td></tr>\n";
    for (const auto& [name, n] : s.errors)
        page += "<tr><th class=\"bad\">" + html(name) + "</th><td class=\"n\">" + count(n) + "</td><td>errors</td></tr>\n";
    if (s.errors.empty()) page += "<tr><th>errors</th><td class=\"n\">0</td><td></td></tr>\n";
    if (s.hasVusers)
        page += "<tr><th>virtual users</th><td class=\"n\">" + count(s.vusersCreated) + "</td><td>created; " +
                count(s.vusersCompleted) + " completed, " + count(s.vusersFailed) + " failed, " + count(s.vusersSkipped) +
                " skipped</td></tr>\n";
    for (const auto& v : s.ensure)
        page += std::string("<tr><th class=\"") + (v.ok ? "ok" : "bad") + "\">" + (v.ok ? "ok" : "FAILED") + "</th><td>" +
                html(v.threshold) + "</td><td>" + html(v.actualText) + "</td></tr>\n";
    page += "</table>\n";

    // Latency over time: one point per second of the run.
    std::vector<Line> overTime = {{"p50", "#1f77b4", {}}, {"p90", "#2ca02c", {}}, {"p99", "#ff7f0e", {}}, {"max", "#d62728", {}}};
    Line rate{"requests/s", "#1f77b4", {}};
    double xMax = 0;
    for (const auto& f : s.series) {
        xMax = std::max(xMax, f.endS);
        rate.points.emplace_back(f.endS, f.durationS > 0 ? static_cast<double>(f.requests) / f.durationS : 0);
        if (f.requests == 0) continue;
        overTime[0].points.emplace_back(f.endS, f.p50);
        overTime[1].points.emplace_back(f.endS, f.p90);
        overTime[2].points.emplace_back(f.endS, f.p99);
        overTime[3].points.emplace_back(f.endS, f.max);
    }
    std::vector<std::pair<double, std::string>> timeTicks;
    const double tStep = niceStep(xMax, 8);
    for (double t = 0; t <= xMax + 1e-9; t += tStep) timeTicks.emplace_back(t, num(t) + " s");
    page += svgChart("Latency over time (per second)", "ms", overTime, xMax, timeTicks);
    page += svgChart("Requests per second", "requests/s", {rate}, xMax, timeTicks);

    // The percentile curve on HdrHistogram's axis: x = log10(1 / (1 - p)), so 90%, 99%,
    // 99.9% ... are evenly spaced and the tail is visible.
    Line curve{"latency", "#9467bd", {}};
    double cMax = 0;
    for (const auto& [p, v] : s.curve) {
        if (p >= 100) continue;
        const double x = std::log10(1.0 / (1.0 - p / 100.0));
        curve.points.emplace_back(x, v);
        cMax = std::max(cMax, x);
    }
    cMax = std::max(1.0, std::ceil(cMax));
    std::vector<std::pair<double, std::string>> pTicks;
    for (int k = 0; k <= static_cast<int>(cMax); ++k) pTicks.emplace_back(k, percentLabel(100.0 * (1.0 - std::pow(10.0, -k))));
    page += svgChart("Latency by percentile", "ms", {curve}, cMax, pTicks);
    page += "</body></html>\n";
    return page;
}

std::string liveLine(const Progress& p) {
    std::string line = "\r\x1b[K  " + fmt("%.0f", p.elapsedS) + " s";
    if (p.totalS > 0) line += " / " + fmt("%.0f", p.totalS) + " s";
    line += "  |  " + count(p.requests);
    if (p.totalRequests > 0) line += " / " + count(p.totalRequests);
    line += " requests  |  " + fmt("%.0f", p.requestsPerS) + " req/s  |  p99 " + formatMs(p.p99Ms) + " ms  |  " +
            count(p.errors) + (p.errors == 1 ? " error" : " errors");
    return line;
}

std::string periodicLine(const Progress& p) {
    std::string line = "[" + fmt("%.0f", p.elapsedS) + " s";
    if (p.totalS > 0) line += " of " + fmt("%.0f", p.totalS) + " s";
    line += "] " + count(p.requests) + " requests";
    if (p.totalRequests > 0) line += " of " + count(p.totalRequests);
    line += ", " + fmt("%.1f", p.requestsPerS) + " requests/s, p99 so far " + formatMs(p.p99Ms) + " ms, " + count(p.errors) +
            (p.errors == 1 ? " error\n" : " errors\n");
    return line;
}

} // namespace keel::bench
