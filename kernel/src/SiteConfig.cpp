#include "SiteConfig.hpp"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <glob.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "ConfigSchema.hpp"
#include "Json.hpp"
#include "Router.hpp"
#include "Semver.hpp"

namespace keel::kernel {

namespace fs = std::filesystem;
using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

// ---------------------------------------------------------------------------------------
// ConfigError, Diagnostics

namespace {

std::string joinLines(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
    return out;
}

std::string joinList(const std::vector<std::string>& items, std::string_view separator = ", ") {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : std::string(separator)) + i;
    return out;
}

} // namespace

ConfigError::ConfigError(std::vector<std::string> errors) : std::runtime_error(joinLines(errors)), errors_(std::move(errors)) {}

void Diagnostics::add(int line, std::string_view path, std::string_view problem) {
    std::string text = file_;
    if (line > 0) text += ":" + std::to_string(line);
    text += ": ";
    if (!path.empty()) text += std::string(path) + ": ";
    text += problem;
    entries_.push_back({line, std::move(text)});
}

void Diagnostics::at(std::string_view path, std::string_view problem) { add(lineOf(path), path, problem); }

void Diagnostics::atLine(std::string_view path, std::string_view linePath, std::string_view problem) {
    add(lineOf(linePath), path, problem);
}

void Diagnostics::schemaMessage(std::string_view rootPath, std::string_view message) {
    const std::size_t colon = message.find(": ", rootPath.size());
    const std::string_view path = message.substr(0, colon);
    std::string_view problem = colon == std::string_view::npos ? std::string_view() : message.substr(colon + 2);
    std::string linePath(path);
    // An unknown key is easier to find at its own line than at its object's.
    static constexpr std::string_view kUnknown = "unknown key \"";
    if (problem.substr(0, kUnknown.size()) == kUnknown) {
        const std::string_view rest = problem.substr(kUnknown.size());
        linePath = JsonPositions::member(path, rest.substr(0, rest.find('"')));
    }
    const int line = lineOf(linePath);
    std::string text = file_ + (line > 0 ? ":" + std::to_string(line) : "") + ": " + std::string(message);
    entries_.push_back({line, std::move(text)});
}

void Diagnostics::atLineNumber(int line, std::string_view problem) { add(line, "", problem); }

void Diagnostics::unknownKeys(std::string_view path, const std::vector<std::string>& keys,
                              const std::vector<std::string>& accepted) {
    for (const auto& key : keys) {
        const std::string hint = nearest(key, accepted);
        atLine(path, JsonPositions::member(path, key),
               "unknown key \"" + key + "\"" + (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)") +
                   "; accepted keys: " + joinList(accepted));
    }
}

std::string Diagnostics::place(std::string_view path) const {
    const int line = lineOf(path);
    return line > 0 ? file_ + ":" + std::to_string(line) : file_;
}

std::vector<std::string> Diagnostics::take() {
    std::stable_sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) { return a.line < b.line; });
    std::vector<std::string> out;
    for (auto& e : entries_) out.push_back(std::move(e.text));
    entries_.clear();
    return out;
}

// ---------------------------------------------------------------------------------------
// Reading JSON values with messages

namespace {

bool isObject(const Var& v) { return v.type() == typeid(Object::Ptr); }
bool isArray(const Var& v) { return v.type() == typeid(Array::Ptr); }
bool isInteger(const Var& v) { return v.isInteger() && !v.isBoolean(); }

/// "expected EXPECTED, found a string" at `path` unless `ok`.
bool expect(Diagnostics& d, std::string_view path, const Var& v, bool ok, std::string_view expected) {
    if (!ok) d.at(path, "expected " + std::string(expected) + ", found " + describeJson(v));
    return ok;
}

/// The keys of `obj` that are not `accepted`, reported as unknown.
void checkKeys(Diagnostics& d, std::string_view path, const Object::Ptr& obj, const std::vector<std::string>& accepted) {
    std::vector<std::string> unknown;
    for (const auto& [key, value] : *obj)
        if (std::find(accepted.begin(), accepted.end(), key) == accepted.end()) unknown.push_back(key);
    d.unknownKeys(path, unknown, accepted);
}

bool require(Diagnostics& d, std::string_view path, const Object::Ptr& obj, const std::string& key, std::string_view form) {
    if (obj->has(key)) return true;
    d.at(path, "missing required key \"" + key + "\"; expected " + std::string(form));
    return false;
}

/// A non-negative integer from `v`; nullopt (after a message) for anything else.
std::optional<std::uint64_t> unsignedAt(Diagnostics& d, std::string_view path, const Var& v, std::string_view expected) {
    if (isInteger(v)) {
        try {
            if (v.isSigned() && v.convert<Poco::Int64>() < 0) {
                d.at(path, "expected " + std::string(expected) + ", found " + toJson(v));
                return std::nullopt;
            }
            return v.convert<Poco::UInt64>();
        } catch (const Poco::Exception&) {
        }
    }
    expect(d, path, v, false, expected);
    return std::nullopt;
}


/// What an operator wrote, for "found ..." after a value that is the wrong one of its type.
std::string found(const Var& v) {
    if (v.isString()) return quoteJson(v.toString());
    if (v.isEmpty() || isObject(v) || isArray(v)) return describeJson(v);
    return toJson(v);
}

std::optional<std::string> readFile(const std::string& path, std::string& error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        error = std::strerror(errno);
        return std::nullopt;
    }
    std::string out;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            error = std::strerror(errno);
            ::close(fd);
            return std::nullopt;
        }
        if (n == 0) break;
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

/// `path` as seen from `dir` (the folder of the file that names it).
std::string resolvePath(const std::string& dir, const std::string& path) {
    const bool asIs = path.empty() || fs::path(path).is_absolute() || dir.empty() || dir == ".";
    std::string out = (asIs ? fs::path(path) : fs::path(dir) / path).lexically_normal().string();
    if (out.size() > 1 && out.back() == '/') out.pop_back(); // "a/b/.." normalizes to "a/"
    return out.empty() ? "." : out;
}

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string upper(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return text;
}

bool isHex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

/// "character 'x'", "a space", "byte 0xc3": a character of a rejected name or path.
std::string describeChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    if (u == ' ') return "a space";
    if (u > 0x20 && u < 0x7f) return std::string("character '") + c + "'";
    static constexpr char hex[] = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

// ---------------------------------------------------------------------------------------
// Forms, as messages show them

const std::vector<std::string> kSiteKeys{"name", "listeners", "hosts", "default", "mode", "plugins", "middleware", "routes"};
const std::vector<std::string> kListenerKeys{"address", "tls"};
const std::vector<std::string> kTlsKeys{"cert", "key"};
const std::vector<std::string> kPluginKeys{"version", "config"};
const std::vector<std::string> kUseKeys{"use", "config"};
const std::vector<std::string> kRouteKeys{"path", "methods", "use", "config", "middleware", "body_limit"};
const std::vector<std::string> kGlobalKeys{"plugin_path", "sites", "log", "stop_deadline_ms", "workers"};
const std::vector<std::string> kLogKeys{"level", "format"};
const std::vector<std::string> kWorkerKeys{"count", "reuseport"};

constexpr const char* kAddressForm = "\"IP:PORT\" such as \"127.0.0.1:8080\", \"[::1]:8080\" or \":8080\" (every interface)";
constexpr const char* kPathForms = "\"/exact\", \"/prefix/\" or \"/prefix/*\", \"/users/:id\", \"*\"";
constexpr const char* kSizeForm = "a size in bytes such as 1048576, or a string such as \"100kb\", \"1mb\" or \"10mb\"";
constexpr const char* kHostForm = "a name such as \"example.com\", a wildcard such as \"*.example.com\", or an IP address";

// ---------------------------------------------------------------------------------------
// Addresses, host names, route paths

/// Why `text` is not "IP:PORT" ("" when it is, with `host` and `port` filled in).
std::string addressProblem(const std::string& text, std::string& host, std::uint16_t& port) {
    std::string portText;
    if (!text.empty() && text[0] == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string::npos) return "no closing ']'";
        if (close + 1 >= text.size() || text[close + 1] != ':') return "no port";
        const std::string ip = text.substr(1, close - 1);
        in6_addr a6{};
        if (::inet_pton(AF_INET6, ip.c_str(), &a6) != 1) return quoteJson(ip) + " is not an IPv6 address";
        char buffer[INET6_ADDRSTRLEN];
        host = ::inet_ntop(AF_INET6, &a6, buffer, sizeof buffer);
        portText = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string::npos) return "no port";
        const std::string ip = text.substr(0, colon);
        if (ip.find(':') != std::string::npos) return "IPv6 addresses go in brackets, as in \"[::1]:8080\"";
        host.clear();
        if (!ip.empty()) {
            in_addr a4{};
            if (::inet_pton(AF_INET, ip.c_str(), &a4) != 1)
                return quoteJson(ip) + " is not an IP address: listen on an address, and name hosts in \"hosts\"";
            char buffer[INET_ADDRSTRLEN];
            host = ::inet_ntop(AF_INET, &a4, buffer, sizeof buffer);
        }
        portText = text.substr(colon + 1);
    }
    const bool digits = !portText.empty() && portText.size() <= 5 &&
                        std::all_of(portText.begin(), portText.end(), [](unsigned char c) { return std::isdigit(c); });
    if (!digits || std::stoul(portText) > 65535) return "the port must be a number from 0 to 65535";
    port = static_cast<std::uint16_t>(std::stoul(portText));
    return "";
}

/// Why `name` (lower-cased) is not a host name a site can answer for ("" when it is).
std::string hostProblem(const std::string& name) {
    if (name.empty()) return "it is empty";
    if (name == "*") return "a lone \"*\" is no wildcard: leave \"hosts\" out to answer any host name";
    if (name.front() == '[') {
        in6_addr a6{};
        const bool ok = name.back() == ']' && ::inet_pton(AF_INET6, name.substr(1, name.size() - 2).c_str(), &a6) == 1;
        return ok ? "" : "not an IPv6 address in brackets";
    }
    if (const std::size_t colon = name.find(':'); colon != std::string::npos) {
        const std::string after = name.substr(colon + 1);
        const bool port = !after.empty() && std::all_of(after.begin(), after.end(), [](unsigned char c) { return std::isdigit(c); });
        return port ? "no port: the listeners give the ports" : "IPv6 addresses go in brackets, as in \"[::1]\"";
    }
    std::string rest = name;
    if (rest.rfind("*.", 0) == 0) rest.erase(0, 2);
    if (rest.size() > 253) return "longer than 253 characters";
    std::size_t start = 0;
    for (;;) {
        const std::size_t dot = std::min(rest.find('.', start), rest.size());
        const std::string label = rest.substr(start, dot - start);
        if (label.empty()) return "an empty label between dots";
        if (label.size() > 63) return "a label longer than 63 characters";
        for (char c : label) {
            if (c == '*') return "\"*\" may only be the whole first label, as in \"*.example.com\"";
            if (static_cast<unsigned char>(c) >= 0x80)
                return describeChar(c) + " is not allowed: write international names in punycode (\"xn--...\")";
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
                return describeChar(c) + " is not allowed";
        }
        if (dot == rest.size()) return "";
        start = dot + 1;
    }
}

bool validParam(const std::string& name) {
    static const std::regex pattern("[A-Za-z_][A-Za-z0-9_]*");
    return std::regex_match(name, pattern);
}

/// Why a literal path segment is refused ("" when it is fine).
std::string segmentProblem(const std::string& segment) {
    if (segment == "." || segment == "..")
        return "\".\" and \"..\" segments never match: request paths are normalized before routing";
    for (std::size_t i = 0; i < segment.size(); ++i) {
        const char c = segment[i];
        if (c == '*') return "\"*\" may only be the whole last segment";
        if (c == '?' || c == '#') return "a route path has no query (\"?\") or fragment (\"#\")";
        if (c == '%') {
            if (i + 2 >= segment.size() || !isHex(segment[i + 1]) || !isHex(segment[i + 2]))
                return "\"%\" must start a percent-encoded byte such as \"%20\"";
            continue;
        }
        // RFC 3986 pchar, less what is handled above.
        static constexpr std::string_view kAllowed = "-._~!$&'()+,;=:@";
        if (!std::isalnum(static_cast<unsigned char>(c)) && kAllowed.find(c) == std::string_view::npos)
            return describeChar(c) + " must be percent-encoded";
    }
    return "";
}

/// `segment` with its %XX escapes decoded, as the router compares it.
std::string percentDecode(const std::string& segment) {
    std::string out;
    for (std::size_t i = 0; i < segment.size(); ++i) {
        if (segment[i] == '%' && i + 2 < segment.size()) {
            out += static_cast<char>(std::stoi(segment.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += segment[i];
        }
    }
    return out;
}

/// The shape of a valid route path, which two routes share exactly when they match the same
/// request paths: parameter names dropped, "/prefix/" spelled as "/prefix/*", escapes
/// decoded. Each segment is tagged (s: static, p: parameter, w: wildcard) so that a decoded
/// "%2A" stays a literal "*". Returns why the path is refused, or "".
std::string routeShape(const std::string& pattern, std::string& shape) {
    shape.clear();
    if (pattern == "*") {
        shape = "/w";
        return "";
    }
    if (pattern.empty() || pattern[0] != '/') return "it must start with \"/\" (or be \"*\")";
    if (pattern == "/") {
        shape = "/";
        return "";
    }
    std::string body = pattern.substr(1);
    const bool prefix = body.back() == '/';
    if (prefix) body.pop_back();
    std::set<std::string> params;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = std::min(body.find('/', start), body.size());
        const std::string segment = body.substr(start, slash - start);
        const bool last = slash == body.size();
        if (segment.empty()) return "it has an empty segment (\"//\")";
        if (segment == "*") {
            if (!last || prefix) return "\"*\" may only be the whole last segment";
            shape += "/w";
        } else if (segment[0] == ':') {
            const std::string name = segment.substr(1);
            if (!validParam(name))
                return quoteJson(segment) + " is not a parameter: expected ':' and a name such as \":id\" (letters, digits, '_')";
            if (!params.insert(name).second) return "parameter \":" + name + "\" appears twice";
            shape += "/p";
        } else {
            if (std::string why = segmentProblem(segment); !why.empty()) return why;
            shape += "/s" + percentDecode(segment);
        }
        if (last) break;
        start = slash + 1;
    }
    if (prefix) shape += "/w";
    return "";
}

/// The methods a route answers: every one, or those listed plus HEAD when GET is.
struct MethodSet {
    bool all = false;
    std::set<std::string> names;

    explicit MethodSet(const std::vector<std::string>& methods) : all(methods.empty()), names(methods.begin(), methods.end()) {
        if (names.count("GET")) names.insert("HEAD");
    }
    bool has(const std::string& method) const { return all || names.count(method) != 0; }
};

// ---------------------------------------------------------------------------------------
// The site manifest

class SiteReader {
public:
    SiteReader(SiteConfig& site, Diagnostics& d) : site_(site), d_(d) {}

    void read(const Object::Ptr& root) {
        checkKeys(d_, "", root, kSiteKeys);
        name(root);
        listeners(root);
        hosts(root);
        flags(root);
        plugins(root);
        if (root->has("middleware")) useList("middleware", root->get("middleware"), site_.middleware);
        routes(root);
        overlaps();
    }

private:
    void name(const Object::Ptr& root) {
        if (!require(d_, "", root, "name", "the site's name, such as \"demo\"")) return;
        const Var v = root->get("name");
        if (!expect(d_, "name", v, v.isString(), "a string (the site's name, such as \"demo\")")) return;
        site_.name = v.toString();
        static const std::regex pattern("[a-z0-9][a-z0-9-]{0,63}");
        if (!std::regex_match(site_.name, pattern))
            d_.at("name", quoteJson(site_.name) + " is not a site name; expected lower-case letters, digits and '-', "
                                                  "starting with a letter or digit, such as \"demo\"");
    }

    void listeners(const Object::Ptr& root) {
        if (!require(d_, "", root, "listeners", "a list such as [{\"address\": \"127.0.0.1:8080\"}]")) return;
        const Var v = root->get("listeners");
        if (!expect(d_, "listeners", v, isArray(v), "a list of listeners such as [{\"address\": \"127.0.0.1:8080\"}]")) return;
        const auto list = v.extract<Array::Ptr>();
        if (list->size() == 0) d_.at("listeners", "expected at least one listener, such as {\"address\": \"127.0.0.1:8080\"}");
        std::map<std::pair<std::string, std::uint16_t>, std::string> seen;
        for (unsigned i = 0; i < list->size(); ++i) listener(JsonPositions::element("listeners", i), list->get(i), seen);
    }

    void listener(const std::string& path, const Var& v, std::map<std::pair<std::string, std::uint16_t>, std::string>& seen) {
        if (!expect(d_, path, v, isObject(v), "an object such as {\"address\": \"127.0.0.1:8080\"}")) return;
        const auto obj = v.extract<Object::Ptr>();
        checkKeys(d_, path, obj, kListenerKeys);
        ListenerConfig l;
        if (require(d_, path, obj, "address", kAddressForm)) {
            const std::string at = JsonPositions::member(path, "address");
            const Var a = obj->get("address");
            if (expect(d_, at, a, a.isString(), std::string("a string: ") + kAddressForm)) {
                l.address = a.toString();
                if (std::string why = addressProblem(l.address, l.host, l.port); !why.empty()) {
                    d_.at(at, quoteJson(l.address) + " is not a listening address (" + why + "); expected " + kAddressForm);
                } else if (l.port != 0) { // port 0 asks for a fresh port each time: no clash
                    auto [it, fresh] = seen.emplace(std::make_pair(l.host, l.port), path);
                    if (!fresh) d_.at(at, quoteJson(l.address) + " is listed twice (" + it->second + ")");
                }
            }
        }
        if (obj->has("tls")) tls(JsonPositions::member(path, "tls"), obj->get("tls"), l);
        site_.listeners.push_back(std::move(l));
    }

    void tls(const std::string& path, const Var& v, ListenerConfig& l) {
        if (!expect(d_, path, v, isObject(v), "an object such as {\"cert\": \"cert.pem\", \"key\": \"key.pem\"}")) return;
        const auto obj = v.extract<Object::Ptr>();
        checkKeys(d_, path, obj, kTlsKeys);
        l.tlsCert = tlsFile(path, obj, "cert", "the certificate chain (PEM), relative to the site's folder");
        l.tlsKey = tlsFile(path, obj, "key", "the private key (PEM), relative to the site's folder");
    }

    std::string tlsFile(const std::string& path, const Object::Ptr& obj, const std::string& key, const std::string& what) {
        if (!require(d_, path, obj, key, "the path of " + what)) return "";
        const std::string at = JsonPositions::member(path, key);
        const Var v = obj->get(key);
        if (!expect(d_, at, v, v.isString(), "a string (the path of " + what + ")")) return "";
        if (v.toString().empty()) {
            d_.at(at, "expected the path of " + what + ", found \"\"");
            return "";
        }
        const std::string file = resolvePath(site_.dir, v.toString());
        std::error_code ec;
        if (fs::is_directory(file, ec))
            d_.at(at, "cannot read " + quoteJson(file) + ": it is a folder; expected the path of " + what);
        else if (::access(file.c_str(), R_OK) != 0)
            d_.at(at, "cannot read " + quoteJson(file) + ": " + std::strerror(errno) + "; expected the path of " + what);
        return file;
    }

    void hosts(const Object::Ptr& root) {
        if (!root->has("hosts")) return;
        const Var v = root->get("hosts");
        if (!expect(d_, "hosts", v, isArray(v), "a list of host names such as [\"example.com\", \"*.example.com\"]")) return;
        const auto list = v.extract<Array::Ptr>();
        if (list->size() == 0) d_.at("hosts", "expected at least one host name; leave \"hosts\" out to answer any host name");
        std::map<std::string, std::string> seen;
        for (unsigned i = 0; i < list->size(); ++i) {
            const std::string at = JsonPositions::element("hosts", i);
            const Var h = list->get(i);
            if (!expect(d_, at, h, h.isString(), "a string (a host name such as \"example.com\" or \"*.example.com\")")) continue;
            const std::string name = lower(h.toString());
            if (std::string why = hostProblem(name); !why.empty()) {
                d_.at(at, quoteJson(h.toString()) + " is not a host name (" + why + "); expected " + kHostForm);
                continue;
            }
            auto [it, fresh] = seen.emplace(name, at);
            if (!fresh) {
                d_.at(at, quoteJson(h.toString()) + " is listed twice (" + it->second + ")");
                continue;
            }
            site_.hosts.push_back(name);
        }
    }

    void flags(const Object::Ptr& root) {
        if (root->has("default")) {
            const Var v = root->get("default");
            if (expect(d_, "default", v, v.isBoolean(), "a boolean (true: the site answers unknown host names on its addresses)"))
                site_.isDefault = v.convert<bool>();
        }
        if (root->has("mode")) {
            const Var v = root->get("mode");
            const std::string mode = v.isString() ? v.toString() : "";
            if (mode == "production") site_.mode = SiteConfig::Mode::production;
            else if (mode == "development") site_.mode = SiteConfig::Mode::development;
            else d_.at("mode", "expected \"production\" or \"development\", found " + found(v));
        }
    }

    void plugins(const Object::Ptr& root) {
        if (!root->has("plugins")) return;
        const Var v = root->get("plugins");
        if (!expect(d_, "plugins", v, isObject(v), "an object of plugin name -> version range, such as {\"fs\": \"^1.0.0\"}"))
            return;
        for (const auto& [name, value] : *v.extract<Object::Ptr>()) plugin(JsonPositions::member("plugins", name), name, value);
        // Poco sorts keys; the manifest's order is the operator's.
        std::stable_sort(site_.plugins.begin(), site_.plugins.end(), [&](const PluginRef& a, const PluginRef& b) {
            return site_.positions.exactLine("plugins." + a.name) < site_.positions.exactLine("plugins." + b.name);
        });
    }

    void plugin(const std::string& path, const std::string& name, const Var& v) {
        PluginRef ref{name, "", "{}"};
        if (v.isString()) {
            ref.range = v.toString();
            checkRange(path, ref.range);
        } else if (isObject(v)) {
            const auto obj = v.extract<Object::Ptr>();
            checkKeys(d_, path, obj, kPluginKeys);
            if (require(d_, path, obj, "version", "a version range such as \"^1.2.0\" (\"*\" for any version)")) {
                const std::string at = JsonPositions::member(path, "version");
                const Var r = obj->get("version");
                if (expect(d_, at, r, r.isString(), "a string (a version range such as \"^1.2.0\")")) {
                    ref.range = r.toString();
                    checkRange(at, ref.range);
                }
            }
            ref.configJson = configOf(path, obj, "the plugin's configuration");
        } else {
            expect(d_, path, v, false, "a version range such as \"^1.2.0\", or {\"version\": \"^1.2.0\", \"config\": {...}}");
        }
        site_.plugins.push_back(std::move(ref));
    }

    /// Reports a bad range and clears it, so that later checks skip it.
    void checkRange(const std::string& path, std::string& range) {
        try {
            Range::parse(range);
        } catch (const SemverError& e) {
            d_.at(path, e.what());
            range.clear();
        }
    }

    /// The "config" object of `obj` as compact JSON: "{}" when absent, "" when wrong.
    std::string configOf(const std::string& path, const Object::Ptr& obj, const std::string& what) {
        if (!obj->has("config")) return "{}";
        const Var c = obj->get("config");
        if (!expect(d_, JsonPositions::member(path, "config"), c, isObject(c), "an object (" + what + ")")) return "";
        return toJson(c);
    }

    void useList(const std::string& path, const Var& v, std::vector<UseConfig>& out) {
        if (!expect(d_, path, v, isArray(v), "a list of middleware such as [{\"use\": \"cors\"}]")) return;
        const auto list = v.extract<Array::Ptr>();
        for (unsigned i = 0; i < list->size(); ++i) {
            const std::string at = JsonPositions::element(path, i);
            const Var step = list->get(i);
            if (!expect(d_, at, step, isObject(step), "an object such as {\"use\": \"cors\", \"config\": {}}")) continue;
            const auto obj = step.extract<Object::Ptr>();
            checkKeys(d_, at, obj, kUseKeys);
            out.push_back(use(at, obj, UseConfig::Role::middleware));
        }
    }

    UseConfig use(const std::string& path, const Object::Ptr& obj, UseConfig::Role role) {
        const bool handler = role == UseConfig::Role::handler;
        UseConfig u;
        u.role = role;
        u.path = path;
        u.line = site_.positions.line(path);
        u.where = d_.place(path) + ": " + path;
        const std::string form = handler ? "the name of a handler such as \"static\" or \"plugin/static\""
                                         : "the name of a middleware such as \"cors\" or \"plugin/cors\"";
        if (require(d_, path, obj, "use", form)) {
            const std::string at = JsonPositions::member(path, "use");
            const Var v = obj->get("use");
            if (expect(d_, at, v, v.isString(), "a string (" + form + ")")) {
                u.use = v.toString();
                static const std::regex pattern("([a-z][a-z0-9-]*/)?[a-z][a-z0-9-]*");
                if (!std::regex_match(u.use, pattern)) {
                    d_.at(at, quoteJson(u.use) + " is not a handler name; expected " + form +
                                  " (lower-case letters, digits and '-')");
                    u.use.clear();
                }
            }
        }
        u.configJson = configOf(path, obj, handler ? "the handler's configuration" : "the middleware's configuration");
        return u;
    }

    void routes(const Object::Ptr& root) {
        if (!root->has("routes")) return;
        const Var v = root->get("routes");
        if (!expect(d_, "routes", v, isArray(v), "a list of routes such as [{\"path\": \"/\", \"use\": \"static\"}]")) return;
        const auto list = v.extract<Array::Ptr>();
        for (unsigned i = 0; i < list->size(); ++i) route(JsonPositions::element("routes", i), list->get(i));
    }

    void route(const std::string& path, const Var& v) {
        if (!expect(d_, path, v, isObject(v), "an object such as {\"path\": \"/\", \"use\": \"static\"}")) return;
        const auto obj = v.extract<Object::Ptr>();
        checkKeys(d_, path, obj, kRouteKeys);
        RouteConfig r;
        r.where = d_.place(path) + ": " + path;
        std::string shape;
        if (require(d_, path, obj, "path", std::string("a path pattern: ") + kPathForms)) {
            const std::string at = JsonPositions::member(path, "path");
            const Var p = obj->get("path");
            if (expect(d_, at, p, p.isString(), std::string("a string (a path pattern: ") + kPathForms + ")")) {
                r.path = p.toString();
                if (std::string why = routeShape(r.path, shape); !why.empty()) {
                    d_.at(at, quoteJson(r.path) + " is not a route path: " + why + "; accepted: " + kPathForms);
                    shape.clear();
                }
            }
        }
        if (obj->has("methods")) methods(JsonPositions::member(path, "methods"), obj->get("methods"), r.methods);
        r.handler = use(path, obj, UseConfig::Role::handler);
        if (obj->has("middleware")) useList(JsonPositions::member(path, "middleware"), obj->get("middleware"), r.middleware);
        if (obj->has("body_limit")) bodyLimit(JsonPositions::member(path, "body_limit"), obj->get("body_limit"), r.bodyLimit);
        if (!shape.empty() && !routerAccepts(path, r)) shape.clear();
        shapes_.push_back({site_.routes.size(), path, shape});
        site_.routes.push_back(std::move(r));
    }

    /// The router judges what it can match: whatever it refuses beyond the checks here (more
    /// captures than it holds, "%2F" in a literal, ...) is reported as well, so that a site
    /// `keel check` passes is one the router takes.
    bool routerAccepts(const std::string& path, const RouteConfig& r) {
        try {
            router_.add(r.path, r.methods, static_cast<int>(site_.routes.size()));
            return true;
        } catch (const RouteError& e) {
            // Its path messages read "invalid route path "P": why"; say them as the others are.
            const std::string message = e.what();
            const std::string prefix = "invalid route path \"" + r.path + "\": ";
            if (message.rfind(prefix, 0) == 0)
                d_.at(JsonPositions::member(path, "path"), quoteJson(r.path) + " is not a route path: " +
                                                               message.substr(prefix.size()) + "; accepted: " + kPathForms);
            else
                d_.at(path, message);
            return false;
        }
    }

    void methods(const std::string& path, const Var& v, std::vector<std::string>& out) {
        if (!expect(d_, path, v, isArray(v), "a list of HTTP methods such as [\"GET\", \"POST\"]")) return;
        const auto list = v.extract<Array::Ptr>();
        if (list->size() == 0) d_.at(path, "expected at least one method; leave \"methods\" out to accept every method");
        static const std::regex token("[A-Z][A-Z-]*");
        for (unsigned i = 0; i < list->size(); ++i) {
            const std::string at = JsonPositions::element(path, i);
            const Var m = list->get(i);
            if (!expect(d_, at, m, m.isString(), "a string (an HTTP method such as \"GET\")")) continue;
            const std::string method = m.toString();
            if (!std::regex_match(method, token)) {
                const std::string hint = std::regex_match(upper(method), token) ? " (did you mean \"" + upper(method) + "\"?)" : "";
                d_.at(at, quoteJson(method) + " is not a method" + hint + "; expected an upper-case HTTP method such as \"GET\" or \"POST\"");
            } else if (std::find(out.begin(), out.end(), method) != out.end()) {
                d_.at(at, quoteJson(method) + " is listed twice");
            } else {
                out.push_back(method);
            }
        }
    }

    void bodyLimit(const std::string& path, const Var& v, std::uint64_t& out) {
        if (v.isString()) {
            if (!parseByteSize(v.toString(), out)) d_.at(path, std::string("expected ") + kSizeForm + ", found " + found(v));
        } else if (auto n = unsignedAt(d_, path, v, kSizeForm)) {
            out = *n;
        }
    }

    /// Routes with the same shape: a later one answers only what no earlier one answers.
    void overlaps() {
        for (std::size_t j = 0; j < shapes_.size(); ++j) {
            if (shapes_[j].shape.empty()) continue;
            std::vector<std::size_t> earlier;
            for (std::size_t i = 0; i < j; ++i)
                if (shapes_[i].shape == shapes_[j].shape) earlier.push_back(shapes_[i].index);
            if (!earlier.empty()) overlap(shapes_[j], earlier);
        }
    }

    struct Shape {
        std::size_t index; // in site_.routes
        std::string path;  // "routes[2]"
        std::string shape; // "" when the path is invalid
    };

    void overlap(const Shape& later, const std::vector<std::size_t>& earlier);

    std::string routeRef(std::size_t index) const {
        const std::string path = JsonPositions::element("routes", index);
        return path + " (line " + std::to_string(site_.positions.line(path)) + ")";
    }

    SiteConfig& site_;
    Diagnostics& d_;
    std::vector<Shape> shapes_;
    Router router_;
};

void SiteReader::overlap(const Shape& later, const std::vector<std::size_t>& earlier) {
    const RouteConfig& route = site_.routes[later.index];
    const std::string pathKey = JsonPositions::member(later.path, "path");
    if (route.methods.empty()) {
        // A route for every method after routes for some is a fallback for the others; it
        // never matches only after a route that also takes every method.
        for (std::size_t i : earlier)
            if (site_.routes[i].methods.empty()) {
                d_.at(pathKey, "never matches: " + routeRef(i) + " has the same path pattern (" +
                                   quoteJson(site_.routes[i].path) + ") and comes first for every method; remove one of them, "
                                   "or give them different paths or methods");
                return;
            }
        return;
    }
    std::vector<std::string> blocked;
    std::vector<std::size_t> by;
    for (const auto& method : route.methods)
        for (std::size_t i : earlier)
            if (MethodSet(site_.routes[i].methods).has(method)) {
                blocked.push_back(method);
                if (std::find(by.begin(), by.end(), i) == by.end()) by.push_back(i);
                break;
            }
    if (blocked.empty()) return;
    std::sort(by.begin(), by.end());
    const std::string pattern = quoteJson(site_.routes[by.front()].path);
    std::vector<std::string> refs;
    for (std::size_t i : by) refs.push_back(routeRef(i));
    const bool one = by.size() == 1;
    const std::string who = joinList(refs, " and ") + (one ? " has" : " have") + " the same path pattern (" + pattern + ")";
    if (blocked.size() == route.methods.size()) {
        d_.at(pathKey, "never matches: " + who + " and come" + (one ? "s" : "") + " first for all of its methods; remove one "
                       "of them, or give them different paths or methods");
        return;
    }
    const bool single = blocked.size() == 1;
    d_.at(JsonPositions::member(later.path, "methods"),
          joinList(blocked) + (single ? " never reaches" : " never reach") + " this route: " + who + " and come" +
              (one ? "s" : "") + " first for " + (single ? "it" : "them") + "; remove " + (single ? "it" : "them") +
              " from one of the routes");
}

/// Where a site's relative paths and its lock file are: beside the manifest, or beside
/// what a symlinked manifest (sites-enabled/demo.json -> ../sites/demo/site.json) points to.
void locate(SiteConfig& site) {
    fs::path real = site.file;
    std::error_code ec;
    if (fs::is_symlink(real, ec))
        if (fs::path target = fs::canonical(real, ec); !ec) real = target;
    const fs::path dir = real.parent_path();
    site.dir = dir.empty() ? "." : dir.string();
    std::string name = real.filename().string();
    static constexpr std::string_view kJson = ".json";
    if (name.size() > kJson.size() && name.compare(name.size() - kJson.size(), kJson.size(), kJson) == 0)
        name.resize(name.size() - kJson.size());
    site.lockFile = (dir / (name + ".lock.json")).string();
}

// ---------------------------------------------------------------------------------------
// keel.json

class GlobalReader {
public:
    GlobalReader(GlobalConfig& global, Diagnostics& d) : g_(global), d_(d) {}

    void read(const Object::Ptr& root) {
        checkKeys(d_, "", root, kGlobalKeys);
        if (root->has("plugin_path")) pluginPath(root->get("plugin_path"));
        if (root->has("sites")) sites(root->get("sites"));
        if (root->has("log")) log(root->get("log"));
        if (root->has("stop_deadline_ms"))
            if (auto n = unsignedAt(d_, "stop_deadline_ms", root->get("stop_deadline_ms"), "an integer >= 0 (milliseconds)"))
                g_.stopDeadlineMs = *n;
        if (root->has("workers")) workers(root->get("workers"));
    }

private:
    /// Each string of a string-or-list value, with its key path.
    template <class F>
    void eachString(const std::string& path, const Var& v, const std::string& form, F&& each) {
        if (v.isString()) {
            each(path, v.toString());
            return;
        }
        if (!expect(d_, path, v, isArray(v), form + ", or a list of them")) return;
        const auto list = v.extract<Array::Ptr>();
        for (unsigned i = 0; i < list->size(); ++i) {
            const std::string at = JsonPositions::element(path, i);
            const Var item = list->get(i);
            if (expect(d_, at, item, item.isString(), "a string (" + form + ")")) each(at, item.toString());
        }
    }

    void pluginPath(const Var& v) {
        eachString("plugin_path", v, "a plugin folder, relative to keel.json's folder", [&](const std::string& at, const std::string& dir) {
            if (dir.empty()) d_.at(at, "expected a plugin folder, found \"\"");
            else g_.pluginPath.push_back(resolvePath(g_.dir, dir));
        });
    }

    void sites(const Var& v) {
        const std::string form = "a site manifest, a folder holding site.json, or a glob such as \"sites-enabled/*.json\"";
        eachString("sites", v, form, [&](const std::string& at, const std::string& entry) { site(at, entry); });
    }

    void site(const std::string& at, const std::string& entry) {
        const std::string full = resolvePath(g_.dir, entry);
        const std::string lookedFor = full == entry ? "" : " (looked for " + quoteJson(full) + ")";
        if (entry.find_first_of("*?[") == std::string::npos) {
            std::error_code ec;
            if (!fs::exists(full, ec)) d_.at(at, quoteJson(entry) + ": no such file or folder" + lookedFor);
            else add(full);
            return;
        }
        glob_t matches{};
        const int rc = ::glob(globPattern(entry).c_str(), 0, nullptr, &matches);
        if (rc == GLOB_NOMATCH) d_.at(at, quoteJson(entry) + " matches no file" + lookedFor);
        else if (rc != 0) d_.at(at, quoteJson(entry) + ": cannot list the folders it names");
        else
            for (std::size_t i = 0; i < matches.gl_pathc; ++i) add(matches.gl_pathv[i]);
        ::globfree(&matches);
    }

    /// `entry` relative to keel.json's folder, with that folder's own glob characters escaped.
    std::string globPattern(const std::string& entry) const {
        if (fs::path(entry).is_absolute() || g_.dir == ".") return entry;
        std::string out;
        for (char c : g_.dir) {
            if (std::strchr("*?[\\", c) != nullptr) out += '\\';
            out += c;
        }
        return out + "/" + entry;
    }

    void add(const std::string& path) {
        std::error_code ec;
        const std::string file = fs::is_directory(path, ec) ? (fs::path(path) / "site.json").string() : path;
        // Overlapping globs name a site once.
        const std::string key = fs::weakly_canonical(file, ec).string();
        if (seen_.insert(ec ? file : key).second) g_.siteFiles.push_back(file);
    }

    void log(const Var& v) {
        if (!expect(d_, "log", v, isObject(v), "an object such as {\"level\": \"info\", \"format\": \"text\"}")) return;
        const auto obj = v.extract<Object::Ptr>();
        checkKeys(d_, "log", obj, kLogKeys);
        if (obj->has("level")) {
            static const std::map<std::string, LogLevel> levels{{"trace", LogLevel::trace}, {"debug", LogLevel::debug},
                                                                {"info", LogLevel::info},   {"warn", LogLevel::warn},
                                                                {"error", LogLevel::error}};
            const Var l = obj->get("level");
            auto it = l.isString() ? levels.find(l.toString()) : levels.end();
            if (it == levels.end())
                d_.at("log.level", "expected one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", found " + found(l));
            else g_.level = it->second;
        }
        if (obj->has("format")) {
            const Var f = obj->get("format");
            const std::string format = f.isString() ? f.toString() : "";
            if (format == "text" || format == "json") g_.jsonLogs = format == "json";
            else d_.at("log.format", "expected \"text\" or \"json\", found " + found(f));
        }
    }

    void workers(const Var& v) {
        if (!expect(d_, "workers", v, isObject(v), "an object such as {\"count\": \"auto\", \"reuseport\": false}")) return;
        const auto obj = v.extract<Object::Ptr>();
        checkKeys(d_, "workers", obj, kWorkerKeys);
        if (obj->has("count")) {
            const Var c = obj->get("count");
            bool ok = c.isString() && c.toString() == "auto";
            if (!ok && isInteger(c)) {
                try {
                    const Poco::Int64 n = c.convert<Poco::Int64>();
                    ok = n >= 1 && n <= 4096;
                    if (ok) g_.workers = static_cast<unsigned>(n);
                } catch (const Poco::Exception&) {
                }
            }
            if (!ok) d_.at("workers.count", "expected an integer from 1 to 4096, or \"auto\" (one per core), found " + found(c));
        }
        if (obj->has("reuseport")) {
            const Var r = obj->get("reuseport");
            if (expect(d_, "workers.reuseport", r, r.isBoolean(), "a boolean")) g_.reuseport = r.convert<bool>();
        }
    }

    GlobalConfig& g_;
    Diagnostics& d_;
    std::set<std::string> seen_;
};

} // namespace

// ---------------------------------------------------------------------------------------

Var readConfigFile(Diagnostics& d, const std::string& file, std::string& text, JsonPositions& positions) {
    std::string error;
    std::optional<std::string> content = readFile(file, error);
    if (!content) {
        d.file("cannot read: " + error);
        return Var();
    }
    text = std::move(*content);
    const std::string stripped = stripJsonComments(text);
    positions = JsonPositions::scan(stripped);
    Var root;
    try {
        Poco::JSON::Parser parser;
        root = parser.parse(stripped);
    } catch (const Poco::Exception& e) {
        std::string why = e.message().empty() ? e.displayText() : e.message();
        // Poco shows the end of the text as a garbage byte; the scanner's words are clearer.
        const bool garbled = std::any_of(why.begin(), why.end(), [](char c) { return c < 0x20 || c > 0x7e; });
        if (garbled && !positions.error().empty()) why = positions.error();
        d.atLineNumber(positions.errorLine(), "invalid JSON: " + why);
        return Var();
    }
    for (const auto& dup : positions.duplicates())
        d.at(dup.path, "set twice (also on line " + std::to_string(dup.firstLine) +
                           "); JSON keeps only the last value, so remove one");
    return root;
}

bool parseByteSize(std::string_view text, std::uint64_t& bytes) {
    static const std::regex pattern(R"(\s*([0-9]{1,15})(?:\.([0-9]{1,9}))?\s*(b|kb|mb|gb)?\s*)", std::regex::icase);
    std::match_results<std::string_view::const_iterator> m;
    if (!std::regex_match(text.begin(), text.end(), m, pattern)) return false;
    const std::string unit = lower(m[3].str());
    const std::uint64_t scale = unit == "kb" ? 1ULL << 10 : unit == "mb" ? 1ULL << 20 : unit == "gb" ? 1ULL << 30 : 1;
    const std::uint64_t whole = std::stoull(m[1].str());
    std::uint64_t fraction = 0;
    if (m[2].matched) {
        const std::string digits = m[2].str();
        fraction = std::stoull(digits) * scale / static_cast<std::uint64_t>(std::pow(10, digits.size()));
    }
    if (whole > (UINT64_MAX - fraction) / scale) return false;
    bytes = whole * scale + fraction;
    return true;
}

bool loadSite(const std::string& fileOrDir, SiteConfig& site, std::vector<std::string>& errors) {
    site = SiteConfig();
    std::error_code ec;
    site.file = fs::is_directory(fileOrDir, ec) ? (fs::path(fileOrDir) / "site.json").string() : fileOrDir;
    locate(site);
    Diagnostics d(site.file, &site.positions);
    const Var root = readConfigFile(d, site.file, site.text, site.positions);
    const bool parsed = !root.isEmpty() &&
                        expect(d, "", root, isObject(root),
                               "an object (a site manifest such as {\"name\": \"demo\", \"listeners\": [...], \"routes\": [...]})");
    if (parsed) SiteReader(site, d).read(root.extract<Object::Ptr>());
    errors = d.take();
    return parsed;
}

SiteConfig loadSite(const std::string& fileOrDir) {
    SiteConfig site;
    std::vector<std::string> errors;
    loadSite(fileOrDir, site, errors);
    if (!errors.empty()) throw ConfigError(std::move(errors));
    return site;
}

GlobalConfig loadGlobal(const std::string& file) {
    GlobalConfig global;
    global.file = file;
    const fs::path dir = fs::path(file).parent_path();
    global.dir = dir.empty() ? "." : dir.string();
    JsonPositions positions;
    Diagnostics d(file, &positions);
    std::string text;
    const Var root = readConfigFile(d, file, text, positions);
    if (!root.isEmpty() &&
        expect(d, "", root, isObject(root), "an object (keel.json, such as {\"sites\": \"sites-enabled/*.json\"})"))
        GlobalReader(global, d).read(root.extract<Object::Ptr>());
    if (!d.empty()) throw ConfigError(d.take());
    return global;
}

std::vector<SiteConfig> loadSites(const GlobalConfig& global) {
    std::vector<SiteConfig> sites;
    std::vector<std::string> errors;
    for (const auto& file : global.siteFiles) {
        try {
            sites.push_back(loadSite(file));
        } catch (const ConfigError& e) {
            errors.insert(errors.end(), e.errors().begin(), e.errors().end());
        }
    }
    if (!errors.empty()) throw ConfigError(std::move(errors));
    return sites;
}

} // namespace keel::kernel

namespace keel::kernel {

std::string parseListenAddress(const std::string& text, ListenerConfig& out) {
    ListenerConfig listener;
    listener.address = text;
    if (std::string why = addressProblem(text, listener.host, listener.port); !why.empty())
        return why + "; expected " + kAddressForm;
    out = std::move(listener);
    return "";
}

} // namespace keel::kernel
