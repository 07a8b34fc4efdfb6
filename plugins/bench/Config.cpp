#include "Config.hpp"

#include <charconv>
#include <cmath>

namespace keel::bench {

const char* const kBenchUsage =
    "Usage: keel bench quick [options] URL     load one URL (artillery quick, wrk, wrk2)\n"
    "       keel bench run SCENARIO.yml|json   run an artillery scenario file\n"
    "Run 'keel bench quick --help' or 'keel bench run --help' for the options.\n";

const char* const kQuickUsage =
    "Usage: keel bench quick [options] URL\n"
    "  --count N          N virtual users arriving over 1 s, each with its own connection (artillery)\n"
    "  -n N               requests each virtual user or connection sends (default 10 with --count)\n"
    "  -c N               N connections opened at once, each sending its next request when the\n"
    "                     last completes (closed model; default 10 with -d)\n"
    "  -d SECONDS         run for this long (10, 10s, 1m; default 10 with -c or --rate)\n"
    "  --rate R           open model: R requests/s on a constant schedule; latency is measured from\n"
    "                     the scheduled send time, so coordinated omission is corrected (wrk2)\n"
    "  -p N               pipelining: up to N requests in flight per connection (default 1)\n"
    "  -H 'Name: value'   add a header (repeatable)\n"
    "  -m METHOD          request method (default GET)\n"
    "  --body FILE        send FILE as the request body\n"
    "  -k                 do not verify TLS certificates\n"
    "  --timeout SECONDS  fail a request with ETIMEDOUT after this long (default 10)\n"
    "  -o FILE            write the report as JSON, with the per-second series\n"
    "  --html FILE        write the report as one self-contained HTML page\n"
    "  --ensure EXPR      exit 1 unless EXPR holds, e.g. 'p99<50ms', 'errors<0.1%', 'rps>1000'\n"
    "  -q                 no live progress\n"
    "Without --count, -c, -d or --rate: --count 10 -n 10.\n";

const char* const kRunUsage =
    "Usage: keel bench run SCENARIO.yml|json [options]\n"
    "  --target URL       replace config.target\n"
    "  -k                 do not verify TLS certificates (config.tls.rejectUnauthorized: false)\n"
    "  -o FILE            write the report as JSON, with the per-second series\n"
    "  --html FILE        write the report as one self-contained HTML page\n"
    "  --ensure EXPR      exit 1 unless EXPR holds (adds to the file's config.ensure)\n"
    "  -q                 no live progress\n";

namespace {

/// Walks argv; options take their value from the next word or after '='.
class Args {
public:
    explicit Args(std::span<const char* const> args) : args_(args) {}

    bool next() {
        if (i_ >= args_.size()) return false;
        std::string_view word = args_[i_++];
        inline_.reset();
        const std::size_t eq = word.find('=');
        if (word.size() > 2 && word.substr(0, 2) == "--" && eq != std::string_view::npos) {
            inline_ = std::string(word.substr(eq + 1));
            word = word.substr(0, eq);
        }
        current_ = std::string(word);
        return true;
    }
    const std::string& current() const { return current_; }
    bool isOption() const { return current_.size() > 1 && current_[0] == '-'; }

    std::string value() {
        if (inline_) return *inline_;
        if (i_ >= args_.size()) throw UsageError(current_ + " needs a value");
        return args_[i_++];
    }

    std::uint64_t count(std::uint64_t min = 1) {
        const std::string text = value();
        std::uint64_t n = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
        if (ec != std::errc() || p != text.data() + text.size() || n < min)
            throw UsageError(current_ + ": expected a whole number >= " + std::to_string(min) + ", found '" + text + "'");
        return n;
    }

    double positive() {
        const std::string text = value();
        double v = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
        if (ec != std::errc() || p != text.data() + text.size() || !(v > 0) || !std::isfinite(v))
            throw UsageError(current_ + ": expected a number > 0, found '" + text + "'");
        return v;
    }

    double seconds() {
        const std::string text = value();
        try {
            const double s = parseSeconds(text);
            if (!(s > 0)) throw std::invalid_argument(text);
            return s;
        } catch (const std::invalid_argument&) {
            throw UsageError(current_ + ": expected a duration such as 10, 10s, 1m or 500ms, found '" + text + "'");
        }
    }

private:
    std::span<const char* const> args_;
    std::size_t i_ = 0;
    std::string current_;
    std::optional<std::string> inline_;
};

bool parseOutputOption(Args& a, OutputOptions& out) {
    const std::string& o = a.current();
    if (o == "-o" || o == "--output") {
        out.jsonPath = a.value();
    } else if (o == "--html") {
        out.htmlPath = a.value();
    } else if (o == "--ensure") {
        out.ensure.push_back(a.value());
    } else if (o == "-q" || o == "--quiet") {
        out.quiet = true;
    } else {
        return false;
    }
    return true;
}

Header parseHeader(const std::string& text) {
    const std::size_t colon = text.find(':');
    if (colon == std::string::npos || colon == 0)
        throw UsageError("-H: expected 'Name: value', found '" + text + "'");
    std::string name = text.substr(0, colon);
    std::string value = text.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(value.begin());
    for (char c : name)
        if (c <= ' ' || c == 127) throw UsageError("-H: the header name '" + name + "' contains white space or a control character");
    for (char c : value)
        if (c == '\r' || c == '\n') throw UsageError("-H: the value of '" + name + "' contains a line break");
    return {name, value};
}

} // namespace

double parseSeconds(std::string_view text) {
    double v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || !std::isfinite(v) || v < 0) throw std::invalid_argument(std::string(text));
    std::string_view unit = text.substr(static_cast<std::size_t>(p - text.data()));
    while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
    if (unit.empty() || unit == "s" || unit == "sec" || unit == "seconds") return v;
    if (unit == "ms") return v / 1000;
    if (unit == "m" || unit == "min" || unit == "minutes") return v * 60;
    if (unit == "h" || unit == "hours") return v * 3600;
    throw std::invalid_argument(std::string(text));
}

QuickOptions parseQuickOptions(std::span<const char* const> args) {
    QuickOptions o;
    Args a(args);
    while (a.next()) {
        const std::string opt = a.current();
        if (!a.isOption()) {
            if (!o.url.empty()) throw UsageError("one URL only: found '" + o.url + "' and '" + opt + "'");
            o.url = opt;
        } else if (opt == "-h" || opt == "--help") {
            o.help = true;
        } else if (opt == "--count") {
            o.count = a.count();
        } else if (opt == "-n" || opt == "--num") {
            o.perUser = a.count();
        } else if (opt == "-c" || opt == "--connections") {
            o.connections = a.count();
        } else if (opt == "-d" || opt == "--duration") {
            o.durationS = a.seconds();
        } else if (opt == "--rate" || opt == "-R") {
            o.rate = a.positive();
        } else if (opt == "-p" || opt == "--pipelining") {
            const std::uint64_t p = a.count();
            if (p > 1024) throw UsageError("-p: at most 1024 requests in flight per connection");
            o.pipelining = static_cast<std::uint32_t>(p);
        } else if (opt == "-H" || opt == "--header") {
            o.headers.push_back(parseHeader(a.value()));
        } else if (opt == "-m" || opt == "--method") {
            o.method = a.value();
            for (char& c : o.method) {
                if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
                if (c < 'A' || c > 'Z') throw UsageError("-m: expected a method name such as GET or POST, found '" + o.method + "'");
            }
            if (o.method.empty()) throw UsageError("-m: the method is empty");
        } else if (opt == "--body") {
            o.bodyFile = a.value();
        } else if (opt == "-k" || opt == "--insecure") {
            o.insecure = true;
        } else if (opt == "--timeout") {
            o.timeoutS = a.seconds();
        } else if (!parseOutputOption(a, o.output)) {
            throw UsageError("quick: unknown option '" + opt + "'");
        }
    }
    if (o.help) return o;
    if (o.url.empty()) throw UsageError("quick: no URL given");
    // Each model has its own knobs; a mix would be silently half-applied, so it is refused.
    if (o.count && o.connections)
        throw UsageError("--count (virtual users arriving over 1 s) and -c (connections opened at once) "
                         "are two ways to say the same thing: choose one");
    if (o.rate && o.count) throw UsageError("--rate schedules requests, not virtual users: use -c for its connections, not --count");
    if (o.rate && o.perUser) throw UsageError("--rate runs for a duration (-d), not a number of requests per user (-n)");
    if (o.pipelining > 1 && o.count)
        throw UsageError("-p pipelines on connections (-c or --rate); artillery's virtual users (--count) send one request at a time");
    return o;
}

RunOptions parseRunOptions(std::span<const char* const> args) {
    RunOptions o;
    Args a(args);
    while (a.next()) {
        const std::string opt = a.current();
        if (!a.isOption()) {
            if (!o.scenarioPath.empty()) throw UsageError("run: one scenario file only: found '" + o.scenarioPath + "' and '" + opt + "'");
            o.scenarioPath = opt;
        } else if (opt == "-h" || opt == "--help") {
            o.help = true;
        } else if (opt == "--target" || opt == "-t") {
            o.target = a.value();
        } else if (opt == "-k" || opt == "--insecure") {
            o.insecure = true;
        } else if (!parseOutputOption(a, o.output)) {
            throw UsageError("run: unknown option '" + opt + "'");
        }
    }
    if (!o.help && o.scenarioPath.empty()) throw UsageError("run: no scenario file given");
    return o;
}

} // namespace keel::bench
