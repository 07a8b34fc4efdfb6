#pragma once

// The access log of a site: one line per response, in nginx's "combined" format (with the
// request id appended) or as JSON lines. Lines collect in memory and reach the file when
// 32 KiB have gathered, once a second (Server's timer), and at stop: a busy server makes one
// write(2) per 32 KiB, not one per request. Loop thread only.

#include <cstdint>
#include <string>
#include <string_view>

#include "Buffer.hpp"
#include "Config.hpp"

namespace keel::http {

/// What one line says; every view is borrowed for the call.
struct AccessEntry {
    std::string_view remote;
    std::string_view method;
    std::string_view target;
    int versionMinor = 1;
    int status = 0;
    std::uint64_t bytes = 0; // body bytes sent
    std::string_view referer;
    std::string_view userAgent;
    std::string_view requestId;
    std::string_view site;
    std::uint64_t durationMs = 0;
};

class AccessLog {
public:
    /// Opens (creates, appends to) the file. Throws ConfigError naming the path and the reason.
    explicit AccessLog(AccessLogConfig config);
    ~AccessLog();
    AccessLog(const AccessLog&) = delete;
    AccessLog& operator=(const AccessLog&) = delete;

    /// Appends a line; `time` is Clock::logTime (combined) or Clock::isoTime (json).
    void write(const AccessEntry& entry, std::string_view time);
    /// Writes what is buffered. Returns false (and drops the lines) when the file refuses them.
    bool flush();
    /// Reopens the file (after log rotation: SIGHUP). Keeps the old one when that fails.
    bool reopen(std::string& error);

    AccessLogConfig::Format format() const { return config_.format; }
    const std::string& path() const { return config_.path; }
    bool pending() const { return !buffer_.empty(); }

    static void formatCombined(Buffer& out, const AccessEntry& entry, std::string_view logTime);
    static void formatJson(Buffer& out, const AccessEntry& entry, std::string_view isoTime);

private:
    AccessLogConfig config_;
    int fd_ = -1;
    Buffer buffer_;
};

} // namespace keel::http
