#pragma once

// Path safety shared by the fs plugin's handlers (`static` and `files`): a request path is
// first checked lexically (safeRelative), then every open happens beneath the root's
// directory fd through openat2(2), so neither a crafted path nor a symlink can reach a file
// outside the root. Threading: safeRelative anywhere; Root::open and the open* calls block,
// so they run on the thread pool (or at site load).

#include <sys/types.h>

#include <memory>
#include <string>
#include <string_view>

namespace keel_fs {

/// The length of the UTF-8 sequence starting at s[i], or 0 when it is invalid: overlong
/// forms, surrogates and code points above U+10FFFF included.
std::size_t utf8Length(std::string_view s, std::size_t i);

/// What a dotfile segment (a name starting with '.') gets: 403, 404, or served.
enum class Dotfiles { deny, ignore, allow };

/// The policy a configuration names ("deny", "ignore", "allow"); false for anything else
/// (each handler words its own error).
inline bool dotfilesFromName(std::string_view name, Dotfiles& out) {
    if (name == "deny")
        out = Dotfiles::deny;
    else if (name == "ignore")
        out = Dotfiles::ignore;
    else if (name == "allow")
        out = Dotfiles::allow;
    else
        return false;
    return true;
}

/// The result of safeRelative: `rel` ("" = the root itself, else "a/b.txt": no leading,
/// trailing or doubled '/') when status is 0; otherwise 403 or 404 and `rel` is empty.
struct SafePath {
    std::string rel;
    int status = 0;
};

/// Validates a decoded request path (the kernel has already percent-decoded it once and
/// rejected %00 / bad percent-encoding; it is not decoded again, so "%2e%2e" stays a literal
/// name) and returns the relative path, or 404 for: any ".." or "." segment, backslashes,
/// NUL and other control characters (and DEL), invalid or overlong UTF-8, names starting
/// ".keel-tmp-" (the file API's temporary files); dotfile segments unless `dotfiles` is
/// allow (deny: 403, ignore: 404). Leading, trailing and repeated '/' are dropped.
SafePath safeRelative(std::string_view decodedPath, Dotfiles dotfiles);

/// True when `name` (one segment) is a file API temporary file.
bool isTempName(std::string_view name);

/// A root directory requests can never leave: an O_PATH|O_DIRECTORY fd; every open goes
/// through openat2 relative to it with RESOLVE_NO_MAGICLINKS, and unless followSymlinks
/// also RESOLVE_BENEATH (symlinks are followed only while they stay inside the root). With
/// followSymlinks, symlinks may point anywhere (the lexical checks of safeRelative still
/// hold for the request path itself). A path that would leave the root answers -ENOENT
/// (openat2's EXDEV), so callers map it to 404 like a missing file. Where openat2 is missing
/// or refused, the same rules are applied one segment at a time (O_NOFOLLOW, symlinks read
/// and resolved against the directories walked, procfs symlinks refused). Thread-safe (the
/// fd never changes); the blocking calls belong on the thread pool.
class Root {
public:
    /// Opens `absPath` (mkdir -p first when `create`). Throws std::runtime_error naming the
    /// path and the errno text.
    static std::shared_ptr<Root> open(const std::string& absPath, bool create);

    ~Root();
    Root(const Root&) = delete;
    Root& operator=(const Root&) = delete;

    const std::string& path() const { return path_; }
    int fd() const { return fd_; }

    /// openat2(rel, flags | O_CLOEXEC, mode) beneath the root; rel "" opens the root itself.
    /// Returns the fd or -errno.
    int openBeneath(std::string_view rel, int flags, mode_t mode = 0,
                    bool followSymlinks = false) const;
    /// The directory that holds `rel` opened beneath the root (O_PATH|O_DIRECTORY), and the
    /// last segment's name in `leaf`, for mkdirat/renameat/unlinkat/fstatat. Returns the fd
    /// or -errno (-EINVAL for rel "": the root has no parent inside itself).
    int openParent(std::string_view rel, std::string* leaf, bool followSymlinks = false) const;

    /// Tests: false walks every path by hand as on a kernel without openat2 (Linux < 5.6,
    /// or a seccomp filter refusing it); true probes openat2 again.
    static void useOpenat2ForTesting(bool use);

private:
    Root(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}

    std::string path_;
    int fd_;
};

using RootPtr = std::shared_ptr<Root>;

} // namespace keel_fs
