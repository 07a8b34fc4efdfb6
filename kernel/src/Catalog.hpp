#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "PluginLibrary.hpp"

namespace keel::kernel {

/// The plugins installed on the plugin path: every `*.so` in each directory, by manifest
/// name. Files that fail to load are kept as problems (shown by `keel plugins`), so one
/// broken file does not hide the others; two files declaring the same name are an error
/// that names both.
class Catalog {
public:
    /// Scans `directories` in order (missing directories are skipped). With `allowedSha256`
    /// (the hashes the sites' lock files pin), a file is hashed before it is opened, and one
    /// whose hash is not among them is never dlopened (its initializers never run): it is
    /// listed in skipped() and problems().
    explicit Catalog(std::vector<std::string> directories,
                     std::optional<std::set<std::string>> allowedSha256 = std::nullopt);

    struct Skipped {
        std::string path;
        std::string sha256;
    };
    /// Files left unopened because no lock pins their hash.
    const std::vector<Skipped>& skipped() const { return skipped_; }
    /// The sha256 of `library`'s file: the one taken before it was opened, else read now.
    std::string sha256(const PluginLibrary& library) const;

    const std::vector<std::string>& directories() const { return directories_; }
    /// The library named `name`, or nullptr.
    PluginLibraryPtr find(const std::string& name) const;
    /// Every library, sorted by name.
    std::vector<PluginLibraryPtr> all() const;
    /// Files that could not be loaded, and duplicate names: one message each.
    const std::vector<std::string>& problems() const { return problems_; }
    /// The message when more than one file declares `name`, else "".
    std::string duplicate(const std::string& name) const;
    /// The directories, ':'-joined, for messages.
    std::string pathText() const;

    /// The default plugin path: --plugin-path, else $KEEL_PLUGIN_PATH (':'-separated), else
    /// <directory of the keel binary>/../lib/keel/plugins.
    static std::vector<std::string> defaultPath(const std::string& cliPath);

private:
    std::vector<std::string> directories_;
    std::map<std::string, PluginLibraryPtr> byName_;
    std::vector<std::string> problems_;
    std::map<std::string, std::string> duplicates_;
    std::vector<Skipped> skipped_;
    std::map<std::string, std::string> sha256_; // by library path, when hashed before opening
};

std::vector<std::string> splitPath(const std::string& text);

} // namespace keel::kernel
