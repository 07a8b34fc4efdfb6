#pragma once

#include <keel/abi.h>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "Owner.hpp"

namespace keel::kernel {

class ServiceError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Named, versioned services (`auth.hasher@1`). Each site has its own registry whose parent
/// is the process-wide one, so two sites can each run their own `auth.hasher@1`. Plugins
/// look services up by name and major version; tests swap in mocks with replace().
/// Loop thread only.
class Services {
public:
    struct Entry {
        std::string name;
        std::uint32_t major;
        keel_service service;
        const Owner* provider;
        std::string plugin; // the providing plugin's name: its next generation may take over
    };

    explicit Services(const Services* parent = nullptr) : parent_(parent) {}

    /// Registers `name@major`; throws ServiceError naming the current provider when another
    /// plugin has it. The same plugin (a restarted instance, after a reload) takes it over.
    void provide(std::string_view name, std::uint32_t major, keel_service service, const Owner* provider,
                 std::string_view plugin = {});
    /// Registers or overrides `name@major` (tests: put a mock in place of the real one).
    void replace(std::string_view name, std::uint32_t major, keel_service service, const Owner* provider = nullptr);
    /// This registry first, then its parent.
    std::optional<keel_service> lookup(std::string_view name, std::uint32_t major) const;
    /// Removes what `provider` registered (its instance stopped).
    void withdraw(const Owner* provider);
    std::vector<Entry> list() const;

private:
    static std::string key(std::string_view name, std::uint32_t major);

    const Services* parent_;
    std::map<std::string, Entry, std::less<>> entries_;
};

} // namespace keel::kernel
