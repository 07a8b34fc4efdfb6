#pragma once

#include <keel/Json.hpp>

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace keel::kernel {

class JsonError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Parses JSON text (comments allowed, as operators annotate their config). Throws
/// JsonError "WHERE: invalid JSON: ..." on a syntax error.
Poco::Dynamic::Var parseJson(std::string_view text, std::string_view where);
/// Parses and requires an object at the top.
Poco::JSON::Object::Ptr parseJsonObject(std::string_view text, std::string_view where);
/// `text` with `//` and `/* */` comments outside strings replaced by spaces.
std::string stripJsonComments(std::string_view text);
/// Compact JSON text of a value.
std::string toJson(const Poco::Dynamic::Var& value);
/// A JSON string literal (quotes and escapes) of `text`: the SDK's, shared with plugins.
using keel::quoteJson;
/// What a JSON value is, for error messages: "a string", "an integer", "an object", ...
std::string describeJson(const Poco::Dynamic::Var& value);

} // namespace keel::kernel
