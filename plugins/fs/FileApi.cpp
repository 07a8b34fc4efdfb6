#include "FileApi.hpp"

#include "AtomicWrite.hpp"
#include "DirJson.hpp"
#include "Errno.hpp"
#include "Http.hpp"
#include "Root.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <utility>
#include <vector>

namespace keel_fs {

namespace {

// --- configuration ------------------------------------------------------------------------

struct FilesConfig {
    std::string root; // absolute
    bool createRoot = true;
    bool write = false;
    std::uint64_t maxFileBytes = 0; // 0: only the route's body_limit
    std::uint64_t quotaBytes = 0;   // 0: none
    Dotfiles dotfiles = Dotfiles::ignore;
    mode_t fileMode = 0644;
};

std::runtime_error configError(const keel::Use& use, const std::string& key,
                               const std::string& text) {
    // The kernel puts the use's location (file:line: routes[i]) in front.
    (void)use;
    return std::runtime_error("files: config." + key + ": " + text);
}

std::uint64_t unsignedKey(const keel::Use& use, const Poco::JSON::Object& obj,
                          const std::string& key) {
    const Poco::Dynamic::Var v = obj.get(key);
    if (!v.isInteger() || (v.isSigned() && v.convert<std::int64_t>() < 0))
        throw configError(use, key,
                          "expected a non-negative integer (bytes), found " + v.toString());
    return v.convert<std::uint64_t>();
}

bool boolKey(const keel::Use& use, const Poco::JSON::Object& obj, const std::string& key) {
    const Poco::Dynamic::Var v = obj.get(key);
    if (!v.isBoolean())
        throw configError(use, key, "expected true or false, found " + v.toString());
    return v.convert<bool>();
}

FilesConfig parseConfig(const keel::Use& use) {
    Poco::JSON::Parser parser;
    const auto obj = parser.parse(std::string(use.configJson.empty() ? "{}" : use.configJson))
                         .extract<Poco::JSON::Object::Ptr>();
    FilesConfig c;
    if (!obj->has("root") || !obj->get("root").isString() ||
        obj->getValue<std::string>("root").empty())
        throw configError(use, "root",
                          "required: the directory the API serves, e.g. \"data\" (relative to "
                          "the site's directory) or an absolute path");
    std::filesystem::path root = obj->getValue<std::string>("root");
    if (root.is_relative()) root = std::filesystem::path(std::string(use.siteDir)) / root;
    c.root = root.lexically_normal().string();
    if (obj->has("create_root")) c.createRoot = boolKey(use, *obj, "create_root");
    if (obj->has("write")) c.write = boolKey(use, *obj, "write");
    if (obj->has("max_file_bytes")) c.maxFileBytes = unsignedKey(use, *obj, "max_file_bytes");
    if (obj->has("quota_bytes")) c.quotaBytes = unsignedKey(use, *obj, "quota_bytes");
    if (obj->has("dotfiles")) {
        const std::string d = obj->get("dotfiles").toString();
        if (!dotfilesFromName(d, c.dotfiles))
            throw configError(use, "dotfiles",
                              "expected \"deny\", \"ignore\" or \"allow\", found \"" + d + "\"");
    }
    if (obj->has("file_mode")) {
        const std::string m = obj->get("file_mode").toString();
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(m.data(), m.data() + m.size(), value, 8);
        if (m.empty() || ec != std::errc() || end != m.data() + m.size() || value > 0777)
            throw configError(use, "file_mode",
                              "expected an octal mode from \"0000\" to \"0777\", e.g. \"0640\"; "
                              "found \"" +
                                  m + "\"");
        c.fileMode = static_cast<mode_t>(value);
    }
    return c;
}

// --- shared state of one use ----------------------------------------------------------------

/// An owned file descriptor (results of thread-pool work own theirs until handed on).
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept {
        if (this != &o) {
            reset();
            fd_ = std::exchange(o.fd_, -1);
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }
    int get() const { return fd_; }
    int release() { return std::exchange(fd_, -1); }
    void reset() {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    }

private:
    int fd_ = -1;
};

/// One use of `files` (a route): its configuration, its root, and the quota's running total.
/// Requests in flight hold it through a shared_ptr, so a reload that drops the use does not
/// pull it from under a write. Loop thread only, except `config` and `root` (immutable).
struct Files : std::enable_shared_from_this<Files> {
    keel::Context ctx;
    FilesConfig config;
    RootPtr root;
    std::string label; // "files /files/* (root /srv/data)" for logs

    // The quota: bytes of the regular files under the root, counted on the thread pool at
    // site load, then kept up to date by this use's own writes and deletes. Changes made
    // from outside are counted again at the next site load, or (with quota_bytes) when an
    // fs.changed event names this root (a `static` route on the same directory watches it).
    // Uploads in flight count too, with what they have received so far.
    bool counted = false;
    std::uint64_t used = 0;
    std::uint64_t inflight = 0;
    std::uint64_t changes = 0; // local changes: a recount that overlapped one is redone
    std::vector<std::function<void()>> waitingForCount;
    keel::Subscription changed;
    keel::Timer recountTimer;
    bool recounting = false;

    Files(keel::Context c, FilesConfig cfg, RootPtr r, std::string l)
        : ctx(c), config(std::move(cfg)), root(std::move(r)), label(std::move(l)) {}

    /// Runs `fn` once the starting total is known (now, or after the scan).
    void whenCounted(std::function<void()> fn) {
        if (counted || config.quotaBytes == 0)
            fn();
        else
            waitingForCount.push_back(std::move(fn));
    }
    void addUsed(std::uint64_t added, std::uint64_t removed) {
        used = used + added >= removed ? used + added - removed : 0;
        ++changes;
    }
    /// Would adding `bytes` to the root (after taking `freed` away) pass the quota?
    bool overQuota(std::uint64_t bytes, std::uint64_t freed) const {
        if (config.quotaBytes == 0) return false;
        const std::uint64_t base = used + inflight >= freed ? used + inflight - freed : 0;
        return base + bytes > config.quotaBytes;
    }

    /// The walk on the thread pool: leftovers removed (a live writer's lock spares its file),
    /// regular files counted. `first`: the site-load scan, which requests may wait for.
    void scan(bool first) {
        recounting = true;
        const std::uint64_t before = changes;
        std::weak_ptr<Files> weak = weak_from_this();
        ctx.offload([r = root] { return cleanLeftovers(r->fd()); },
                    [weak, first, before](keel::Context::Result<TreeScan>& result) {
                        if (auto self = weak.lock()) self->scanned(result, first, before);
                    });
    }

    void scanned(keel::Context::Result<TreeScan>& result, bool first, std::uint64_t before) {
        recounting = false;
        if (!result.ok()) {
            if (first) ctx.warn(label + ": the first scan did not run: " + describe(result));
        } else {
            const TreeScan& s = result.get();
            if (changes == before)
                used = s.bytes;
            else
                scheduleRecount(); // our own writes raced the walk: count again
            std::string text = label + (first ? ": " : ": counted again after changes: ") +
                               std::to_string(s.files) + " files, " + std::to_string(s.bytes) +
                               " bytes; removed " + std::to_string(s.removed) +
                               " leftover temporary files";
            if (s.skipped != 0) text += " (" + std::to_string(s.skipped) + " still being written)";
            if (s.error != 0)
                text += "; some entries could not be read: " + std::string(std::strerror(-s.error));
            ctx.info(text);
        }
        if (first) {
            counted = true;
            auto waiting = std::move(waitingForCount);
            for (auto& fn : waiting)
                fn();
        }
    }

    static std::string describe(keel::Context::Result<TreeScan>& result) {
        try {
            result.get();
        } catch (const std::exception& e) {
            return e.what();
        }
        return "unknown";
    }

    /// fs.changed for a directory that overlaps this root: count again a little later (one
    /// walk for a burst of events).
    void watchForChanges() {
        changed = ctx.subscribe("fs.changed", [this](const keel::Event& e) {
            std::string other;
            try {
                Poco::JSON::Parser parser;
                auto obj = parser.parse(std::string(e.data)).extract<Poco::JSON::Object::Ptr>();
                other = obj->optValue<std::string>("root", "");
            } catch (const std::exception&) {
                return;
            }
            const std::string& mine = root->path();
            const auto within = [](const std::string& inner, const std::string& outer) {
                return inner == outer || (inner.starts_with(outer) && inner.size() > outer.size() &&
                                          (outer.back() == '/' || inner[outer.size()] == '/'));
            };
            if (within(mine, other) || within(other, mine)) scheduleRecount();
        });
    }

    void scheduleRecount() {
        if (recountTimer.id() != 0) return;
        std::weak_ptr<Files> weak = weak_from_this();
        recountTimer = ctx.setTimeout(kRecountDelayMs, [weak] {
            auto self = weak.lock();
            if (!self) return;
            self->recountTimer.release(); // fired: the id is spent
            if (self->recounting)
                self->scheduleRecount();
            else
                self->scan(false);
        });
    }

    static constexpr std::uint64_t kRecountDelayMs = 200;
};
using FilesPtr = std::shared_ptr<Files>;

std::string shown(std::string_view rel) {
    return rel.empty() ? std::string("/ (the root)") : "/" + std::string(rel);
}

void failErrno(const keel::Request& req, int err, std::string_view rel) {
    if (err < 0) err = -err;
    const ErrnoStatus s = statusForErrno(err);
    req.fail(s.status, s.code, std::string(std::strerror(err)) + ": " + shown(rel),
             s.status == 500);
}

void failQuota(const keel::Request& req, const Files& files, std::string_view rel) {
    req.fail(507, "EDQUOT",
             "the write to " + shown(rel) + " would pass this directory's quota of " +
                 std::to_string(files.config.quotaBytes) + " bytes");
}

void failTooLarge(const keel::Request& req, const Files& files, std::string_view rel) {
    req.fail(413, "PAYLOAD_TOO_LARGE",
             "the file " + shown(rel) + " would be larger than this API's limit of " +
                 std::to_string(files.config.maxFileBytes) + " bytes");
}

/// Opens `dir` for fsync (O_PATH descriptors cannot be synced) and syncs it. Best effort:
/// EINVAL means a file system without directory sync.
int syncDirectory(int dirFd) {
    const int fd = ::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    const int rc = ::fsync(fd) == 0 || errno == EINVAL ? 0 : -errno;
    ::close(fd);
    return rc;
}

// --- GET / HEAD -------------------------------------------------------------------------------

struct Opened {
    int err = 0;
    UniqueFd fd;
    struct stat st {};
    bool directory = false;
    std::string listing;
};

void sendRegularFile(const keel::Request& req, UniqueFd fd, const struct stat& st) {
    const auto size = static_cast<std::uint64_t>(st.st_size);
    const std::string etag = makeETag(st);
    const std::time_t mtime = st.st_mtim.tv_sec;
    req.setHeader("ETag", etag);
    req.setHeader("Last-Modified", httpDate(mtime));
    req.setHeader("Accept-Ranges", "bytes");
    req.setHeader("Cache-Control", "no-cache");
    req.setHeader("X-Content-Type-Options", "nosniff");
    const auto header = [&](std::string_view name) { return req.header(name).value_or(""); };
    switch (evaluatePreconditions(header("If-Match"), header("If-Unmodified-Since"),
                                  header("If-None-Match"), header("If-Modified-Since"), etag,
                                  mtime)) {
    case Precondition::notModified:
        req.status(304);
        req.end();
        return;
    case Precondition::failed:
        req.fail(412, "PRECONDITION_FAILED",
                 "the file has changed (If-Match / If-Unmodified-Since)");
        return;
    case Precondition::none: break;
    }
    req.setHeader("Content-Type", "application/octet-stream");
    ByteRange range;
    if (auto r = req.header("Range"); r && ifRangeAllows(header("If-Range"), etag, mtime))
        range = parseRange(*r, size);
    if (range.kind == ByteRange::unsatisfiable) {
        req.setHeader("Content-Range", "bytes */" + std::to_string(size));
        req.fail(416, "RANGE_NOT_SATISFIABLE",
                 "the range is outside the file's " + std::to_string(size) + " bytes");
        return;
    }
    if (range.kind == ByteRange::single) {
        req.status(206);
        req.setHeader("Content-Range", contentRange(range, size));
        req.sendFile(fd.release(), range.offset, range.length);
        return;
    }
    req.status(200);
    req.sendFile(fd.release(), 0, size);
}

int handleRead(const FilesPtr& files, keel::Request req, std::string rel) {
    files->ctx.offload(
        [files, rel] {
            Opened o;
            const int fd =
                files->root->openBeneath(rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, false);
            if (fd < 0) {
                o.err = fd;
                return o;
            }
            o.fd = UniqueFd(fd);
            if (::fstat(fd, &o.st) != 0) {
                o.err = -errno;
                return o;
            }
            if (S_ISDIR(o.st.st_mode)) {
                o.directory = true;
                std::vector<DirEntry> entries;
                o.err = readDirectory(fd, files->config.dotfiles == Dotfiles::allow, &entries);
                o.fd.reset();
                if (o.err == 0) o.listing = directoryJson(entries);
            } else if (!S_ISREG(o.st.st_mode)) {
                o.fd.reset();
                o.err = -EACCES; // a device or FIFO under the root: not served
            }
            return o;
        },
        [files, req, rel](keel::Context::Result<Opened>& result) {
            if (!req.aborted()) {
                if (!result.ok()) {
                    req.fail(500, "INTERNAL_ERROR", "reading " + shown(rel) + " failed", true);
                } else if (Opened& o = result.get(); o.err != 0) {
                    failErrno(req, o.err, rel);
                } else if (o.directory) {
                    req.setHeader("Cache-Control", "no-cache");
                    req.json(200, o.listing);
                } else {
                    sendRegularFile(req, std::move(o.fd), o.st);
                }
            }
            req.resume(keel::done);
        });
    return keel::pending;
}

// --- PUT: mkdir -p --------------------------------------------------------------------------

struct MkdirResult {
    int err = 0;
    bool created = false;
};

MkdirResult makeDirectories(const Root& root, const std::string& rel) {
    MkdirResult r;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t slash = rel.find('/', pos);
        const std::string prefix = rel.substr(0, slash);
        std::string leaf;
        const int parent = root.openParent(prefix, &leaf, false);
        if (parent < 0) {
            r.err = parent;
            return r;
        }
        if (::mkdirat(parent, leaf.c_str(), 0755) == 0) {
            r.created = true;
            syncDirectory(parent);
        } else if (errno != EEXIST) {
            r.err = -errno;
            ::close(parent);
            return r;
        } else {
            // It exists: only a directory (or a link to one inside the root) will do.
            const int dir = root.openBeneath(prefix, O_PATH | O_DIRECTORY, 0, false);
            if (dir < 0) {
                r.err = dir;
                ::close(parent);
                return r;
            }
            ::close(dir);
        }
        ::close(parent);
        if (slash == std::string::npos) return r;
        pos = slash + 1;
    }
}

int handleMkdir(const FilesPtr& files, keel::Request req, std::string rel) {
    if (rel.empty()) {
        req.json(200, "{\"success\":true,\"path\":\"/\",\"created\":false}");
        return keel::done;
    }
    files->ctx.offload([files, rel] { return makeDirectories(*files->root, rel); },
                       [files, req, rel](keel::Context::Result<MkdirResult>& result) {
                           if (!req.aborted()) {
                               if (!result.ok()) {
                                   req.fail(500, "INTERNAL_ERROR", "mkdir failed", true);
                               } else if (result.get().err != 0) {
                                   failErrno(req, result.get().err, rel);
                               } else {
                                   const bool created = result.get().created;
                                   req.json(created ? 201 : 200,
                                            "{\"success\":true,\"path\":" + jsonString("/" + rel) +
                                                ",\"created\":" + (created ? "true" : "false") +
                                                "}");
                               }
                           }
                           req.resume(keel::done);
                       });
    return keel::pending;
}

// --- PUT: a file, atomically ------------------------------------------------------------------

/// One upload: the body streams in from the loop, is buffered up to kWriteBatch and written
/// by thread-pool jobs, one at a time; reading pauses while a job is in flight (backpressure:
/// a slow disk slows the client, memory stays bounded). The AtomicWrite is touched only by
/// those jobs, and released (committed or discarded) by the last of them, so no blocking call
/// happens on the loop.
class Upload : public std::enable_shared_from_this<Upload> {
public:
    static constexpr std::size_t kWriteBatch = 256 * 1024;

    Upload(FilesPtr files, keel::Request req, std::string rel)
        : files_(std::move(files)), req_(req), rel_(std::move(rel)) {}

    int start() {
        if (files_->config.maxFileBytes != 0 && req_.contentLength() >= 0 &&
            static_cast<std::uint64_t>(req_.contentLength()) > files_->config.maxFileBytes) {
            failTooLarge(req_, *files_, rel_);
            return keel::done;
        }
        auto self = shared_from_this();
        files_->whenCounted([self] { self->begin(); });
        return keel::pending;
    }

private:
    enum class Reject { none, tooLarge, quota, error };

    struct Begun {
        int err = 0;
        AtomicWritePtr file;
        std::uint64_t oldSize = 0;
    };

    void begin() {
        if (req_.aborted()) {
            req_.resume(keel::done);
            return;
        }
        auto self = shared_from_this();
        files_->ctx.offload(
            [self] {
                Begun b;
                std::string leaf;
                UniqueFd parent(self->files_->root->openParent(self->rel_, &leaf, false));
                if (parent.get() < 0) {
                    b.err = parent.release();
                    return b;
                }
                struct stat old {};
                if (::fstatat(parent.get(), leaf.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0) {
                    if (S_ISDIR(old.st_mode)) {
                        b.err = -EISDIR;
                        return b;
                    }
                    if (S_ISREG(old.st_mode)) b.oldSize = static_cast<std::uint64_t>(old.st_size);
                }
                b.file =
                    AtomicWrite::begin(parent.get(), leaf, self->files_->config.fileMode, &b.err);
                return b;
            },
            [self](keel::Context::Result<Begun>& result) {
                if (!result.ok()) {
                    self->finishWith(-EIO);
                    return;
                }
                Begun& b = result.get();
                self->file_ = std::move(b.file); // released by a job (below), never here
                self->oldSize_ = b.oldSize;
                if (b.err != 0) {
                    self->finishWith(b.err);
                    return;
                }
                if (self->req_.aborted()) {
                    self->ended_ = true;
                    self->finish();
                    return;
                }
                const std::int64_t length = self->req_.contentLength();
                if (length > 0 &&
                    self->files_->overQuota(static_cast<std::uint64_t>(length), self->oldSize_)) {
                    self->reject_ = Reject::quota;
                    self->ended_ = true; // answered before the body: nothing to read
                    self->finish();
                    return;
                }
                self->req_.streamBody(
                    [self](keel::Request, std::string_view chunk) { return self->onChunk(chunk); });
            });
    }

    /// True: pause reading until resumeBody().
    bool onChunk(std::string_view chunk) {
        if (chunk.empty()) {
            ended_ = true;
            finish();
            return false;
        }
        if (req_.aborted() || req_.headersSent()) return false;
        received_ += chunk.size();
        if (reject_ == Reject::none && files_->config.maxFileBytes != 0 &&
            received_ > files_->config.maxFileBytes)
            reject_ = Reject::tooLarge;
        if (reject_ == Reject::none && files_->overQuota(chunk.size(), oldSize_))
            reject_ = Reject::quota;
        if (reject_ != Reject::none) {
            // Refused: the rest of the body is read and dropped, and the answer goes out at
            // its end (the route's body_limit still bounds how much that is).
            buffer_.clear();
            return false;
        }
        reserve(chunk.size());
        buffer_.append(chunk);
        if (writing_) return true;
        if (buffer_.size() >= kWriteBatch) {
            writeBatch();
            return true;
        }
        return false;
    }

    void reserve(std::uint64_t bytes) {
        reserved_ += bytes;
        files_->inflight += bytes;
    }
    void unreserve() {
        files_->inflight -= std::min(files_->inflight, reserved_);
        reserved_ = 0;
    }

    void writeBatch() {
        writing_ = true;
        auto self = shared_from_this();
        files_->ctx.offload(
            [self, data = std::exchange(buffer_, std::string())] {
                return self->file_->write(data);
            },
            [self](keel::Context::Result<int>& result) {
                self->writing_ = false;
                const int rc = result.ok() ? result.get() : -EIO;
                if (rc != 0 && self->reject_ == Reject::none) {
                    self->reject_ = Reject::error;
                    self->error_ = rc;
                }
                if (self->ended_) {
                    self->finish();
                    return;
                }
                if (self->reject_ != Reject::none || self->req_.aborted()) self->buffer_.clear();
                if (self->buffer_.size() >= kWriteBatch) {
                    self->writeBatch();
                    return;
                }
                // May deliver more chunks, and the end, before it returns.
                self->req_.resumeBody();
            });
    }

    struct Finished {
        int rc = 0;
        bool renamed = false;
        AtomicWrite::Committed committed;
        std::uint64_t size = 0;
    };

    /// After the end of the body (or an abort) and with no write in flight: commit or
    /// discard on the thread pool, then answer.
    void finish() {
        if (!ended_ || writing_ || finishing_) return;
        finishing_ = true;
        const bool keep =
            file_ && reject_ == Reject::none && !req_.aborted() && !req_.headersSent();
        auto self = shared_from_this();
        files_->ctx.offload(
            [self, keep, data = std::exchange(buffer_, std::string())] {
                Finished f;
                if (keep) {
                    f.rc = self->file_->write(data);
                    if (f.rc == 0) f.rc = self->file_->commit(&f.committed);
                    f.renamed = f.committed.renamed;
                    f.size = self->file_->size();
                }
                self->file_.reset(); // discards the temporary file unless renamed
                return f;
            },
            [self](keel::Context::Result<Finished>& result) {
                self->unreserve();
                const keel::Request& req = self->req_;
                Finished f;
                if (result.ok())
                    f = std::move(result.get());
                else
                    f.rc = -EIO;
                if (f.renamed) self->files_->addUsed(f.size, f.committed.oldSize);
                if (!req.aborted() && !req.headersSent()) {
                    if (self->reject_ == Reject::tooLarge)
                        failTooLarge(req, *self->files_, self->rel_);
                    else if (self->reject_ == Reject::quota)
                        failQuota(req, *self->files_, self->rel_);
                    else if (self->reject_ == Reject::error)
                        failErrno(req, self->error_, self->rel_);
                    else if (f.rc != 0)
                        failErrno(req, f.rc, self->rel_);
                    else
                        req.json(f.committed.replaced ? 200 : 201,
                                 "{\"success\":true,\"path\":" + jsonString("/" + self->rel_) +
                                     ",\"size\":" + std::to_string(f.size) + "}");
                }
                req.resume(keel::done);
            });
    }

    /// Fails before any body was asked for (the temporary file, if any, goes on the pool).
    void finishWith(int err) {
        reject_ = Reject::error;
        error_ = err;
        ended_ = true;
        finish();
    }

    FilesPtr files_;
    keel::Request req_;
    std::string rel_;
    AtomicWritePtr file_;
    std::string buffer_;
    std::uint64_t received_ = 0;
    std::uint64_t reserved_ = 0;
    std::uint64_t oldSize_ = 0;
    Reject reject_ = Reject::none;
    int error_ = 0;
    bool writing_ = false;
    bool ended_ = false;
    bool finishing_ = false;
};

// --- DELETE ---------------------------------------------------------------------------------

struct Removed {
    int err = 0;
    std::uint64_t bytes = 0; // regular files' bytes removed (the quota's total goes down)
};

/// Removes `name` (a directory) in `parentFd` and everything under it, never following a
/// symlink (a link is removed, not what it points to).
int removeTree(int parentFd, const char* name, std::uint64_t& bytes, int depth) {
    if (depth > 256) return -ELOOP;
    const int fd = ::openat(parentFd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -errno;
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        const int rc = -errno;
        ::close(fd);
        return rc;
    }
    int rc = 0;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string_view n = entry->d_name;
        if (n == "." || n == "..") continue;
        struct stat st {};
        if (::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT && rc == 0) rc = -errno;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            const int sub = removeTree(fd, entry->d_name, bytes, depth + 1);
            if (sub != 0 && rc == 0) rc = sub;
        } else if (::unlinkat(fd, entry->d_name, 0) == 0) {
            if (S_ISREG(st.st_mode) && !isTempName(n))
                bytes += static_cast<std::uint64_t>(st.st_size);
        } else if (errno != ENOENT && rc == 0) {
            rc = -errno;
        }
    }
    ::closedir(dir);
    if (rc != 0) return rc;
    return ::unlinkat(parentFd, name, AT_REMOVEDIR) == 0 ? 0 : -errno;
}

Removed removePath(const Root& root, const std::string& rel, bool recursive) {
    Removed r;
    std::string leaf;
    UniqueFd parent(root.openParent(rel, &leaf, false));
    if (parent.get() < 0) {
        r.err = parent.release();
        return r;
    }
    struct stat st {};
    if (::fstatat(parent.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        r.err = -errno;
        return r;
    }
    if (S_ISDIR(st.st_mode)) {
        if (recursive)
            r.err = removeTree(parent.get(), leaf.c_str(), r.bytes, 0);
        else if (::unlinkat(parent.get(), leaf.c_str(), AT_REMOVEDIR) != 0)
            r.err = -errno;
    } else if (::unlinkat(parent.get(), leaf.c_str(), 0) != 0) {
        r.err = -errno;
    } else if (S_ISREG(st.st_mode)) {
        r.bytes = static_cast<std::uint64_t>(st.st_size);
    }
    if (r.err == 0) syncDirectory(parent.get());
    return r;
}

int handleDelete(const FilesPtr& files, keel::Request req, std::string rel, bool recursive) {
    if (rel.empty()) {
        req.fail(403, "EPERM", "the root itself cannot be deleted");
        return keel::done;
    }
    files->ctx.offload(
        [files, rel, recursive] { return removePath(*files->root, rel, recursive); },
        [files, req, rel](keel::Context::Result<Removed>& result) {
            Removed r = result.ok() ? result.get() : Removed{-EIO, 0};
            files->addUsed(0, r.bytes); // also what a failed recursive delete did remove
            if (!req.aborted()) {
                if (r.err == -ENOTEMPTY || r.err == -EEXIST)
                    req.fail(409, "ENOTEMPTY",
                             "the directory " + shown(rel) +
                                 " is not empty; DELETE with ?recursive=1 removes it and "
                                 "everything in it");
                else if (r.err != 0)
                    failErrno(req, r.err, rel);
                else {
                    req.status(204);
                    req.end();
                }
            }
            req.resume(keel::done);
        });
    return keel::pending;
}

// --- POST ?copy_from= -------------------------------------------------------------------------

struct Copied {
    int err = 0;
    bool tooLarge = false;
    bool overQuota = false;
    AtomicWrite::Committed committed;
    std::uint64_t size = 0;
};

Copied copyFile(const Files& files, const std::string& from, const std::string& to,
                std::uint64_t quotaRoom) {
    Copied c;
    UniqueFd src(files.root->openBeneath(from, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, false));
    if (src.get() < 0) {
        c.err = src.release();
        return c;
    }
    struct stat st {};
    if (::fstat(src.get(), &st) != 0) {
        c.err = -errno;
        return c;
    }
    if (S_ISDIR(st.st_mode)) {
        c.err = -EISDIR;
        return c;
    }
    if (!S_ISREG(st.st_mode)) {
        c.err = -EACCES;
        return c;
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (files.config.maxFileBytes != 0 && size > files.config.maxFileBytes) {
        c.tooLarge = true;
        return c;
    }
    std::string leaf;
    UniqueFd parent(files.root->openParent(to, &leaf, false));
    if (parent.get() < 0) {
        c.err = parent.release();
        return c;
    }
    struct stat old {};
    std::uint64_t oldSize = 0;
    if (::fstatat(parent.get(), leaf.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(old.st_mode))
        oldSize = static_cast<std::uint64_t>(old.st_size);
    if (files.config.quotaBytes != 0 && size > quotaRoom + oldSize) {
        c.overQuota = true;
        return c;
    }
    AtomicWritePtr file = AtomicWrite::begin(parent.get(), leaf, files.config.fileMode, &c.err);
    if (!file) return c;
    c.err = file->copyFrom(src.get());
    if (c.err == 0) c.err = file->commit(&c.committed);
    c.size = file->size();
    return c;
}

int handleCopy(const FilesPtr& files, keel::Request req, std::string rel) {
    const auto from = req.query("copy_from");
    if (!from) {
        req.fail(400, "BAD_REQUEST",
                 "POST copies a file: POST " + shown(rel) + "?copy_from=<path under the root>");
        return keel::done;
    }
    SafePath source = safeRelative(*from, files->config.dotfiles);
    if (source.status != 0 || source.rel.empty()) {
        req.fail(source.status == 403 ? 403 : 404, source.status == 403 ? "EACCES" : "ENOENT",
                 "copy_from names no file under the root: " + std::string(*from));
        return keel::done;
    }
    if (rel.empty()) {
        failErrno(req, EISDIR, rel);
        return keel::done;
    }
    files->whenCounted([files, req, rel, from = std::move(source.rel)] {
        if (req.aborted()) {
            req.resume(keel::done);
            return;
        }
        const std::uint64_t room = files->config.quotaBytes > files->used + files->inflight
                                       ? files->config.quotaBytes - files->used - files->inflight
                                       : 0;
        files->ctx.offload([files, rel, from, room] { return copyFile(*files, from, rel, room); },
                           [files, req, rel, from](keel::Context::Result<Copied>& result) {
                               Copied c;
                               if (result.ok())
                                   c = std::move(result.get());
                               else
                                   c.err = -EIO;
                               if (c.committed.renamed) files->addUsed(c.size, c.committed.oldSize);
                               if (!req.aborted()) {
                                   if (c.tooLarge)
                                       failTooLarge(req, *files, rel);
                                   else if (c.overQuota)
                                       failQuota(req, *files, rel);
                                   else if (c.err != 0)
                                       failErrno(req, c.err, c.committed.renamed ? rel : from);
                                   else
                                       req.json(
                                           c.committed.replaced ? 200 : 201,
                                           "{\"success\":true,\"path\":" + jsonString("/" + rel) +
                                               ",\"size\":" + std::to_string(c.size) + "}");
                               }
                               req.resume(keel::done);
                           });
    });
    return keel::pending;
}

// --- the handler ------------------------------------------------------------------------------

bool flag(const keel::Request& req, std::string_view name) {
    const auto v = req.query(name);
    return v && (*v == "1" || *v == "true" || v->empty());
}

int handleRequest(const FilesPtr& files, keel::Request req) {
    const std::string_view method = req.method();
    const bool read = method == "GET" || method == "HEAD";
    const bool write = method == "PUT" || method == "DELETE" || method == "POST";
    if (!read && !write) {
        req.setHeader("Allow", files->config.write ? "GET, HEAD, PUT, DELETE, POST" : "GET, HEAD");
        req.fail(405, "METHOD_NOT_ALLOWED", "the file API does not answer " + std::string(method));
        return keel::done;
    }
    if (write && !files->config.write) {
        req.setHeader("Allow", "GET, HEAD");
        req.fail(405, "METHOD_NOT_ALLOWED",
                 "this file API is read-only (its route's config has no \"write\": true)");
        return keel::done;
    }
    const std::string_view raw = req.param("*").value_or(req.path());
    SafePath path = safeRelative(raw, files->config.dotfiles);
    if (path.status != 0) {
        // Never a file: the same answer whether or not something exists there.
        if (path.status == 403)
            req.fail(403, "EACCES", "access to this path is not allowed");
        else
            req.fail(404, "ENOENT", "no such file or directory");
        return keel::done;
    }
    if (read) return handleRead(files, req, std::move(path.rel));
    if (method == "DELETE")
        return handleDelete(files, req, std::move(path.rel), flag(req, "recursive"));
    if (method == "POST") return handleCopy(files, req, std::move(path.rel));
    if (flag(req, "mkdir") || (!raw.empty() && raw.back() == '/'))
        return handleMkdir(files, req, std::move(path.rel));
    if (path.rel.empty()) {
        failErrno(req, EISDIR, path.rel);
        return keel::done;
    }
    return std::make_shared<Upload>(files, req, std::move(path.rel))->start();
}

/// At site load: the root is opened (created), then on the thread pool the leftover
/// temporary files of writers that died are removed and the quota's total is counted.
FilesPtr configure(const keel::Context& ctx, const keel::Use& use) {
    FilesConfig config = parseConfig(use);
    RootPtr root;
    try {
        root = Root::open(config.root, config.createRoot);
    } catch (const std::exception& e) {
        throw configError(use, "root", e.what());
    }
    const std::string label =
        "files " + std::string(use.routePath) + " (root " + root->path() + ")";
    auto files = std::make_shared<Files>(ctx, std::move(config), std::move(root), label);
    files->scan(true);
    if (files->config.quotaBytes != 0) files->watchForChanges();
    return files;
}

} // namespace

keel::HandlerRegistration registerFilesHandler(const keel::Context& ctx) {
    return keel::handle(
        ctx, "files", [ctx](const keel::Use& use) { return configure(ctx, use); },
        [](FilesPtr& files, keel::Request req) { return handleRequest(files, req); });
}

} // namespace keel_fs
