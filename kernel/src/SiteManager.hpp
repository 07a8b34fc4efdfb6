#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "Catalog.hpp"
#include "Pipeline.hpp"
#include "PluginSet.hpp"
#include "SiteConfig.hpp"
#include "Sites.hpp"

namespace keel::kernel {

/// Compiles one site: each `use` is resolved to the instance of `set` that registered that
/// handler ("static", or "plugin/static" when two provide it) and configured. Throws
/// ConfigError listing every use that failed, with its place in the manifest.
/// `lag`, when given, times each request step and blames one that blocks the loop.
CompiledSitePtr compileSite(const SiteConfig& config, const std::shared_ptr<PluginSet>& set, LagMonitor* lag = nullptr);

/// The sites of a running kernel: their plugin sets, compiled pipelines and the registry
/// transports read. Reloads validate and build the new configuration completely before
/// swapping it in between requests; a failed reload changes nothing. Loop thread only.
class SiteManager {
public:
    SiteManager(Runtime& runtime, const Catalog& catalog);
    ~SiteManager();
    SiteManager(const SiteManager&) = delete;
    SiteManager& operator=(const SiteManager&) = delete;

    /// Starts every site (plugins, then pipelines). Throws ConfigError or PluginError, after
    /// stopping whatever it had started.
    void start(std::vector<SiteConfig> configs);
    /// Replaces the running configuration. Unchanged plugin instances keep running; changed
    /// ones start anew, and the old ones stop once no request uses them. Returns the errors
    /// (then the old configuration keeps serving and nothing changed).
    std::vector<std::string> reload(std::vector<SiteConfig> configs);
    /// Stops every site, newest first; `done` runs once all plugins have stopped.
    void stop(std::function<void()> done);
    /// Stops everything now (deadline passed).
    void abandon();

    Sites& sites() { return sites_; }
    std::size_t size() const { return running_.size(); }
    const SiteConfig* config(const std::string& name) const;

private:
    struct Running {
        SiteConfig config;
        std::shared_ptr<PluginSet> set;
    };
    struct Built {
        SiteConfig config;
        std::shared_ptr<PluginSet> set;
        CompiledSitePtr compiled;
    };
    std::vector<Built> build(std::vector<SiteConfig> configs, std::vector<std::string>& errors);
    void stopFrom(std::size_t index, bool transportsOnly, std::function<void()> done);

    Runtime& runtime_;
    const Catalog& catalog_;
    Sites sites_;
    std::vector<Running> running_;
};

SiteInfo siteInfo(const SiteConfig& config);

} // namespace keel::kernel
