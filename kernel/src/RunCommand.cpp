#include "RunCommand.hpp"

#include <uv.h>

#include <iostream>
#include <stdexcept>

#include "Bus.hpp"
#include "Catalog.hpp"
#include "Json.hpp"
#include "LockFile.hpp"
#include "Log.hpp"
#include "Loop.hpp"
#include "ManifestWatcher.hpp"
#include "Services.hpp"
#include "Signals.hpp"
#include "SiteCheck.hpp"
#include "SiteConfig.hpp"
#include "SiteManager.hpp"

namespace keel::kernel {

namespace {

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct RunOptions {
    std::vector<std::string> sites; // manifests or folders
    std::string config;             // keel.json
    std::string listen;
    bool noLock = false;
    std::uint64_t stopDeadlineMs = 0; // 0: keel.json's or the default
    std::uint64_t blockWarnMs = 100;
};

std::uint64_t milliseconds(const std::string& option, const std::string& text) {
    try {
        std::size_t used = 0;
        const unsigned long long n = std::stoull(text, &used);
        if (used == text.size()) return n;
    } catch (const std::exception&) {
    }
    throw UsageError("run: " + option + ": expected a number of milliseconds, found '" + text + "'");
}

RunOptions parseOptions(const std::vector<std::string>& args) {
    RunOptions o;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw UsageError("run: option " + arg + " needs a value");
            return args[++i];
        };
        if (arg == "--config") o.config = value();
        else if (arg == "--listen") o.listen = value();
        else if (arg == "--no-lock") o.noLock = true;
        else if (arg == "--stop-deadline") o.stopDeadlineMs = milliseconds(arg, value());
        else if (arg == "--block-warn") o.blockWarnMs = milliseconds(arg, value());
        else if (!arg.empty() && arg[0] == '-') throw UsageError("run: unknown option '" + arg + "'");
        else o.sites.push_back(arg);
    }
    if (!o.config.empty() && !o.sites.empty()) throw UsageError("run: give site manifests or --config keel.json, not both");
    if (!o.listen.empty() && o.sites.size() != 1) throw UsageError("run: --listen overrides the listeners of exactly one site");
    return o;
}

/// Everything a (re)load reads: the manifests, checked, with their lock files honoured.
struct Loaded {
    GlobalConfig global;
    std::vector<SiteConfig> sites;
    std::vector<std::string> errors;
    std::vector<std::string> warnings;
};

/// When every site runs under its lock file, the plugin files they pin (by sha256): the
/// catalog opens no other file, so a changed or foreign plugin's code never runs, not even
/// its initializers, before the lock check refuses it. An unreadable lock pins nothing (its
/// site fails the check). nullopt when some site may run unpinned plugins (--no-lock, or a
/// development site without a lock).
std::optional<std::set<std::string>> pinnedHashes(const std::vector<SiteConfig>& sites, bool noLock) {
    if (noLock) return std::nullopt;
    std::set<std::string> hashes;
    for (const auto& site : sites) {
        const LockPolicy policy = lockPolicy(site, noLock);
        if (!policy.error.empty() || !policy.warning.empty()) return std::nullopt;
        try {
            for (const auto& plugin : readLock(site.lockFile).plugins) hashes.insert(plugin.sha256);
        } catch (const std::exception&) {
        }
    }
    return hashes;
}

Loaded load(const RunOptions& o, const Catalog* catalog, const std::string& pluginPathOption,
            std::unique_ptr<Catalog>& ownCatalog) {
    Loaded out;
    try {
        if (!o.config.empty()) {
            out.global = loadGlobal(o.config);
            out.sites = loadSites(out.global);
        } else {
            for (const auto& s : o.sites) out.sites.push_back(loadSite(s));
        }
    } catch (const ConfigError& e) {
        out.errors = e.errors();
        return out;
    }
    if (catalog == nullptr) {
        ownCatalog = std::make_unique<Catalog>(out.global.pluginPath.empty() ? Catalog::defaultPath(pluginPathOption)
                                                                              : out.global.pluginPath,
                                               pinnedHashes(out.sites, o.noLock));
        catalog = ownCatalog.get();
    }
    if (!o.listen.empty()) {
        ListenerConfig listener;
        if (std::string why = parseListenAddress(o.listen, listener); !why.empty()) {
            out.errors.push_back("--listen " + o.listen + ": " + why);
            return out;
        }
        out.sites.front().listeners = {listener};
    }
    for (const auto& site : out.sites) {
        for (auto& e : checkSite(site, *catalog)) out.errors.push_back(std::move(e));
        const LockPolicy policy = lockPolicy(site, o.noLock);
        if (!policy.error.empty()) out.errors.push_back(policy.error);
        if (!policy.warning.empty()) out.warnings.push_back(policy.warning);
        if (policy.error.empty() && policy.warning.empty() && !o.noLock)
            for (auto& e : checkLock(site, *catalog)) out.errors.push_back(std::move(e));
    }
    for (auto& e : checkSites(out.sites)) out.errors.push_back(std::move(e));
    return out;
}

std::string errorsJson(const std::vector<std::string>& errors) {
    std::string json = "{\"errors\":[";
    for (std::size_t i = 0; i < errors.size(); ++i) json += (i ? "," : "") + quoteJson(errors[i]);
    return json + "]}";
}

} // namespace

int runSites(const std::vector<std::string>& args, const std::string& pluginPathOption) {
    RunOptions options;
    try {
        options = parseOptions(args);
    } catch (const UsageError& e) {
        std::cerr << "keel: " << e.what() << "\nUsage: keel run SITE_DIR_OR_FILE... [--listen ADDR] | --config keel.json\n";
        return 2;
    }
    std::unique_ptr<Catalog> catalog;
    Loaded loaded = load(options, nullptr, pluginPathOption, catalog);
    for (const auto& w : loaded.warnings) logWarn("kernel", w);
    if (!loaded.errors.empty()) {
        std::cerr << "keel: cannot start:\n";
        for (const auto& e : loaded.errors) std::cerr << e << "\n";
        return 1;
    }
    if (!loaded.global.file.empty()) Log::setLevel(loaded.global.level);
    const std::uint64_t deadlineMs = options.stopDeadlineMs != 0 ? options.stopDeadlineMs : loaded.global.stopDeadlineMs;

    Loop loop;
    Bus bus(loop);
    Services services;
    Runtime runtime{loop, bus, services};
    SiteManager manager(runtime, *catalog);
    loop.lag().setBlockThresholdMs(options.blockWarnMs);
    loop.lag().start(loop.uv());

    const TopicId reloaded = bus.topic("site.reloaded");
    const TopicId reloadFailed = bus.topic("site.reload_failed");
    int exitCode = 0;
    TimerId keepAlive = 0;
    std::vector<std::string> watched;
    auto manifestFiles = [&](const Loaded& l) {
        std::vector<std::string> files;
        if (!l.global.file.empty()) files.push_back(l.global.file);
        for (const auto& s : l.sites) files.push_back(s.file);
        return files;
    };

    // Reload: read and check everything, then swap; a bad configuration changes nothing.
    std::unique_ptr<ManifestWatcher> watcher;
    auto reload = [&](const char* why) {
        logInfo("kernel", std::string("reloading (") + why + ")");
        std::unique_ptr<Catalog> unused;
        Loaded next = load(options, catalog.get(), pluginPathOption, unused);
        for (const auto& w : next.warnings) logWarn("kernel", w);
        if (next.errors.empty()) next.errors = manager.reload(next.sites);
        if (!next.errors.empty()) {
            for (const auto& e : next.errors) logError("kernel", "reload refused: " + e);
            bus.publishJson(reloadFailed, errorsJson(next.errors));
            return;
        }
        if (watcher) watcher->watch(manifestFiles(next));
        logInfo("kernel", "reloaded " + std::to_string(next.sites.size()) + " site(s)");
        bus.publishJson(reloaded, "{\"sites\":" + std::to_string(next.sites.size()) + "}");
    };

    Signals signals(loop,
                    Signals::Hooks{[&](int) {
                                       bus.publishJson(bus.topic("kernel.stopping"),
                                                       "{\"deadline_ms\":" + std::to_string(deadlineMs) + "}");
                                       watcher.reset();
                                       manager.stop([&] {
                                           if (keepAlive != 0) loop.clearTimer(keepAlive);
                                           logInfo("kernel", "stopped; " + loop.lag().summary());
                                       });
                                   },
                                   [&](int) {
                                       manager.abandon();
                                       exitCode = 1;
                                       loop.stop();
                                   },
                                   [&] {
                                       bus.publishJson(bus.topic("kernel.reload"), "{}");
                                       reload("SIGHUP");
                                   }},
                    deadlineMs);

    std::vector<std::string> startErrors;
    const std::size_t siteCount = loaded.sites.size();
    const std::vector<std::string> files = manifestFiles(loaded);
    loop.runMain([&] {
        try {
            manager.start(std::move(loaded.sites));
        } catch (const ConfigError& e) {
            startErrors = e.errors();
        } catch (const PluginError& e) {
            startErrors.push_back(e.what());
        }
    });
    if (!startErrors.empty()) {
        std::cerr << "keel: cannot start:\n";
        for (const auto& e : startErrors) std::cerr << e << "\n";
        return 1;
    }
    watcher = std::make_unique<ManifestWatcher>(loop, 200, [&] { reload("a manifest changed"); });
    watcher->watch(files);
    logInfo("kernel", "started " + std::to_string(siteCount) + " site(s) (pid " + std::to_string(uv_os_getpid()) + ")");
    bus.publishJson(bus.topic("kernel.started"), "{\"pid\":" + std::to_string(uv_os_getpid()) + "}");
    keepAlive = loop.setInterval(60000, [&] { Log::write(LogLevel::debug, "loop", loop.lag().summary()); });
    loop.run();
    return exitCode;
}

} // namespace keel::kernel
