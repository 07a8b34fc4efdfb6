#include "Static.hpp"

#include <keel/Json.hpp>
#include <keel/Text.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <utility>
#include <vector>

#include "Http.hpp"

namespace keel_fs {

namespace {

/// How often a cached entry is re-checked with a stat, in case an event was missed (an
/// overflowed inotify queue, a write through a hard link outside the watched directory, a
/// directory past the watch bound): a stale answer lives at most about this long.
constexpr std::uint64_t kRevalidateMs = 1000;

std::string join(std::string_view dir, std::string_view name) {
    std::string out(dir);
    if (!out.empty()) out += '/';
    out += name;
    return out;
}

std::string_view dirOf(std::string_view rel) {
    const auto slash = rel.rfind('/');
    return slash == std::string_view::npos ? std::string_view() : rel.substr(0, slash);
}

std::string isoTime(std::time_t t) {
    struct tm tm {};
    ::gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

/// The headers the handler reads, found in one pass.
struct RequestHeaders {
    std::string_view ifNoneMatch, ifModifiedSince, ifMatch, ifUnmodifiedSince;
    std::string_view range, ifRange, acceptEncoding, accept;
};

RequestHeaders readHeaders(const keel::Request& req) {
    RequestHeaders h;
    const keel_request_api* api = req.api();
    keel_request* r = req.raw();
    const std::size_t n = api->header_count(r);
    for (std::size_t i = 0; i < n; ++i) {
        const keel_header kh = api->header_at(r, i);
        const std::string_view name = keel::toView(kh.name);
        const std::string_view value = keel::toView(kh.value);
        switch (name.size()) {
        case 5:
            if (keel::equalsIgnoreCase(name, "Range")) h.range = value;
            break;
        case 6:
            if (keel::equalsIgnoreCase(name, "Accept")) h.accept = value;
            break;
        case 8:
            if (keel::equalsIgnoreCase(name, "If-Match"))
                h.ifMatch = value;
            else if (keel::equalsIgnoreCase(name, "If-Range"))
                h.ifRange = value;
            break;
        case 13:
            if (keel::equalsIgnoreCase(name, "If-None-Match")) h.ifNoneMatch = value;
            break;
        case 15:
            if (keel::equalsIgnoreCase(name, "Accept-Encoding")) h.acceptEncoding = value;
            break;
        case 17:
            if (keel::equalsIgnoreCase(name, "If-Modified-Since")) h.ifModifiedSince = value;
            break;
        case 19:
            if (keel::equalsIgnoreCase(name, "If-Unmodified-Since")) h.ifUnmodifiedSince = value;
            break;
        default: break;
        }
    }
    return h;
}

/// Empties the cache of a use's entries when the use is released (a reload replaced it).
struct UseToken {
    StaticFilesPtr files;
    std::string prefix;
    UseToken(StaticFilesPtr f, std::string p) : files(std::move(f)), prefix(std::move(p)) {}
    UseToken(const UseToken&) = delete;
    UseToken& operator=(const UseToken&) = delete;
    ~UseToken() { files->cache().erasePrefix(prefix); }
};

/// One route's use of the handler.
struct StaticUse {
    StaticConfig config;
    RootPtr root;
    StaticFilesPtr files;
    WatcherPtr watcher;
    std::string keyPrefix; // "<use id>:" in the shared cache
    std::string key;       // scratch for the cache key (loop thread, no allocation once grown)
    std::shared_ptr<UseToken> token;
};

/// What the thread pool found for a request path.
struct Resolved {
    enum Kind { file, redirect, listing, notFound, forbidden, failed } kind = notFound;
    CacheEntryPtr entry;  // file: representations (with bodies when `cacheable`)
    std::vector<int> fds; // file: one per representation, owned
    bool cacheable = false;
    bool keepOpen = false; // cache the open files, not their bytes
    std::string body; // listing
    std::string contentType;
    int err = 0; // failed: the errno

    Resolved() = default;
    Resolved(Resolved&& o) noexcept
        : kind(o.kind), entry(std::move(o.entry)), fds(std::exchange(o.fds, {})),
          cacheable(o.cacheable), keepOpen(o.keepOpen), body(std::move(o.body)), contentType(std::move(o.contentType)),
          err(o.err) {}
    Resolved& operator=(Resolved&&) = delete;
    ~Resolved() {
        for (const int fd : fds)
            if (fd >= 0) ::close(fd);
    }
};

Resolved fromErrno(int err) {
    Resolved r;
    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ELOOP:
    case ENAMETOOLONG:
    case ENXIO:
    case ENODEV: r.kind = Resolved::notFound; break;
    case EACCES:
    case EPERM: r.kind = Resolved::forbidden; break;
    default: r.kind = Resolved::failed; r.err = err;
    }
    return r;
}

bool readAll(int fd, std::uint64_t size, std::string& out) {
    out.resize(size);
    std::uint64_t done = 0;
    while (done < size) {
        const ssize_t n = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::uint64_t>(n);
    }
    return true;
}

HeaderList headersFor(const StaticConfig& c, const std::string& contentType,
                      const Representation& rep, bool vary) {
    HeaderList h;
    h.emplace_back("Content-Type", contentType);
    if (!rep.encoding.empty()) h.emplace_back("Content-Encoding", rep.encoding);
    h.emplace_back("Accept-Ranges", "bytes");
    if (c.etag) h.emplace_back("ETag", rep.etag);
    if (c.lastModified) h.emplace_back("Last-Modified", httpDate(rep.mtime));
    if (!c.cacheControl.empty()) h.emplace_back("Cache-Control", c.cacheControl);
    if (vary) h.emplace_back("Vary", "Accept-Encoding");
    return h;
}

void listDirectory(const StaticUse& u, int dirFd, const std::string& urlPath, bool json,
                   Resolved& out) {
    DIR* d = ::fdopendir(dirFd);
    if (d == nullptr) {
        const int err = errno;
        ::close(dirFd);
        const Resolved failure = fromErrno(err);
        out.kind = failure.kind;
        out.err = failure.err;
        return;
    }
    struct Item {
        std::string name;
        const char* type;
        std::uint64_t size;
        std::time_t mtime;
    };
    std::vector<Item> items;
    while (const dirent* e = ::readdir(d)) {
        const std::string_view name = e->d_name;
        if (name == "." || name == ".." || isTempName(name)) continue;
        if (name.front() == '.' && u.config.dotfiles != Dotfiles::allow) continue;
        struct stat st {};
        if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
        const char* type = S_ISREG(st.st_mode)   ? "file"
                           : S_ISDIR(st.st_mode) ? "directory"
                           : S_ISLNK(st.st_mode) ? "symlink"
                                                 : "other";
        items.push_back(
            {std::string(name), type, static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec});
    }
    ::closedir(d);
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.name < b.name; });
    out.kind = Resolved::listing;
    if (json) {
        out.contentType = "application/json; charset=utf-8";
        out.body = "[";
        for (std::size_t i = 0; i < items.size(); ++i) {
            const Item& it = items[i];
            if (i != 0) out.body += ',';
            out.body += "{\"name\":" + keel::quoteJson(it.name) + ",\"type\":\"" + it.type +
                        "\",\"size\":" + std::to_string(it.size) + ",\"mtime\":\"" +
                        isoTime(it.mtime) + "\"}";
        }
        out.body += "]";
        return;
    }
    out.contentType = "text/html; charset=utf-8";
    const std::string title = "Index of " + escapeHtml(urlPath);
    out.body = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title +
               "</title></head>\n<body><h1>" + title + "</h1>\n<ul>\n";
    if (urlPath != "/") out.body += "<li><a href=\"../\">../</a></li>\n";
    for (const Item& it : items) {
        const bool dir = std::strcmp(it.type, "directory") == 0;
        // "./" keeps a name with a colon from reading as a URL scheme.
        out.body += "<li><a href=\"./" + escapeHtml(encodePath(it.name)) + (dir ? "/" : "") +
                    "\">" + escapeHtml(it.name) + (dir ? "/" : "") + "</a></li>\n";
    }
    out.body += "</ul>\n</body></html>\n";
}

/// The blocking part of a cache miss: open, stat, index files, siblings, listing, and the
/// bodies of small files. Thread pool.
Resolved resolve(const StaticUse& u, const std::string& rel, bool trailing, int listing,
                 const std::string& urlPath) {
    const StaticConfig& c = u.config;
    const int flags = O_RDONLY | O_NONBLOCK; // a FIFO must not block the pool thread
    int fd = u.root->openBeneath(rel, flags, 0, c.followSymlinks);
    if (fd < 0) return fromErrno(-fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        return fromErrno(err);
    }
    std::string file = rel;
    if (S_ISDIR(st.st_mode)) {
        if (!trailing && !rel.empty()) {
            ::close(fd);
            Resolved r;
            r.kind = Resolved::redirect;
            return r;
        }
        bool found = false;
        for (const auto& index : c.index) {
            const std::string name = join(rel, index);
            const int f = u.root->openBeneath(name, flags, 0, c.followSymlinks);
            if (f < 0) continue;
            struct stat ist {};
            if (::fstat(f, &ist) == 0 && S_ISREG(ist.st_mode)) {
                ::close(fd);
                fd = f;
                st = ist;
                file = name;
                found = true;
                break;
            }
            ::close(f);
        }
        if (!found) {
            Resolved r;
            if (listing == 0) {
                ::close(fd);
                return r; // notFound
            }
            listDirectory(u, fd, urlPath, listing == 2, r);
            return r;
        }
    } else if (!S_ISREG(st.st_mode) || trailing) {
        ::close(fd);
        return Resolved{};
    }

    Resolved r;
    r.kind = Resolved::file;
    r.entry = std::make_shared<CacheEntry>();
    CacheEntry& e = *r.entry;
    e.dir = std::string(dirOf(file));
    const auto add = [&](int f, const struct stat& s, std::string name, std::string encoding) {
        Representation rep;
        rep.file = std::move(name);
        rep.encoding = std::move(encoding);
        rep.stamp = FileStamp::of(s);
        rep.etag = makeETag(s, rep.encoding);
        rep.mtime = s.st_mtim.tv_sec;
        e.reps.push_back(std::move(rep));
        r.fds.push_back(f);
    };
    add(fd, st, file, "");
    if (c.precompressed) {
        for (const auto& [ext, encoding] : {std::pair{".br", "br"}, std::pair{".gz", "gzip"}}) {
            const int f = u.root->openBeneath(file + ext, flags, 0, c.followSymlinks);
            if (f < 0) continue;
            struct stat s {};
            if (::fstat(f, &s) == 0 && S_ISREG(s.st_mode))
                add(f, s, file + ext, encoding);
            else
                ::close(f);
        }
    }
    e.vary = e.reps.size() > 1;
    const std::string& type = u.files->mime().forName(file);
    for (auto& rep : e.reps)
        rep.headers = headersFor(c, type, rep, e.vary);

    r.cacheable = u.files->cache().capacity() > 0 && c.maxFileBytes > 0;
    for (const auto& rep : e.reps)
        if (rep.stamp.size > c.maxFileBytes) r.cacheable = false;
    // Too big to keep in memory: keep the files open instead (finishMiss moves the fds).
    r.keepOpen = !r.cacheable && u.files->cache().capacity() > 0;
    if (r.cacheable) {
        for (std::size_t i = 0; i < e.reps.size() && r.cacheable; ++i) {
            struct stat after {};
            // Read, then stat again: a file written meanwhile is sent but not cached.
            r.cacheable = readAll(r.fds[i], e.reps[i].stamp.size, e.reps[i].body) &&
                          ::fstat(r.fds[i], &after) == 0 && FileStamp::of(after) == e.reps[i].stamp;
        }
        if (!r.cacheable)
            for (auto& rep : e.reps)
                std::string().swap(rep.body);
    }
    return r;
}

/// The representation to send: the client's preferred precompressed sibling, else identity.
std::size_t choose(const CacheEntry& e, std::string_view acceptEncoding) {
    if (!e.vary || acceptEncoding.empty()) return 0;
    const AcceptEncoding ae = parseAcceptEncoding(acceptEncoding);
    std::size_t best = 0;
    double bestQ = 0;
    for (std::size_t i = 1; i < e.reps.size(); ++i) {
        const double q = e.reps[i].encoding == "br" ? ae.br : ae.gzip;
        if (q > bestQ) { // ties keep the earlier one: br before gzip
            best = i;
            bestQ = q;
        }
    }
    return best;
}

void setHeaders(const keel::Request& req, const HeaderList& headers) {
    const keel_request_api* api = req.api();
    keel_request* r = req.raw();
    for (const auto& [name, value] : headers)
        api->add_header(r, keel_str{name.data(), name.size()},
                        keel_str{value.data(), value.size()});
}

/// Answers with one representation: 412, 304, 416, 206 or 200; the body from memory
/// (`body`) or from `fd` (owned; -1 with a body).
void sendRepresentation(const StaticUse& u, const keel::Request& req, const RequestHeaders& h,
                        const CacheEntry& e, const Representation& rep, const std::string* body,
                        int fd) {
    const StaticConfig& c = u.config;
    const std::string_view etag = c.etag ? std::string_view(rep.etag) : std::string_view();
    const Precondition pre = evaluatePreconditions(
        h.ifMatch, c.lastModified ? h.ifUnmodifiedSince : std::string_view(), h.ifNoneMatch,
        c.lastModified ? h.ifModifiedSince : std::string_view(), etag, rep.mtime);
    if (pre != Precondition::none) {
        if (fd >= 0) ::close(fd);
        if (pre == Precondition::failed) {
            req.fail(412, "PRECONDITION_FAILED",
                     "the file does not match If-Match / If-Unmodified-Since");
            return;
        }
        req.status(304);
        for (const auto& [name, value] : rep.headers)
            if (name == "ETag" || name == "Last-Modified" || name == "Cache-Control" ||
                name == "Vary")
                req.addHeader(name, value);
        req.end();
        return;
    }
    const std::uint64_t size = rep.stamp.size;
    ByteRange range;
    if (!h.range.empty() && ifRangeAllows(h.ifRange, etag, c.lastModified ? rep.mtime : -1))
        range = parseRange(h.range, size);
    if (range.kind == ByteRange::unsatisfiable) {
        if (fd >= 0) ::close(fd);
        req.setHeader("Content-Range", contentRange(range, size));
        if (e.vary) req.setHeader("Vary", "Accept-Encoding");
        req.fail(416, "RANGE_NOT_SATISFIABLE",
                 "the range starts past the end of the file (" + std::to_string(size) + " bytes)");
        return;
    }
    setHeaders(req, rep.headers);
    std::uint64_t offset = 0, length = size;
    if (range.kind == ByteRange::single) {
        req.status(206);
        req.setHeader("Content-Range", contentRange(range, size));
        offset = range.offset;
        length = range.length;
    } else {
        req.status(200);
    }
    if (body != nullptr) {
        if (fd >= 0) ::close(fd);
        req.end(std::string_view(*body).substr(offset, length));
        return;
    }
    if (length == 0) {
        ::close(fd);
        req.end();
        return;
    }
    const int rc = req.sendFile(fd, offset, length);
    if (rc < 0 && rc != -ECANCELED)
        u.files->ctx().warn("sending " + u.root->path() + "/" + rep.file + ": " +
                            std::strerror(-rc));
}

/// Re-checks a cached entry on the thread pool; drops it when a file changed.
void revalidate(StaticUse& u, const std::string& key, CacheEntryPtr entry) {
    StaticFiles& files = *u.files;
    if (files.stopped()) return;
    entry->checking = true;
    files.tracker()->add();
    std::vector<std::pair<std::string, FileStamp>> stamps;
    for (const auto& rep : entry->reps)
        stamps.emplace_back(rep.file, rep.stamp);
    try {
        files.ctx().offload(
            [root = u.root, follow = u.config.followSymlinks, stamps = std::move(stamps)] {
                for (const auto& [file, stamp] : stamps) {
                    const int fd = root->openBeneath(file, O_PATH, 0, follow);
                    if (fd < 0) return false;
                    struct stat st {};
                    const bool same = ::fstat(fd, &st) == 0 && FileStamp::of(st) == stamp;
                    ::close(fd);
                    if (!same) return false;
                }
                return true;
            },
            [filesPtr = u.files, key, entry](keel::Context::Result<bool>& r) {
                entry->checking = false;
                entry->checkedAt = filesPtr->ctx().now();
                const bool same = r.ok() && r.get();
                if (!same && entry->valid) filesPtr->cache().erase(key);
                filesPtr->tracker()->done();
            });
    } catch (const std::exception&) {
        // The thread pool refused the work (the loop is closing): try again at a later hit.
        entry->checking = false;
        files.tracker()->done();
    }
}

std::string redirectLocation(std::string_view target) {
    if (!target.empty() && target.front() != '/') {
        const auto scheme = target.find("://");
        const auto slash = scheme == std::string_view::npos ? std::string_view::npos
                                                            : target.find('/', scheme + 3);
        target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    const auto q = target.find('?');
    std::string_view path = target.substr(0, q);
    const std::string_view query =
        q == std::string_view::npos ? std::string_view() : target.substr(q);
    // "//evil.example/dir" must not become a protocol-relative redirect.
    while (path.size() > 1 && path[1] == '/')
        path.remove_prefix(1);
    std::string out(path);
    out += '/';
    out += query;
    return out;
}

/// 0: no listing; 1: HTML; 2: JSON.
int listingFor(const StaticConfig& c, std::string_view accept) {
    switch (c.listing) {
    case StaticConfig::Listing::off: return 0;
    case StaticConfig::Listing::html: return 1;
    case StaticConfig::Listing::json: return 2;
    case StaticConfig::Listing::byAccept: {
        const auto json = accept.find("application/json");
        const auto html = accept.find("text/html");
        return json != std::string_view::npos && (html == std::string_view::npos || json < html)
                   ? 2
                   : 1;
    }
    }
    return 0;
}

void finishMiss(StaticUse& u, const keel::Request& req, Resolved& r, const std::string& key,
                std::uint64_t generation, const std::string& urlPath) {
    const StaticConfig& c = u.config;
    switch (r.kind) {
    case Resolved::notFound:
        if (c.fallthrough) {
            req.resume(keel::next);
            return;
        }
        req.fail(404, "NOT_FOUND", "no such file: " + urlPath);
        break;
    case Resolved::forbidden: req.fail(403, "FORBIDDEN", "permission denied: " + urlPath); break;
    case Resolved::failed:
        req.fail(500, "INTERNAL_ERROR",
                 "cannot open " + u.root->path() + " " + urlPath + ": " + std::strerror(r.err),
                 true);
        break;
    case Resolved::redirect:
        req.status(301);
        req.setHeader("Location", redirectLocation(req.target()));
        req.end();
        break;
    case Resolved::listing:
        req.status(200);
        req.setHeader("Content-Type", r.contentType);
        if (!c.cacheControl.empty()) req.setHeader("Cache-Control", c.cacheControl);
        req.end(r.body);
        break;
    case Resolved::file: {
        const RequestHeaders h = readHeaders(req);
        CacheEntry& e = *r.entry;
        const std::size_t i = choose(e, h.acceptEncoding);
        bool added = false;
        // Cache only what a watch covers, and only when no event came in its directory since
        // the read began.
        if ((r.cacheable || r.keepOpen) && u.watcher && !u.files->stopped() &&
            u.watcher->lastChange(e.dir) <= generation && u.watcher->watch(e.dir, &added)) {
            e.watchId = u.watcher->id();
            e.checkedAt = added ? 0 : u.files->ctx().now();
            bool kept = true;
            for (std::size_t j = 0; r.keepOpen && j < e.reps.size() && kept; ++j) {
                const int copy = ::dup(r.fds[j]);
                kept = copy >= 0;
                if (kept) e.reps[j].fd = holdDescriptor(copy);
            }
            if (kept) u.files->cache().insert(key, r.entry);
            else
                for (auto& rep : e.reps)
                    rep.fd.reset();
        }
        if (!e.reps[i].fd && (!e.reps[i].body.empty() || e.reps[i].stamp.size == 0)) {
            sendRepresentation(u, req, h, e, e.reps[i], &e.reps[i].body, -1);
        } else {
            const int fd = std::exchange(r.fds[i], -1);
            sendRepresentation(u, req, h, e, e.reps[i], nullptr, fd);
        }
        break;
    }
    }
    req.resume(keel::done);
}

int handleStatic(StaticUse& u, keel::Request req) {
    const std::string_view method = req.method();
    if (method != "GET" && method != "HEAD") {
        req.setHeader("Allow", "GET, HEAD");
        req.fail(405, "METHOD_NOT_ALLOWED", "static files answer GET and HEAD");
        return keel::done;
    }
    const auto param = req.param("*");
    const std::string_view path = param ? *param : req.path();
    const StaticConfig& c = u.config;
    SafePath safe = safeRelative(path, c.dotfiles);
    if (safe.status != 0) {
        if (safe.status == 404 && c.fallthrough) return keel::next;
        req.fail(safe.status, safe.status == 403 ? "FORBIDDEN" : "NOT_FOUND",
                 safe.status == 403 ? "access to this path is denied" : "no such file");
        return keel::done;
    }
    const bool trailing = safe.rel.empty() || path.back() == '/';

    // The cache: answered here, on the loop, without a syscall.
    u.key.assign(u.keyPrefix);
    u.key += safe.rel;
    if (trailing) u.key += '/';
    Cache& cache = u.files->cache();
    if (CacheEntry* e = cache.find(u.key)) {
        if (!e->checking && u.files->ctx().now() - e->checkedAt >= kRevalidateMs)
            revalidate(u, u.key, cache.findShared(u.key));
        const RequestHeaders h = readHeaders(req);
        const Representation& rep = e->reps[choose(*e, h.acceptEncoding)];
        if (rep.fd) {
            // A large file kept open: dup(2) is no file-system call, the loop does not block.
            const int fd = ::dup(*rep.fd);
            if (fd >= 0) {
                sendRepresentation(u, req, h, *e, rep, nullptr, fd);
                return keel::done;
            }
            req.fail(503, "EMFILE", "out of file descriptors", true);
            return keel::done;
        }
        sendRepresentation(u, req, h, *e, rep, &rep.body, -1);
        return keel::done;
    }

    const std::uint64_t generation = u.watcher ? u.watcher->generation() : 0;
    const int listing = listingFor(c, req.header("Accept").value_or(""));
    std::string key = u.key;
    std::string urlPath(req.path());
    u.files->ctx().offload([&u, rel = std::move(safe.rel), trailing, listing,
                            urlPath] { return resolve(u, rel, trailing, listing, urlPath); },
                           [&u, req, key = std::move(key), generation,
                            urlPath](keel::Context::Result<Resolved>& result) {
                               if (req.aborted()) {
                                   req.resume(keel::done); // the fds close with `result`
                                   return;
                               }
                               const bool ok = req.guard([&] {
                                   finishMiss(u, req, result.get(), key, generation, urlPath);
                               });
                               if (!ok) req.resume(keel::done);
                           });
    return keel::pending;
}

} // namespace

StaticFiles::StaticFiles(keel::Context ctx, const PluginConfig& config)
    : ctx_(ctx), cache_(config.cacheBytes), changedTopic_(ctx.topic("fs.changed")) {
    std::string warning;
    mime_ = MimeTypes::load(config.mimeTypes, &warning);
    if (!warning.empty()) ctx_.warn(warning);
}

WatcherPtr StaticFiles::watcherFor(const RootPtr& root, const std::string& site) {
    if (stopped_) return nullptr;
    auto& slot = watchers_[root->path()];
    if (!slot) {
        const std::uint64_t id = nextWatchId_++;
        sites_[id] = site;
        slot = std::make_shared<Watcher>(ctx_, root, id, tracker_,
                                         [this](Watcher& w, std::string_view dir,
                                                std::string_view name,
                                                bool rename) { changed(w, dir, name, rename); });
        slot->start();
    }
    return slot;
}

void StaticFiles::changed(Watcher& w, std::string_view dir, std::string_view name, bool rename) {
    if (name.empty())
        cache_.invalidate(w.id(), dir, "");
    else
        cache_.invalidate(w.id(), dir, name);
    if (isTempName(name) || !ctx_.hasSubscribers(changedTopic_)) return;
    const std::string json = "{\"site\":" + keel::quoteJson(sites_[w.id()]) +
                             ",\"root\":" + keel::quoteJson(w.root()->path()) +
                             ",\"path\":" + keel::quoteJson(join(dir, name)) + ",\"event\":\"" +
                             (rename ? "rename" : "change") + "\"}";
    ctx_.publishJson(changedTopic_, json);
}

bool StaticFiles::stop(std::function<void()> done) {
    stopped_ = true;
    for (auto& [path, w] : watchers_)
        w->close();
    watchers_.clear();
    cache_.clear();
    if (tracker_->pending == 0) return false;
    tracker_->idle = std::move(done);
    return true;
}

keel::HandlerRegistration registerStaticHandler(const keel::Context& ctx, StaticFilesPtr files) {
    auto useIds = std::make_shared<std::uint64_t>(0);
    return keel::handle(
        ctx, "static",
        [files, useIds](const keel::Use& use) {
            StaticUse u;
            u.config = StaticConfig::parse(use.configJson, use.siteDir);
            try {
                u.root = Root::open(u.config.root, false);
            } catch (const std::exception& e) {
                throw std::invalid_argument(std::string("root: ") + e.what());
            }
            u.files = files;
            u.watcher = files->watcherFor(u.root, std::string(use.siteName));
            u.keyPrefix = std::to_string(++*useIds) + ":";
            u.token = std::make_shared<UseToken>(files, u.keyPrefix);
            return u;
        },
        [](StaticUse& u, keel::Request req) { return handleStatic(u, req); });
}

} // namespace keel_fs
