#include "ManifestWatcher.hpp"

#include <filesystem>

#include "Log.hpp"

namespace keel::kernel {

namespace fs = std::filesystem;

ManifestWatcher::ManifestWatcher(Loop& loop, std::uint64_t debounceMs, std::function<void()> onChange)
    : loop_(loop), debounceMs_(debounceMs), onChange_(std::move(onChange)) {}

ManifestWatcher::~ManifestWatcher() {
    if (debounce_ != 0) loop_.clearTimer(debounce_);
    closeAll();
}

void ManifestWatcher::closeAll() {
    for (auto& [dir, folder] : folders_) {
        uv_fs_event_stop(&folder->handle);
        uv_close(reinterpret_cast<uv_handle_t*>(&folder->handle),
                 [](uv_handle_t* h) { delete static_cast<Folder*>(h->data); });
    }
    folders_.clear();
}

void ManifestWatcher::watch(const std::vector<std::string>& files) {
    closeAll();
    for (const auto& file : files) {
        const fs::path path = fs::absolute(file).lexically_normal();
        const std::string dir = path.parent_path().string();
        Folder*& folder = folders_[dir];
        if (folder == nullptr) {
            folder = new Folder;
            folder->owner = this;
            uv_fs_event_init(loop_.uv(), &folder->handle);
            folder->handle.data = folder;
            if (const int rc = uv_fs_event_start(&folder->handle, &ManifestWatcher::onEvent, dir.c_str(), 0); rc != 0)
                logWarn("kernel", "cannot watch " + dir + " for manifest changes: " + uv_strerror(rc) +
                                      " (SIGHUP still reloads)");
            // Watching must not keep a stopping kernel alive.
            uv_unref(reinterpret_cast<uv_handle_t*>(&folder->handle));
        }
        folder->names.insert(path.filename().string());
    }
}

void ManifestWatcher::onEvent(uv_fs_event_t* handle, const char* filename, int, int status) {
    auto* folder = static_cast<Folder*>(handle->data);
    if (status < 0 || filename == nullptr || !folder->names.count(filename)) return;
    folder->owner->changed();
}

void ManifestWatcher::changed() {
    if (debounce_ != 0) loop_.clearTimer(debounce_);
    debounce_ = loop_.setTimeout(debounceMs_, [this] {
        debounce_ = 0;
        onChange_();
    });
    loop_.unrefTimer(debounce_);
}

} // namespace keel::kernel
