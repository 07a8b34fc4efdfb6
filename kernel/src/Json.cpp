#include "Json.hpp"

#include <Poco/JSON/JSONException.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace keel::kernel {

std::string stripJsonComments(std::string_view text) {
    // Poco 1.11's own comment support fails on a comment inside an object, so comments are
    // blanked here. Blanks (not deletions) keep every line and column where it was, so
    // parse errors still point at the right place.
    std::string out(text);
    enum { code, string, escape, line, block } state = code;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const char c = out[i];
        const char next = i + 1 < out.size() ? out[i + 1] : '\0';
        switch (state) {
        case code:
            if (c == '"') {
                state = string;
            } else if (c == '/' && next == '/') {
                state = line;
                out[i] = out[i + 1] = ' ';
                ++i;
            } else if (c == '/' && next == '*') {
                state = block;
                out[i] = out[i + 1] = ' ';
                ++i;
            }
            break;
        case string:
            if (c == '\\') state = escape;
            else if (c == '"') state = code;
            break;
        case escape: state = string; break;
        case line:
            if (c == '\n') state = code;
            else out[i] = ' ';
            break;
        case block:
            if (c == '*' && next == '/') {
                out[i] = out[i + 1] = ' ';
                ++i;
                state = code;
            } else if (c != '\n') {
                out[i] = ' ';
            }
            break;
        }
    }
    return out;
}

Poco::Dynamic::Var parseJson(std::string_view text, std::string_view where) {
    Poco::JSON::Parser parser;
    try {
        return parser.parse(stripJsonComments(text));
    } catch (const Poco::Exception& e) {
        throw JsonError(std::string(where) + ": invalid JSON: " + e.displayText());
    }
}

Poco::JSON::Object::Ptr parseJsonObject(std::string_view text, std::string_view where) {
    Poco::Dynamic::Var value = parseJson(text, where);
    if (value.type() != typeid(Poco::JSON::Object::Ptr))
        throw JsonError(std::string(where) + ": expected a JSON object, found " + describeJson(value));
    return value.extract<Poco::JSON::Object::Ptr>();
}

std::string toJson(const Poco::Dynamic::Var& value) {
    std::ostringstream out;
    Poco::JSON::Stringifier::stringify(value, out, 0, -1);
    return out.str();
}

std::string describeJson(const Poco::Dynamic::Var& value) {
    if (value.isEmpty()) return "null";
    if (value.type() == typeid(Poco::JSON::Object::Ptr)) return "an object";
    if (value.type() == typeid(Poco::JSON::Array::Ptr)) return "an array";
    if (value.isBoolean()) return "a boolean";
    if (value.isString()) return "a string";
    if (value.isInteger()) return "an integer";
    if (value.isNumeric()) return "a number";
    return "a value";
}

} // namespace keel::kernel
