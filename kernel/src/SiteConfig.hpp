#pragma once

#include <Poco/Dynamic/Var.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "JsonPositions.hpp"
#include "Log.hpp"

namespace keel::kernel {

/// Every problem found in one or more configuration files, one message each; what() is
/// them joined by newlines. Each message reads "FILE:LINE: KEY.PATH: problem; accepted
/// form" (LINE when known, KEY.PATH when the problem has one).
class ConfigError : public std::runtime_error {
public:
    explicit ConfigError(std::vector<std::string> errors);
    const std::vector<std::string>& errors() const { return errors_; }

private:
    std::vector<std::string> errors_;
};

/// Collects the messages for one file, each placed at its key path's line, and hands them
/// back in line order (the order an operator reads the file in).
class Diagnostics {
public:
    /// `file` as the operator named it; `positions` (may be null) must outlive this.
    Diagnostics(std::string file, const JsonPositions* positions) : file_(std::move(file)), positions_(positions) {}

    /// "FILE:LINE: PATH: problem", at the line of `path` (or of what encloses it).
    void at(std::string_view path, std::string_view problem);
    /// As at(), but placed at the line of `linePath` (e.g. the unknown key inside `path`).
    void atLine(std::string_view path, std::string_view linePath, std::string_view problem);
    /// "FILE:LINE: PROBLEM" for a "PATH: problem" message from ConfigSchema::validate.
    void schemaMessage(std::string_view rootPath, std::string_view message);
    /// "FILE:LINE: problem" at a known line (0: "FILE: problem").
    void atLineNumber(int line, std::string_view problem);
    /// "FILE: problem", for what has no place in the file (cannot read it, ...).
    void file(std::string_view problem) { atLineNumber(0, problem); }
    /// The unknown keys of an object at `path`, each with the nearest accepted key.
    void unknownKeys(std::string_view path, const std::vector<std::string>& keys, const std::vector<std::string>& accepted);

    const std::string& fileName() const { return file_; }
    /// "FILE:LINE" of `path`, for messages that point at another place.
    std::string place(std::string_view path) const;
    bool empty() const { return entries_.empty(); }
    /// The messages sorted by line (stable), emptied from this collector.
    std::vector<std::string> take();

private:
    struct Entry {
        int line;
        std::string text;
    };
    int lineOf(std::string_view path) const { return positions_ ? positions_->line(path) : 0; }
    void add(int line, std::string_view path, std::string_view problem);

    std::string file_;
    const JsonPositions* positions_;
    std::vector<Entry> entries_;
};

/// A request step a manifest names: `{"use": "static", "config": {...}}`.
struct UseConfig {
    /// Where the step stands, which decides the handler kinds it accepts.
    enum class Role { handler, middleware };

    std::string use;               // "static" or "plugin/static", as written
    std::string configJson = "{}"; // the step's config (an object), compact JSON ("" only in a partial config)
    Role role = Role::handler;
    std::string path;              // key path of the step: "routes[2]", "middleware[0]", "routes[2].middleware[1]"
    int line = 0;                  // of `path` in the manifest (0 unknown)
    std::string where;             // "FILE:LINE: routes[2]", for messages at run time
};

/// One route: `{"path", "methods"?, "use", "config"?, "middleware"?, "body_limit"?}`.
///
/// Path patterns: "*" (every path), or "/" followed by segments separated by "/": literal
/// segments, ":name" parameters ([A-Za-z_][A-Za-z0-9_]*) matching one segment, and a final
/// "*" matching the rest. A trailing "/" on a path other than "/" means the same as "/*"
/// (a prefix). "." and ".." segments and empty segments are refused: request paths are
/// normalized before routing, so such a route could never match.
struct RouteConfig {
    std::string path;
    /// Upper-case HTTP methods as written; empty means every method. GET implies HEAD.
    std::vector<std::string> methods;
    UseConfig handler;
    std::vector<UseConfig> middleware; // run after the site's middleware, before the handler
    std::uint64_t bodyLimit = 1024 * 1024;
    std::string where; // "FILE:LINE: routes[2]"
};

/// One listening address: `{"address": "127.0.0.1:8080", "tls"?: {"cert", "key"}}`.
struct ListenerConfig {
    std::string address; // as written: "127.0.0.1:8080", "[::1]:8080", ":8080"
    std::string host;    // the IP address without brackets; "" for every interface (":8080")
    std::uint16_t port = 0;
    std::string tlsCert; // both empty without TLS; else paths resolved against the site folder
    std::string tlsKey;
};

/// A plugin a site asks for: `"fs": "^1.2.0"` or `"fs": {"version": "^1.2.0", "config": {...}}`.
struct PluginRef {
    std::string name;
    std::string range;             // as written ("" only in a partial config)
    std::string configJson = "{}"; // compact JSON object ("" only in a partial config)
};

/// A site manifest (`sites/<name>/site.json`), checked for everything it says by itself.
/// Whether its plugins and handlers exist is SiteCheck's part (it needs the installed plugins).
struct SiteConfig {
    enum class Mode { production, development };

    std::string file;     // the manifest, as the operator named it: "sites/demo/site.json"
    std::string dir;      // its folder, which relative paths in it are relative to ("." at worst)
    std::string lockFile; // where its lock file is: site.json -> site.lock.json beside it
    std::string name;
    std::vector<ListenerConfig> listeners;
    std::vector<std::string> hosts; // lower-case; "*.example.com" for a wildcard; empty = any host
    bool isDefault = false;         // answers unknown host names on its addresses
    Mode mode = Mode::production;
    std::vector<PluginRef> plugins; // in manifest order
    std::vector<UseConfig> middleware;
    std::vector<RouteConfig> routes;
    std::string text;         // the manifest as read, to tell whether a reload changes anything
    JsonPositions positions;  // lines of the manifest's keys, for later messages about it
};

/// The global configuration (`keel.json`); every key optional. Without a file, the defaults.
struct GlobalConfig {
    std::string file;                    // as named; "" when there is none
    std::string dir = ".";               // its folder: relative paths in it are relative to it
    std::vector<std::string> pluginPath; // empty: not set here (Catalog::defaultPath applies)
    std::vector<std::string> siteFiles;  // site manifests, globs expanded, in order, each once
    LogLevel level = LogLevel::info;
    bool jsonLogs = false;
    std::uint64_t stopDeadlineMs = 10000;
    unsigned workers = 0; // 0: one per core ("auto"); not used yet
    bool reuseport = false;
};

/// Reads and validates a site manifest: `fileOrDir` is a manifest file or a folder holding
/// site.json. Throws ConfigError with every problem.
SiteConfig loadSite(const std::string& fileOrDir);
/// As loadSite(), but returns every problem in `errors` instead of throwing, with `site`
/// holding what could be read (a `use`, range or config found wrong is left empty, so that
/// SiteCheck skips it). Returns whether the manifest was a JSON object at all, i.e. whether
/// checking `site` further can find more. For `keel check`, which reports everything at once.
bool loadSite(const std::string& fileOrDir, SiteConfig& site, std::vector<std::string>& errors);
/// Reads and validates keel.json; `sites` globs are expanded here. Throws ConfigError.
GlobalConfig loadGlobal(const std::string& file);
/// Loads every site of `global`; throws ConfigError with the problems of all of them.
std::vector<SiteConfig> loadSites(const GlobalConfig& global);

/// Reads a JSON file (comments allowed) for the loaders: its root, text and positions. After
/// a message in `d` (cannot read; invalid JSON, at the line where known), an empty Var.
/// Keys set twice are reported too.
Poco::Dynamic::Var readConfigFile(Diagnostics& d, const std::string& file, std::string& text, JsonPositions& positions);

/// "100kb", "1mb", "1.5mb", "512" (bytes; units b, kb, mb, gb, 1024-based, any case);
/// false when `text` is none of these or too large.
bool parseByteSize(std::string_view text, std::uint64_t& bytes);

/// Parses a listener address as manifests write it ("127.0.0.1:8080", "[::1]:0", ":80"),
/// for `keel run --listen`. Returns why it is not one ("" when it is, with `out` filled in).
std::string parseListenAddress(const std::string& text, ListenerConfig& out);

} // namespace keel::kernel
