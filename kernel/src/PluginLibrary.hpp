#pragma once

#include <keel/abi.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "Manifest.hpp"

namespace keel::kernel {

class PluginError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class PluginLibrary;
using PluginLibraryPtr = std::shared_ptr<const PluginLibrary>;

/// One plugin shared library, loaded once per process (Node's module cache: every site
/// using it shares its library-level state; each gets its own instance). Libraries stay
/// loaded until the process exits, so no callback can outlive its code.
class PluginLibrary {
public:
    /// Loads `path` (or returns the copy already loaded from the same file), checks the ABI
    /// and parses the manifest. Throws PluginError naming the file: unreadable, not a
    /// shared library, not a Keel plugin, ABI major mismatch, newer than this kernel,
    /// manifest errors, SDK range not satisfied.
    ///
    /// With `fd` (the file, opened by the caller, which read and checked its bytes: the lock
    /// file's sha256), that very file is loaded, through /proc/self/fd, whatever `path`
    /// names by then: a file renamed over it after the check is not run.
    static PluginLibraryPtr open(const std::string& path, int fd = -1);

    const std::string& path() const { return path_; }
    const keel_plugin_desc& desc() const { return *desc_; }
    const Manifest& manifest() const { return manifest_; }
    const std::string& name() const { return manifest_.name; }
    /// "hello 1.0.0"
    std::string label() const { return manifest_.name + " " + manifest_.version.toString(); }

    /// The kernel's ABI as a version, for manifests' "sdk" ranges: "1.0.0".
    static Version kernelAbi();

    PluginLibrary(std::string path, void* handle, const keel_plugin_desc* desc, Manifest manifest)
        : path_(std::move(path)), handle_(handle), desc_(desc), manifest_(std::move(manifest)) {}
    PluginLibrary(const PluginLibrary&) = delete;
    PluginLibrary& operator=(const PluginLibrary&) = delete;

private:
    std::string path_;
    void* handle_;
    const keel_plugin_desc* desc_;
    Manifest manifest_;
};

} // namespace keel::kernel
