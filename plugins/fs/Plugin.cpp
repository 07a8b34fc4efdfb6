// fs: files over HTTP. Two route handlers: `static` (a site's public files: index files,
// listings, validators, ranges, precompressed siblings, a small-file cache invalidated by
// file watching) and `files` (a file API with atomic writes). Both keep every request inside
// its root (Root.hpp). Changes under a static root are published as `fs.changed`.
#include <keel/sdk.hpp>

#include "FileApi.hpp"
#include "Static.hpp"
#include "StaticConfig.hpp"

namespace {

class Fs {
public:
    static constexpr std::string_view manifest = R"json({
        "name": "fs",
        "version": "0.1.0",
        "description": "Static files (index, listing, ETag/Range, precompressed, cached and watched) and a file API with atomic writes, never outside their root",
        "sdk": "^1.0.0",
        "handlers": [
            {"name": "static", "kind": "both", "description": "Serves the files under root: the route's wildcard (or, as middleware, the whole path) names the file",
             "config": {"type": "object", "required": ["root"], "properties": {
                 "root": {"type": "string", "minLength": 1, "description": "directory to serve, relative to the site or absolute"},
                 "index": {"type": ["array", "string"], "items": {"type": "string"}, "description": "index file names; default [\"index.html\"]"},
                 "listing": {"enum": [false, true, "html", "json"], "description": "directory listing; default false (true: HTML, or JSON when Accept asks)"},
                 "dotfiles": {"enum": ["deny", "ignore", "allow"], "description": "names starting with '.': 403, 404 (default) or served"},
                 "follow_symlinks": {"type": "boolean", "description": "follow symlinks that leave the root; default false"},
                 "cache_control": {"type": "string", "description": "Cache-Control of the files; default none"},
                 "precompressed": {"type": "boolean", "description": "serve .br / .gz siblings when accepted; default true"},
                 "etag": {"type": "boolean", "description": "default true"},
                 "last_modified": {"type": "boolean", "description": "default true"},
                 "fallthrough": {"type": "boolean", "description": "a missing file goes on to the next route instead of 404; default false"},
                 "cache": {"type": "object", "properties": {
                     "max_file_bytes": {"type": "integer", "minimum": 0, "description": "files up to this size are kept in memory; default 65536, 0: none"}}}}}},
            {"name": "files", "description": "File API on root: GET file or directory listing, HEAD; with write: PUT (atomic), mkdir, DELETE, copy",
             "config": {"type": "object", "required": ["root"], "properties": {
                 "root": {"type": "string", "minLength": 1, "description": "directory of the API, relative to the site or absolute"},
                 "create_root": {"type": "boolean", "description": "mkdir -p the root at site load; default true"},
                 "write": {"type": "boolean", "description": "allow PUT, DELETE and POST; default false (405)"},
                 "max_file_bytes": {"type": "integer", "minimum": 0, "description": "largest file a request may write; default: the route's body_limit"},
                 "quota_bytes": {"type": "integer", "minimum": 0, "description": "total bytes under the root; default 0 (none)"},
                 "dotfiles": {"enum": ["deny", "ignore", "allow"], "description": "names starting with '.': 403, 404 (default) or served"},
                 "file_mode": {"type": "string", "minLength": 3, "maxLength": 4, "description": "mode of new files, octal; default \"0644\" (a replaced file keeps its own)"}}}}
        ],
        "config": {
            "type": "object",
            "properties": {
                "cache_bytes": {"type": "integer", "minimum": 0, "description": "memory for small static files, shared by the site's routes; default 16777216 (16 MiB), 0: none"},
                "mime_types": {"type": "string", "minLength": 1, "description": "mime.types file; default /etc/mime.types (a built-in table backs it)"}
            }
        }
    })json";

    explicit Fs(keel::Context ctx)
        : ctx_(ctx), files_(std::make_shared<keel_fs::StaticFiles>(
                         ctx, keel_fs::PluginConfig::parse(ctx.configJson()))),
          static_(keel_fs::registerStaticHandler(ctx, files_)),
          api_(keel_fs::registerFilesHandler(ctx)) {}

    Fs(const Fs&) = delete;
    Fs& operator=(const Fs&) = delete;

    int stop() {
        // Watch handles close asynchronously and stats may be on the thread pool: the
        // instance is stopped once they are done.
        return files_->stop([ctx = ctx_] { ctx.stopDone(); }) ? keel::pending : 0;
    }

private:
    keel::Context ctx_;
    keel_fs::StaticFilesPtr files_;
    keel::HandlerRegistration static_;
    keel::HandlerRegistration api_;
};

} // namespace

KEEL_PLUGIN(Fs)
