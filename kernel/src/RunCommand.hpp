#pragma once

#include <string>
#include <vector>

namespace keel::kernel {

/// `keel run SITE... | --config keel.json`: loads and checks the site manifests, enforces
/// their lock files, starts each site's plugins and pipeline, and serves until SIGTERM or
/// SIGINT. SIGHUP, or a change to a loaded manifest, reloads: the new configuration is
/// checked and built completely, then swapped in between requests; a bad one is reported
/// (log and `site.reload_failed`) and the running one stays. Returns the exit code.
int runSites(const std::vector<std::string>& args, const std::string& pluginPathOption);

} // namespace keel::kernel
