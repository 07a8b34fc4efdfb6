#include "PluginSet.hpp"

#include <algorithm>
#include <set>

#include "Json.hpp"
#include "Log.hpp"

namespace keel::kernel {

namespace {

// Configs compare by content, not spelling: Poco's objects keep keys sorted.
std::string canonicalJson(const std::string& text) {
    try {
        return toJson(parseJson(text, "config"));
    } catch (const JsonError&) {
        return text;
    }
}

} // namespace

PluginSet::PluginSet(Runtime& runtime, const Catalog& catalog, std::string site, std::shared_ptr<Services> services)
    : runtime_(runtime), catalog_(catalog), site_(std::move(site)),
      services_(services ? std::move(services) : std::make_shared<Services>(&runtime.services)) {}

PluginSet::~PluginSet() {
    // Instances shared with a newer set (a reload kept them) run on; the rest stop now,
    // dependents before their dependencies.
    for (std::size_t i = instances_.size(); i-- > 0;)
        if (instances_[i].use_count() == 1) instances_[i]->abandonStop();
    while (!instances_.empty()) instances_.pop_back();
}

void PluginSet::add(const std::string& plugin, std::string configJson, const std::string& range) {
    if (!requests_.count(plugin)) requestedOrder_.push_back(plugin);
    requests_[plugin] = Request{std::move(configJson), range};
}

void PluginSet::resolve() {
    std::vector<std::string> problems;
    std::map<std::string, PluginLibraryPtr> libraries;
    std::map<std::string, std::string> configs;

    // Gather the requested plugins and, transitively, what they require.
    std::vector<std::string> pending;
    for (const auto& name : requestedOrder_) {
        const Request& request = requests_.at(name);
        if (auto dup = catalog_.duplicate(name); !dup.empty()) {
            problems.push_back(dup);
            continue;
        }
        PluginLibraryPtr library = catalog_.find(name);
        if (!library) {
            problems.push_back("plugin '" + name + "' is not installed (plugin path: " + catalog_.pathText() + ")" +
                               (catalog_.problems().empty() ? "" : "; some files there failed to load: see `keel plugins`"));
            continue;
        }
        try {
            if (!Range::parse(request.range).satisfies(library->manifest().version))
                problems.push_back((site_.empty() ? std::string("requested") : "site '" + site_ + "' requires") + " plugin '" +
                                   name + "' " + request.range + ", but the installed '" + name + "' is " +
                                   library->manifest().version.toString() + " (" + library->path() + ")");
        } catch (const SemverError& e) {
            problems.push_back("plugin '" + name + "': " + e.what());
        }
        libraries[name] = library;
        configs[name] = request.configJson;
        pending.push_back(name);
    }
    while (!pending.empty()) {
        const std::string name = pending.back();
        pending.pop_back();
        const PluginLibrary& library = *libraries.at(name);
        for (const auto& req : library.manifest().requirements) {
            if (auto dup = catalog_.duplicate(req.name); !dup.empty()) {
                problems.push_back(dup);
                continue;
            }
            PluginLibraryPtr dep = catalog_.find(req.name);
            if (!dep) {
                problems.push_back("plugin '" + library.label() + "' requires '" + req.name + "' " + req.range.text() +
                                   ", which is not installed (plugin path: " + catalog_.pathText() + ")");
                continue;
            }
            if (!req.range.satisfies(dep->manifest().version)) {
                problems.push_back("plugin '" + library.label() + "' requires '" + req.name + "' " + req.range.text() +
                                   ", but the installed '" + req.name + "' is " + dep->manifest().version.toString() +
                                   " (" + dep->path() + ")");
                continue;
            }
            if (!libraries.count(req.name)) {
                libraries[req.name] = dep;
                configs[req.name] = "{}";
                pending.push_back(req.name);
            }
        }
    }

    // Every config against its plugin's schema.
    for (const auto& [name, library] : libraries) {
        try {
            auto config = parseJson(configs.at(name), "plugin '" + name + "' config");
            for (const auto& e : library->manifest().config.validate(config, "config"))
                problems.push_back("plugin '" + name + "': " + e);
        } catch (const JsonError& e) {
            problems.push_back(e.what());
        }
    }

    // Dependency order (dependencies first), refusing cycles with the cycle spelled out.
    std::vector<std::string> order;
    std::map<std::string, int> mark; // 0 new, 1 on the stack, 2 done
    std::vector<std::string> stack;
    std::function<void(const std::string&)> visit = [&](const std::string& name) {
        if (!libraries.count(name) || mark[name] == 2) return;
        if (mark[name] == 1) {
            auto from = std::find(stack.begin(), stack.end(), name);
            std::string cycle;
            for (auto it = from; it != stack.end(); ++it) cycle += *it + " -> ";
            problems.push_back("dependency cycle: " + cycle + name);
            return;
        }
        mark[name] = 1;
        stack.push_back(name);
        for (const auto& req : libraries.at(name)->manifest().requirements) visit(req.name);
        stack.pop_back();
        mark[name] = 2;
        order.push_back(name);
    };
    for (const auto& name : requestedOrder_) visit(name);

    if (!problems.empty()) {
        std::string text;
        for (const auto& p : problems) text += (text.empty() ? "" : "\n") + p;
        throw PluginError(text);
    }

    instances_.clear();
    for (const auto& name : order) {
        std::string instanceName = site_.empty() ? name : name + "#" + site_;
        instances_.push_back(std::make_shared<PluginInstance>(runtime_, libraries.at(name), std::move(instanceName),
                                                              configs.at(name), services_));
        instances_.back()->setSite(site_);
    }
}

void PluginSet::start() {
    for (started_ = 0; started_ < instances_.size(); ++started_) {
        PluginInstance& instance = *instances_[started_];
        if (instance.state() == PluginInstance::State::started) continue; // adopted from the previous set
        try {
            instance.create();
            instance.start();
        } catch (const PluginError&) {
            // Roll back: those this call started stop, newest first (adopted ones run on).
            for (std::size_t i = started_ + 1; i-- > 0;)
                if (instances_[i].use_count() == 1) instances_[i]->abandonStop();
            started_ = 0;
            throw;
        }
    }
}

void PluginSet::stop(std::function<void()> done) { stopFrom(instances_.size(), false, std::move(done)); }

void PluginSet::stopTransports(std::function<void()> done) { stopFrom(instances_.size(), true, std::move(done)); }

void PluginSet::stopFrom(std::size_t index, bool transportsOnly, std::function<void()> done) {
    while (index > 0) {
        PluginInstance& instance = *instances_[index - 1];
        if (instance.state() == PluginInstance::State::started &&
            (!transportsOnly || instance.library().manifest().transport)) {
            // Continue with the next one once this one has stopped: now, or later from the
            // loop when its stop is pending (draining connections, say).
            auto phase = std::make_shared<int>(0); // 0 inside stop(), 1 pending, 2 stopped at once
            instance.stop([this, index, transportsOnly, done, phase]() mutable {
                if (*phase == 0) {
                    *phase = 2;
                    return;
                }
                stopFrom(index - 1, transportsOnly, std::move(done));
            });
            if (*phase != 2) {
                *phase = 1;
                return;
            }
        }
        --index;
    }
    if (done) done();
}

void PluginSet::adoptUnchanged(const PluginSet& old) {
    for (auto& instance : instances_) {
        for (const auto& previous : old.instances_) {
            if (&previous->library() == &instance->library() && previous->state() == PluginInstance::State::started &&
                canonicalJson(previous->configJson()) == canonicalJson(instance->configJson())) {
                instance = previous;
                break;
            }
        }
    }
}

bool PluginSet::contains(const PluginInstance* instance) const {
    return std::any_of(instances_.begin(), instances_.end(), [&](const auto& i) { return i.get() == instance; });
}

void PluginSet::abandon() {
    for (std::size_t i = instances_.size(); i-- > 0;) instances_[i]->abandonStop();
}

std::vector<PluginInstance*> PluginSet::order() const {
    std::vector<PluginInstance*> out;
    for (const auto& i : instances_) out.push_back(i.get());
    return out;
}

PluginInstance* PluginSet::find(const std::string& plugin) const {
    for (const auto& i : instances_)
        if (i->library().name() == plugin) return i.get();
    return nullptr;
}

} // namespace keel::kernel
