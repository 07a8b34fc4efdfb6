#include "DirJson.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "Root.hpp"

namespace keel_fs {

std::string jsonString(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    for (std::size_t i = 0; i < text.size();) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c < 0x20 || c == 0x7F) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", c);
            out += esc;
            ++i;
        } else {
            const std::size_t n = utf8Length(text, i);
            if (n == 0) {
                out += "\\ufffd";
                ++i;
            } else {
                out.append(text.substr(i, n));
                i += n;
            }
        }
    }
    out += '"';
    return out;
}

std::string isoTimeUtc(std::time_t t) {
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

int readDirectory(int dirFd, bool showDotfiles, std::vector<DirEntry>* out) {
    out->clear();
    const int fd = ::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        const int rc = -errno;
        ::close(fd);
        return rc;
    }
    while (const dirent* entry = ::readdir(dir)) {
        const std::string_view name = entry->d_name;
        if (name == "." || name == ".." || isTempName(name)) continue;
        if (name.front() == '.' && !showDotfiles) continue;
        struct stat st {};
        // Gone meanwhile (a concurrent delete): not listed.
        if (::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        DirEntry e;
        e.name = name;
        if (S_ISREG(st.st_mode))
            e.type = "file";
        else if (S_ISDIR(st.st_mode))
            e.type = "directory";
        else if (S_ISLNK(st.st_mode))
            e.type = "symlink";
        e.size =
            S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
        e.mtime = st.st_mtim.tv_sec;
        out->push_back(std::move(e));
    }
    ::closedir(dir);
    std::sort(out->begin(), out->end(),
              [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return 0;
}

std::string directoryJson(const std::vector<DirEntry>& entries) {
    std::string out = "[";
    for (const auto& e : entries) {
        if (out.size() > 1) out += ',';
        out += "{\"name\":" + jsonString(e.name) + ",\"type\":\"" + e.type +
               "\",\"size\":" + std::to_string(e.size) + ",\"mtime\":\"" + isoTimeUtc(e.mtime) +
               "\"}";
    }
    out += ']';
    return out;
}

} // namespace keel_fs
