#include "SiteCheck.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "ConfigSchema.hpp"
#include "Json.hpp"

namespace keel::kernel {

namespace {

std::string joinList(const std::vector<std::string>& items, std::string_view separator = ", ") {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : std::string(separator)) + i;
    return out;
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

std::string didYouMean(const std::string& word, const std::vector<std::string>& candidates) {
    const std::string hint = nearest(word, candidates);
    return hint.empty() ? "" : " (did you mean " + quoted(hint) + "?)";
}

/// What to add to "plugins" for `library`: "\"fs\": \"^1.2.0\"".
std::string pluginEntry(const PluginLibrary& library) {
    return quoted(library.name()) + ": " + quoted("^" + library.manifest().version.toString());
}

/// ConfigSchema's message for a schema-less config speaks of plugins; handlers have them too.
std::string forHandler(std::string message) {
    static constexpr std::string_view kPlugin = "this plugin takes no configuration";
    if (auto at = message.find(kPlugin); at != std::string::npos) message.replace(at, kPlugin.size(), "this handler takes no configuration");
    return message;
}

} // namespace

SiteCheck::SiteCheck(const SiteConfig& site, const Catalog& catalog) : catalog_(catalog) {
    Diagnostics d(site.file, &site.positions);
    checkPlugins(site, d);
    checkDependencies(d);
    checkCycles(d);
    for (const auto& [name, library] : libraries_) {
        plugins_.push_back(library);
        for (const auto& handler : library->manifest().handlers) byHandler_[handler.name].push_back({name, &handler});
    }
    for (const auto& use : site.middleware) checkUse(use, d);
    for (const auto& route : site.routes) {
        for (const auto& use : route.middleware) checkUse(use, d);
        checkUse(route.handler, d);
    }
    problems_ = d.take();
}

void SiteCheck::checkPlugins(const SiteConfig& site, Diagnostics& d) {
    std::vector<std::string> installed;
    for (const auto& library : catalog_.all()) installed.push_back(library->name());
    for (const auto& ref : site.plugins) {
        const std::string path = JsonPositions::member("plugins", ref.name);
        if (auto dup = catalog_.duplicate(ref.name); !dup.empty()) d.at(path, dup);
        PluginLibraryPtr library = catalog_.find(ref.name);
        if (!library) {
            const std::string hint = nearest(ref.name, installed);
            d.at(path, "plugin '" + ref.name + "' is not installed (plugin path: " + catalog_.pathText() + ")" +
                           (hint.empty() ? "" : "; did you mean \"" + hint + "\"?") +
                           (catalog_.problems().empty() ? "" : "; some files there failed to load: see `keel plugins`"));
            missing_.push_back(ref.name);
            continue;
        }
        try {
            if (!ref.range.empty() && !Range::parse(ref.range).satisfies(library->manifest().version))
                d.at(path, "the site requires '" + ref.name + "' " + ref.range + ", but the installed '" + ref.name + "' is " +
                               library->manifest().version.toString() + " (" + library->path() + ")");
        } catch (const SemverError&) {
            // loadSite reported the range.
        }
        const std::string configPath = JsonPositions::member(path, "config");
        if (!ref.configJson.empty()) // else loadSite reported it
            for (const auto& e : library->manifest().config.validate(parseJson(ref.configJson, configPath), configPath))
                d.schemaMessage(configPath, e);
        libraries_[ref.name] = library;
        pulledBy_[ref.name] = path;
    }
}

void SiteCheck::checkDependencies(Diagnostics& d) {
    std::vector<std::string> pending;
    for (const auto& [name, library] : libraries_) pending.push_back(name);
    while (!pending.empty()) {
        const PluginLibraryPtr library = libraries_.at(pending.back());
        pending.pop_back();
        const std::string& path = pulledBy_.at(library->name());
        for (const auto& req : library->manifest().requirements) {
            if (auto dup = catalog_.duplicate(req.name); !dup.empty()) d.at(path, dup);
            PluginLibraryPtr dep = catalog_.find(req.name);
            const std::string wants = "plugin '" + library->label() + "' requires '" + req.name + "' " + req.range.text();
            if (!dep) {
                d.at(path, wants + ", which is not installed (plugin path: " + catalog_.pathText() + ")");
                continue;
            }
            if (!req.range.satisfies(dep->manifest().version)) {
                d.at(path, wants + ", but the installed '" + req.name + "' is " + dep->manifest().version.toString() + " (" +
                               dep->path() + ")");
                continue;
            }
            if (libraries_.count(req.name)) continue;
            // A plugin the site does not name runs with {}: say so if that is not enough.
            for (const auto& e : dep->manifest().config.validate(parseJson("{}", req.name), "config"))
                d.at(path, "plugin '" + req.name + "' (required by '" + library->name() + "') needs configuration: " + e +
                               "; add " + quoted(req.name) + ": {\"version\": " + quoted("^" + dep->manifest().version.toString()) +
                               ", \"config\": {...}} to plugins");
            libraries_[req.name] = dep;
            pulledBy_[req.name] = path;
            pending.push_back(req.name);
        }
    }
}

void SiteCheck::checkCycles(Diagnostics& d) {
    std::map<std::string, int> mark; // 0 new, 1 on the stack, 2 done
    std::vector<std::string> stack;
    std::function<void(const std::string&)> visit = [&](const std::string& name) {
        if (!libraries_.count(name) || mark[name] == 2) return;
        if (mark[name] == 1) {
            std::string cycle;
            for (auto it = std::find(stack.begin(), stack.end(), name); it != stack.end(); ++it) cycle += *it + " -> ";
            d.at(pulledBy_.at(name), "dependency cycle: " + cycle + name);
            return;
        }
        mark[name] = 1;
        stack.push_back(name);
        for (const auto& req : libraries_.at(name)->manifest().requirements) visit(req.name);
        stack.pop_back();
        mark[name] = 2;
    };
    for (const auto& [name, library] : libraries_) visit(name);
}

void SiteCheck::checkUse(const UseConfig& use, Diagnostics& d) const {
    if (use.use.empty()) return; // loadSite reported it
    std::string problem;
    const Entry* entry = find(use, problem);
    if (entry == nullptr) {
        d.at(JsonPositions::member(use.path, "use"), problem);
        return;
    }
    const std::string configPath = JsonPositions::member(use.path, "config");
    if (use.configJson.empty()) return; // loadSite reported it
    for (const auto& e : entry->handler->config.validate(parseJson(use.configJson, configPath), configPath))
        d.schemaMessage(configPath, forHandler(e));
}

const SiteCheck::Entry* SiteCheck::find(const UseConfig& use, std::string& problem) const {
    const bool asHandler = use.role == UseConfig::Role::handler;
    const std::size_t slash = use.use.find('/');
    const std::string plugin = slash == std::string::npos ? "" : use.use.substr(0, slash);
    const std::string name = slash == std::string::npos ? use.use : use.use.substr(slash + 1);
    const Entry* entry = nullptr;
    if (!plugin.empty()) {
        auto library = libraries_.find(plugin);
        if (library == libraries_.end()) {
            PluginLibraryPtr installed = catalog_.find(plugin);
            problem = installed ? "plugin '" + plugin + "' is not one of the site's plugins: add " + pluginEntry(*installed) + " to plugins"
                                : "plugin '" + plugin + "' is not installed (plugin path: " + catalog_.pathText() + ")";
            return nullptr;
        }
        std::vector<std::string> names;
        for (const auto& h : library->second->manifest().handlers) names.push_back(h.name);
        if (auto it = byHandler_.find(name); it != byHandler_.end())
            for (const auto& e : it->second)
                if (e.plugin == plugin) entry = &e;
        if (entry == nullptr) {
            problem = "plugin '" + plugin + "' has no handler " + quoted(name) + didYouMean(name, names) +
                      (names.empty() ? "; it provides none" : "; it provides: " + joinList(names));
            return nullptr;
        }
    } else {
        auto it = byHandler_.find(name);
        if (it == byHandler_.end()) {
            problem = unknown(name, use.role);
            return nullptr;
        }
        if (it->second.size() > 1) {
            std::vector<std::string> plugins, spelled;
            for (const auto& e : it->second) {
                plugins.push_back("'" + e.plugin + "'");
                spelled.push_back(quoted(e.plugin + "/" + name));
            }
            problem = quoted(name) + " is provided by plugins " + joinList(plugins, " and ") + "; write " + joinList(spelled, " or ");
            return nullptr;
        }
        entry = &it->second.front();
    }
    if (asHandler && !entry->handler->usableAsHandler()) {
        problem = quoted(name) + " (plugin '" + entry->plugin + "') is middleware only; use it in a \"middleware\" list, not as a route's handler";
        return nullptr;
    }
    if (!asHandler && !entry->handler->usableAsMiddleware()) {
        problem = quoted(name) + " (plugin '" + entry->plugin + "') is a route handler, not middleware; use it as a route's \"use\"";
        return nullptr;
    }
    return entry;
}

std::string SiteCheck::unknown(const std::string& name, UseConfig::Role role) const {
    const bool asHandler = role == UseConfig::Role::handler;
    std::string out = std::string(asHandler ? "unknown handler " : "unknown middleware ") + quoted(name);
    std::vector<std::string> names, qualified;
    for (const auto& [handler, entries] : byHandler_)
        for (const auto& e : entries)
            if (asHandler ? e.handler->usableAsHandler() : e.handler->usableAsMiddleware()) {
                names.push_back(handler);
                qualified.push_back(e.plugin + "/" + handler);
            }
    out += didYouMean(name, names);
    // An installed plugin the site does not use may have it.
    for (const auto& library : catalog_.all()) {
        if (libraries_.count(library->name())) continue;
        for (const auto& h : library->manifest().handlers)
            if (h.name == name) return out + "; plugin '" + library->name() + "' provides it: add " + pluginEntry(*library) + " to plugins";
    }
    std::sort(qualified.begin(), qualified.end());
    out += qualified.empty() ? std::string(asHandler ? "; the site's plugins provide no handlers" : "; the site's plugins provide no middleware")
                             : "; the site's plugins provide: " + joinList(qualified);
    if (!missing_.empty()) {
        std::vector<std::string> quotedMissing;
        for (const auto& m : missing_) quotedMissing.push_back("'" + m + "'");
        out += missing_.size() == 1 ? " (plugin " + quotedMissing[0] + " is not installed, so its handlers are unknown)"
                                    : " (plugins " + joinList(quotedMissing) + " are not installed, so their handlers are unknown)";
    }
    return out;
}

std::optional<ResolvedUse> SiteCheck::resolve(const UseConfig& use) const {
    std::string problem;
    const Entry* entry = find(use, problem);
    if (entry == nullptr) return std::nullopt;
    return ResolvedUse{entry->plugin, entry->handler->name};
}

std::vector<std::string> checkSite(const SiteConfig& site, const Catalog& catalog) { return SiteCheck(site, catalog).problems(); }

// ---------------------------------------------------------------------------------------
// Between sites

namespace {

/// A site answers unknown host names on its addresses when it says so or names no hosts.
bool catchAll(const SiteConfig& site) { return site.isDefault || site.hosts.empty(); }

std::string catchAllReason(const SiteConfig& site) {
    return "'" + site.name + "' " + (site.isDefault ? "is \"default\"" : "has no \"hosts\"");
}

struct Claim {
    std::size_t site;
    std::size_t listener;
};

} // namespace

std::vector<std::string> checkSites(const std::vector<SiteConfig>& sites) {
    std::vector<Diagnostics> diagnostics;
    for (const auto& site : sites) diagnostics.emplace_back(site.file, &site.positions);

    std::map<std::string, std::size_t> byName;
    for (std::size_t i = 0; i < sites.size(); ++i) {
        if (sites[i].name.empty()) continue; // a manifest that could not be read
        auto [it, fresh] = byName.emplace(sites[i].name, i);
        if (!fresh)
            diagnostics[i].at("name", "site name " + quoted(sites[i].name) + " is also used by " +
                                          diagnostics[it->second].place("name") + "; site names must be unique");
    }

    std::map<std::pair<std::string, std::uint16_t>, std::vector<Claim>> byAddress;
    for (std::size_t i = 0; i < sites.size(); ++i)
        for (std::size_t l = 0; l < sites[i].listeners.size(); ++l) {
            const ListenerConfig& listener = sites[i].listeners[l];
            if (listener.port != 0) byAddress[{listener.host, listener.port}].push_back({i, l});
        }
    for (const auto& [address, claims] : byAddress)
        for (std::size_t b = 1; b < claims.size(); ++b)
            for (std::size_t a = 0; a < b; ++a) {
                const SiteConfig& earlier = sites[claims[a].site];
                const SiteConfig& later = sites[claims[b].site];
                if (&earlier == &later) continue;
                Diagnostics& d = diagnostics[claims[b].site];
                const std::string listenerPath = JsonPositions::element("listeners", claims[b].listener);
                const std::string& shown = later.listeners[claims[b].listener].address;
                for (std::size_t h = 0; h < later.hosts.size(); ++h)
                    if (std::find(earlier.hosts.begin(), earlier.hosts.end(), later.hosts[h]) != earlier.hosts.end())
                        d.at(JsonPositions::element("hosts", h), quoted(later.hosts[h]) + " on " + shown + " is also a host of site '" +
                                                                     earlier.name + "' (" + diagnostics[claims[a].site].place("hosts") +
                                                                     "); a host name belongs to one site per address");
                if (catchAll(earlier) && catchAll(later))
                    d.at(JsonPositions::member(listenerPath, "address"),
                         "sites '" + earlier.name + "' (" + diagnostics[claims[a].site].place("name") + ") and '" + later.name +
                             "' both answer unknown host names on " + shown + " (" + catchAllReason(earlier) + ", " +
                             catchAllReason(later) + "); only one site per address may: give the other one \"hosts\" and no \"default\"");
            }

    std::vector<std::string> out;
    for (auto& d : diagnostics)
        for (auto& message : d.take()) out.push_back(std::move(message));
    return out;
}

} // namespace keel::kernel
