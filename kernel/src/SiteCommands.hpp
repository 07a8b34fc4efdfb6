#pragma once

#include <iostream>
#include <string>
#include <vector>

namespace keel::kernel {

/// `keel check [--config FILE] [SITE...]`: validates keel.json and site manifests (a
/// site.json or the folder holding it) against the installed plugins, without starting
/// anything. Without SITE: the sites of --config FILE, else of ./keel.json. Problems go to
/// `err`, one a line ("FILE:LINE: KEY.PATH: problem"); each valid site gets
/// "FILE: ok (N routes, M plugins)" on `out`.
/// `args[0]` is "check"; `pluginPathOption` is --plugin-path ("" when not given), which
/// wins over keel.json's plugin_path, which wins over $KEEL_PLUGIN_PATH and the default.
/// Exit status: 0 valid, 1 problems, 2 usage error (one line on `err`).
int cmdCheck(const std::vector<std::string>& args, const std::string& pluginPathOption, std::ostream& out = std::cout,
             std::ostream& err = std::cerr);

/// `keel lock [--check] [--config FILE] [SITE...]`: writes each site's lock file (beside its
/// manifest) from the installed plugins; the site must check out first. With --check, compares
/// the installed plugins with the lock instead and writes nothing (for CI). Sites and plugin
/// path as for cmdCheck. Exit status: 0 written / matching, 1 problems, 2 usage error.
int cmdLock(const std::vector<std::string>& args, const std::string& pluginPathOption, std::ostream& out = std::cout,
            std::ostream& err = std::cerr);

} // namespace keel::kernel
