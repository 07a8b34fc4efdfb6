#pragma once

// Atomic replacement of a file (issue 5): the body goes into a temporary file
// ".keel-tmp-<16 hex>" created with O_CREAT|O_EXCL in the target's directory, which is
// fsync'ed, renamed over the target and followed by an fsync of the directory. A reader sees
// the old content or the new one, never a mix; after a crash the target is old or new and a
// temporary file may be left behind, which cleanLeftovers() removes at the next site load.
//
// A writer holds flock(LOCK_EX) on its temporary file for its whole life, so a cleanup that
// runs meanwhile (a reload, another worker process starting) skips files still being
// written: only a dead writer's lock is gone.
//
// Every call blocks on the file system: thread pool only. One AtomicWrite is used by one
// thread at a time (the SDK's offload hands it from job to job).

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace keel_fs {

/// The prefix of temporary files; Root's safeRelative refuses such names in requests and
/// isTempName (Root.hpp) recognises them.
inline constexpr std::string_view kTempPrefix = ".keel-tmp-";

class AtomicWrite;
using AtomicWritePtr = std::unique_ptr<AtomicWrite>;

class AtomicWrite {
public:
    /// Starts replacing `leaf` in the directory `dirFd` (any fd usable as an *at() directory,
    /// O_PATH included; duplicated, the caller keeps its own). The new file gets `mode`
    /// exactly (not masked by the umask) unless it replaces a regular file, whose mode it
    /// keeps. Returns null and sets *err to a negative errno on failure.
    static AtomicWritePtr begin(int dirFd, std::string leaf, mode_t mode, int* err);

    ~AtomicWrite(); // discard() unless committed
    AtomicWrite(const AtomicWrite&) = delete;
    AtomicWrite& operator=(const AtomicWrite&) = delete;

    /// Appends all of `data`. Returns 0 or a negative errno (ENOSPC, EDQUOT, EIO...).
    int write(std::string_view data);
    /// Appends the whole of `srcFd` from its offset 0 (copy_file_range, or read/write across
    /// file systems). Returns 0 or a negative errno.
    int copyFrom(int srcFd);
    std::uint64_t size() const { return size_; }

    struct Committed {
        bool renamed = false;      // the new content is in place
        bool replaced = false;     // the target existed (200) or not (201)
        std::uint64_t oldSize = 0; // the replaced regular file's size
    };
    /// fdatasync, the old file's mode, renameat over the target, fsync of the directory.
    /// Returns 0, or a negative errno; the temporary file is gone either way (renamed, or
    /// removed on failure). `out` is filled when the rename happened, even if the directory's
    /// fsync then failed (the content is in place; its durability is what is in doubt).
    int commit(Committed* out);
    /// Removes the temporary file. Idempotent; harmless after commit.
    void discard();

    const std::string& tempName() const { return temp_; }
    const std::string& leaf() const { return leaf_; }

private:
    AtomicWrite(int dirFd, int fd, std::string leaf, std::string temp, mode_t mode);

    int dirFd_;
    int fd_;
    std::string leaf_;
    std::string temp_;
    mode_t mode_;
    std::uint64_t size_ = 0;
    bool finished_ = false;
};

/// What a walk of a root found.
struct TreeScan {
    std::uint64_t removed = 0; // leftover temporary files unlinked
    std::uint64_t skipped = 0; // temporary files a live writer still holds
    std::uint64_t bytes = 0;   // total size of the regular files (temporary ones excluded)
    std::uint64_t files = 0;
    int error = 0; // the first negative errno met (the walk goes on past it)
};

/// Walks the tree under `rootFd` without following symlinks: removes leftover temporary files
/// (those no live writer holds a lock on) and adds up the regular files' sizes (the quota's
/// starting point).
TreeScan cleanLeftovers(int rootFd);

} // namespace keel_fs
