#pragma once

// Configuration of the fs plugin (its plugin-level "config") and of each `static` use.
// Parsing only; the manifest's schema has already checked the types, these add the checks a
// schema cannot say, with messages naming the key and the accepted form.
//
//   {"path": "/*", "methods": ["GET", "HEAD"], "use": "static",
//    "config": {"root": "public", "index": ["index.html"], "listing": false,
//               "dotfiles": "ignore", "follow_symlinks": false, "cache_control": "max-age=60",
//               "precompressed": true, "etag": true, "last_modified": true,
//               "fallthrough": false, "cache": {"max_file_bytes": 65536}}}

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "Root.hpp"

namespace keel_fs {

struct PluginConfig {
    std::size_t cacheBytes = 16 * 1024 * 1024;
    std::string mimeTypes = "/etc/mime.types";
    static PluginConfig parse(std::string_view json);
};

struct StaticConfig {
    enum class Listing { off, html, json, byAccept };

    std::string root; // absolute (resolved against the site's directory)
    std::vector<std::string> index{"index.html"};
    Listing listing = Listing::off;
    Dotfiles dotfiles = Dotfiles::ignore;
    bool followSymlinks = false;
    std::string cacheControl; // empty: no Cache-Control header
    bool precompressed = true;
    bool etag = true;
    bool lastModified = true;
    bool fallthrough = false;
    std::size_t maxFileBytes = 65536; // 0: this use caches nothing

    /// `siteDir` resolves a relative root. Throws std::invalid_argument("key: problem;
    /// expected ...").
    static StaticConfig parse(std::string_view json, std::string_view siteDir);
};

} // namespace keel_fs
