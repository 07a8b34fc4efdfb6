#include "AccessLog.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace keel::http {

namespace {

constexpr std::size_t kFlushAt = 32 * 1024;

void appendNumber(Buffer& out, std::uint64_t n) {
    char* p = out.reserve(20);
    auto [end, ec] = std::to_chars(p, p + 20, n);
    (void)ec;
    out.commit(static_cast<std::size_t>(end - p));
}

void appendHex(Buffer& out, std::string_view prefix, unsigned char c) {
    static const char kHex[] = "0123456789abcdef";
    out.append(prefix);
    out.push(kHex[c >> 4]);
    out.push(kHex[c & 15]);
}

// nginx's escaping for log fields: '"', '\' and bytes outside printable ASCII as \xHH, so a
// hostile User-Agent cannot forge a line or a field.
void appendLogField(Buffer& out, std::string_view text) {
    if (text.empty()) {
        out.push('-');
        return;
    }
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
            appendHex(out, "\\x", c);
        else
            out.push(ch);
    }
}

void appendJsonString(Buffer& out, std::string_view text) {
    out.push('"');
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (ch) {
        case '"': out.append("\\\"", 2); break;
        case '\\': out.append("\\\\", 2); break;
        case '\n': out.append("\\n", 2); break;
        case '\r': out.append("\\r", 2); break;
        case '\t': out.append("\\t", 2); break;
        default:
            // Control characters and bytes that are not ASCII (the request may not be UTF-8)
            // are escaped, so every line stays valid JSON.
            if (c < 0x20 || c >= 0x7f)
                appendHex(out, "\\u00", c);
            else
                out.push(ch);
        }
    }
    out.push('"');
}

} // namespace

AccessLog::AccessLog(AccessLogConfig config) : config_(std::move(config)) {
    fd_ = ::open(config_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0)
        throw ConfigError("access_log.path: cannot open \"" + config_.path +
                          "\" for appending: " + std::strerror(errno));
}

AccessLog::~AccessLog() {
    flush();
    if (fd_ >= 0) ::close(fd_);
}

void AccessLog::write(const AccessEntry& entry, std::string_view time) {
    if (config_.format == AccessLogConfig::Format::json)
        formatJson(buffer_, entry, time);
    else
        formatCombined(buffer_, entry, time);
    if (buffer_.size() >= kFlushAt) flush();
}

bool AccessLog::flush() {
    while (!buffer_.empty()) {
        // A regular file: write(2) does not block on the network, only on the page cache.
        const ssize_t n = ::write(fd_, buffer_.data(), buffer_.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            buffer_.clear();
            return false;
        }
        buffer_.consume(static_cast<std::size_t>(n));
    }
    return true;
}

bool AccessLog::reopen(std::string& error) {
    flush();
    const int fd = ::open(config_.path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        error = "cannot reopen the access log \"" + config_.path + "\": " + std::strerror(errno);
        return false;
    }
    ::close(fd_);
    fd_ = fd;
    return true;
}

void AccessLog::formatCombined(Buffer& out, const AccessEntry& e, std::string_view logTime) {
    // $remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer"
    // "$http_user_agent" "$request_id"
    out.append(e.remote);
    out.append(" - - [");
    out.append(logTime);
    out.append("] \"");
    appendLogField(out, e.method);
    out.push(' ');
    appendLogField(out, e.target);
    out.append(e.versionMinor >= 1 ? std::string_view(" HTTP/1.1\" ")
                                   : std::string_view(" HTTP/1.0\" "));
    appendNumber(out, static_cast<std::uint64_t>(e.status));
    out.push(' ');
    appendNumber(out, e.bytes);
    out.append(" \"");
    appendLogField(out, e.referer);
    out.append("\" \"");
    appendLogField(out, e.userAgent);
    out.append("\" \"");
    appendLogField(out, e.requestId);
    out.append("\"\n");
}

void AccessLog::formatJson(Buffer& out, const AccessEntry& e, std::string_view isoTime) {
    out.append("{\"time\":\"");
    out.append(isoTime);
    out.append("\",\"site\":");
    appendJsonString(out, e.site);
    out.append(",\"remote\":");
    appendJsonString(out, e.remote);
    out.append(",\"method\":");
    appendJsonString(out, e.method);
    out.append(",\"target\":");
    appendJsonString(out, e.target);
    out.append(e.versionMinor >= 1 ? std::string_view(",\"protocol\":\"HTTP/1.1\"")
                                   : std::string_view(",\"protocol\":\"HTTP/1.0\""));
    out.append(",\"status\":");
    appendNumber(out, static_cast<std::uint64_t>(e.status));
    out.append(",\"bytes\":");
    appendNumber(out, e.bytes);
    out.append(",\"duration_ms\":");
    appendNumber(out, e.durationMs);
    out.append(",\"referer\":");
    appendJsonString(out, e.referer);
    out.append(",\"user_agent\":");
    appendJsonString(out, e.userAgent);
    out.append(",\"request_id\":");
    appendJsonString(out, e.requestId);
    out.append("}\n");
}

} // namespace keel::http
