#include "Root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

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

// Whether openat2 works here: -1 not known yet, 0 no, 1 yes. It does not before Linux 5.6
// (ENOSYS), nor where a seccomp filter refuses it (EPERM or ENOSYS: older container
// runtimes, valgrind); walkBeneath does its work then.
std::atomic<int> openat2State{-1};

bool haveOpenat2(int dirfd) {
    int state = openat2State.load(std::memory_order_relaxed);
    if (state < 0) {
        open_how how{};
        how.flags = O_PATH | O_CLOEXEC;
        how.resolve = RESOLVE_BENEATH;
        const long fd = ::syscall(SYS_openat2, dirfd, ".", &how, sizeof how);
        if (fd >= 0) ::close(static_cast<int>(fd));
        state = fd < 0 && (errno == ENOSYS || errno == EPERM) ? 0 : 1;
        openat2State.store(state, std::memory_order_relaxed);
    }
    return state == 1;
}

// The directories a walk holds open, innermost last. The first is the root's fd (not ours)
// until an absolute symlink or a ".." above the root replaces it with one of ours.
class DirStack {
public:
    explicit DirStack(int root) : fds_{root} {}
    ~DirStack() { closeAll(); }
    DirStack(const DirStack&) = delete;
    DirStack& operator=(const DirStack&) = delete;
    int top() const { return fds_.back(); }
    std::size_t depth() const { return fds_.size(); }
    void push(int fd) { fds_.push_back(fd); }
    void pop() {
        ::close(fds_.back());
        fds_.pop_back();
    }
    /// Makes `fd` (ours) the only directory: "/" for an absolute symlink, or the bottom
    /// one's parent.
    void reset(int fd) {
        closeAll();
        fds_.assign(1, fd);
        ownsBottom_ = true;
    }

private:
    void closeAll() {
        for (std::size_t i = ownsBottom_ ? 0 : 1; i < fds_.size(); ++i) ::close(fds_[i]);
    }
    std::vector<int> fds_;
    bool ownsBottom_ = false;
};

// Pushes the segments of `path` so that the first is popped first.
void pushSegments(std::vector<std::string>& pending, std::string_view path) {
    std::vector<std::string> segments;
    std::size_t pos = 0;
    while (pos <= path.size()) {
        std::size_t end = path.find('/', pos);
        if (end == std::string_view::npos) end = path.size();
        if (end > pos) segments.emplace_back(path.substr(pos, end - pos));
        pos = end + 1;
    }
    pending.insert(pending.end(), segments.rbegin(), segments.rend());
}

// What openat2 with RESOLVE_NO_MAGICLINKS (and RESOLVE_BENEATH unless followSymlinks) does,
// by hand, for a kernel or sandbox without it: one segment at a time, each opened with
// O_NOFOLLOW. A symlink's target is read and walked in its place, against the directories
// walked so far, which stay open: ".." pops one, so without followSymlinks it can never
// climb above the root, and neither can an absolute target (-EXDEV, as openat2 says). A
// symlink in procfs (/proc/self/fd/N, a magic link) is refused (-ELOOP); so are more than
// 40 symlinks. Returns the fd or -errno.
int walkBeneath(int rootfd, std::string_view rel, int flags, mode_t mode, bool followSymlinks) {
    DirStack dirs(rootfd);
    std::vector<std::string> pending;
    pushSegments(pending, rel);
    int links = 0;
    // Reads the symlink open at `fd` (O_PATH) and queues its target; -errno on refusal.
    auto followLink = [&](int fd) -> int {
        struct statfs fs {};
        if (::fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC) return -ELOOP;
        if (++links > 40) return -ELOOP;
        char target[4096];
        const ssize_t n = ::readlinkat(fd, "", target, sizeof target);
        if (n < 0) return -errno;
        if (static_cast<std::size_t>(n) == sizeof target) return -ENAMETOOLONG;
        const std::string_view text(target, static_cast<std::size_t>(n));
        if (!text.empty() && text.front() == '/') {
            if (!followSymlinks) return -EXDEV;
            const int slash = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (slash < 0) return -errno;
            dirs.reset(slash);
        }
        pushSegments(pending, text);
        return 0;
    };
    if (pending.empty()) pending.emplace_back(".");
    while (!pending.empty()) {
        const std::string segment = std::move(pending.back());
        pending.pop_back();
        const bool last = pending.empty();
        if (segment == "." && !last) continue;
        if (segment == "..") {
            if (dirs.depth() > 1) {
                dirs.pop();
            } else if (!followSymlinks) {
                return -EXDEV;
            } else {
                const int parent = ::openat(dirs.top(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (parent < 0) return -errno;
                dirs.reset(parent);
            }
            if (last) pending.emplace_back(".");
            continue;
        }
        const int fd = ::openat(dirs.top(), segment.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            if (last && errno == ENOENT && (flags & O_CREAT) != 0) {
                // A new file: created here, never through a symlink put in its place meanwhile.
                const int made = ::openat(dirs.top(), segment.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
                return made >= 0 ? made : -errno;
            }
            return -errno;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const int err = errno;
            ::close(fd);
            return -err;
        }
        if (S_ISLNK(st.st_mode)) {
            if (last && (flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
                ::close(fd); // O_EXCL never follows a symlink: the name exists
                return -EEXIST;
            }
            const int refused = followLink(fd);
            ::close(fd);
            if (refused != 0) return refused;
            if (last && pending.empty()) pending.emplace_back(".");
            continue;
        }
        if (last) {
            ::close(fd);
            // The segment as the caller asked for it, still without following a symlink that
            // replaced it since (that fails with ELOOP, or ENOTDIR with O_DIRECTORY).
            const int opened = ::openat(dirs.top(), segment.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
            return opened >= 0 ? opened : -errno;
        }
        if (!S_ISDIR(st.st_mode)) {
            ::close(fd);
            return -ENOTDIR;
        }
        dirs.push(fd);
    }
    return -ENOENT; // not reached: the last segment returns
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
    if (!haveOpenat2(fd_)) {
        const int fd = walkBeneath(fd_, rel, flags, how.mode, followSymlinks);
        return fd == -EXDEV ? -ENOENT : fd;
    }
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

void Root::useOpenat2ForTesting(bool use) {
    openat2State.store(use ? -1 : 0, std::memory_order_relaxed);
}

} // namespace keel_fs
