#include "Watch.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <deque>

namespace keel_fs {

namespace {

std::string join(std::string_view dir, std::string_view name) {
    std::string out(dir);
    if (!out.empty()) out += '/';
    out += name;
    return out;
}

} // namespace

struct Watcher::Handle {
    uv_fs_event_t ev{};
    Watcher* owner = nullptr; // null once closing
    std::string dir;
    TrackerPtr tracker;
};

std::vector<std::string> listDirectories(const Root& root, const std::string& dir,
                                         std::size_t max) {
    std::vector<std::string> out;
    std::deque<std::string> queue{dir};
    while (!queue.empty() && out.size() < max) {
        std::string current = std::move(queue.front());
        queue.pop_front();
        const int fd = root.openBeneath(current, O_RDONLY | O_DIRECTORY);
        if (fd < 0) continue;
        out.push_back(current);
        DIR* d = ::fdopendir(fd);
        if (d == nullptr) {
            ::close(fd);
            continue;
        }
        while (const dirent* e = ::readdir(d)) {
            if (e->d_name[0] == '.') continue; // ".", "..", dot directories, temporary files
            bool isDir = e->d_type == DT_DIR;
            if (e->d_type == DT_UNKNOWN) {
                struct stat st {};
                isDir = ::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                        S_ISDIR(st.st_mode);
            }
            if (isDir) queue.push_back(join(current, e->d_name));
        }
        ::closedir(d);
    }
    return out;
}

Watcher::Watcher(keel::Context ctx, RootPtr root, std::uint64_t id, TrackerPtr tracker,
                 OnChange onChange)
    : ctx_(ctx), root_(std::move(root)), id_(id), onChange_(std::move(onChange)),
      tracker_(std::move(tracker)) {}

Watcher::~Watcher() {
    // close() normally ran; if not, release the handles without calling back into us.
    for (auto& [dir, h] : handles_)
        closeHandle(h);
}

void Watcher::start() {
    watch("");
    walk("");
}

void Watcher::walk(const std::string& dir) {
    if (closed_) return;
    tracker_->add();
    const std::size_t room = kMaxDirs > handles_.size() ? kMaxDirs - handles_.size() : 0;
    try {
        ctx_.offload(
            [root = root_, dir, room] { return listDirectories(*root, dir, room + 1); },
            [self = shared_from_this()](keel::Context::Result<std::vector<std::string>>& r) {
                if (!self->closed_ && r.ok())
                    for (const auto& d : r.get())
                        self->watch(d);
                self->tracker_->done();
            });
    } catch (const std::exception& e) {
        tracker_->done();
        ctx_.warn("cannot walk " + root_->path() + "/" + dir +
                  " for directories to watch: " + e.what());
    }
}

bool Watcher::watching(std::string_view dir) const {
    return handles_.count(std::string(dir)) != 0;
}

bool Watcher::watch(const std::string& dir, bool* added) {
    if (added != nullptr) *added = false;
    if (closed_) return false;
    if (handles_.count(dir) != 0) return true;
    if (handles_.size() >= kMaxDirs) {
        if (!warned_) {
            warned_ = true;
            ctx_.warn(
                "more than " + std::to_string(kMaxDirs) + " directories under " + root_->path() +
                ": the others are not watched (their files are not cached, and fs.changed is not " +
                "published for them)");
        }
        return false;
    }
    auto* h = new Handle;
    h->owner = this;
    h->dir = dir;
    h->tracker = tracker_;
    h->ev.data = h;
    uv_fs_event_init(static_cast<uv_loop_t*>(ctx_.uvLoop()), &h->ev);
    const std::string path = dir.empty() ? root_->path() : root_->path() + "/" + dir;
    const int rc = uv_fs_event_start(
        &h->ev,
        [](uv_fs_event_t* ev, const char* filename, int events, int status) {
            auto* handle = static_cast<Handle*>(ev->data);
            if (handle->owner != nullptr) handle->owner->event(*handle, filename, events, status);
        },
        path.c_str(), 0);
    if (rc != 0) {
        closeHandle(h);
        if (rc != UV_ENOENT && rc != UV_ENOTDIR)
            ctx_.warn("cannot watch " + path + ": " + uv_strerror(rc) +
                      " (files there are not cached)");
        return false;
    }
    handles_.emplace(dir, h);
    if (added != nullptr) *added = true;
    return true;
}

std::uint64_t Watcher::lastChange(const std::string& dir) const {
    const auto it = lastChange_.find(dir);
    return it == lastChange_.end() ? 0 : it->second;
}

void Watcher::event(Handle& h, const char* filename, int events, int status) {
    ++generation_;
    const std::string dir = h.dir; // `h` may be closed by what follows
    // Per directory, so that a busy file elsewhere in the root does not keep every read
    // from being cached. A name may be a watched subdirectory: it counts for that one too.
    // (Only watched directories are keys: the map stays within the watch bound.)
    lastChange_[dir] = generation_;
    if (filename != nullptr && filename[0] != '\0') {
        const std::string sub = join(dir, filename);
        if (handles_.count(sub) != 0) lastChange_[sub] = generation_;
    }
    ctx_.makeCallback("fs event", [&] {
        if (status < 0) {
            // The watch broke (inotify overflow or the like): forget what it vouched for.
            onChange_(*this, dir, "", true);
            return;
        }
        const std::string name = filename != nullptr ? filename : "";
        const bool rename = (events & UV_RENAME) != 0;
        // A directory renamed away or deleted: its watches are stale (inotify follows the
        // inode, not the name); a directory appearing gets watched with its tree.
        if (rename && !name.empty()) {
            const std::string sub = join(dir, name);
            unwatchUnder(sub);
            if (name[0] != '.') walk(sub);
        }
        onChange_(*this, dir, name, rename);
    });
}

void Watcher::unwatchUnder(const std::string& dir) {
    for (auto it = handles_.begin(); it != handles_.end();) {
        const std::string& d = it->first;
        if (d == dir || (d.size() > dir.size() && d.starts_with(dir) && d[dir.size()] == '/')) {
            closeHandle(it->second);
            it = handles_.erase(it);
        } else {
            ++it;
        }
    }
}

void Watcher::closeHandle(Handle* h) {
    h->owner = nullptr;
    h->tracker->add();
    uv_close(reinterpret_cast<uv_handle_t*>(&h->ev), [](uv_handle_t* uvh) {
        std::unique_ptr<Handle> dead(static_cast<Handle*>(uvh->data));
        dead->tracker->done();
    });
}

void Watcher::close() {
    closed_ = true;
    for (auto& [dir, h] : handles_)
        closeHandle(h);
    handles_.clear();
}

} // namespace keel_fs
