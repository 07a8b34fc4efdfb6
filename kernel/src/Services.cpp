#include "Services.hpp"

namespace keel::kernel {

std::string Services::key(std::string_view name, std::uint32_t major) {
    return std::string(name) + "@" + std::to_string(major);
}

void Services::provide(std::string_view name, std::uint32_t major, keel_service service, const Owner* provider,
                       std::string_view plugin) {
    const std::string k = key(name, major);
    auto it = entries_.find(k);
    if (it != entries_.end() && !(plugin.size() != 0 && it->second.plugin == plugin)) {
        throw ServiceError("service " + k + " is already provided by plugin '" +
                           (it->second.provider ? it->second.provider->name : std::string("kernel")) + "'");
    }
    entries_.insert_or_assign(k, Entry{std::string(name), major, service, provider, std::string(plugin)});
}

void Services::replace(std::string_view name, std::uint32_t major, keel_service service, const Owner* provider) {
    entries_.insert_or_assign(key(name, major), Entry{std::string(name), major, service, provider, {}});
}

std::optional<keel_service> Services::lookup(std::string_view name, std::uint32_t major) const {
    auto it = entries_.find(key(name, major));
    if (it != entries_.end()) return it->second.service;
    return parent_ ? parent_->lookup(name, major) : std::nullopt;
}

void Services::withdraw(const Owner* provider) {
    std::erase_if(entries_, [provider](const auto& kv) { return kv.second.provider == provider; });
}

std::vector<Services::Entry> Services::list() const {
    std::vector<Entry> out;
    for (const auto& [k, e] : entries_) out.push_back(e);
    return out;
}

} // namespace keel::kernel
