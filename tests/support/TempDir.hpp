#pragma once

// Test support shared by every test runner (tests/support is on their include path).

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace keel::test {

/// A fresh folder under the system's temporary directory, removed with its contents. Its
/// path is canonical, so it compares equal to paths the code under test canonicalises.
class TempDir {
public:
    explicit TempDir(const std::string& prefix = "keel-test") {
        std::string path = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
        if (::mkdtemp(path.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + path);
        path_ = std::filesystem::canonical(path).string();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    /// The full path of `relative` inside the folder.
    std::string file(const std::string& relative) const { return (std::filesystem::path(path_) / relative).string(); }
    /// Writes `text` to `relative` (folders created); returns the full path.
    std::string write(const std::string& relative, const std::string& text) const {
        const std::filesystem::path file = std::filesystem::path(path_) / relative;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary) << text;
        return file.string();
    }

private:
    std::string path_;
};

} // namespace keel::test
