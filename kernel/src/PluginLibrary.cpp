#include "PluginLibrary.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "LockFile.hpp"

namespace keel::kernel {

namespace {

// The module cache: canonical path -> library. Libraries are never unloaded.
std::map<std::string, PluginLibraryPtr>& cache() {
    static std::map<std::string, PluginLibraryPtr> libraries;
    return libraries;
}

std::string canonical(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0)
        throw PluginError("cannot read plugin file " + path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw PluginError("cannot read plugin file " + path + ": not a regular file");
    if (::access(path.c_str(), R_OK) != 0)
        throw PluginError("cannot read plugin file " + path + ": " + std::strerror(errno));
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) == nullptr)
        throw PluginError("cannot read plugin file " + path + ": " + std::strerror(errno));
    return resolved;
}

std::string abiText(unsigned major, unsigned minor) { return std::to_string(major) + "." + std::to_string(minor); }

} // namespace

Version PluginLibrary::kernelAbi() { return Version{KEEL_ABI_MAJOR, KEEL_ABI_MINOR, 0, {}, {}}; }

PluginLibraryPtr PluginLibrary::open(const std::string& path, int fd) {
    const std::string real = canonical(path);
    auto& libraries = cache();
    if (auto it = libraries.find(real); it != libraries.end()) return it->second;

    // The file the caller checked: dlopen opens /proc/self/fd/N afresh, which is that same
    // file (inode), not a path looked up again. N is a copy of the caller's descriptor that
    // stays open while the library is loaded (for good): dlopen knows a loaded library by
    // its name first, so a number used again for the next plugin would return this one.
    std::string load = real;
    Fd kept(-1); // released (left open) once the library is cached
    if (fd >= 0) {
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
            throw PluginError("cannot read plugin file " + path + ": not a regular file");
        kept.fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (kept.fd < 0) throw PluginError("cannot load " + path + ": " + std::strerror(errno));
        load = "/proc/self/fd/" + std::to_string(kept.fd);
        if (::access(load.c_str(), R_OK) != 0) {
            const int error = errno;
            throw PluginError("cannot load " + path + " as its sha256 was checked: " + load + " is not readable (" +
                              std::strerror(error) + "); Keel needs /proc mounted to load a pinned plugin");
        }
    }
    void* handle = ::dlopen(load.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* error = ::dlerror();
        std::string why = error != nullptr ? error : "dlopen failed";
        // Name the file, not the descriptor it was loaded through.
        if (const auto at = why.find(load); at != std::string::npos && load != real) why.replace(at, load.size(), path);
        throw PluginError(path + " is not a loadable shared library: " + why);
    }
    // Until it is cached, a refused library is unloaded again.
    auto refuse = [&](const std::string& message) -> PluginError {
        ::dlclose(handle);
        return PluginError(message);
    };

    void* symbol = ::dlsym(handle, KEEL_ENTRY_SYMBOL);
    if (symbol == nullptr)
        throw refuse(path + " is not a Keel plugin: it does not export " KEEL_ENTRY_SYMBOL " (build it with KEEL_PLUGIN(...) or the keel/abi.h entry point)");
    keel_plugin_entry_fn entry;
    static_assert(sizeof entry == sizeof symbol);
    std::memcpy(&entry, &symbol, sizeof entry);
    const keel_plugin_desc* desc = entry();
    if (desc == nullptr || desc->size < offsetof(keel_plugin_desc, command))
        throw refuse(path + " is not a Keel plugin: its entry point returned no valid descriptor");

    const std::string kernelAbiText = abiText(KEEL_ABI_MAJOR, KEEL_ABI_MINOR);
    if (desc->abi_major != KEEL_ABI_MAJOR)
        throw refuse(path + " was built for Keel ABI " + abiText(desc->abi_major, desc->abi_minor) +
                     ", but this kernel speaks ABI " + kernelAbiText + " (the major versions must match): rebuild the plugin against SDK " +
                     std::to_string(KEEL_ABI_MAJOR) + ".x");
    if (desc->abi_minor > KEEL_ABI_MINOR)
        throw refuse(path + " needs Keel ABI " + abiText(desc->abi_major, desc->abi_minor) +
                     ", newer than this kernel's ABI " + kernelAbiText + ": upgrade Keel, or use a build of the plugin for ABI " +
                     kernelAbiText);
    if (desc->create == nullptr || desc->destroy == nullptr)
        throw refuse(path + " is not a Keel plugin: its descriptor has no create/destroy functions");

    Manifest manifest;
    try {
        manifest = Manifest::parse(std::string_view(desc->manifest.ptr, desc->manifest.len), path);
    } catch (const ManifestError& e) {
        throw refuse(e.what());
    }
    if (!manifest.sdk.satisfies(kernelAbi()))
        throw refuse(path + " (plugin '" + manifest.name + "' " + manifest.version.toString() + ") requires SDK " +
                     manifest.sdk.text() + ", but this kernel provides SDK " + kernelAbi().toString());
    if (!manifest.commands.empty() && (!KEEL_HAS_MEMBER(desc, keel_plugin_desc, command) || desc->command == nullptr))
        throw refuse(path + ": manifest lists commands but the plugin has no command function");

    auto library = std::make_shared<const PluginLibrary>(real, handle, desc, std::move(manifest));
    libraries.emplace(real, library);
    kept.release();
    return library;
}

} // namespace keel::kernel
