#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ConfigSchema.hpp"
#include "Semver.hpp"

namespace keel::kernel {

class ManifestError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A plugin's embedded manifest: the single source of truth for what the plugin is.
///
///   {
///     "name": "hello",                         // [a-z][a-z0-9-]*, unique on the plugin path
///     "version": "1.2.0",                      // SemVer 2.0.0
///     "description": "One line for `keel plugins` and `keel --help`",
///     "sdk": "^1.0.0",                         // Keel SDK (ABI) versions it works with
///     "requires": {"other": "^2.1.0"},         // name -> semver range
///     "provides": ["hello.counter@1"],         // services, name@major
///     "transport": true,                       // turns connections into requests: stopped
///                                              // first, so requests in flight can finish
///     "commands": [{"name": "hello", "description": "..."}],
///     "handlers": [{"name": "static", "kind": "handler", "description": "...",
///                   "config": {...}}],            // what sites can `use`

///     "config": {"type": "object", "properties": {...}}   // ConfigSchema
///   }
struct Manifest {
    struct Requirement {
        std::string name;
        Range range;
    };
    struct Command {
        std::string name;
        std::string description;
    };
    /// A request step sites can `use`: as a route's handler, as middleware, or both.
    struct Handler {
        enum class Kind { handler, middleware, both };
        std::string name;
        std::string description;
        Kind kind = Kind::handler;
        ConfigSchema config;
        bool usableAsHandler() const { return kind != Kind::middleware; }
        bool usableAsMiddleware() const { return kind != Kind::handler; }
    };

    std::string name;
    Version version;
    std::string description;
    Range sdk = Range::parse("*");
    std::vector<Requirement> requirements;
    std::vector<std::string> provides;
    bool transport = false;
    std::vector<Command> commands;
    std::vector<Handler> handlers;
    ConfigSchema config;
    std::string text; // the manifest as embedded

    /// Parses and checks every field; throws ManifestError "WHERE: manifest: KEY: problem".
    static Manifest parse(std::string_view json, std::string_view where);
};

} // namespace keel::kernel
