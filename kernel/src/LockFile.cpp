#include "LockFile.hpp"

#include <Poco/JSON/Object.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "Json.hpp"
#include "SiteCheck.hpp"

namespace keel::kernel {

namespace fs = std::filesystem;
using Poco::Dynamic::Var;
using Poco::JSON::Object;

namespace {

const std::vector<std::string> kLockKeys{"lockfileVersion", "site", "plugins"};
const std::vector<std::string> kEntryKeys{"version", "abi", "file", "sha256"};

std::string systemError(const std::string& what, const std::string& path) {
    return "cannot " + what + " " + path + ": " + std::strerror(errno);
}

void writeAll(int fd, const std::string& content, const std::string& path) {
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error(systemError("write", path));
        done += static_cast<std::size_t>(n);
    }
}

/// The installed plugins `site` runs, checked; throws ConfigError when they do not check out.
std::vector<PluginLibraryPtr> sitePlugins(const SiteConfig& site, const Catalog& catalog) {
    SiteCheck check(site, catalog);
    if (!check.problems().empty()) throw ConfigError(check.problems());
    return check.plugins();
}

std::string abiOf(const PluginLibrary& library) {
    return std::to_string(library.desc().abi_major) + "." + std::to_string(library.desc().abi_minor);
}

std::string keelLock(const SiteConfig& site) { return "`keel lock " + site.file + "`"; }

bool readString(Diagnostics& d, const std::string& path, const Object::Ptr& obj, const std::string& key,
                const std::string& form, std::string& out) {
    if (!obj->has(key)) {
        d.at(path, "missing required key \"" + key + "\"; expected " + form);
        return false;
    }
    const Var v = obj->get(key);
    if (!v.isString()) {
        d.at(JsonPositions::member(path, key), "expected " + form + ", found " + describeJson(v));
        return false;
    }
    out = v.toString();
    return true;
}

void readEntry(Diagnostics& d, const std::string& path, const std::string& name, const Var& v, Lock& lock) {
    if (v.type() != typeid(Object::Ptr)) {
        d.at(path, "expected an object with \"version\", \"abi\", \"file\" and \"sha256\", found " + describeJson(v));
        return;
    }
    const auto obj = v.extract<Object::Ptr>();
    std::vector<std::string> unknown;
    for (const auto& [key, value] : *obj)
        if (std::find(kEntryKeys.begin(), kEntryKeys.end(), key) == kEntryKeys.end()) unknown.push_back(key);
    d.unknownKeys(path, unknown, kEntryKeys);
    Lock::Plugin p{name, "", "", "", ""};
    if (readString(d, path, obj, "version", "a version such as \"1.2.0\"", p.version)) {
        try {
            Version::parse(p.version);
        } catch (const SemverError& e) {
            d.at(JsonPositions::member(path, "version"), e.what());
        }
    }
    readString(d, path, obj, "abi", "an ABI version such as \"1.0\"", p.abi);
    readString(d, path, obj, "file", "a plugin file name such as \"keel_fs.so\"", p.file);
    if (readString(d, path, obj, "sha256", "64 lower-case hex digits", p.sha256)) {
        static const std::regex hex("[0-9a-f]{64}");
        if (!std::regex_match(p.sha256, hex))
            d.at(JsonPositions::member(path, "sha256"), "expected 64 lower-case hex digits, found " + quoteJson(p.sha256));
    }
    lock.plugins.push_back(std::move(p));
}

} // namespace

Fd::~Fd() {
    if (fd >= 0) ::close(fd);
}

Fd openToRead(const std::string& path) {
    Fd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (file.fd < 0) throw std::runtime_error(systemError("read", path));
    return Fd(file.release());
}

std::string sha256File(const std::string& path) { return sha256File(openToRead(path).fd, path); }

std::string sha256File(int fd, const std::string& path) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("cannot hash " + path + ": OpenSSL has no SHA-256");
    char buffer[65536];
    off_t offset = 0;
    for (;;) {
        const ssize_t n = ::pread(fd, buffer, sizeof buffer, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw std::runtime_error(systemError("read", path));
        if (n == 0) break;
        offset += n;
        EVP_DigestUpdate(ctx.get(), buffer, static_cast<std::size_t>(n));
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &size);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

Lock makeLock(const SiteConfig& site, const Catalog& catalog) {
    Lock lock;
    lock.site = site.name;
    for (const auto& library : sitePlugins(site, catalog))
        lock.plugins.push_back({library->name(), library->manifest().version.toString(), abiOf(*library),
                                fs::path(library->path()).filename().string(), catalog.sha256(*library)});
    return lock;
}

std::string lockJson(const Lock& lock) {
    std::string out = "{\n  \"lockfileVersion\": 1,\n  \"site\": " + quoteJson(lock.site) + ",\n  \"plugins\": {";
    for (std::size_t i = 0; i < lock.plugins.size(); ++i) {
        const Lock::Plugin& p = lock.plugins[i];
        out += std::string(i == 0 ? "\n" : ",\n") + "    " + quoteJson(p.name) + ": {\n" +
               "      \"version\": " + quoteJson(p.version) + ",\n" +
               "      \"abi\": " + quoteJson(p.abi) + ",\n" +
               "      \"file\": " + quoteJson(p.file) + ",\n" +
               "      \"sha256\": " + quoteJson(p.sha256) + "\n    }";
    }
    out += lock.plugins.empty() ? "}\n}\n" : "\n  }\n}\n";
    return out;
}

void writeLock(const std::string& path, const Lock& lock) {
    const fs::path target(path);
    const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    std::string temp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
    Fd file(::mkostemp(temp.data(), O_CLOEXEC));
    if (file.fd < 0) throw std::runtime_error(systemError("write", path));
    try {
        // mkostemp makes it private; a lock is shared like the manifest beside it.
        if (::fchmod(file.fd, 0644) != 0) throw std::runtime_error(systemError("write", path));
        writeAll(file.fd, lockJson(lock), path);
        if (::fsync(file.fd) != 0) throw std::runtime_error(systemError("write", path));
        if (::rename(temp.c_str(), path.c_str()) != 0) throw std::runtime_error(systemError("write", path));
    } catch (...) {
        ::unlink(temp.c_str());
        throw;
    }
    // The rename is durable only once the folder is.
    Fd folder(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (folder.fd < 0 || ::fsync(folder.fd) != 0) throw std::runtime_error(systemError("sync the folder of", path));
}

namespace {

/// readLock(), keeping the positions for later messages about the lock.
Lock readLockAt(const std::string& path, JsonPositions& positions) {
    Diagnostics d(path, &positions);
    std::string text;
    const Var root = readConfigFile(d, path, text, positions);
    if (!root.isEmpty() && root.type() != typeid(Object::Ptr))
        d.at("", "expected an object (a lock file, as `keel lock` writes it), found " + describeJson(root));
    if (!d.empty() || root.isEmpty()) throw ConfigError(d.take());
    const auto obj = root.extract<Object::Ptr>();
    std::vector<std::string> unknown;
    for (const auto& [key, value] : *obj)
        if (std::find(kLockKeys.begin(), kLockKeys.end(), key) == kLockKeys.end()) unknown.push_back(key);
    d.unknownKeys("", unknown, kLockKeys);
    if (!obj->has("lockfileVersion")) {
        d.at("", "missing required key \"lockfileVersion\"; expected 1");
    } else if (const Var v = obj->get("lockfileVersion"); !(v.isInteger() && !v.isBoolean() && v.convert<Poco::Int64>() == 1)) {
        d.at("lockfileVersion", "expected 1 (the only version this Keel reads), found " + toJson(v));
    }
    Lock lock;
    readString(d, "", obj, "site", "the site's name", lock.site);
    if (!obj->has("plugins")) {
        d.at("", "missing required key \"plugins\"; expected an object of plugin name -> locked plugin");
    } else if (const Var v = obj->get("plugins"); v.type() != typeid(Object::Ptr)) {
        d.at("plugins", "expected an object of plugin name -> locked plugin, found " + describeJson(v));
    } else {
        for (const auto& [name, entry] : *v.extract<Object::Ptr>())
            readEntry(d, JsonPositions::member("plugins", name), name, entry, lock);
    }
    if (!d.empty()) throw ConfigError(d.take());
    return lock;
}

} // namespace

Lock readLock(const std::string& path) {
    JsonPositions positions;
    return readLockAt(path, positions);
}

std::vector<std::string> checkLock(const SiteConfig& site, const Catalog& catalog) {
    std::error_code ec;
    if (!fs::exists(site.lockFile, ec)) return {site.lockFile + ": no lock file; run " + keelLock(site) + " to write it"};
    JsonPositions positions;
    Lock lock;
    try {
        lock = readLockAt(site.lockFile, positions);
    } catch (const ConfigError& e) {
        return e.errors();
    }
    Diagnostics d(site.lockFile, &positions);
    // What the site runs, and what it would run were everything installed.
    std::map<std::string, PluginLibraryPtr> used;
    std::set<std::string> wanted;
    for (const auto& ref : site.plugins) wanted.insert(ref.name);
    const SiteCheck check(site, catalog);
    for (const auto& library : check.plugins()) {
        used[library->name()] = library;
        for (const auto& req : library->manifest().requirements) wanted.insert(req.name);
    }
    for (const auto& locked : lock.plugins) {
        const std::string path = JsonPositions::member("plugins", locked.name);
        const std::string who = "plugin '" + locked.name + "': ";
        auto it = used.find(locked.name);
        if (it == used.end()) {
            if (!catalog.skipped().empty()) {
                // Files whose hash no lock pins were not opened: one of them may be this plugin,
                // changed since the lock was written. (A pinned plugin that was opened but is
                // unused may be needed by one of them: nothing to say about it then.)
                if (catalog.find(locked.name) == nullptr) {
                    // The files named after the plugin (keel_<name>.so, '-' as '_'), else all.
                    std::string stem = locked.name;
                    std::replace(stem.begin(), stem.end(), '-', '_');
                    std::vector<const Catalog::Skipped*> named, all;
                    for (const auto& skipped : catalog.skipped()) {
                        all.push_back(&skipped);
                        const std::string file = fs::path(skipped.path).stem().string();
                        if (file == stem || file.ends_with("_" + stem)) named.push_back(&skipped);
                    }
                    std::string files;
                    for (const auto* skipped : named.empty() ? all : named)
                        files += (files.empty() ? "" : ", ") + skipped->path + " (sha256 " + skipped->sha256 + ")";
                    d.atLine("", path, who + "locked " + locked.version + " with sha256 " + locked.sha256 +
                                           ", which no file on the plugin path has; not opened, as no lock pins them: " +
                                           files + "; reinstall the locked version or run " + keelLock(site));
                }
            } else if (wanted.count(locked.name)) {
                d.atLine("", path, who + "locked " + locked.version + ", not installed (plugin path: " + catalog.pathText() + ")");
            } else {
                d.atLine("", path, who + "locked, but the site no longer uses it; run " + keelLock(site) + " to update the lock");
            }
            continue;
        }
        const PluginLibrary& library = *it->second;
        const std::string version = library.manifest().version.toString();
        if (version != locked.version) {
            d.atLine("", path, who + "locked " + locked.version + ", installed " + version + " (" + library.path() + ")");
        } else if (const std::string actual = catalog.sha256(library); actual != locked.sha256) {
            d.atLine("", path, who + library.path() + " has sha256 " + actual + ", the lock expects " + locked.sha256 +
                                   "; reinstall the locked version or run " + keelLock(site));
        }
        used.erase(it);
    }
    for (const auto& [name, library] : used)
        d.file("plugin '" + name + "' " + library->manifest().version.toString() + " (" + library->path() +
               "): used by the site but not locked; run " + keelLock(site) + " to add it");
    return d.take();
}

LockPolicy lockPolicy(const SiteConfig& site, bool noLock) {
    std::error_code ec;
    if (fs::exists(site.lockFile, ec)) return {};
    const std::string unpinned = "plugin versions and files are not pinned";
    if (site.mode == SiteConfig::Mode::development)
        return {"", site.file + ": no lock file (" + site.lockFile + "): " + unpinned + "; " + keelLock(site) + " pins them"};
    if (noLock) return {"", site.file + ": running without a lock file (--no-lock): " + unpinned};
    return {site.file + ": a production site needs a lock file (" + site.lockFile + "): run " + keelLock(site) +
                ", or pass --no-lock to run without one",
            ""};
}

} // namespace keel::kernel
