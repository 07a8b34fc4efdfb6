#include "Manifest.hpp"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <regex>
#include <set>

#include "Json.hpp"

namespace keel::kernel {

namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

const std::vector<std::string> kKeys{"name",     "version",  "description", "sdk",   "requires",
                                     "provides", "commands", "handlers",    "config", "transport"};

bool validName(const std::string& name) {
    static const std::regex pattern("[a-z][a-z0-9-]{0,63}");
    return std::regex_match(name, pattern);
}

std::string requireString(const Object::Ptr& obj, const std::string& key, const std::string& where, const char* form) {
    if (!obj->has(key)) throw ManifestError(where + ": missing \"" + key + "\": expected " + form);
    Var v = obj->get(key);
    if (!v.isString())
        throw ManifestError(where + ": " + key + ": expected " + form + ", found " + describeJson(v));
    return v.toString();
}

} // namespace

Manifest Manifest::parse(std::string_view json, std::string_view whereView) {
    const std::string where = std::string(whereView) + ": manifest";
    Object::Ptr obj;
    try {
        obj = parseJsonObject(json, where);
    } catch (const JsonError& e) {
        throw ManifestError(e.what());
    }
    for (const auto& [key, value] : *obj) {
        if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
            std::string hint = nearest(key, kKeys);
            throw ManifestError(where + ": unknown key \"" + key + "\"" +
                                (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
        }
    }

    Manifest m;
    m.text = std::string(json);
    m.name = requireString(obj, "name", where, "a plugin name such as \"rate-limit\" ([a-z][a-z0-9-]*)");
    if (!validName(m.name))
        throw ManifestError(where + ": name: \"" + m.name +
                            "\" is not a plugin name: expected lower-case letters, digits and '-', starting with a letter");
    try {
        m.version = Version::parse(requireString(obj, "version", where, "a semantic version such as \"1.0.0\""));
    } catch (const SemverError& e) {
        throw ManifestError(where + ": version: " + e.what());
    }
    m.description = requireString(obj, "description", where, "a one-line description");
    if (m.description.find('\n') != std::string::npos)
        throw ManifestError(where + ": description: expected one line");
    try {
        m.sdk = Range::parse(requireString(obj, "sdk", where, "the SDK versions the plugin works with, such as \"^1.0.0\""));
    } catch (const SemverError& e) {
        throw ManifestError(where + ": sdk: " + e.what());
    }

    if (obj->has("requires")) {
        Var req = obj->get("requires");
        if (req.type() != typeid(Object::Ptr))
            throw ManifestError(where + ": requires: expected an object of plugin name -> version range");
        for (const auto& [name, range] : *req.extract<Object::Ptr>()) {
            if (!range.isString())
                throw ManifestError(where + ": requires." + name + ": expected a version range such as \"^1.2.0\"");
            if (name == m.name) throw ManifestError(where + ": requires." + name + ": a plugin cannot require itself");
            try {
                m.requirements.push_back({name, Range::parse(range.toString())});
            } catch (const SemverError& e) {
                throw ManifestError(where + ": requires." + name + ": " + e.what());
            }
        }
    }

    if (obj->has("transport")) {
        Var transport = obj->get("transport");
        if (!transport.isBoolean())
            throw ManifestError(where + ": transport: expected true or false, found " + transport.toString());
        m.transport = transport.extract<bool>();
    }

    if (obj->has("provides")) {
        Var provides = obj->get("provides");
        if (provides.type() != typeid(Array::Ptr))
            throw ManifestError(where + ": provides: expected a list of services such as [\"auth.hasher@1\"]");
        static const std::regex service("[a-z][a-z0-9.-]*@[0-9]+");
        for (const auto& s : *provides.extract<Array::Ptr>()) {
            if (!s.isString() || !std::regex_match(s.toString(), service))
                throw ManifestError(where + ": provides: \"" + s.toString() +
                                    "\" is not a service: expected name@major such as \"auth.hasher@1\"");
            m.provides.push_back(s.toString());
        }
    }

    if (obj->has("commands")) {
        Var commands = obj->get("commands");
        if (commands.type() != typeid(Array::Ptr))
            throw ManifestError(where + ": commands: expected a list of {\"name\", \"description\"}");
        std::size_t i = 0;
        for (const auto& c : *commands.extract<Array::Ptr>()) {
            const std::string at = where + ": commands[" + std::to_string(i++) + "]";
            if (c.type() != typeid(Object::Ptr)) throw ManifestError(at + ": expected {\"name\", \"description\"}");
            auto cmd = c.extract<Object::Ptr>();
            Command command{requireString(cmd, "name", at, "a command name"),
                            requireString(cmd, "description", at, "a one-line description")};
            if (!validName(command.name)) throw ManifestError(at + ": name: expected lower-case letters, digits and '-'");
            m.commands.push_back(command);
        }
    }

    if (obj->has("handlers")) {
        Var handlers = obj->get("handlers");
        if (handlers.type() != typeid(Array::Ptr))
            throw ManifestError(where + ": handlers: expected a list of {\"name\", \"kind\", \"description\", \"config\"}");
        std::size_t i = 0;
        std::set<std::string> seen;
        for (const auto& h : *handlers.extract<Array::Ptr>()) {
            const std::string at = where + ": handlers[" + std::to_string(i++) + "]";
            if (h.type() != typeid(Object::Ptr))
                throw ManifestError(at + ": expected {\"name\", \"kind\", \"description\", \"config\"}");
            auto obj2 = h.extract<Object::Ptr>();
            for (const auto& [key, value] : *obj2)
                if (key != "name" && key != "kind" && key != "description" && key != "config")
                    throw ManifestError(at + ": unknown key \"" + key + "\"; accepted keys: name, kind, description, config");
            Handler handler;
            handler.name = requireString(obj2, "name", at, "a handler name such as \"static\"");
            if (!validName(handler.name)) throw ManifestError(at + ": name: expected lower-case letters, digits and '-'");
            if (!seen.insert(handler.name).second) throw ManifestError(at + ": name: \"" + handler.name + "\" is listed twice");
            handler.description = requireString(obj2, "description", at, "a one-line description");
            const std::string kind = obj2->has("kind") ? requireString(obj2, "kind", at, "\"handler\", \"middleware\" or \"both\"") : "handler";
            if (kind == "handler") handler.kind = Handler::Kind::handler;
            else if (kind == "middleware") handler.kind = Handler::Kind::middleware;
            else if (kind == "both") handler.kind = Handler::Kind::both;
            else throw ManifestError(at + ": kind: expected \"handler\", \"middleware\" or \"both\", found \"" + kind + "\"");
            if (obj2->has("config")) {
                try {
                    handler.config = ConfigSchema::parse(obj2->get("config"), at + ": config");
                } catch (const SchemaError& e) {
                    throw ManifestError(e.what());
                }
            }
            m.handlers.push_back(std::move(handler));
        }
    }

    if (obj->has("config")) {
        try {
            m.config = ConfigSchema::parse(obj->get("config"), where + ": config");
        } catch (const SchemaError& e) {
            throw ManifestError(e.what());
        }
    }
    return m;
}

} // namespace keel::kernel
