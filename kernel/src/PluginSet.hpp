#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "Catalog.hpp"
#include "PluginInstance.hpp"

namespace keel::kernel {

/// The plugins one site (or one command) runs: each with its own instance and config,
/// sharing libraries with other sets. resolve() pulls in dependencies from the catalog and
/// orders them; start() starts in dependency order and, when one fails, stops those
/// already started (in reverse) before reporting; stop() stops in reverse order.
/// Loop thread only.
class PluginSet {
public:
    /// `site` names the instances ("hello#demo"); empty for a set outside any site.
    /// `services` is the site's registry (kept across reloads); null: a new one.
    PluginSet(Runtime& runtime, const Catalog& catalog, std::string site = {},
              std::shared_ptr<Services> services = nullptr);
    ~PluginSet();
    PluginSet(const PluginSet&) = delete;
    PluginSet& operator=(const PluginSet&) = delete;

    /// Asks for `plugin` in versions `range` with `configJson` (an object).
    void add(const std::string& plugin, std::string configJson = "{}", const std::string& range = "*");
    /// Resolves dependencies, checks ranges and configs, orders. Throws PluginError listing
    /// every problem, one per line.
    void resolve();
    /// Creates and starts every instance in dependency order. Throws PluginError.
    void start();
    /// Stops in reverse dependency order, waiting for each pending stop; `done` runs after.
    void stop(std::function<void()> done);
    /// Stops only the transports (manifest "transport": true), so that they drain their
    /// requests while the plugins those requests use still run; stop() does the rest.
    void stopTransports(std::function<void()> done);
    /// Stops everything at once without waiting (deadline passed).
    void abandon();
    /// For a reload: takes over `old`'s instances whose library and configuration are the
    /// same (call after resolve(), before start(); start() skips them, they keep running).
    void adoptUnchanged(const PluginSet& old);
    /// Whether this set runs `instance` (shared with a newer set after a reload).
    bool contains(const PluginInstance* instance) const;
    /// The instances in start order, shared (a compiled site keeps them alive).
    const std::vector<std::shared_ptr<PluginInstance>>& instances() const { return instances_; }

    /// The instances in start order (after resolve()).
    std::vector<PluginInstance*> order() const;
    PluginInstance* find(const std::string& plugin) const;
    Services& services() { return *services_; }
    const std::shared_ptr<Services>& sharedServices() const { return services_; }

private:
    struct Request {
        std::string configJson;
        std::string range;
    };
    void stopFrom(std::size_t index, bool transportsOnly, std::function<void()> done);

    Runtime& runtime_;
    const Catalog& catalog_;
    std::string site_;
    std::shared_ptr<Services> services_;
    std::vector<std::string> requestedOrder_;
    std::map<std::string, Request> requests_;
    std::vector<std::shared_ptr<PluginInstance>> instances_; // start order
    std::size_t started_ = 0;
};

} // namespace keel::kernel
