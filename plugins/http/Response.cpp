#include "Response.hpp"

#include <sys/time.h>

#include <charconv>
#include <cstring>
#include <ctime>

namespace keel::http {

namespace {


void appendNumber(Buffer& out, std::uint64_t n) {
    char* p = out.reserve(20);
    auto [end, ec] = std::to_chars(p, p + 20, n);
    (void)ec;
    out.commit(static_cast<std::size_t>(end - p));
}

bool bodyAllowedFor(int status) {
    return status >= 200 && status != 204 && status != 304;
}

} // namespace

std::string_view reasonPhrase(int status) {
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "I'm a teapot";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 511: return "Network Authentication Required";
    default: return "Unknown";
    }
}

bool isToken(std::string_view s) {
    return !s.empty() && allIn(kChars.token, s);
}

bool isFieldValue(std::string_view s) {
    // Eight bytes at a time: a word with no byte below 0x20 and none equal to DEL is valid
    // (bytes >= 0x80 are obs-text). A word that may hold one (HTAB is allowed) is checked a
    // byte at a time. Every response header goes through here.
    constexpr std::uint64_t kOnes = 0x0101010101010101ull;
    constexpr std::uint64_t kHighs = 0x8080808080808080ull;
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t word;
        std::memcpy(&word, s.data() + i, 8);
        const std::uint64_t del = word ^ (kOnes * 0x7f);
        const std::uint64_t suspect = ((word - kOnes * 0x20) & ~word & kHighs) | ((del - kOnes) & ~del & kHighs);
        if (suspect != 0 && !allIn(kChars.value, s.substr(i, 8))) return false;
    }
    return allIn(kChars.value, s.substr(i));
}

bool hasToken(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (equalsIgnoreCase(item, token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

void Clock::set(std::int64_t unixSeconds, std::uint64_t validUntilMs) {
    validUntil_ = validUntilMs;
    static const char* const kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t t = static_cast<std::time_t>(unixSeconds);
    std::tm parts{};
    ::gmtime_r(&t, &parts);
    dateLength_ = static_cast<std::size_t>(
        std::snprintf(date_, sizeof date_, "Date: %s, %02d %s %04d %02d:%02d:%02d GMT\r\n",
                      kDays[parts.tm_wday], parts.tm_mday, kMonths[parts.tm_mon],
                      parts.tm_year + 1900, parts.tm_hour, parts.tm_min, parts.tm_sec));
    logLength_ = static_cast<std::size_t>(std::snprintf(
        log_, sizeof log_, "%02d/%s/%04d:%02d:%02d:%02d +0000", parts.tm_mday,
        kMonths[parts.tm_mon], parts.tm_year + 1900, parts.tm_hour, parts.tm_min, parts.tm_sec));
    isoLength_ = static_cast<std::size_t>(
        std::snprintf(iso_, sizeof iso_, "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.tm_year + 1900,
                      parts.tm_mon + 1, parts.tm_mday, parts.tm_hour, parts.tm_min, parts.tm_sec));
}

void Clock::refresh(std::uint64_t loopMs) {
    timeval now{};
    ::gettimeofday(&now, nullptr);
    // Valid until the wall clock's next second, measured on the loop's clock.
    set(now.tv_sec, loopMs + static_cast<std::uint64_t>(1000 - now.tv_usec / 1000));
}

HeadResult formatHead(Buffer& out, const HeadSpec& spec, const keel_header* headers,
                      std::size_t count, std::string_view dateLine) {
    HeadResult result;
    result.close = spec.close;
    bool ownDate = true;
    bool ownRequestId = !spec.requestId.empty();
    // First pass: what the pipeline's headers say about the connection, which of them go
    // out, and how many bytes the head takes (one reservation, then plain copies).
    std::size_t size = 9 + 4 + 32 + 2 + dateLine.size() + 64 + 24 + 16 + spec.requestId.size() + 2;
    for (std::size_t i = 0; i < count; ++i) {
        const std::string_view name(headers[i].name.ptr, headers[i].name.len);
        size += name.size() + headers[i].value.len + 4;
        switch (name.size()) {
        case 4:
            if (equalsIgnoreCase(name, "date")) ownDate = false;
            break;
        case 10:
            if (equalsIgnoreCase(name, "connection") &&
                hasToken(std::string_view(headers[i].value.ptr, headers[i].value.len), "close"))
                result.close = true;
            break;
        case 12:
            if (equalsIgnoreCase(name, "x-request-id")) ownRequestId = false;
            break;
        default: break;
        }
    }
    const bool statusBody = bodyAllowedFor(spec.status);
    result.bodyAllowed = statusBody && !spec.head;
    // HTTP/1.0 has no chunked encoding: a streamed body ends when the connection does.
    if (statusBody && spec.contentLength < 0) {
        if (spec.versionMinor >= 1)
            result.chunked = true;
        else
            result.close = true;
    }

    char* const start = out.reserve(size);
    char* p = start;
    auto put = [&p](std::string_view s) {
        copyBytes(p, s.data(), s.size());
        p += s.size();
    };
    // Literals are copied with their length known at compile time: a few moves, no call.
    auto putLiteral = [&p]<std::size_t N>(const char (&s)[N]) {
        std::memcpy(p, s, N - 1);
        p += N - 1;
    };
    if (spec.versionMinor >= 1)
        putLiteral("HTTP/1.1 ");
    else
        putLiteral("HTTP/1.0 ");
    const int status = spec.status >= 100 && spec.status <= 999 ? spec.status : 500;
    *p++ = static_cast<char>('0' + status / 100);
    *p++ = static_cast<char>('0' + status / 10 % 10);
    *p++ = static_cast<char>('0' + status % 10);
    *p++ = ' ';
    put(reasonPhrase(status));
    putLiteral("\r\n");
    if (ownDate) put(dateLine);

    for (std::size_t i = 0; i < count; ++i) {
        const std::string_view name(headers[i].name.ptr, headers[i].name.len);
        const std::string_view value(headers[i].value.ptr, headers[i].value.len);
        if ((name.size() == 10 &&
             (equalsIgnoreCase(name, "connection") || equalsIgnoreCase(name, "keep-alive"))) ||
            (name.size() == 14 && equalsIgnoreCase(name, "content-length")) ||
            (name.size() == 17 && equalsIgnoreCase(name, "transfer-encoding")))
            continue;
        if (!isToken(name) || !isFieldValue(value)) {
            ++result.dropped;
            continue;
        }
        put(name);
        *p++ = ':';
        *p++ = ' ';
        put(value);
        putLiteral("\r\n");
    }

    if (statusBody) {
        if (result.chunked) {
            putLiteral("Transfer-Encoding: chunked\r\n");
        } else if (spec.contentLength >= 0) {
            putLiteral("Content-Length: ");
            p = std::to_chars(p, p + 20, static_cast<std::uint64_t>(spec.contentLength)).ptr;
            putLiteral("\r\n");
        }
    }
    if (result.close)
        putLiteral("Connection: close\r\n");
    else if (spec.versionMinor == 0)
        putLiteral("Connection: keep-alive\r\n");
    if (ownRequestId) {
        putLiteral("X-Request-Id: ");
        put(spec.requestId);
        putLiteral("\r\n");
    }
    putLiteral("\r\n");
    out.commit(static_cast<std::size_t>(p - start));
    return result;
}

void formatError(Buffer& out, int status, std::string_view code, std::string_view message,
                 std::string_view dateLine, std::string_view requestId) {
    // code and message are ours (ASCII without quotes or backslashes): no escaping needed.
    const std::size_t bodyLength = 40 + code.size() + message.size();
    out.append("HTTP/1.1 ");
    appendNumber(out, static_cast<std::uint64_t>(status));
    out.push(' ');
    out.append(reasonPhrase(status));
    out.append("\r\n", 2);
    out.append(dateLine);
    out.append("Content-Type: application/json; charset=utf-8\r\nCache-Control: "
               "no-store\r\nContent-Length: ");
    appendNumber(out, bodyLength);
    out.append("\r\nConnection: close\r\n");
    if (!requestId.empty()) {
        out.append("X-Request-Id: ");
        out.append(requestId);
        out.append("\r\n", 2);
    }
    out.append("\r\n{\"success\":false,\"code\":\"");
    out.append(code);
    out.append("\",\"message\":\"");
    out.append(message);
    out.append("\"}");
}

void appendJsonString(std::string& out, std::string_view text) {
    static const char kHex[] = "0123456789abcdef";
    out += '"';
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c >= 0x7f) {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 15];
        } else {
            out += ch;
        }
    }
    out += '"';
}

void formatChunkHeader(Buffer& out, std::size_t length) {
    char* p = out.reserve(20);
    auto [end, ec] = std::to_chars(p, p + 18, length, 16);
    (void)ec;
    end[0] = '\r';
    end[1] = '\n';
    out.commit(static_cast<std::size_t>(end - p) + 2);
}

} // namespace keel::http
