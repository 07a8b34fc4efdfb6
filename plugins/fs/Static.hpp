#pragma once

// The `static` handler: files under a root directory, as nginx's static module and
// Express's serve-static serve them (index files, opt-in listings, validators, conditional
// requests, single ranges, precompressed siblings). Small files are answered from memory
// (Cache.hpp) on the loop thread without a syscall; everything else opens and stats on the
// thread pool and is sent with sendfile. The plugin-wide state (cache, MIME table, file
// watchers, fs.changed) is StaticFiles; each route's use has its own StaticConfig.
// Loop thread only, except where a function says otherwise.

#include <keel/sdk.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "Cache.hpp"
#include "Mime.hpp"
#include "Root.hpp"
#include "StaticConfig.hpp"
#include "Watch.hpp"

namespace keel_fs {

class StaticFiles : public std::enable_shared_from_this<StaticFiles> {
public:
    StaticFiles(keel::Context ctx, const PluginConfig& config);
    StaticFiles(const StaticFiles&) = delete;
    StaticFiles& operator=(const StaticFiles&) = delete;

    const keel::Context& ctx() const { return ctx_; }
    Cache& cache() { return cache_; }
    const MimeTypes& mime() const { return mime_; }
    const TrackerPtr& tracker() const { return tracker_; }
    bool stopped() const { return stopped_; }

    /// The watcher of the root at `root->path()` (made and started on first use). Null
    /// after stop.
    WatcherPtr watcherFor(const RootPtr& root, const std::string& site);

    /// Closes the watchers and empties the cache. Returns true when `done` will run later
    /// (handles closing, work still on the thread pool), false when everything is over.
    bool stop(std::function<void()> done);

private:
    void changed(Watcher& w, std::string_view dir, std::string_view name, bool rename);

    keel::Context ctx_;
    Cache cache_;
    MimeTypes mime_;
    keel_topic changedTopic_;
    TrackerPtr tracker_ = std::make_shared<Tracker>();
    std::map<std::string, WatcherPtr> watchers_; // by root path
    std::map<std::uint64_t, std::string> sites_; // watcher id -> site name
    std::uint64_t nextWatchId_ = 1;
    bool stopped_ = false;
};

using StaticFilesPtr = std::shared_ptr<StaticFiles>;

/// Registers the `static` handler of this plugin instance; keep the result as a member.
keel::HandlerRegistration registerStaticHandler(const keel::Context& ctx, StaticFilesPtr files);

} // namespace keel_fs
