#pragma once

// The static handler's small-file cache: a bounded LRU of answers ready to send (body and
// precomputed headers per representation), shared by every `static` use of a plugin
// instance (the plugin's `cache_bytes`). Entries are dropped by file-watch events
// (invalidate) and re-checked with a stat at most once a second (see Static.cpp), never
// trusted on mtime alone. Loop thread only.

#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace keel_fs {

/// What identifies a file's content without reading it: a change of any of these (or an
/// event) means the cached body is stale. ctime is here because mtime can be set back.
struct FileStamp {
    std::uint64_t size = 0;
    std::int64_t mtimeNs = 0;
    std::int64_t ctimeNs = 0;
    std::uint64_t ino = 0;
    std::uint64_t dev = 0;
    static FileStamp of(const struct stat& st);
    bool operator==(const FileStamp&) const = default;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// One representation of a file: the identity bytes, or a precompressed sibling.
struct Representation {
    std::string file;     // the file sent, relative to the root ("a.css.br")
    std::string encoding; // "", "br" or "gzip"
    FileStamp stamp;
    std::string etag; // always computed; sent when the use's "etag" is on
    std::time_t mtime = 0;
    HeaderList headers; // every header of a 200 but Content-Length
    std::string body;   // cached entries only
    /// A large file's open descriptor, kept by a cached entry instead of its bytes (nginx's
    /// open_file_cache): a hit sends a dup() of it, with no trip to the thread pool. Closed
    /// with the last holder.
    std::shared_ptr<const int> fd;
};
/// Wraps an open descriptor for Representation::fd (closed when the last holder goes).
std::shared_ptr<const int> holdDescriptor(int fd);

/// The answer to one request path of one `static` use: representations in preference
/// order of the server (identity first, then br, then gzip).
struct CacheEntry {
    std::uint64_t watchId = 0; // the root's watcher
    std::string dir;           // the directory holding the files, relative to the root
    std::vector<Representation> reps;
    bool vary = false;           // a precompressed sibling exists: Vary: Accept-Encoding
    std::uint64_t checkedAt = 0; // loop ms of the last stat (0: check at the next hit)
    bool checking = false;       // a stat is on the thread pool
    bool valid = true;           // false once invalidated or evicted
    std::size_t bytes() const;
};
using CacheEntryPtr = std::shared_ptr<CacheEntry>;

class Cache {
public:
    explicit Cache(std::size_t capacityBytes) : capacity_(capacityBytes) {}
    Cache(const Cache&) = delete;
    Cache& operator=(const Cache&) = delete;

    /// The entry for `key`, made most recently used; nullptr when absent.
    CacheEntry* find(std::string_view key);
    CacheEntryPtr findShared(std::string_view key);
    /// Inserts (replacing `key`), evicting least recently used entries to stay within the
    /// capacity. An entry larger than the capacity is not kept; returns whether it was.
    bool insert(const std::string& key, CacheEntryPtr entry);
    void erase(std::string_view key);
    /// Drops entries of watcher `watchId` affected by a change of `name` in `dir`: those
    /// in `dir` itself and those in or under `dir/name` (a renamed directory). An empty
    /// name drops everything in and under `dir`. Returns how many.
    std::size_t invalidate(std::uint64_t watchId, std::string_view dir, std::string_view name);
    /// Drops every entry of watcher `watchId` (it lost track of changes).
    std::size_t invalidateAll(std::uint64_t watchId);
    /// Drops every entry whose key starts with `prefix` (a route's configuration was
    /// released by a reload: nothing asks for its keys any more).
    std::size_t erasePrefix(std::string_view prefix);
    void clear();

    std::size_t bytes() const { return bytes_; }
    std::size_t size() const { return map_.size(); }
    std::size_t capacity() const { return capacity_; }

private:
    struct Node {
        std::string key;
        CacheEntryPtr entry;
        std::size_t bytes;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    using List = std::list<Node>;
    void remove(List::iterator it);
    template <class Pred> std::size_t removeIf(Pred pred);

    std::size_t capacity_;
    std::size_t bytes_ = 0;
    List lru_; // front: most recently used
    std::unordered_map<std::string, List::iterator, Hash, std::equal_to<>> map_;
};

} // namespace keel_fs
