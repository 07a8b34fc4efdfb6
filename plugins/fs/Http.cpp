#include "Http.hpp"

#include <keel/Text.hpp>

#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace keel_fs {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

int monthIndex(std::string_view m) {
    for (int i = 0; i < 12; ++i)
        if (keel::equalsIgnoreCase(m, kMonths[i])) return i;
    return -1;
}

bool parseUint(std::string_view s, std::uint64_t& out) {
    if (s.empty()) return false;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

} // namespace

std::string makeETag(const struct stat& st, std::string_view suffix) {
    char text[96];
    const auto ns = static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ULL +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec);
    int n = std::snprintf(text, sizeof text, "\"%llx-%llx-%llx",
                          static_cast<unsigned long long>(st.st_size), ns,
                          static_cast<unsigned long long>(st.st_ino));
    std::string out(text, static_cast<std::size_t>(n));
    if (!suffix.empty()) {
        out += '-';
        out += suffix;
    }
    out += '"';
    return out;
}

std::string httpDate(std::time_t t) {
    struct tm tm {};
    ::gmtime_r(&t, &tm);
    char text[40];
    std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                  tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                  tm.tm_sec);
    return text;
}

std::optional<std::time_t> parseHttpDate(std::string_view text) {
    text = trim(text);
    struct tm tm {};
    char wday[16] = {}, mon[4] = {}, zone[4] = {};
    int day = 0, year = 0, h = 0, m = 0, s = 0;
    const std::string str(text);
    int consumed = 0;
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (std::sscanf(str.c_str(), "%3s, %2d %3s %4d %2d:%2d:%2d %3s%n", wday, &day, mon, &year, &h,
                    &m, &s, zone, &consumed) == 8 &&
        static_cast<std::size_t>(consumed) == str.size() && std::strcmp(zone, "GMT") == 0) {
    } else if (std::sscanf(str.c_str(), "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wday, &day,
                           mon, &year, &h, &m, &s, zone, &consumed) == 8 &&
               static_cast<std::size_t>(consumed) == str.size() && std::strcmp(zone, "GMT") == 0) {
        // RFC 850: two-digit years within 50 years of now; 1970..2069 is close enough here.
        year += year < 70 ? 2000 : 1900;
    } else if (std::sscanf(str.c_str(), "%3s %3s %2d %2d:%2d:%2d %4d%n", wday, mon, &day, &h, &m,
                           &s, &year, &consumed) == 7 &&
               static_cast<std::size_t>(consumed) == str.size()) {
        // asctime: Sun Nov  6 08:49:37 1994
    } else {
        return std::nullopt;
    }
    const int month = monthIndex(mon);
    if (month < 0 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60 || year < 1970)
        return std::nullopt;
    tm.tm_year = year - 1900;
    tm.tm_mon = month;
    tm.tm_mday = day;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = s;
    return ::timegm(&tm);
}

bool etagListMatches(std::string_view list, std::string_view etag, bool weak) {
    // "*" matches any current representation, with or without an ETag.
    if (trim(list) == "*") return true;
    if (etag.empty()) return false;
    std::string_view mine = etag;
    if (mine.starts_with("W/")) {
        if (!weak) return false;
        mine.remove_prefix(2);
    }
    while (!list.empty()) {
        list = trim(list);
        if (list.empty()) break;
        bool isWeak = false;
        if (list.starts_with("W/")) {
            isWeak = true;
            list.remove_prefix(2);
        }
        if (list.empty() || list.front() != '"') {
            // Not an entity-tag: skip to the next comma.
            const auto comma = list.find(',');
            if (comma == std::string_view::npos) break;
            list.remove_prefix(comma + 1);
            continue;
        }
        const auto close = list.find('"', 1);
        if (close == std::string_view::npos) break;
        const std::string_view tag = list.substr(0, close + 1);
        if ((weak || !isWeak) && tag == mine) return true;
        list.remove_prefix(close + 1);
        const auto comma = list.find(',');
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

Precondition evaluatePreconditions(std::string_view ifMatch, std::string_view ifUnmodifiedSince,
                                   std::string_view ifNoneMatch, std::string_view ifModifiedSince,
                                   std::string_view etag, std::time_t mtime) {
    if (!ifMatch.empty()) {
        if (!etagListMatches(ifMatch, etag, false)) return Precondition::failed;
    } else if (!ifUnmodifiedSince.empty()) {
        const auto since = parseHttpDate(ifUnmodifiedSince);
        if (since && mtime > *since) return Precondition::failed;
    }
    if (!ifNoneMatch.empty()) {
        // If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
        return etagListMatches(ifNoneMatch, etag, true) ? Precondition::notModified
                                                        : Precondition::none;
    }
    if (!ifModifiedSince.empty()) {
        const auto since = parseHttpDate(ifModifiedSince);
        if (since && mtime <= *since) return Precondition::notModified;
    }
    return Precondition::none;
}

ByteRange parseRange(std::string_view header, std::uint64_t size) {
    ByteRange r;
    header = trim(header);
    if (header.size() < 6 || !keel::equalsIgnoreCase(header.substr(0, 6), "bytes=")) return r;
    std::string_view spec = trim(header.substr(6));
    if (spec.find(',') != std::string_view::npos) return r; // several ranges: the full 200
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) return r;
    const std::string_view first = trim(spec.substr(0, dash));
    const std::string_view last = trim(spec.substr(dash + 1));
    std::uint64_t a = 0, b = 0;
    if (first.empty()) {
        // Suffix range: the last N bytes.
        if (!parseUint(last, b)) return r;
        if (b == 0 || size == 0) {
            r.kind = ByteRange::unsatisfiable;
            return r;
        }
        r.kind = ByteRange::single;
        r.length = b < size ? b : size;
        r.offset = size - r.length;
        return r;
    }
    if (!parseUint(first, a)) return r;
    if (!last.empty()) {
        if (!parseUint(last, b) || b < a) return r; // invalid: ignored
    }
    if (a >= size) {
        r.kind = ByteRange::unsatisfiable;
        return r;
    }
    const std::uint64_t end = last.empty() || b >= size ? size - 1 : b;
    r.kind = ByteRange::single;
    r.offset = a;
    r.length = end - a + 1;
    return r;
}

bool ifRangeAllows(std::string_view ifRange, std::string_view etag, std::time_t mtime) {
    ifRange = trim(ifRange);
    if (ifRange.empty()) return true;
    if (ifRange.front() == '"' || ifRange.starts_with("W/"))
        return !ifRange.starts_with("W/") && ifRange == etag && !etag.starts_with("W/");
    const auto date = parseHttpDate(ifRange);
    return date && *date == mtime;
}

std::string contentRange(const ByteRange& r, std::uint64_t size) {
    if (r.kind == ByteRange::unsatisfiable) return "bytes */" + std::to_string(size);
    return "bytes " + std::to_string(r.offset) + "-" + std::to_string(r.offset + r.length - 1) +
           "/" + std::to_string(size);
}

AcceptEncoding parseAcceptEncoding(std::string_view header) {
    AcceptEncoding out;
    bool sawBr = false, sawGzip = false;
    double star = -1;
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
        double q = 1;
        const auto semi = item.find(';');
        std::string_view coding = trim(item.substr(0, semi));
        if (semi != std::string_view::npos) {
            std::string_view params = item.substr(semi + 1);
            while (!params.empty()) {
                const auto next = params.find(';');
                std::string_view p = trim(params.substr(0, next));
                params =
                    next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
                if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                    const std::string value(trim(p.substr(2)));
                    char* end = nullptr;
                    q = std::strtod(value.c_str(), &end);
                    if (end == value.c_str() || *end != '\0' || q < 0 || q > 1) q = 0;
                }
            }
        }
        if (keel::equalsIgnoreCase(coding, "br")) {
            out.br = q;
            sawBr = true;
        } else if (keel::equalsIgnoreCase(coding, "gzip") || keel::equalsIgnoreCase(coding, "x-gzip")) {
            out.gzip = q;
            sawGzip = true;
        } else if (coding == "*") {
            star = q;
        }
    }
    if (star > 0) {
        if (!sawBr) out.br = star;
        if (!sawGzip) out.gzip = star;
    }
    return out;
}

std::string encodePath(std::string_view path) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(path.size());
    for (const char ch : path) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            out += ch;
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

std::string escapeHtml(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}


} // namespace keel_fs
