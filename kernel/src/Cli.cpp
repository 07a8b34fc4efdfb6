#include "Cli.hpp"

#include <Poco/Environment.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <llhttp.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <uv.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "Bus.hpp"
#include "Catalog.hpp"
#include "Json.hpp"
#include "Log.hpp"
#include "Loop.hpp"
#include "PluginSet.hpp"
#include "RunCommand.hpp"
#include "Signals.hpp"
#include "SiteCommands.hpp"

namespace keel::kernel {

namespace {

constexpr const char* kUsage = "Usage: keel [--plugin-path DIRS] [--log-level LEVEL] COMMAND [ARGS...]";

// Plugins `keel run` starts when no --plugin is given: until the http plugin and site
// manifests exist, the demo is the example plugins.
const std::vector<std::string> kDefaultRunPlugins{"hello", "hello-c"};

struct Options {
    std::string pluginPath;
    std::vector<std::string> rest; // the command and its arguments
};

class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

int usageError(const std::string& message) {
    std::cerr << "keel: " << message << "\n" << kUsage << "\nRun 'keel --help' for the commands.\n";
    return 2;
}

std::optional<LogLevel> parseLevel(const std::string& text) {
    static const std::map<std::string, LogLevel> levels{{"trace", LogLevel::trace}, {"debug", LogLevel::debug},
                                                        {"info", LogLevel::info},   {"warn", LogLevel::warn},
                                                        {"error", LogLevel::error}};
    auto it = levels.find(text);
    if (it == levels.end()) return std::nullopt;
    return it->second;
}

/// Global options come before the command.
Options parseGlobal(int argc, char** argv) {
    Options options;
    int i = 1;
    for (; i < argc; ++i) {
        std::string arg = argv[i];
        auto value = [&](const std::string& name) -> std::string {
            if (auto eq = arg.find('='); eq != std::string::npos) return arg.substr(eq + 1);
            if (i + 1 >= argc) throw UsageError("option " + name + " needs a value");
            return argv[++i];
        };
        if (arg == "--plugin-path" || arg.rfind("--plugin-path=", 0) == 0) {
            options.pluginPath = value("--plugin-path");
        } else if (arg == "--log-level" || arg.rfind("--log-level=", 0) == 0) {
            std::string level = value("--log-level");
            auto parsed = parseLevel(level);
            if (!parsed) throw UsageError("unknown log level '" + level + "': expected trace, debug, info, warn or error");
            Log::setLevel(*parsed);
        } else if (arg == "-h" || arg == "--help") {
            options.rest = {"help"};
            return options;
        } else if (arg == "--version") {
            options.rest = {"version"};
            return options;
        } else if (arg.rfind("-", 0) == 0) {
            throw UsageError("unknown option '" + arg + "'");
        } else {
            break;
        }
    }
    for (; i < argc; ++i) options.rest.push_back(argv[i]);
    return options;
}

std::string pocoVersion() {
    const unsigned v = Poco::Environment::libraryVersion();
    return std::to_string((v >> 24) & 0xff) + "." + std::to_string((v >> 16) & 0xff) + "." + std::to_string((v >> 8) & 0xff);
}

int cmdVersion() {
    std::cout << "keel " << KEEL_VERSION << "\n"
              << "abi " << KEEL_ABI_MAJOR << "." << KEEL_ABI_MINOR << "\n"
              << "libuv " << uv_version_string() << "\n"
              << "llhttp " << LLHTTP_VERSION_MAJOR << "." << LLHTTP_VERSION_MINOR << "." << LLHTTP_VERSION_PATCH << "\n"
              << "poco " << pocoVersion() << "\n"
              << "openssl " << OpenSSL_version(OPENSSL_VERSION) << "\n"
              << "sqlite " << sqlite3_libversion() << "\n";
    return 0;
}

int cmdHelp(const Catalog& catalog) {
    std::cout << kUsage << "\n\n"
              << "Keel: a plugin-based application server. Every concern is a plugin; plugins can add commands.\n\n"
              << "Commands:\n"
              << "  run        Serve sites until SIGTERM/SIGINT (SIGHUP or a manifest edit reloads)\n"
              << "  check      Validate keel.json and site manifests without starting anything\n"
              << "  lock       Write a site's lock file (site.lock.json); --check compares it with what is installed\n"
              << "  plugins    List the installed plugins with their manifests (--json for machine-readable)\n"
              << "  version    Print the Keel, ABI and library versions\n"
              << "  help       Show this help\n";
    std::vector<std::string> lines;
    for (const auto& library : catalog.all())
        for (const auto& command : library->manifest().commands) {
            std::string name = command.name;
            name.resize(std::max<std::size_t>(name.size(), 10), ' ');
            lines.push_back("  " + name + " " + command.description + " (plugin " + library->label() + ")");
        }
    if (!lines.empty()) {
        std::cout << "\nCommands from plugins:\n";
        for (const auto& l : lines) std::cout << l << "\n";
    }
    std::cout << "\nOptions:\n"
              << "  --plugin-path DIRS   ':'-separated plugin directories (default: $KEEL_PLUGIN_PATH,\n"
              << "                       else <keel binary>/../lib/keel/plugins)\n"
              << "  --log-level LEVEL    trace, debug, info, warn or error (default: info)\n"
              << "  -h, --help           Show this help\n\n"
              << "'keel run --help' and 'keel plugins --help' describe their options.\n";
    return 0;
}

int cmdPlugins(const Catalog& catalog, const std::vector<std::string>& args) {
    bool json = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if (args[i] == "--json") {
            json = true;
        } else if (args[i] == "-h" || args[i] == "--help") {
            std::cout << "Usage: keel plugins [--json]\nLists the plugins on the plugin path with their manifests;\n"
                         "files that fail to load are listed as problems (exit status 1).\n";
            return 0;
        } else {
            return usageError("plugins: unknown option '" + args[i] + "'");
        }
    }
    if (json) {
        Poco::JSON::Object root;
        Poco::JSON::Array plugins;
        for (const auto& library : catalog.all()) {
            Poco::JSON::Object::Ptr entry = new Poco::JSON::Object;
            entry->set("file", library->path());
            entry->set("abi", std::to_string(library->desc().abi_major) + "." + std::to_string(library->desc().abi_minor));
            entry->set("manifest", parseJson(library->manifest().text, library->path()));
            plugins.add(entry);
        }
        Poco::JSON::Array problems;
        for (const auto& p : catalog.problems()) problems.add(p);
        root.set("plugin_path", catalog.pathText());
        root.set("plugins", plugins);
        root.set("problems", problems);
        std::cout << toJson(Poco::Dynamic::Var(root)) << "\n";
    } else {
        std::cout << "Plugin path: " << catalog.pathText() << "\n";
        if (catalog.all().empty()) std::cout << "No plugins installed.\n";
        for (const auto& library : catalog.all()) {
            const Manifest& m = library->manifest();
            std::cout << "\n" << library->label() << " - " << m.description << "\n"
                      << "  file:     " << library->path() << "\n"
                      << "  abi:      " << library->desc().abi_major << "." << library->desc().abi_minor
                      << " (sdk " << m.sdk.text() << ")\n";
            if (!m.requirements.empty()) {
                std::cout << "  requires:";
                for (const auto& r : m.requirements) std::cout << " " << r.name << " " << r.range.text() << ";";
                std::cout << "\n";
            }
            if (!m.provides.empty()) {
                std::cout << "  provides:";
                for (const auto& p : m.provides) std::cout << " " << p;
                std::cout << "\n";
            }
            for (const auto& c : m.commands) std::cout << "  command:  keel " << c.name << " - " << c.description << "\n";
        }
        if (!catalog.problems().empty()) {
            std::cout << "\nProblems:\n";
            for (const auto& p : catalog.problems()) std::cout << "  " << p << "\n";
        }
    }
    return catalog.problems().empty() ? 0 : 1;
}

/// The kernel's process-wide state for run and plugin commands.
struct Kernel {
    Loop loop;
    Bus bus{loop};
    Services services;
    Runtime runtime{loop, bus, services};
};

int cmdRun(const Catalog& catalog, const std::vector<std::string>& args) {
    std::vector<std::string> plugins;
    std::map<std::string, std::string> configs;
    std::uint64_t deadlineMs = 10000;
    std::uint64_t blockWarnMs = 100;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const std::string& arg = args[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw UsageError("run: option " + arg + " needs a value");
            return args[++i];
        };
        auto number = [&](const std::string& text) -> std::uint64_t {
            try {
                std::size_t used = 0;
                const unsigned long long n = std::stoull(text, &used);
                if (used != text.size()) throw std::invalid_argument(text);
                return n;
            } catch (const std::exception&) {
                throw UsageError("run: " + arg + ": expected a number of milliseconds, found '" + text + "'");
            }
        };
        if (arg == "--plugin") {
            plugins.push_back(value());
        } else if (arg == "--plugin-config") {
            std::string spec = value();
            auto eq = spec.find('=');
            if (eq == std::string::npos) throw UsageError("run: --plugin-config expects NAME=JSON, found '" + spec + "'");
            configs[spec.substr(0, eq)] = spec.substr(eq + 1);
        } else if (arg == "--stop-deadline") {
            deadlineMs = number(value());
        } else if (arg == "--block-warn") {
            blockWarnMs = number(value());
        } else if (arg == "-h" || arg == "--help") {
            std::cout << "Usage: keel run SITE_DIR_OR_FILE... [--listen ADDR] [--no-lock] [--stop-deadline MS] [--block-warn MS]\n"
                         "       keel run --config keel.json [--no-lock] [--stop-deadline MS]\n"
                         "       keel run [--plugin NAME]... [--plugin-config NAME=JSON]...\n"
                         "Serves the sites until SIGTERM or SIGINT (graceful stop within the deadline; a second signal\n"
                         "stops at once). SIGHUP, or an edit of a loaded manifest, reloads: a bad configuration is\n"
                         "reported and the running one stays. --listen replaces the listeners of a single site.\n"
                         "Production sites need a lock file (keel lock SITE) unless --no-lock is given.\n"
                         "Without sites it starts plugins alone (by default the example plugins hello and hello-c).\n";
            return 0;
        } else {
            return usageError("run: unknown option '" + arg + "'");
        }
    }
    const bool demo = plugins.empty();
    if (demo) {
        plugins = kDefaultRunPlugins;
        if (!configs.count("hello")) configs["hello"] = R"({"heartbeat_ms": 10000})";
    }

    Kernel kernel;
    PluginSet set(kernel.runtime, catalog);
    for (const auto& p : plugins) set.add(p, configs.count(p) ? configs[p] : "{}");
    for (const auto& [name, config] : configs)
        if (std::find(plugins.begin(), plugins.end(), name) == plugins.end())
            return usageError("run: --plugin-config names '" + name + "', which is not a --plugin");

    kernel.loop.lag().setBlockThresholdMs(blockWarnMs);
    kernel.loop.lag().start(kernel.loop.uv());
    int exitCode = 0;
    TimerId keepAlive = 0;
    // Signals first: a SIGTERM during start-up must stop, not kill, the process.
    const TopicId stopping = kernel.bus.topic("kernel.stopping");
    const TopicId reloading = kernel.bus.topic("kernel.reload");
    Signals signals(kernel.loop,
                    Signals::Hooks{
                        [&](int) {
                            kernel.bus.publishJson(stopping, "{\"deadline_ms\":" + std::to_string(deadlineMs) + "}");
                            set.stop([&] {
                                if (keepAlive != 0) kernel.loop.clearTimer(keepAlive);
                                logInfo("kernel", "stopped; " + kernel.loop.lag().summary());
                            });
                        },
                        [&](int) {
                            set.abandon();
                            exitCode = 1;
                            kernel.loop.stop();
                        },
                        [&] { kernel.bus.publishJson(reloading, "{}"); }},
                    deadlineMs);
    std::string startError;
    kernel.loop.runMain([&] {
        try {
            set.resolve();
            set.start();
        } catch (const PluginError& e) {
            startError = e.what();
        }
    });
    if (!startError.empty()) {
        std::cerr << "keel: cannot start:\n" << startError << "\n";
        return 1;
    }

    std::string names;
    for (auto* i : set.order()) names += (names.empty() ? "" : ", ") + i->name() + " " + i->library().manifest().version.toString();
    if (demo)
        logInfo("kernel", "no site manifest or http plugin yet: running the example plugins; Ctrl-C stops");
    logInfo("kernel", "started " + names + " (pid " + std::to_string(uv_os_getpid()) + ")");
    kernel.bus.publishJson(kernel.bus.topic("kernel.started"), "{\"pid\":" + std::to_string(uv_os_getpid()) + "}");

    // A server stays up until it is told to stop; this timer holds the loop open and logs
    // the loop-delay histogram at debug level.
    keepAlive = kernel.loop.setInterval(60000, [&] { Log::write(LogLevel::debug, "loop", kernel.loop.lag().summary()); });
    kernel.loop.run();
    return exitCode;
}

int cmdPlugin(const Catalog& catalog, const std::vector<std::string>& args) {
    const std::string& name = args[0];
    std::vector<PluginLibraryPtr> providers;
    for (const auto& library : catalog.all())
        for (const auto& c : library->manifest().commands)
            if (c.name == name) providers.push_back(library);
    if (providers.empty()) return usageError("unknown command '" + name + "'");
    if (providers.size() > 1) {
        std::cerr << "keel: command '" << name << "' is provided by both " << providers[0]->path() << " and "
                  << providers[1]->path() << "\n";
        return 1;
    }

    Kernel kernel;
    PluginSet set(kernel.runtime, catalog);
    set.add(providers[0]->name());
    try {
        set.resolve();
        set.start();
    } catch (const PluginError& e) {
        std::cerr << "keel " << name << ": cannot start plugin " << providers[0]->label() << ":\n" << e.what() << "\n";
        return 1;
    }
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    argv.push_back(nullptr);
    int exitCode = 0;
    bool finished = false;
    auto finish = [&](int code) {
        if (finished) return;
        finished = true;
        exitCode = code;
        set.stop([] {});
    };
    Signals signals(kernel.loop,
                    Signals::Hooks{[&](int signum) { finish(128 + signum); },
                                   [&](int signum) {
                                       exitCode = 128 + signum;
                                       set.abandon();
                                       kernel.loop.stop();
                                   },
                                   nullptr},
                    10000);
    PluginInstance* instance = set.find(providers[0]->name());
    kernel.loop.runMain([&] {
        const int rc = instance->command(name, static_cast<int>(args.size()), argv.data(), finish);
        if (rc != KEEL_PENDING) finish(rc);
    });
    kernel.loop.run();
    return exitCode;
}

} // namespace

int Cli::main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    Options options;
    try {
        options = parseGlobal(argc, argv);
    } catch (const UsageError& e) {
        return usageError(e.what());
    }
    if (options.rest.empty()) return usageError("no command given");
    const std::string& command = options.rest[0];
    try {
        if (command == "version") {
            if (options.rest.size() > 1) return usageError("version: unexpected argument '" + options.rest[1] + "'");
            return cmdVersion();
        }
        // The commands on sites make their own catalogs: `run` one that, under a lock, opens
        // only the files it pins. The others list every plugin installed, so they load them all
        // here; none of them runs for a site.
        if (command == "check") return cmdCheck(options.rest, options.pluginPath);
        if (command == "lock") return cmdLock(options.rest, options.pluginPath);
        if (command == "run") {
            // Sites (manifests or keel.json) make a server; plugins alone are the plugin demo.
            bool sites = false;
            for (std::size_t i = 1; i < options.rest.size(); ++i) {
                const std::string& a = options.rest[i];
                if (a == "--config" || a == "--listen" || a == "--no-lock" || (!a.empty() && a[0] != '-' &&
                                                                               options.rest[i - 1] != "--plugin" &&
                                                                               options.rest[i - 1] != "--plugin-config" &&
                                                                               options.rest[i - 1] != "--stop-deadline" &&
                                                                               options.rest[i - 1] != "--block-warn"))
                    sites = true;
            }
            if (sites) return runSites(options.rest, options.pluginPath);
        }
        Catalog catalog(Catalog::defaultPath(options.pluginPath));
        if (command == "help") return cmdHelp(catalog);
        if (command == "plugins") return cmdPlugins(catalog, options.rest);
        if (command == "run") return cmdRun(catalog, options.rest);
        return cmdPlugin(catalog, options.rest);
    } catch (const UsageError& e) {
        return usageError(e.what());
    } catch (const std::exception& e) {
        std::cerr << "keel: " << e.what() << "\n";
        return 1;
    }
}

} // namespace keel::kernel
