#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "Loop.hpp"

namespace keel::kernel {

/// Watches manifest files and calls back once they have been quiet for `debounceMs` (an
/// editor's save is several events; a deploy tool writes several files). Folders are
/// watched, not the files, because editors and atomic writers replace a file by renaming a
/// new one over it, which ends a watch on the old inode. Loop thread only.
class ManifestWatcher {
public:
    ManifestWatcher(Loop& loop, std::uint64_t debounceMs, std::function<void()> onChange);
    ~ManifestWatcher();
    ManifestWatcher(const ManifestWatcher&) = delete;
    ManifestWatcher& operator=(const ManifestWatcher&) = delete;

    /// Replaces the watched files (after a reload the set of manifests may differ).
    void watch(const std::vector<std::string>& files);

private:
    struct Folder {
        uv_fs_event_t handle{};
        ManifestWatcher* owner = nullptr;
        std::set<std::string> names; // file names in this folder that matter
    };
    static void onEvent(uv_fs_event_t* handle, const char* filename, int events, int status);
    void changed();
    void closeAll();

    Loop& loop_;
    std::uint64_t debounceMs_;
    std::function<void()> onChange_;
    std::map<std::string, Folder*> folders_;
    TimerId debounce_ = 0;
};

} // namespace keel::kernel
