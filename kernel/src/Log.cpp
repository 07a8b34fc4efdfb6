#include "Log.hpp"

#include <cstdio>
#include <ctime>
#include <sys/time.h>

namespace keel::kernel {

namespace {

LogLevel gLevel = LogLevel::info;
Log::Sink gSink;

void writeStderr(LogLevel level, std::string_view source, std::string_view text) {
    timeval tv{};
    gettimeofday(&tv, nullptr);
    tm parts{};
    gmtime_r(&tv.tv_sec, &parts);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &parts);
    std::fprintf(stderr, "%s.%03ldZ %-5.*s %.*s: %.*s\n", stamp, static_cast<long>(tv.tv_usec / 1000),
                 static_cast<int>(toString(level).size()), toString(level).data(),
                 static_cast<int>(source.size()), source.data(), static_cast<int>(text.size()), text.data());
}

} // namespace

std::string_view toString(LogLevel level) {
    switch (level) {
    case LogLevel::trace: return "TRACE";
    case LogLevel::debug: return "DEBUG";
    case LogLevel::info: return "INFO";
    case LogLevel::warn: return "WARN";
    case LogLevel::error: return "ERROR";
    }
    return "?";
}

void Log::write(LogLevel level, std::string_view source, std::string_view text) {
    if (level < gLevel) return;
    if (gSink)
        gSink(level, source, text);
    else
        writeStderr(level, source, text);
}

void Log::setLevel(LogLevel level) { gLevel = level; }
LogLevel Log::level() { return gLevel; }

Log::Sink Log::setSink(Sink sink) {
    Sink old = std::move(gSink);
    gSink = std::move(sink);
    return old;
}

} // namespace keel::kernel
