#include "StaticConfig.hpp"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <stdexcept>

namespace keel_fs {

namespace {

Poco::JSON::Object::Ptr parseObject(std::string_view json) {
    Poco::JSON::Parser parser;
    return parser.parse(std::string(json.empty() ? std::string_view("{}") : json))
        .extract<Poco::JSON::Object::Ptr>();
}

bool boolean(const Poco::JSON::Object::Ptr& o, const std::string& key, bool fallback) {
    if (!o->has(key)) return fallback;
    const auto v = o->get(key);
    if (!v.isBoolean())
        throw std::invalid_argument(key + ": expected true or false, found " + v.toString());
    return v.convert<bool>();
}

/// Unknown keys are errors here too: the kernel's schema check runs in `keel check` and
/// `keel run`, not in every embedding (the test client).
void checkKeys(const Poco::JSON::Object::Ptr& o, std::initializer_list<std::string_view> known,
               const std::string& prefix = "") {
    for (const auto& [key, value] : *o) {
        if (std::find(known.begin(), known.end(), key) != known.end()) continue;
        std::string accepted;
        for (const auto k : known) {
            if (!accepted.empty()) accepted += ", ";
            accepted += k;
        }
        throw std::invalid_argument(prefix + key + ": unknown key; accepted: " + accepted);
    }
}

bool isFieldValue(std::string_view s) {
    for (const char c : s)
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F) return false;
    return true;
}

} // namespace

PluginConfig PluginConfig::parse(std::string_view json) {
    const auto o = parseObject(json);
    checkKeys(o, {"cache_bytes", "mime_types"});
    PluginConfig c;
    if (o->has("cache_bytes")) {
        const auto v = o->get("cache_bytes");
        if (!v.isInteger() || v.convert<std::int64_t>() < 0)
            throw std::invalid_argument(
                "cache_bytes: expected a number of bytes >= 0 (0: no cache), found " +
                v.toString());
        c.cacheBytes = v.convert<std::size_t>();
    }
    if (o->has("mime_types")) {
        c.mimeTypes = o->getValue<std::string>("mime_types");
        if (c.mimeTypes.empty())
            throw std::invalid_argument(
                "mime_types: expected the path of a mime.types file, such as "
                "\"/etc/mime.types\"");
    }
    return c;
}

StaticConfig StaticConfig::parse(std::string_view json, std::string_view siteDir) {
    const auto o = parseObject(json);
    checkKeys(o, {"root", "index", "listing", "dotfiles", "follow_symlinks", "cache_control",
                  "precompressed", "etag", "last_modified", "fallthrough", "cache"});
    StaticConfig c;
    if (!o->has("root") || !o->get("root").isString() || o->getValue<std::string>("root").empty())
        throw std::invalid_argument(
            "root: missing; expected the directory to serve, relative to the site "
            "(such as \"public\") or absolute");
    std::filesystem::path root(o->getValue<std::string>("root"));
    if (root.is_relative()) root = std::filesystem::path(std::string(siteDir)) / root;
    c.root = root.lexically_normal().string();
    if (c.root.size() > 1 && c.root.back() == '/') c.root.pop_back();

    if (o->has("index")) {
        c.index.clear();
        const auto v = o->get("index");
        const auto addName = [&](const std::string& name) {
            if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
                throw std::invalid_argument("index: \"" + name +
                                            "\" is not a file name; expected names such as "
                                            "[\"index.html\", \"index.htm\"]");
            c.index.push_back(name);
        };
        if (v.isString()) {
            addName(v.toString());
        } else if (v.type() == typeid(Poco::JSON::Array::Ptr)) {
            for (const auto& item : *v.extract<Poco::JSON::Array::Ptr>()) {
                if (!item.isString())
                    throw std::invalid_argument("index: expected a list of file names");
                addName(item.toString());
            }
        } else {
            throw std::invalid_argument(
                "index: expected a file name or a list of them, such as [\"index.html\"]");
        }
    }
    if (o->has("listing")) {
        const auto v = o->get("listing");
        if (v.isBoolean())
            c.listing = v.convert<bool>() ? Listing::byAccept : Listing::off;
        else if (v.isString() && v.toString() == "html")
            c.listing = Listing::html;
        else if (v.isString() && v.toString() == "json")
            c.listing = Listing::json;
        else
            throw std::invalid_argument(
                "listing: expected false, true (HTML, or JSON when the client asks "
                "for it), \"html\" or \"json\"; found " +
                v.toString());
    }
    if (o->has("dotfiles")) {
        const std::string d = o->getValue<std::string>("dotfiles");
        if (!dotfilesFromName(d, c.dotfiles))
            throw std::invalid_argument(
                "dotfiles: expected \"deny\" (403), \"ignore\" (404) or \"allow\"; found \"" + d +
                "\"");
    }
    c.followSymlinks = boolean(o, "follow_symlinks", false);
    if (o->has("cache_control")) {
        c.cacheControl = o->getValue<std::string>("cache_control");
        if (!isFieldValue(c.cacheControl))
            throw std::invalid_argument(
                "cache_control: control characters are not allowed; expected a value "
                "such as \"public, max-age=3600\"");
    }
    c.precompressed = boolean(o, "precompressed", true);
    c.etag = boolean(o, "etag", true);
    c.lastModified = boolean(o, "last_modified", true);
    c.fallthrough = boolean(o, "fallthrough", false);
    if (o->has("cache")) {
        const auto cache = o->getObject("cache");
        if (!cache)
            throw std::invalid_argument(
                "cache: expected an object such as {\"max_file_bytes\": 65536}");
        checkKeys(cache, {"max_file_bytes"}, "cache.");
        if (cache->has("max_file_bytes")) {
            const auto v = cache->get("max_file_bytes");
            if (!v.isInteger() || v.convert<std::int64_t>() < 0)
                throw std::invalid_argument(
                    "cache.max_file_bytes: expected a number of bytes >= 0 (0: do not "
                    "cache), found " +
                    v.toString());
            c.maxFileBytes = v.convert<std::size_t>();
        }
    }
    return c;
}

} // namespace keel_fs
