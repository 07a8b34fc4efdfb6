#pragma once

// The file API's directory listing: the entries of a directory as JSON,
// [{"name","type":"file|directory|symlink|other","size","mtime"}], sorted by name (bytewise),
// without the atomic writer's temporary files and, unless allowed, without dotfiles.

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace keel_fs {

struct DirEntry {
    std::string name;
    const char* type = "other"; // "file", "directory", "symlink", "other"
    std::uint64_t size = 0;     // bytes for files and symlinks (the target's length), else 0
    std::time_t mtime = 0;
};

/// Reads the directory `dirFd` (any fd of it, O_PATH included; not closed), sorted by name.
/// Blocks: thread pool only. Returns 0 or a negative errno.
int readDirectory(int dirFd, bool showDotfiles, std::vector<DirEntry>* out);

/// The JSON array for `entries`. Names are escaped; bytes that are not UTF-8 become U+FFFD
/// (the JSON stays valid; such names cannot be requested through the API anyway).
std::string directoryJson(const std::vector<DirEntry>& entries);

/// "2026-11-26T06:15:19Z".
std::string isoTimeUtc(std::time_t t);

/// `text` as a JSON string literal, quotes included (escapes as directoryJson does).
std::string jsonString(std::string_view text);

} // namespace keel_fs
