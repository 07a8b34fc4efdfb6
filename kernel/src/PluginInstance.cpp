#include "PluginInstance.hpp"

#include <algorithm>

#include "Log.hpp"

namespace keel::kernel {

PluginInstance::PluginInstance(Runtime& runtime, PluginLibraryPtr library, std::string name, std::string configJson,
                               std::shared_ptr<Services> services)
    : runtime_(runtime), library_(std::move(library)), owner_{std::move(name)}, configJson_(std::move(configJson)),
      services_(services) {}

PluginInstance::~PluginInstance() {
    if (state_ == State::started || state_ == State::stopping) abandonStop();
    if (instance_ != nullptr) {
        library_->desc().destroy(instance_);
        instance_ = nullptr;
    }
}

std::string PluginInstance::takeError(const char* fallback) {
    std::string text = error_.empty() ? std::string(fallback) : std::move(error_);
    error_.clear();
    return text;
}

void PluginInstance::create() {
    instance_ = library_->desc().create(&ctx_, hostApi());
    if (instance_ == nullptr) {
        // Whatever it registered before refusing is released now.
        finishStop();
        throw PluginError("plugin '" + name() + "' failed to create: " + takeError("create returned no instance"));
    }
    state_ = State::created;
}

void PluginInstance::start() {
    const int rc = library_->desc().start ? library_->desc().start(instance_) : 0;
    if (rc != 0) {
        finishStop();
        state_ = State::created;
        throw PluginError("plugin '" + name() + "' failed to start: " + takeError("start returned an error"));
    }
    state_ = State::started;
}

void PluginInstance::stop(std::function<void()> done) {
    if (state_ != State::started) {
        if (done) done();
        return;
    }
    state_ = State::stopping;
    stopDone_ = std::move(done);
    const int rc = library_->desc().stop ? library_->desc().stop(instance_) : 0;
    if (rc == KEEL_PENDING) return; // stop_done will follow
    if (rc != 0) logWarn(name(), "stop reported an error: " + takeError("stop returned an error"));
    stopDone();
}

void PluginInstance::stopDone() {
    if (state_ != State::stopping) return;
    // Work the plugin offloaded comes back first: its completion runs plugin code (and may
    // end a request) while the plugin's subscriptions and services still stand.
    if (runtime_.loop.offloadsInFlight(&owner_) != 0) {
        runtime_.loop.whenOffloadsDone(&owner_, [this] { stopDone(); });
        return;
    }
    finishStop();
    if (auto done = std::move(stopDone_)) {
        stopDone_ = nullptr;
        done();
    }
}

void PluginInstance::abandonStop() {
    if (state_ == State::stopped) return; // stopped already: its owner's state is gone
    if (state_ == State::started && library_->desc().stop) {
        state_ = State::stopping;
        // Not waited for: the process is going down or the set failed to start.
        library_->desc().stop(instance_);
    }
    stopDone_ = nullptr;
    finishStop();
}

bool PluginInstance::registerHandler(const std::string& handlerName, const keel_handler_vtable* vtable, void* self) {
    const auto& listed = library_->manifest().handlers;
    if (std::none_of(listed.begin(), listed.end(), [&](const auto& h) { return h.name == handlerName; })) {
        setError("handler '" + handlerName + "' is not listed in the manifest's \"handlers\"");
        return false;
    }
    if (vtable == nullptr || vtable->size < offsetof(keel_handler_vtable, handle) + sizeof(vtable->handle) || vtable->handle == nullptr) {
        setError("handler '" + handlerName + "': invalid vtable");
        return false;
    }
    handlers_[handlerName] = HandlerEntry{vtable, self};
    return true;
}

const PluginInstance::HandlerEntry* PluginInstance::handler(const std::string& handlerName) const {
    auto it = handlers_.find(handlerName);
    return it == handlers_.end() ? nullptr : &it->second;
}

void PluginInstance::finishStop() {
    runtime_.loop.clearOwner(&owner_);
    runtime_.bus.unsubscribeOwner(&owner_);
    services_->withdraw(&owner_);
    state_ = State::stopped;
}

int PluginInstance::command(const std::string& commandName, int argc, const char* const* argv,
                            std::function<void(int)> done) {
    const auto& desc = library_->desc();
    if (!KEEL_HAS_MEMBER(&desc, keel_plugin_desc, command) || desc.command == nullptr) return 1;
    commandDone_ = std::move(done);
    const int rc = desc.command(instance_, keel_str{commandName.data(), commandName.size()}, argc, argv);
    if (rc != KEEL_PENDING) {
        commandDone_ = nullptr;
        if (rc != 0 && !error_.empty()) logError(name(), takeError(""));
    }
    return rc;
}

void PluginInstance::commandDone(int code) {
    if (!commandDone_) return;
    auto done = std::move(commandDone_);
    commandDone_ = nullptr;
    if (code != 0 && !error_.empty()) logError(name(), takeError(""));
    done(code);
}

} // namespace keel::kernel
