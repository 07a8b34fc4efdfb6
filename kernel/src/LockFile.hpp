#pragma once

#include <string>
#include <vector>

#include "Catalog.hpp"
#include "SiteConfig.hpp"

namespace keel::kernel {

/// A site's lock file (package-lock.json for plugins), beside its manifest
/// (SiteConfig::lockFile): the exact plugin files the site was checked with.
///
///   {
///     "lockfileVersion": 1,
///     "site": "demo",
///     "plugins": {
///       "files": {"version": "1.2.0", "abi": "1.0", "file": "keel_files.so", "sha256": "9f86d0..."}
///     }
///   }
///
/// Every plugin the site runs is in it (those it names and those they require), by name.
/// `keel run` with a lock refuses a plugin whose version or sha256 differs from it.
struct Lock {
    struct Plugin {
        std::string name;
        std::string version; // exact, as the manifest says
        std::string abi;     // "MAJOR.MINOR" the library was built for
        std::string file;    // file name only: the plugin path may differ between machines
        std::string sha256;  // of the file, lower-case hex
    };
    std::string site;
    std::vector<Plugin> plugins; // by name
};

/// The lock of `site` from the installed plugins. Throws ConfigError with SiteCheck's
/// problems when the site does not check out (a lock pins a working set, never a broken
/// one); std::runtime_error when a plugin file cannot be read.
Lock makeLock(const SiteConfig& site, const Catalog& catalog);

/// The lock as written: 2-space indents, fixed key order, a final newline.
std::string lockJson(const Lock& lock);

/// Writes `lock` to `path` atomically: a temporary file in the same folder, fsync, rename,
/// fsync of the folder; a crash leaves the old lock or the new one, never half of one.
/// Throws std::runtime_error naming the path.
void writeLock(const std::string& path, const Lock& lock);

/// Reads and checks a lock file. Throws ConfigError ("FILE:LINE: KEY: problem").
Lock readLock(const std::string& path);

/// How the installed plugins differ from the site's lock: a plugin missing, of another
/// version, or whose file's sha256 differs; a locked plugin the site no longer uses; a used
/// plugin not locked. Each message names the plugin, what the lock expects and what is
/// installed. Empty when they match. A missing or unreadable lock is a problem too.
std::vector<std::string> checkLock(const SiteConfig& site, const Catalog& catalog);

/// What `keel run` does about a site without a lock file: `error` (refuse to run it) in
/// production unless `noLock`; else a `warning` to log. Both empty when the lock exists
/// (then checkLock() decides).
struct LockPolicy {
    std::string error;
    std::string warning;
};
LockPolicy lockPolicy(const SiteConfig& site, bool noLock);

/// Closes a file descriptor on every path out.
struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd();
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    /// Stops owning the descriptor (it stays open) and returns it.
    int release() {
        const int f = fd;
        fd = -1;
        return f;
    }
};

/// `path` opened read-only (close-on-exec). Throws std::runtime_error: "cannot read PATH: why".
Fd openToRead(const std::string& path);

/// The sha256 of a file's bytes, lower-case hex, read in chunks. Throws std::runtime_error.
std::string sha256File(const std::string& path);
/// The same for the file open on `fd`, read from its start; `path` names it in errors. A
/// caller that keeps `fd` open can then load exactly the bytes it hashed
/// (PluginLibrary::open with the descriptor), whatever is at `path` by then.
std::string sha256File(int fd, const std::string& path);

} // namespace keel::kernel
