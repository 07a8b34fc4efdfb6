#pragma once

#include <Poco/Dynamic/Var.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keel::kernel {

class SchemaError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A plugin's config schema, from its manifest: a small, strict subset of JSON Schema.
/// Keywords: type ("object", "string", "integer", "number", "boolean", "array", or a list of
/// them), description, default, enum, minimum, maximum, minLength, maxLength, properties,
/// required, additionalProperties (default false: unknown keys are errors), items.
class ConfigSchema {
public:
    ConfigSchema() = default;
    /// Checks the schema itself; throws SchemaError naming `where` and the bad keyword.
    static ConfigSchema parse(const Poco::Dynamic::Var& schema, std::string_view where);

    /// Every problem with `config`, each "PATH: what is wrong, what is accepted"; empty
    /// when valid. `path` names the root (e.g. "routes[2].config").
    std::vector<std::string> validate(const Poco::Dynamic::Var& config, std::string_view path) const;

private:
    Poco::Dynamic::Var schema_;
};

/// The closest of `candidates` to `word` by edit distance, or "" when none is close.
std::string nearest(std::string_view word, const std::vector<std::string>& candidates);

} // namespace keel::kernel
