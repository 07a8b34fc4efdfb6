#include "AtomicWrite.hpp"

#include "Root.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace keel_fs {

namespace {

/// A random name; getrandom(2) without flags only blocks before the kernel's pool is ready.
std::string randomTempName() {
    unsigned char bytes[8];
    std::size_t got = 0;
    while (got < sizeof bytes) {
        const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
        if (n > 0)
            got += static_cast<std::size_t>(n);
        else if (errno != EINTR)
            break;
    }
    std::string name(kTempPrefix);
    char hex[3];
    for (unsigned char b : bytes) {
        std::snprintf(hex, sizeof hex, "%02x", b);
        name += hex;
    }
    return name;
}

} // namespace

AtomicWritePtr AtomicWrite::begin(int dirFd, std::string leaf, mode_t mode, int* err) {
    *err = 0;
    const int dir = ::fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
    if (dir < 0) {
        *err = -errno;
        return nullptr;
    }
    // A name collision (or a cleanup that unlinked our file before we held its lock) only
    // costs another try.
    for (int attempt = 0; attempt < 8; ++attempt) {
        std::string temp = randomTempName();
        const int fd = ::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0) {
            if (errno == EEXIST) continue;
            *err = -errno;
            ::close(dir);
            return nullptr;
        }
        struct stat st {};
        if (::flock(fd, LOCK_EX) != 0 || ::fstat(fd, &st) != 0) {
            *err = -errno;
            ::unlinkat(dir, temp.c_str(), 0);
            ::close(fd);
            ::close(dir);
            return nullptr;
        }
        if (st.st_nlink == 0) { // a concurrent cleanup removed it between open and lock
            ::close(fd);
            continue;
        }
        // Exactly `mode`: O_CREAT's mode went through the umask.
        if (::fchmod(fd, mode) != 0) {
            *err = -errno;
            ::unlinkat(dir, temp.c_str(), 0);
            ::close(fd);
            ::close(dir);
            return nullptr;
        }
        return AtomicWritePtr(new AtomicWrite(dir, fd, std::move(leaf), std::move(temp), mode));
    }
    ::close(dir);
    *err = -EEXIST;
    return nullptr;
}

AtomicWrite::AtomicWrite(int dirFd, int fd, std::string leaf, std::string temp, mode_t mode)
    : dirFd_(dirFd), fd_(fd), leaf_(std::move(leaf)), temp_(std::move(temp)), mode_(mode) {}

AtomicWrite::~AtomicWrite() {
    discard();
    if (dirFd_ >= 0) ::close(dirFd_);
}

int AtomicWrite::write(std::string_view data) {
    if (finished_) return -EBADF;
    while (!data.empty()) {
        const ssize_t n = ::write(fd_, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
        size_ += static_cast<std::uint64_t>(n);
    }
    return 0;
}

int AtomicWrite::copyFrom(int srcFd) {
    if (finished_) return -EBADF;
    loff_t in = 0;
    for (;;) {
        const ssize_t n = ::copy_file_range(srcFd, &in, fd_, nullptr, 1 << 30, 0);
        if (n > 0) {
            size_ += static_cast<std::uint64_t>(n);
            continue;
        }
        if (n == 0) return 0;
        if (errno == EINTR) continue;
        if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
            return -errno;
        break; // not between these files: copy through a buffer from where it stopped
    }
    std::string buffer(256 * 1024, '\0');
    for (;;) {
        const ssize_t n = ::pread(srcFd, buffer.data(), buffer.size(), in);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (n == 0) return 0;
        in += n;
        if (const int rc = write(std::string_view(buffer.data(), static_cast<std::size_t>(n))))
            return rc;
    }
}

int AtomicWrite::commit(Committed* out) {
    if (finished_) return -EBADF;
    if (::fdatasync(fd_) != 0) {
        const int rc = -errno;
        discard();
        return rc;
    }
    struct stat old {};
    Committed result;
    if (::fstatat(dirFd_, leaf_.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0) {
        result.replaced = true;
        if (S_ISDIR(old.st_mode)) {
            discard();
            return -EISDIR;
        }
        if (S_ISREG(old.st_mode)) {
            result.oldSize = static_cast<std::uint64_t>(old.st_size);
            if ((old.st_mode & 07777) != mode_ && ::fchmod(fd_, old.st_mode & 07777) != 0) {
                const int rc = -errno;
                discard();
                return rc;
            }
        }
    }
    if (::renameat(dirFd_, temp_.c_str(), dirFd_, leaf_.c_str()) != 0) {
        const int rc = -errno;
        discard();
        return rc;
    }
    finished_ = true;
    result.renamed = true;
    ::close(fd_); // releases the lock: the name is no longer a temporary one
    fd_ = -1;
    if (out != nullptr) *out = result;
    // The rename is durable once the directory is: O_PATH descriptors cannot be fsync'ed, so
    // open the directory itself. EINVAL: a file system without directory fsync.
    const int dir = ::openat(dirFd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return -errno;
    const int rc = ::fsync(dir) == 0 || errno == EINVAL ? 0 : -errno;
    ::close(dir);
    return rc;
}

void AtomicWrite::discard() {
    if (finished_) return;
    finished_ = true;
    ::unlinkat(dirFd_, temp_.c_str(), 0);
    ::close(fd_);
    fd_ = -1;
}

namespace {

constexpr int kMaxDepth = 128;

void scanDirectory(int dirFd, TreeScan& scan, int depth) {
    DIR* dir = ::fdopendir(dirFd);
    if (dir == nullptr) {
        if (scan.error == 0) scan.error = -errno;
        ::close(dirFd);
        return;
    }
    while (const dirent* entry = ::readdir(dir)) {
        const std::string_view name = entry->d_name;
        if (name == "." || name == "..") continue;
        struct stat st {};
        if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT && scan.error == 0) scan.error = -errno;
            continue;
        }
        if (S_ISREG(st.st_mode) && isTempName(name)) {
            // A live writer holds its lock; a dead one's lock went with it.
            const int fd = ::openat(::dirfd(dir), entry->d_name,
                                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) continue;
            if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
                if (::unlinkat(::dirfd(dir), entry->d_name, 0) == 0) ++scan.removed;
            } else {
                ++scan.skipped;
            }
            ::close(fd);
        } else if (S_ISREG(st.st_mode)) {
            scan.bytes += static_cast<std::uint64_t>(st.st_size);
            ++scan.files;
        } else if (S_ISDIR(st.st_mode) && depth < kMaxDepth) {
            const int child = ::openat(::dirfd(dir), entry->d_name,
                                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (child < 0) {
                if (scan.error == 0) scan.error = -errno;
                continue;
            }
            scanDirectory(child, scan, depth + 1);
        }
    }
    ::closedir(dir);
}

} // namespace

TreeScan cleanLeftovers(int rootFd) {
    TreeScan scan;
    const int fd = ::openat(rootFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        scan.error = -errno;
        return scan;
    }
    scanDirectory(fd, scan, 0);
    return scan;
}

} // namespace keel_fs
