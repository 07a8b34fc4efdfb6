#include "Sites.hpp"

#include <algorithm>
#include <cctype>

#include "Json.hpp"

namespace keel::kernel {

std::string normalizeHost(std::string_view host) {
    std::string out;
    if (!host.empty() && host.front() == '[') {
        // IPv6 literal: keep the brackets, drop the port.
        const auto close = host.find(']');
        host = host.substr(0, close == std::string_view::npos ? host.size() : close + 1);
    } else if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
        host = host.substr(0, colon);
    }
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    out.reserve(host.size());
    for (char c : host) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

keel_site* Sites::put(SiteInfo info, CompiledSitePtr compiled) {
    keel_site* site = find(info.name);
    if (site == nullptr) {
        sites_.push_back(std::make_unique<keel_site>());
        site = sites_.back().get();
    }
    site->info = std::move(info);
    site->current = std::move(compiled);
    site->retired = false;
    site->staged = false;
    rebuild();
    return site;
}

void Sites::stage(SiteInfo info) {
    if (find(info.name) != nullptr) return;
    // Until put(), the site answers with an empty pipeline (404s): transports may look it up
    // (its listener's defaults, SNI) while its plugins start, and nothing serves requests
    // before the start is over.
    auto placeholder = std::make_shared<CompiledSite>();
    placeholder->name = info.name;
    placeholder->dir = info.dir;
    placeholder->development = info.development;
    placeholder->addTerminals({});
    placeholder->router.compile();
    sites_.push_back(std::make_unique<keel_site>());
    keel_site* site = sites_.back().get();
    site->info = std::move(info);
    site->current = std::move(placeholder);
    site->staged = true;
    rebuild();
}

void Sites::unstage(const std::string& name) {
    keel_site* site = find(name);
    if (site != nullptr && site->staged) retire(name);
}

void Sites::retire(const std::string& name) {
    if (keel_site* site = find(name)) {
        site->retired = true;
        // Its requests in flight keep the compiled site; new ones cannot reach it.
        site->current.reset();
        rebuild();
    }
}

keel_site* Sites::find(std::string_view name) const {
    for (const auto& s : sites_)
        if (s->info.name == name && !s->retired) return s.get();
    return nullptr;
}

std::vector<keel_site*> Sites::all() const {
    std::vector<keel_site*> out;
    for (const auto& s : sites_)
        if (!s->retired) out.push_back(s.get());
    return out;
}

keel_site* Sites::siteFor(std::string_view address, std::string_view hostHeader, bool exactOnly) const {
    auto it = byAddress_.find(address);
    if (it == byAddress_.end()) return nullptr;
    const std::vector<keel_site*>& candidates = it->second;
    const std::string host = normalizeHost(hostHeader);
    keel_site* wildcard = nullptr;
    std::size_t wildcardLength = 0;
    keel_site* anyHost = nullptr;
    for (keel_site* site : candidates) {
        if (site->info.hosts.empty() && anyHost == nullptr) anyHost = site;
        for (const auto& name : site->info.hosts) {
            if (name == host) return site;
            // "*.example.com" matches "a.example.com" and "a.b.example.com", not "example.com".
            if (name.size() > 2 && name[0] == '*' && host.size() > name.size() - 1 &&
                host.compare(host.size() - (name.size() - 1), name.size() - 1, name, 1) == 0 &&
                name.size() > wildcardLength) {
                wildcard = site;
                wildcardLength = name.size();
            }
        }
    }
    if (wildcard != nullptr) return wildcard;
    if (anyHost != nullptr) return anyHost;
    if (exactOnly) return nullptr;
    for (keel_site* site : candidates)
        if (site->info.isDefault) return site;
    return candidates.front();
}

void Sites::rebuild() {
    byAddress_.clear();
    std::string json = "[";
    for (const auto& s : sites_) {
        if (s->retired) continue;
        const SiteInfo& info = s->info;
        for (const auto& l : info.listeners) byAddress_[l.address].push_back(s.get());
        if (json.size() > 1) json += ",";
        json += "{\"name\":" + quoteJson(info.name) + ",\"dir\":" + quoteJson(info.dir) + ",\"listeners\":[";
        for (std::size_t i = 0; i < info.listeners.size(); ++i) {
            const SiteListener& l = info.listeners[i];
            json += (i ? "," : "") + std::string("{\"address\":") + quoteJson(l.address) + ",\"host\":" + quoteJson(l.host) +
                    ",\"port\":" + std::to_string(l.port);
            if (!l.tlsCert.empty())
                json += ",\"tls\":{\"cert\":" + quoteJson(l.tlsCert) + ",\"key\":" + quoteJson(l.tlsKey) + "}";
            json += "}";
        }
        json += "],\"hosts\":[";
        for (std::size_t i = 0; i < info.hosts.size(); ++i) json += (i ? "," : "") + quoteJson(info.hosts[i]);
        json += "],\"default\":" + std::string(info.isDefault ? "true" : "false") + ",\"mode\":" +
                (info.development ? "\"development\"" : "\"production\"") + "}";
    }
    json_ = json + "]";
}

} // namespace keel::kernel
