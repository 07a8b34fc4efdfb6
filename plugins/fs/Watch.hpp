#pragma once

// File watching for one root: libuv fs events (inotify) on the root and its directories.
// Linux has no recursive watch, so each directory gets its own uv_fs_event_t: the root at
// once, the tree below it by a bounded walk on the thread pool (kMaxDirs directories; dot
// directories are skipped, as `static` never serves them by default), new directories as
// rename events announce them, and any directory a cached file lives in on demand. Every
// change reaches `onChange(dir, name, rename)` and bumps generation(). Loop thread only.

#include <keel/sdk.hpp>

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "Root.hpp"

namespace keel_fs {

/// Counts what must finish before the plugin instance may stop (handle closes, work on the
/// thread pool); `idle` runs when the count drops to zero.
struct Tracker {
    std::size_t pending = 0;
    std::function<void()> idle;
    void add() { ++pending; }
    void done() {
        if (--pending == 0 && idle) std::exchange(idle, nullptr)();
    }
};
using TrackerPtr = std::shared_ptr<Tracker>;

class Watcher : public std::enable_shared_from_this<Watcher> {
public:
    /// dir: relative to the root ("" = the root); name: the entry that changed in it;
    /// rename: created, deleted or moved (else its content or attributes changed).
    using OnChange =
        std::function<void(Watcher&, std::string_view dir, std::string_view name, bool rename)>;

    static constexpr std::size_t kMaxDirs = 1024;

    /// `tracker` counts this watcher's handle closes and walks.
    Watcher(keel::Context ctx, RootPtr root, std::uint64_t id, TrackerPtr tracker,
            OnChange onChange);
    ~Watcher();
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;

    /// Watches the root now and walks the tree below it on the thread pool.
    void start();
    /// Watches `dir` (relative) unless it already is; false when it cannot be (the bound,
    /// or libuv's error, logged once). `added` tells whether a watch was made now.
    bool watch(const std::string& dir, bool* added = nullptr);
    bool watching(std::string_view dir) const;
    /// Closes every handle (the tracker sees the close callbacks). No watch is made
    /// afterwards.
    void close();

    std::uint64_t id() const { return id_; }
    const RootPtr& root() const { return root_; }
    /// Incremented by every event: a read that started at generation G is not cached when
    /// lastChange(its directory) > G.
    std::uint64_t generation() const { return generation_; }
    /// The generation of the last event in `dir` (or naming `dir` in its parent); 0: none.
    std::uint64_t lastChange(const std::string& dir) const;
    std::size_t count() const { return handles_.size(); }

private:
    struct Handle;
    void walk(const std::string& dir);
    void event(Handle& h, const char* filename, int events, int status);
    void unwatchUnder(const std::string& dir);
    void closeHandle(Handle* h);

    keel::Context ctx_;
    RootPtr root_;
    std::uint64_t id_;
    OnChange onChange_;
    std::unordered_map<std::string, Handle*> handles_;
    TrackerPtr tracker_;
    std::uint64_t generation_ = 0;
    std::unordered_map<std::string, std::uint64_t> lastChange_; // dir -> generation
    bool closed_ = false;
    bool warned_ = false;
};

using WatcherPtr = std::shared_ptr<Watcher>;

/// Directories under `dir` of `root` (relative paths, `dir` first), breadth first, at most
/// `max`, skipping dot directories and not following symlinks. Blocking: thread pool.
std::vector<std::string> listDirectories(const Root& root, const std::string& dir, std::size_t max);

} // namespace keel_fs
