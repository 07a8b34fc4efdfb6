#pragma once

// The bytes of a response head, built straight into the connection's output buffer: status
// line, the cached Date line, the pipeline's headers (checked: a name or value that could
// split the response is dropped), framing (Content-Length or chunked) and Connection.
// Pure functions and a clock cache: unit-tested without sockets.

#include <keel/Text.hpp>
#include <keel/abi.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "Buffer.hpp"

namespace keel::http {

/// "OK", "Not Found", ...; "Unknown" for a code without a registered phrase.
std::string_view reasonPhrase(int status);

/// Character classes, one table lookup each (inline: the parser asks per character).
struct CharTable {
    bool token[256] = {}; // RFC 9110 tchar: "!#$%&'*+-.^_`|~" DIGIT ALPHA
    bool value[256] = {}; // field-value: visible characters, obs-text, SP, HTAB
    bool host[256] = {};  // a Host: RFC 3986 reg-name / IP-literal / port characters
    constexpr CharTable() {
        for (int c = 0; c < 256; ++c) {
            const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            token[c] = alnum;
            host[c] = alnum;
            value[c] = (c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' || c == '\t';
        }
        for (char c : std::string_view("!#$%&'*+-.^_`|~"))
            token[static_cast<unsigned char>(c)] = true;
        for (char c : std::string_view("-._~!$&'()*+,;=:[]%"))
            host[static_cast<unsigned char>(c)] = true;
    }
};
inline constexpr CharTable kChars;

/// Whether every byte of `s` is in `table` (a CharTable row). Four bytes per step, their
/// entries combined before one branch: a byte loop costs a branch per byte, and these run
/// over every Host and header name.
inline bool allIn(const bool (&table)[256], std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        if (!(table[p[i]] & table[p[i + 1]] & table[p[i + 2]] & table[p[i + 3]])) return false;
    bool ok = true;
    for (; i < n; ++i) ok &= table[p[i]];
    return ok;
}

/// A non-empty token.
bool isToken(std::string_view s);
/// A field value safe to send: visible characters, obs-text, SP and HTAB only.
bool isFieldValue(std::string_view s);
/// Case-insensitive ASCII comparison.
using keel::equalsIgnoreCase;
/// Adds one to the lowercase hex number in digits[0, count), in place, like an odometer
/// (usually one digit changes; all 'f's wrap to all '0's). For request ids.
inline void countUpHex(char* digits, std::size_t count) {
    for (std::size_t i = count; i-- > 0;) {
        char& digit = digits[i];
        if (digit == 'f') {
            digit = '0';
            continue;
        }
        digit = digit == '9' ? 'a' : static_cast<char>(digit + 1);
        return;
    }
}
/// Whether a comma-separated header value lists `token` (case-insensitive): "keep-alive, Upgrade".
bool hasToken(std::string_view value, std::string_view token);

/// The wall-clock texts responses and logs need, reformatted only when the second changes
/// (checked against the loop's cached clock, so a response costs one comparison).
class Clock {
public:
    /// "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
    std::string_view dateLine(std::uint64_t loopMs) {
        if (loopMs >= validUntil_) refresh(loopMs);
        return {date_, dateLength_};
    }
    /// "06/Nov/1994:08:49:37 +0000" (the combined log format's time)
    std::string_view logTime(std::uint64_t loopMs) {
        if (loopMs >= validUntil_) refresh(loopMs);
        return {log_, logLength_};
    }
    /// "1994-11-06T08:49:37Z"
    std::string_view isoTime(std::uint64_t loopMs) {
        if (loopMs >= validUntil_) refresh(loopMs);
        return {iso_, isoLength_};
    }
    /// Formats for a given Unix time, kept until the loop's clock reaches `validUntilMs`.
    void set(std::int64_t unixSeconds, std::uint64_t validUntilMs);

private:
    void refresh(std::uint64_t loopMs);

    std::uint64_t validUntil_ = 0;
    char date_[48] = {};
    std::size_t dateLength_ = 0;
    char log_[32] = {};
    std::size_t logLength_ = 0;
    char iso_[24] = {};
    std::size_t isoLength_ = 0;
};

/// What the connection knows about the response it is about to start.
struct HeadSpec {
    int status = 200;
    int versionMinor = 1;            // the request's HTTP/1.x
    std::int64_t contentLength = -1; // -1: streamed
    bool head = false;               // a HEAD request: no body follows whatever the framing says
    bool close = false;              // the connection closes after this response
    std::string_view requestId;      // echoed as X-Request-Id when non-empty; visible ASCII
                                     // (the connection's own, or a trusted proxy's that passed
                                     // isRequestId), so it is not checked again here
};

/// What formatHead decided.
struct HeadResult {
    bool chunked = false;    // the body goes out in chunks
    bool bodyAllowed = true; // the status allows a body and the request was not HEAD
    bool close = false;      // the connection closes after this response
    std::size_t dropped = 0; // headers dropped because their name or value was unsafe
};

/// Appends the head. The pipeline's Content-Length, Transfer-Encoding, Connection and
/// Keep-Alive headers are not copied (framing is the transport's); "Connection: close" among
/// them makes the response close the connection.
HeadResult formatHead(Buffer& out, const HeadSpec& spec, const keel_header* headers,
                      std::size_t count, std::string_view dateLine);

/// A complete response the transport makes itself (protocol errors, 421): the kernel's error
/// body {"success":false,"code":...,"message":...}, always with Connection: close.
void formatError(Buffer& out, int status, std::string_view code, std::string_view message,
                 std::string_view dateLine, std::string_view requestId = {});

/// Appends `text` as a JSON string literal (quotes, escapes; bytes outside printable ASCII
/// as \u00XX, so the result is valid JSON whatever the request sent).
void appendJsonString(std::string& out, std::string_view text);

/// "1a2b\r\n" before a chunk of `length` bytes.
void formatChunkHeader(Buffer& out, std::size_t length);

} // namespace keel::http
