#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "Catalog.hpp"
#include "SiteConfig.hpp"

namespace keel::kernel {

/// Which plugin's handler a `use` names.
struct ResolvedUse {
    std::string plugin;  // "files"
    std::string handler; // "static"
};

/// A site manifest checked against the installed plugins: its plugins are installed, in
/// range, and configured as their schemas say; the plugins they require are too; every
/// `use` names exactly one handler of the right kind among the site's plugins (and what
/// they require), configured as that handler's schema says. Messages read
/// "FILE:LINE: KEY.PATH: problem", in line order.
class SiteCheck {
public:
    /// `catalog` must outlive this object (resolve() reads it for its messages).
    SiteCheck(const SiteConfig& site, const Catalog& catalog);

    /// Every problem; empty when the site can run with these plugins.
    const std::vector<std::string>& problems() const { return problems_; }
    /// The installed plugins the site runs, those it names and those they require, by name.
    const std::vector<PluginLibraryPtr>& plugins() const { return plugins_; }
    /// The handler `use` names; nullopt when it names none, several, or one of the wrong
    /// kind for its place (problems() says which).
    std::optional<ResolvedUse> resolve(const UseConfig& use) const;

private:
    struct Entry {
        std::string plugin;
        const Manifest::Handler* handler; // owned by the plugin's library, which never unloads
    };
    void checkPlugins(const SiteConfig& site, Diagnostics& d);
    void checkDependencies(Diagnostics& d);
    void checkCycles(Diagnostics& d);
    void checkUse(const UseConfig& use, Diagnostics& d) const;
    /// The entry `use` names, or nullptr with `problem` saying why.
    const Entry* find(const UseConfig& use, std::string& problem) const;
    std::string unknown(const std::string& name, UseConfig::Role role) const;

    const Catalog& catalog_;
    std::map<std::string, PluginLibraryPtr> libraries_; // the site's, by name
    std::map<std::string, std::string> pulledBy_;       // plugin -> "plugins.X" that brought it in
    std::vector<std::string> missing_;                  // named by the site, not installed
    std::map<std::string, std::vector<Entry>> byHandler_;
    std::vector<PluginLibraryPtr> plugins_;
    std::vector<std::string> problems_;
};

/// The site's problems with the installed plugins (SiteCheck(site, catalog).problems()).
std::vector<std::string> checkSite(const SiteConfig& site, const Catalog& catalog);

/// Problems between sites that load together: a name used twice; a host name served by two
/// sites on one address; two sites on one address that both answer unknown host names
/// (each is "default" or has no "hosts"). Listeners on port 0 never clash.
std::vector<std::string> checkSites(const std::vector<SiteConfig>& sites);

} // namespace keel::kernel
