#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace keel::kernel {

enum class LogLevel { trace = 0, debug, info, warn, error };

std::string_view toString(LogLevel level);

/// The kernel's log: one line per message, "LEVEL source: text", to standard error by
/// default. Tests replace the sink to read what was logged. Loop thread only.
class Log {
public:
    using Sink = std::function<void(LogLevel, std::string_view source, std::string_view text)>;

    static void write(LogLevel level, std::string_view source, std::string_view text);
    static void setLevel(LogLevel level);
    static LogLevel level();
    /// Replaces the sink; returns the previous one (restore it when done). An empty sink
    /// restores the default (standard error).
    static Sink setSink(Sink sink);
};

inline void logInfo(std::string_view source, std::string_view text) { Log::write(LogLevel::info, source, text); }
inline void logWarn(std::string_view source, std::string_view text) { Log::write(LogLevel::warn, source, text); }
inline void logError(std::string_view source, std::string_view text) { Log::write(LogLevel::error, source, text); }

} // namespace keel::kernel
