#include "SiteCommands.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <stdexcept>

#include "Catalog.hpp"
#include "LockFile.hpp"
#include "SiteCheck.hpp"
#include "SiteConfig.hpp"

namespace keel::kernel {

namespace {

constexpr const char* kCheckUsage = "usage: keel check [--config FILE] [SITE...]";
constexpr const char* kLockUsage = "usage: keel lock [--check] [--config FILE] [SITE...]";

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Arguments {
    std::string config; // --config FILE
    bool check = false; // keel lock --check
    bool help = false;
    std::vector<std::string> sites;
};

Arguments parseArguments(const std::vector<std::string>& args, bool isLock) {
    Arguments out;
    const std::string command = args.empty() ? "" : args[0];
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg == "--config" || arg.rfind("--config=", 0) == 0) {
            if (arg.size() > 9) out.config = arg.substr(9);
            else if (i + 1 < args.size()) out.config = args[++i];
            else throw UsageError(command + ": option --config needs a value");
            if (out.config.empty()) throw UsageError(command + ": option --config needs a value");
        } else if (arg == "--check" && isLock) {
            out.check = true;
        } else if (arg == "-h" || arg == "--help") {
            out.help = true;
        } else if (arg.rfind("-", 0) == 0 && arg != "-") {
            throw UsageError(command + ": unknown option '" + arg + "'");
        } else {
            out.sites.push_back(arg);
        }
    }
    return out;
}

/// What a command works on: the global configuration (if any) and the site manifests.
struct Targets {
    std::optional<GlobalConfig> global;
    std::vector<std::string> sites;
};

/// Sites given on the command line, else those of --config, else those of ./keel.json.
/// Throws UsageError when there is nothing to work on, ConfigError for a bad keel.json.
Targets targets(const Arguments& arguments, const std::string& command) {
    Targets out;
    std::string file = arguments.config;
    std::error_code ec;
    if (file.empty() && arguments.sites.empty()) {
        if (!std::filesystem::exists("keel.json", ec))
            throw UsageError(command + ": no SITE given and no keel.json here; " +
                             (command == "check" ? kCheckUsage : kLockUsage));
        file = "keel.json";
    }
    if (!file.empty()) out.global = loadGlobal(file);
    out.sites = !arguments.sites.empty() ? arguments.sites : out.global->siteFiles;
    return out;
}

std::vector<std::string> pluginPath(const Targets& targets, const std::string& option) {
    if (option.empty() && targets.global && !targets.global->pluginPath.empty()) return targets.global->pluginPath;
    return Catalog::defaultPath(option);
}

void print(std::ostream& stream, const std::vector<std::string>& lines) {
    for (const auto& line : lines) stream << line << "\n";
}

/// Loads each site, printing the problems of those that fail; false when any did.
bool loadAll(const std::vector<std::string>& files, std::vector<SiteConfig>& sites, std::ostream& err) {
    bool ok = true;
    for (const auto& file : files) {
        try {
            sites.push_back(loadSite(file));
        } catch (const ConfigError& e) {
            print(err, e.errors());
            ok = false;
        }
    }
    return ok;
}

bool startsWith(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

/// The line a "FILE:LINE: ..." message of `file` points at; 0 when it names none.
int lineOf(const std::string& message, const std::string& file) {
    if (!startsWith(message, file + ":")) return 0;
    int line = 0;
    for (std::size_t i = file.size() + 1; i < message.size() && std::isdigit(static_cast<unsigned char>(message[i])); ++i)
        line = line * 10 + (message[i] - '0');
    return line;
}

/// One site's problems for `keel check`: the manifest's own, then (when it could be read)
/// the installed plugins', between sites, and the lock's, merged in line order.
std::vector<std::string> checkOne(const SiteConfig& site, bool parsed, std::vector<std::string> problems,
                                  const std::vector<std::string>& between, const Catalog& catalog) {
    const bool loaded = problems.empty();
    if (parsed) {
        const auto more = checkSite(site, catalog);
        problems.insert(problems.end(), more.begin(), more.end());
        for (const auto& p : between)
            if (startsWith(p, site.file + ":")) problems.push_back(p);
    }
    std::stable_sort(problems.begin(), problems.end(), [&](const std::string& a, const std::string& b) {
        return lineOf(a, site.file) < lineOf(b, site.file);
    });
    // The lock pins a site as loaded; a manifest with problems has no such state yet.
    std::error_code ec;
    if (loaded && std::filesystem::exists(site.lockFile, ec)) {
        const auto lock = checkLock(site, catalog);
        problems.insert(problems.end(), lock.begin(), lock.end());
    }
    return problems;
}

int runCheck(const Targets& targets, const std::string& pluginPathOption, std::ostream& out, std::ostream& err) {
    if (targets.sites.empty()) {
        out << targets.global->file << ": ok (no sites)\n";
        return 0;
    }
    const Catalog catalog(pluginPath(targets, pluginPathOption));
    std::vector<SiteConfig> sites(targets.sites.size());
    std::vector<std::vector<std::string>> loadErrors(targets.sites.size());
    std::vector<bool> parsed(targets.sites.size());
    for (std::size_t i = 0; i < targets.sites.size(); ++i) parsed[i] = loadSite(targets.sites[i], sites[i], loadErrors[i]);
    const std::vector<std::string> between = checkSites(sites);
    bool ok = true;
    for (std::size_t i = 0; i < sites.size(); ++i) {
        const SiteConfig& site = sites[i];
        const auto problems = checkOne(site, parsed[i], loadErrors[i], between, catalog);
        if (!problems.empty()) {
            print(err, problems);
            ok = false;
            continue;
        }
        // A missing lock is a step still to take, not a mistake in the configuration.
        const LockPolicy policy = lockPolicy(site, false);
        if (!policy.error.empty()) err << "warning: " << policy.error << "\n";
        if (!policy.warning.empty()) err << "warning: " << policy.warning << "\n";
        const std::size_t plugins = SiteCheck(site, catalog).plugins().size();
        out << site.file << ": ok (" << site.routes.size() << (site.routes.size() == 1 ? " route, " : " routes, ") << plugins
            << (plugins == 1 ? " plugin)" : " plugins)") << "\n";
    }
    return ok ? 0 : 1;
}

int runLock(const Targets& targets, bool checkOnly, const std::string& pluginPathOption, std::ostream& out, std::ostream& err) {
    if (targets.sites.empty()) {
        err << "keel lock: " << targets.global->file << " names no sites; nothing to lock\n";
        return 1;
    }
    const Catalog catalog(pluginPath(targets, pluginPathOption));
    std::vector<SiteConfig> sites;
    bool ok = loadAll(targets.sites, sites, err);
    for (const auto& site : sites) {
        if (checkOnly) {
            const auto problems = checkLock(site, catalog);
            if (!problems.empty()) {
                print(err, problems);
                ok = false;
            } else {
                out << site.lockFile << ": ok (" << SiteCheck(site, catalog).plugins().size() << " plugins match)\n";
            }
            continue;
        }
        try {
            const Lock lock = makeLock(site, catalog);
            writeLock(site.lockFile, lock);
            out << "wrote " << site.lockFile << " (" << lock.plugins.size() << (lock.plugins.size() == 1 ? " plugin)" : " plugins)")
                << "\n";
        } catch (const ConfigError& e) {
            print(err, e.errors());
            ok = false;
        }
    }
    return ok ? 0 : 1;
}

/// Runs `body`, turning usage errors into exit status 2 and other failures into 1.
template <class F>
int guarded(const std::string& command, std::ostream& err, F&& body) {
    try {
        return body();
    } catch (const UsageError& e) {
        err << "keel " << e.what() << "\n";
        return 2;
    } catch (const ConfigError& e) {
        print(err, e.errors());
        return 1;
    } catch (const std::exception& e) {
        err << "keel " << command << ": " << e.what() << "\n";
        return 1;
    }
}

} // namespace

int cmdCheck(const std::vector<std::string>& args, const std::string& pluginPathOption, std::ostream& out, std::ostream& err) {
    return guarded("check", err, [&] {
        const Arguments arguments = parseArguments(args, false);
        if (arguments.help) {
            out << "Usage: keel check [--config FILE] [SITE...]\n"
                   "Validates site manifests (a site.json, or the folder holding it) and keel.json against the\n"
                   "installed plugins without starting anything, and reports every problem with its file, line and\n"
                   "key. Without SITE: the sites of --config FILE, else those of ./keel.json. A site with a lock\n"
                   "file is checked against it too. Exit status 0 when all is valid, 1 otherwise.\n";
            return 0;
        }
        return runCheck(targets(arguments, "check"), pluginPathOption, out, err);
    });
}

int cmdLock(const std::vector<std::string>& args, const std::string& pluginPathOption, std::ostream& out, std::ostream& err) {
    return guarded("lock", err, [&] {
        const Arguments arguments = parseArguments(args, true);
        if (arguments.help) {
            out << "Usage: keel lock [--check] [--config FILE] [SITE...]\n"
                   "Writes each site's lock file beside its manifest (site.json -> site.lock.json): the exact\n"
                   "version, ABI, file name and sha256 of every plugin the site runs. `keel run` then refuses a\n"
                   "plugin that differs. --check compares the installed plugins with the lock instead and writes\n"
                   "nothing (for CI): exit status 1 on any difference. Sites as for `keel check`.\n";
            return 0;
        }
        return runLock(targets(arguments, "lock"), arguments.check, pluginPathOption, out, err);
    });
}

} // namespace keel::kernel
