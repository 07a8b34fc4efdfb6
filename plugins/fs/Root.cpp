#include "Root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace keel_fs {

// The length of the UTF-8 sequence starting at s[i], or 0 when it is invalid: overlong
// forms (C0, C1, E0 80..9F, F0 80..8F), surrogates and code points above U+10FFFF included.
std::size_t utf8Length(std::string_view s, std::size_t i) {
    const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = b(i);
    if (c < 0x80) return 1;
    std::size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    if (b(i + 1) < lo || b(i + 1) > hi) return 0;
    for (std::size_t k = 2; k < n; ++k)
        if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
    return n;
}

namespace {


long openat2Retry(int dirfd, const char* path, open_how* how) {
    // RESOLVE_BENEATH answers EAGAIN when a rename raced the lookup: try again a few times.
    for (int attempt = 0;; ++attempt) {
        const long fd = ::syscall(SYS_openat2, dirfd, path, how, sizeof *how);
        if (fd >= 0 || errno != EAGAIN || attempt == 8) return fd;
    }
}

} // namespace

bool isTempName(std::string_view name) {
    return name.starts_with(".keel-tmp-");
}

SafePath safeRelative(std::string_view path, Dotfiles dotfiles) {
    SafePath out;
    out.rel.reserve(path.size());
    for (std::size_t i = 0; i < path.size();) {
        const unsigned char c = static_cast<unsigned char>(path[i]);
        if (c < 0x20 || c == 0x7F || c == '\\') return {{}, 404};
        const std::size_t n = utf8Length(path, i);
        if (n == 0) return {{}, 404};
        i += n;
    }
    int status = 0;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        std::size_t end = path.find('/', pos);
        if (end == std::string_view::npos) end = path.size();
        const std::string_view seg = path.substr(pos, end - pos);
        pos = end + 1;
        if (seg.empty()) continue;
        if (seg == "." || seg == ".." || isTempName(seg)) return {{}, 404};
        if (seg.front() == '.' && dotfiles != Dotfiles::allow) {
            // Keep scanning: a later ".." must still be a 404 whatever the dotfile policy.
            if (status == 0) status = dotfiles == Dotfiles::deny ? 403 : 404;
        }
        if (!out.rel.empty()) out.rel += '/';
        out.rel += seg;
    }
    if (status != 0) return {{}, status};
    return out;
}

std::shared_ptr<Root> Root::open(const std::string& absPath, bool create) {
    const std::string path = std::filesystem::path(absPath).lexically_normal().string();
    if (create) {
        std::error_code ec;
        std::filesystem::create_directories(path, ec);
        if (ec) throw std::runtime_error("cannot create root " + path + ": " + ec.message());
    }
    const int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        throw std::runtime_error("cannot open root " + path + ": " + std::strerror(err) +
                                 (err == ENOTDIR ? " (expected a directory)" : ""));
    }
    return std::shared_ptr<Root>(new Root(path, fd));
}

Root::~Root() {
    ::close(fd_);
}

int Root::openBeneath(std::string_view rel, int flags, mode_t mode, bool followSymlinks) const {
    const std::string name = rel.empty() ? std::string(".") : std::string(rel);
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
    how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
    how.resolve = RESOLVE_NO_MAGICLINKS | (followSymlinks ? 0 : RESOLVE_BENEATH);
    const long fd = openat2Retry(fd_, name.c_str(), &how);
    if (fd >= 0) return static_cast<int>(fd);
    return errno == EXDEV ? -ENOENT : -errno;
}

int Root::openParent(std::string_view rel, std::string* leaf, bool followSymlinks) const {
    if (rel.empty()) return -EINVAL;
    const auto slash = rel.rfind('/');
    const std::string_view dir =
        slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash);
    if (leaf != nullptr)
        leaf->assign(slash == std::string_view::npos ? rel : rel.substr(slash + 1));
    return openBeneath(dir, O_PATH | O_DIRECTORY, 0, followSymlinks);
}

} // namespace keel_fs
