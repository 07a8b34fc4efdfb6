#pragma once

// Test support for the fs plugin: a temporary tree (a root with files, a secret file right
// outside it, symlinks pointing out of it), a site that serves it through the real http and
// fs plugins (SiteHarness: an in-process kernel on 127.0.0.1:0), and one-shot raw requests.

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "SiteHarness.hpp"

namespace keel::test {

namespace stdfs = std::filesystem;

/// A temporary directory tree, removed at the end.
class Tree {
public:
    Tree() {
        char pattern[] = "/tmp/keel-fs-test-XXXXXX";
        base = ::mkdtemp(pattern);
        root = base + "/public";
        stdfs::create_directories(root);
    }
    ~Tree() {
        std::error_code ec;
        stdfs::remove_all(base, ec);
    }
    Tree(const Tree&) = delete;
    Tree& operator=(const Tree&) = delete;

    /// Writes `content` to `rel` under the root (directories made as needed).
    void write(const std::string& rel, const std::string& content) const {
        writeAt(root + "/" + rel, content);
    }
    static void writeAt(const std::string& path, const std::string& content) {
        stdfs::create_directories(stdfs::path(path).parent_path());
        std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
    }

    std::string base;
    std::string root;
};

/// A site with http and fs: `routes` and `middleware` are JSON fragments; `fsConfig` is the
/// plugin's config.
inline std::string fsSite(const std::string& routes, const std::string& fsConfig = "{}",
                          const std::string& middleware = "[]",
                          const std::string& mode = "production") {
    return R"({"name": "fstest", "mode": ")" + mode +
           R"(", "listeners": [{"address": "127.0.0.1:0"}],
        "plugins": {"http": "^0.1.0", "fs": {"version": "^0.1.0", "config": )" +
           fsConfig + R"(}},
        "middleware": )" +
           middleware + R"(, "routes": [)" + routes + "]}";
}

/// A `static` route on `/*` serving `root` with extra config members (a JSON fragment that
/// starts with a comma, or empty).
inline std::string staticRoute(const std::string& root, const std::string& extra = "",
                               const std::string& path = "/*") {
    return R"({"path": ")" + path + R"(", "use": "static", "config": {"root": ")" + root + "\"" +
           extra + "}}";
}

/// One request on a new connection; the reply (or status 0 when none came in time).
inline Reply fetch(SiteHarness& h, const std::string& target, const std::string& headers = "",
                   const std::string& method = "GET") {
    RawClient c(h, h.port());
    c.send(method + " " + target + " HTTP/1.1\r\nHost: test\r\n" + headers +
           "Connection: close\r\n\r\n");
    return c.reply(10000, method == "HEAD");
}

} // namespace keel::test
