#pragma once

#include <keel/abi.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "Bus.hpp"
#include "Loop.hpp"
#include "Owner.hpp"
#include "PluginLibrary.hpp"
#include "Services.hpp"

namespace keel::kernel {
class PluginInstance;
}

/// The ABI's opaque per-instance handle.
struct keel_ctx {
    keel::kernel::PluginInstance* instance;
};

namespace keel::kernel {

/// What the kernel lends every plugin instance: the loop, the bus, process-wide services.
class Sites;

struct Runtime {
    Loop& loop;
    Bus& bus;
    Services& services;
    Sites* sites = nullptr; // the process's sites, for transports (null outside `keel run`)
};

/// One instance of a plugin library, with its own configuration: create, start, stop,
/// destroy, and commands. Everything it registered through the host API is released when
/// it stops. Loop thread only.
class PluginInstance {
public:
    enum class State { idle, created, started, stopping, stopped };

    PluginInstance(Runtime& runtime, PluginLibraryPtr library, std::string name, std::string configJson,
                   std::shared_ptr<Services> services);
    ~PluginInstance();
    PluginInstance(const PluginInstance&) = delete;
    PluginInstance& operator=(const PluginInstance&) = delete;

    /// Throw PluginError "plugin 'NAME' failed to create|start: REASON".
    void create();
    void start();
    /// Stops; `done` runs once stopped (at once, or after the plugin's stop_done).
    void stop(std::function<void()> done);
    /// Ends a pending stop without waiting (deadline passed), then cleans up.
    void abandonStop();
    /// Runs a manifest command; returns the exit code, or KEEL_PENDING (then `done` gets it).
    int command(const std::string& name, int argc, const char* const* argv, std::function<void(int)> done);

    const std::string& name() const { return owner_.name; }
    const PluginLibrary& library() const { return *library_; }
    State state() const { return state_; }
    const std::string& configJson() const { return configJson_; }

    // --- for the host API ---
    Runtime& runtime() { return runtime_; }
    Services& services() { return *services_; }
    const Owner* owner() const { return &owner_; }
    keel_ctx* ctx() { return &ctx_; }
    void setError(std::string text) { error_ = std::move(text); }
    /// The error the plugin last reported through set_error (cleared by reading it).
    std::string takeError(const char* fallback);
    void commandDone(int code);
    void stopDone();

    /// A handler this instance registered (register_handler): its vtable and object.
    struct HandlerEntry {
        const keel_handler_vtable* vtable;
        void* self;
    };
    /// Registers a handler the manifest lists; false (with the error set) otherwise.
    bool registerHandler(const std::string& handler, const keel_handler_vtable* vtable, void* self);
    const HandlerEntry* handler(const std::string& handler) const;
    /// The site this instance belongs to ("" outside a site).
    const std::string& site() const { return site_; }
    void setSite(std::string site) { site_ = std::move(site); }

private:
    void finishStop();

    Runtime& runtime_;
    PluginLibraryPtr library_;
    Owner owner_;
    std::string configJson_;
    std::shared_ptr<Services> services_; // the site's: it outlives every generation of the site's sets
    keel_ctx ctx_{this};
    void* instance_ = nullptr;
    State state_ = State::idle;
    std::string error_;
    std::function<void()> stopDone_;
    std::function<void(int)> commandDone_;
    std::map<std::string, HandlerEntry, std::less<>> handlers_;
    std::string site_;
};

/// The kernel -> plugin function table (static, one per process).
const keel_host_api* hostApi();

} // namespace keel::kernel
