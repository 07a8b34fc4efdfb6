#pragma once

#include <keel/abi.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "Owner.hpp"
#include "Router.hpp"

namespace keel::kernel {

/// One compiled use of a handler: the plugin's vtable and object, and the state its
/// configure() made from this use's config.
struct Step {
    const keel_handler_vtable* vtable = nullptr;
    void* self = nullptr;
    void* state = nullptr;
    const Owner* owner = nullptr;
    std::string where;
    std::string blame; // "request step at WHERE", for the lag monitor
};

/// What a request runs once routed: the site's middleware, the route's middleware, then
/// its handler, as one array.
struct CompiledRoute {
    std::vector<const Step*> steps;
    std::uint64_t bodyLimit = 1024 * 1024;
    std::string pattern;
    bool terminal = false; // a kernel answer (404/405/400): no body is wanted
};

/// A site compiled for requests: built once at load (and at each reload), immutable after,
/// shared by the requests running on it; the last of them to finish releases it, so a
/// reload never changes the configuration under a request in flight.
class LagMonitor;

class CompiledSite {
public:
    CompiledSite() = default;
    ~CompiledSite();
    CompiledSite(const CompiledSite&) = delete;
    CompiledSite& operator=(const CompiledSite&) = delete;

    std::string name;
    std::string dir;
    bool development = false;
    Router router;
    std::vector<CompiledRoute> routes; // by route index
    CompiledRoute notFound;
    CompiledRoute methodNotAllowed;
    CompiledRoute badRequest;
    std::deque<Step> steps; // stable addresses
    /// Times each step (a coarse clock) and blames one that blocks the loop; may be null.
    LagMonitor* lag = nullptr;
    /// Runs after the states are released: stops plugin instances only this site used.
    std::function<void()> onRetire;
    /// Keeps what the steps point into alive (plugin instances).
    std::vector<std::shared_ptr<void>> keepAlive;

    /// Adds the kernel's terminal steps (404, 405, 400) after `middleware`.
    void addTerminals(const std::vector<const Step*>& middleware);
};

using CompiledSitePtr = std::shared_ptr<const CompiledSite>;

} // namespace keel::kernel
