#include "SiteManager.hpp"

#include <filesystem>
#include <set>

#include "Log.hpp"

namespace keel::kernel {

namespace {

/// The instance of `set` providing handler `use` ("name" or "plugin/name").
std::pair<PluginInstance*, const PluginInstance::HandlerEntry*> findHandler(const PluginSet& set, const std::string& use,
                                                                             std::string& error) {
    std::string plugin;
    std::string name = use;
    if (auto slash = use.find('/'); slash != std::string::npos) {
        plugin = use.substr(0, slash);
        name = use.substr(slash + 1);
    }
    std::pair<PluginInstance*, const PluginInstance::HandlerEntry*> found{nullptr, nullptr};
    for (const auto& instance : set.instances()) {
        if (!plugin.empty() && instance->library().name() != plugin) continue;
        if (const auto* entry = instance->handler(name)) {
            if (found.first != nullptr) {
                error = "handler '" + name + "' is provided by both '" + found.first->library().name() + "' and '" +
                        instance->library().name() + "': write \"" + found.first->library().name() + "/" + name + "\"";
                return {nullptr, nullptr};
            }
            found = {instance.get(), entry};
        }
    }
    if (found.first == nullptr)
        error = "no plugin of this site registered handler '" + use + "' (is the plugin listed in \"plugins\"?)";
    return found;
}

} // namespace

SiteInfo siteInfo(const SiteConfig& config) {
    SiteInfo info;
    info.name = config.name;
    info.dir = std::filesystem::absolute(config.dir.empty() ? "." : config.dir).lexically_normal().string();
    for (const auto& l : config.listeners) info.listeners.push_back(SiteListener{l.address, l.host, l.port, l.tlsCert, l.tlsKey});
    info.hosts = config.hosts;
    info.isDefault = config.isDefault;
    info.development = config.mode == SiteConfig::Mode::development;
    return info;
}

CompiledSitePtr compileSite(const SiteConfig& config, const std::shared_ptr<PluginSet>& set, LagMonitor* lag) {
    auto site = std::make_shared<CompiledSite>();
    site->lag = lag;
    site->name = config.name;
    site->dir = std::filesystem::absolute(config.dir.empty() ? "." : config.dir).lexically_normal().string();
    site->development = config.mode == SiteConfig::Mode::development;
    std::vector<std::string> errors;

    auto makeStep = [&](const UseConfig& use, const std::string& routePath) -> const Step* {
        std::string error;
        auto [instance, entry] = findHandler(*set, use.use, error);
        if (instance == nullptr) {
            errors.push_back(use.where + ": " + error);
            return nullptr;
        }
        void* state = nullptr;
        if (entry->vtable->configure != nullptr) {
            keel_use_info info{sizeof(keel_use_info),
                               {use.configJson.data(), use.configJson.size()},
                               {use.where.data(), use.where.size()},
                               {site->name.data(), site->name.size()},
                               {site->dir.data(), site->dir.size()},
                               site->development ? 1 : 0,
                               {routePath.data(), routePath.size()}};
            state = entry->vtable->configure(entry->self, &info);
            if (state == nullptr) {
                errors.push_back(use.where + ": " + instance->takeError("the handler refused its configuration"));
                return nullptr;
            }
        }
        site->steps.push_back(Step{entry->vtable, entry->self, state, instance->owner(), use.where, "request step at " + use.where});
        return &site->steps.back();
    };

    std::vector<const Step*> middleware;
    for (const auto& use : config.middleware)
        if (const Step* step = makeStep(use, "")) middleware.push_back(step);
    site->routes.resize(config.routes.size());
    for (std::size_t i = 0; i < config.routes.size(); ++i) {
        const RouteConfig& route = config.routes[i];
        CompiledRoute& compiled = site->routes[i];
        compiled.steps = middleware;
        for (const auto& use : route.middleware)
            if (const Step* step = makeStep(use, route.path)) compiled.steps.push_back(step);
        if (const Step* step = makeStep(route.handler, route.path)) compiled.steps.push_back(step);
        compiled.bodyLimit = route.bodyLimit;
        compiled.pattern = route.path;
        try {
            site->router.add(route.path, route.methods, static_cast<int>(i));
        } catch (const RouteError& e) {
            errors.push_back(route.where + ": " + e.what());
        }
    }
    site->addTerminals(middleware);
    site->router.compile();
    site->keepAlive.push_back(set);
    if (!errors.empty()) throw ConfigError(errors);
    return site;
}

SiteManager::SiteManager(Runtime& runtime, const Catalog& catalog) : runtime_(runtime), catalog_(catalog) {
    runtime_.sites = &sites_;
}

SiteManager::~SiteManager() {
    abandon();
    runtime_.sites = nullptr;
}

std::vector<SiteManager::Built> SiteManager::build(std::vector<SiteConfig> configs, std::vector<std::string>& errors) {
    std::vector<Built> built;
    for (auto& config : configs) {
        std::shared_ptr<Services> services;
        for (const auto& running : running_)
            if (running.config.name == config.name) services = running.set->sharedServices();
        auto set = std::make_shared<PluginSet>(runtime_, catalog_, config.name, services);
        for (const auto& plugin : config.plugins) set->add(plugin.name, plugin.configJson, plugin.range);
        try {
            set->resolve();
            for (const auto& running : running_)
                if (running.config.name == config.name) set->adoptUnchanged(*running.set);
            // A new site is listed before its plugins start, so that a transport opens its
            // listeners in start() and a busy port or a bad certificate fails the start.
            sites_.stage(siteInfo(config));
            set->start();
        } catch (const PluginError& e) {
            sites_.unstage(config.name);
            errors.push_back(config.file + ": " + e.what());
            continue;
        }
        try {
            CompiledSitePtr compiled = compileSite(config, set, &runtime_.loop.lag());
            built.push_back(Built{std::move(config), set, std::move(compiled)});
        } catch (const ConfigError& e) {
            sites_.unstage(config.name);
            for (const auto& error : e.errors()) errors.push_back(error);
        }
    }
    return built;
}

void SiteManager::start(std::vector<SiteConfig> configs) {
    std::vector<std::string> errors;
    std::vector<Built> built = build(std::move(configs), errors);
    if (!errors.empty()) {
        for (const auto& b : built) sites_.unstage(b.config.name);
        throw ConfigError(errors); // `built` stops what it started as it goes
    }
    for (auto& b : built) {
        sites_.put(siteInfo(b.config), b.compiled);
        running_.push_back(Running{std::move(b.config), b.set});
    }
}

std::vector<std::string> SiteManager::reload(std::vector<SiteConfig> configs) {
    std::vector<std::string> errors;
    std::vector<Built> built = build(std::move(configs), errors);
    if (!errors.empty()) {
        for (const auto& b : built) sites_.unstage(b.config.name);
        return errors; // the new sets are dropped; adopted instances run on
    }

    std::set<std::string> kept;
    for (auto& b : built) {
        kept.insert(b.config.name);
        // The old compiled site stops its plugin set's unshared instances when its last
        // request finishes (its set is released with it).
        sites_.put(siteInfo(b.config), b.compiled);
    }
    for (const auto& old : running_)
        if (!kept.count(old.config.name)) sites_.retire(old.config.name);
    running_.clear();
    for (auto& b : built) running_.push_back(Running{std::move(b.config), b.set});
    return {};
}

void SiteManager::stop(std::function<void()> done) {
    // Transports first, in every site: they stop accepting and finish the requests in flight
    // while the plugins those requests use still run. Then every site's plugins, in reverse.
    stopFrom(running_.size(), true, [this, done = std::move(done)]() mutable {
        stopFrom(running_.size(), false, std::move(done));
    });
}

void SiteManager::stopFrom(std::size_t index, bool transportsOnly, std::function<void()> done) {
    if (index == 0) {
        if (done) done();
        return;
    }
    auto next = [this, index, transportsOnly, done = std::move(done)]() mutable {
        stopFrom(index - 1, transportsOnly, std::move(done));
    };
    if (transportsOnly) running_[index - 1].set->stopTransports(std::move(next));
    else running_[index - 1].set->stop(std::move(next));
}

void SiteManager::abandon() {
    for (std::size_t i = running_.size(); i-- > 0;) running_[i].set->abandon();
}

const SiteConfig* SiteManager::config(const std::string& name) const {
    for (const auto& r : running_)
        if (r.config.name == name) return &r.config;
    return nullptr;
}

} // namespace keel::kernel
