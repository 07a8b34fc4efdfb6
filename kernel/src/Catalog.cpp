#include "Catalog.hpp"

#include <uv.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "LockFile.hpp"

namespace keel::kernel {

namespace fs = std::filesystem;

std::vector<std::string> splitPath(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t end = std::min(text.find(':', start), text.size());
        if (end > start) out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

Catalog::Catalog(std::vector<std::string> directories, std::optional<std::set<std::string>> allowedSha256)
    : directories_(std::move(directories)) {
    for (const auto& dir : directories_) {
        std::error_code ec;
        if (!fs::is_directory(dir, ec)) continue;
        std::vector<std::string> files;
        for (const auto& entry : fs::directory_iterator(dir, ec))
            if (entry.path().extension() == ".so") files.push_back(entry.path().string());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            try {
                std::string hash;
                // Pinned: the file is opened once, hashed, and what is loaded is that file, so
                // one renamed over it meanwhile is not run.
                Fd pinned(-1);
                if (allowedSha256) {
                    try {
                        pinned.fd = openToRead(file).release();
                        hash = sha256File(pinned.fd, file);
                    } catch (const std::runtime_error& e) {
                        problems_.push_back(e.what());
                        continue;
                    }
                    if (allowedSha256->count(hash) == 0) {
                        problems_.push_back(file + " was not opened: no lock file pins its sha256 " + hash);
                        skipped_.push_back({file, std::move(hash)});
                        continue;
                    }
                }
                PluginLibraryPtr library = PluginLibrary::open(file, pinned.fd);
                if (!hash.empty()) sha256_.emplace(library->path(), std::move(hash));
                auto [it, inserted] = byName_.emplace(library->name(), library);
                if (!inserted && it->second != library) {
                    std::string message = "duplicate plugin name '" + library->name() + "': " + it->second->path() +
                                          " and " + library->path() + " both declare it";
                    problems_.push_back(message);
                    duplicates_.emplace(library->name(), message);
                }
            } catch (const PluginError& e) {
                problems_.push_back(e.what());
            }
        }
    }
}

std::string Catalog::sha256(const PluginLibrary& library) const {
    const auto it = sha256_.find(library.path());
    return it != sha256_.end() ? it->second : sha256File(library.path());
}

PluginLibraryPtr Catalog::find(const std::string& name) const {
    auto it = byName_.find(name);
    return it == byName_.end() ? nullptr : it->second;
}

std::vector<PluginLibraryPtr> Catalog::all() const {
    std::vector<PluginLibraryPtr> out;
    for (const auto& [name, library] : byName_) out.push_back(library);
    return out;
}

std::string Catalog::duplicate(const std::string& name) const {
    auto it = duplicates_.find(name);
    return it == duplicates_.end() ? std::string() : it->second;
}

std::string Catalog::pathText() const {
    std::string out;
    for (const auto& d : directories_) out += (out.empty() ? "" : ":") + d;
    return out.empty() ? "(empty)" : out;
}

std::vector<std::string> Catalog::defaultPath(const std::string& cliPath) {
    if (!cliPath.empty()) return splitPath(cliPath);
    if (const char* env = std::getenv("KEEL_PLUGIN_PATH"); env != nullptr && *env != '\0') return splitPath(env);
    char exe[4096];
    size_t size = sizeof exe;
    if (uv_exepath(exe, &size) != 0) return {};
    return {(fs::path(std::string(exe, size)).parent_path().parent_path() / "lib" / "keel" / "plugins").string()};
}

} // namespace keel::kernel
