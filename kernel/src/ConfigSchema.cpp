#include "ConfigSchema.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <algorithm>
#include <set>

#include "Json.hpp"

namespace keel::kernel {

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

const std::set<std::string> kKeywords{"type", "description", "default", "enum", "minimum", "maximum",
                                      "minLength", "maxLength", "properties", "required",
                                      "additionalProperties", "items"};
const std::set<std::string> kTypes{"object", "string", "integer", "number", "boolean", "array"};

bool isObject(const Var& v) { return v.type() == typeid(Object::Ptr); }
bool isArray(const Var& v) { return v.type() == typeid(Array::Ptr); }

void checkSchema(const Var& node, const std::string& where) {
    if (!isObject(node)) throw SchemaError(where + ": expected a schema object, found " + describeJson(node));
    auto obj = node.extract<Object::Ptr>();
    for (const auto& [key, value] : *obj) {
        if (!kKeywords.count(key)) {
            std::vector<std::string> all(kKeywords.begin(), kKeywords.end());
            std::string hint = nearest(key, all);
            throw SchemaError(where + ": unknown schema keyword \"" + key + "\"" +
                              (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
        }
    }
    if (obj->has("type")) {
        Var type = obj->get("type");
        std::vector<std::string> names;
        if (type.isString()) {
            names.push_back(type.toString());
        } else if (isArray(type)) {
            for (const auto& t : *type.extract<Array::Ptr>()) names.push_back(t.toString());
        } else {
            throw SchemaError(where + ".type: expected a type name or a list of them");
        }
        for (const auto& n : names)
            if (!kTypes.count(n))
                throw SchemaError(where + ".type: unknown type \"" + n +
                                  "\"; accepted: object, string, integer, number, boolean, array");
    }
    if (obj->has("properties")) {
        Var props = obj->get("properties");
        if (!isObject(props)) throw SchemaError(where + ".properties: expected an object of schemas");
        for (const auto& [key, value] : *props.extract<Object::Ptr>()) checkSchema(value, where + ".properties." + key);
    }
    if (obj->has("items")) checkSchema(obj->get("items"), where + ".items");
    if (obj->has("required") && !isArray(obj->get("required")))
        throw SchemaError(where + ".required: expected a list of property names");
    if (obj->has("enum") && !isArray(obj->get("enum")))
        throw SchemaError(where + ".enum: expected a list of accepted values");
}

bool matchesType(const Var& v, const std::string& type) {
    if (type == "object") return isObject(v);
    if (type == "array") return isArray(v);
    if (type == "string") return v.isString();
    if (type == "boolean") return v.isBoolean();
    if (type == "integer") return v.isInteger() && !v.isBoolean();
    if (type == "number") return v.isNumeric() && !v.isBoolean();
    return false;
}

std::string article(const std::string& type) {
    return (type == "object" || type == "array" || type == "integer") ? "an " + type : "a " + type;
}

void validateNode(const Var& schema, const Var& value, const std::string& path, std::vector<std::string>& errors) {
    auto s = schema.extract<Object::Ptr>();
    std::string expected;
    if (s->has("type")) {
        Var type = s->get("type");
        std::vector<std::string> names;
        if (type.isString())
            names.push_back(type.toString());
        else
            for (const auto& t : *type.extract<Array::Ptr>()) names.push_back(t.toString());
        bool ok = std::any_of(names.begin(), names.end(), [&](const std::string& n) { return matchesType(value, n); });
        if (!ok) {
            for (std::size_t i = 0; i < names.size(); ++i) expected += (i ? " or " : "") + article(names[i]);
            std::string desc = s->has("description") ? " (" + s->getValue<std::string>("description") + ")" : "";
            errors.push_back(path + ": expected " + expected + desc + ", found " + describeJson(value));
            return;
        }
    }
    if (s->has("enum")) {
        auto options = s->getArray("enum");
        bool found = false;
        std::string list;
        for (const auto& option : *options) {
            if (!list.empty()) list += ", ";
            list += toJson(option);
            if (toJson(option) == toJson(value)) found = true;
        }
        if (!found) errors.push_back(path + ": expected one of " + list + ", found " + toJson(value));
    }
    if (value.isNumeric() && !value.isBoolean()) {
        const double n = value.convert<double>();
        if (s->has("minimum") && n < s->getValue<double>("minimum"))
            errors.push_back(path + ": expected a value >= " + toJson(s->get("minimum")) + ", found " + toJson(value));
        if (s->has("maximum") && n > s->getValue<double>("maximum"))
            errors.push_back(path + ": expected a value <= " + toJson(s->get("maximum")) + ", found " + toJson(value));
    }
    if (value.isString()) {
        const std::size_t len = value.toString().size();
        if (s->has("minLength") && len < s->getValue<std::size_t>("minLength"))
            errors.push_back(path + ": expected at least " + toJson(s->get("minLength")) + " characters");
        if (s->has("maxLength") && len > s->getValue<std::size_t>("maxLength"))
            errors.push_back(path + ": expected at most " + toJson(s->get("maxLength")) + " characters");
    }
    if (isArray(value) && s->has("items")) {
        auto items = value.extract<Array::Ptr>();
        for (std::size_t i = 0; i < items->size(); ++i)
            validateNode(s->get("items"), items->get(static_cast<unsigned>(i)), path + "[" + std::to_string(i) + "]", errors);
    }
    if (isObject(value)) {
        auto obj = value.extract<Object::Ptr>();
        Object::Ptr props = s->has("properties") ? s->getObject("properties") : Object::Ptr();
        const bool additional = s->has("additionalProperties") && s->getValue<bool>("additionalProperties");
        std::vector<std::string> known;
        if (props)
            for (const auto& [k, v] : *props) known.push_back(k);
        for (const auto& [key, child] : *obj) {
            if (props && props->has(key)) {
                validateNode(props->get(key), child, path + "." + key, errors);
            } else if (!additional) {
                std::string hint = nearest(key, known);
                std::string accepted;
                for (const auto& k : known) accepted += (accepted.empty() ? "" : ", ") + k;
                errors.push_back(path + ": unknown key \"" + key + "\"" +
                                 (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                                 "; accepted keys: " + (accepted.empty() ? "none" : accepted));
            }
        }
        if (s->has("required")) {
            for (const auto& name : *s->getArray("required"))
                if (!obj->has(name.toString()))
                    errors.push_back(path + ": missing required key \"" + name.toString() + "\"");
        }
    }
}

std::size_t editDistance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = up;
        }
    }
    return row[b.size()];
}

} // namespace

std::string nearest(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t bestDistance = word.size() / 3 + 2; // "close": a typo or two, not another word
    for (const auto& c : candidates) {
        const std::size_t d = editDistance(word, c);
        if (d < bestDistance) {
            bestDistance = d;
            best = c;
        }
    }
    return best;
}

ConfigSchema ConfigSchema::parse(const Var& schema, std::string_view where) {
    checkSchema(schema, std::string(where));
    ConfigSchema out;
    out.schema_ = schema;
    return out;
}

std::vector<std::string> ConfigSchema::validate(const Var& config, std::string_view path) const {
    std::vector<std::string> errors;
    if (schema_.isEmpty()) {
        // No schema: the plugin takes no configuration.
        if (!isObject(config) || config.extract<Object::Ptr>()->size() != 0)
            errors.push_back(std::string(path) + ": this plugin takes no configuration; expected {}");
        return errors;
    }
    validateNode(schema_, config, std::string(path), errors);
    return errors;
}

} // namespace keel::kernel
