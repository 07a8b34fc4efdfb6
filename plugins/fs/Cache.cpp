#include "Cache.hpp"

#include <unistd.h>

namespace keel_fs {

namespace {

// A rough per-entry overhead (nodes, strings, vectors), so that many tiny files still count.
constexpr std::size_t kEntryOverhead = 512;
constexpr std::size_t kOpenFileCost = 64 * 1024;

bool inOrUnder(std::string_view dir, std::string_view top) {
    if (top.empty()) return true;
    return dir == top ||
           (dir.size() > top.size() && dir.starts_with(top) && dir[top.size()] == '/');
}

} // namespace

FileStamp FileStamp::of(const struct stat& st) {
    FileStamp s;
    s.size = static_cast<std::uint64_t>(st.st_size);
    s.mtimeNs = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    s.ctimeNs = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    s.ino = static_cast<std::uint64_t>(st.st_ino);
    s.dev = static_cast<std::uint64_t>(st.st_dev);
    return s;
}

std::shared_ptr<const int> holdDescriptor(int fd) {
    return std::shared_ptr<const int>(new int(fd), [](const int* p) {
        ::close(*p);
        delete p;
    });
}

std::size_t CacheEntry::bytes() const {
    std::size_t n = kEntryOverhead + dir.size();
    for (const auto& r : reps) {
        // An open descriptor is charged as if it were 64 KiB, which bounds how many the
        // cache keeps open (256 in the default 16 MiB).
        n += r.body.size() + r.file.size() + r.etag.size() + 64 + (r.fd ? kOpenFileCost : 0);
        for (const auto& [k, v] : r.headers)
            n += k.size() + v.size() + 64;
    }
    return n;
}

CacheEntry* Cache::find(std::string_view key) {
    const auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->entry.get();
}

CacheEntryPtr Cache::findShared(std::string_view key) {
    const auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->entry;
}

bool Cache::insert(const std::string& key, CacheEntryPtr entry) {
    erase(key);
    const std::size_t size = entry->bytes();
    if (size > capacity_) return false;
    while (bytes_ + size > capacity_ && !lru_.empty())
        remove(std::prev(lru_.end()));
    lru_.push_front(Node{key, std::move(entry), size});
    map_.emplace(key, lru_.begin());
    bytes_ += size;
    return true;
}

void Cache::erase(std::string_view key) {
    const auto it = map_.find(key);
    if (it != map_.end()) remove(it->second);
}

void Cache::remove(List::iterator it) {
    it->entry->valid = false;
    bytes_ -= it->bytes;
    map_.erase(it->key);
    lru_.erase(it);
}

template <class Pred> std::size_t Cache::removeIf(Pred pred) {
    std::size_t n = 0;
    for (auto it = lru_.begin(); it != lru_.end();) {
        const auto next = std::next(it);
        if (pred(*it->entry)) {
            remove(it);
            ++n;
        }
        it = next;
    }
    return n;
}

std::size_t Cache::invalidate(std::uint64_t watchId, std::string_view dir, std::string_view name) {
    std::string sub(dir);
    if (!name.empty()) {
        if (!sub.empty()) sub += '/';
        sub += name;
    }
    return removeIf([&](const CacheEntry& e) {
        return e.watchId == watchId && ((!name.empty() && e.dir == dir) || inOrUnder(e.dir, sub));
    });
}

std::size_t Cache::invalidateAll(std::uint64_t watchId) {
    return removeIf([&](const CacheEntry& e) { return e.watchId == watchId; });
}

std::size_t Cache::erasePrefix(std::string_view prefix) {
    std::size_t n = 0;
    for (auto it = lru_.begin(); it != lru_.end();) {
        const auto next = std::next(it);
        if (std::string_view(it->key).starts_with(prefix)) {
            remove(it);
            ++n;
        }
        it = next;
    }
    return n;
}

void Cache::clear() {
    removeIf([](const CacheEntry&) { return true; });
}

} // namespace keel_fs
