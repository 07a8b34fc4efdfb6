#include <cppunit/extensions/HelperMacros.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "Json.hpp"
#include "JsonPositions.hpp"
#include "SiteConfig.hpp"
#include "TempDir.hpp"

using namespace keel::kernel;
namespace fs = std::filesystem;

using keel::test::TempDir;

namespace {

// The checked-in examples: a commented site and a keel.json with a glob.
const std::string kSites = (fs::path(__FILE__).parent_path() / "sites").string();

/// Runs in `dir` until destroyed, so file names can be relative as an operator types them.
class InDirectory {
public:
    explicit InDirectory(const std::string& dir) : previous_(fs::current_path()) { fs::current_path(dir); }
    ~InDirectory() { fs::current_path(previous_); }
    InDirectory(const InDirectory&) = delete;
    InDirectory& operator=(const InDirectory&) = delete;

private:
    fs::path previous_;
};

template <class F>
std::vector<std::string> errorsOf(F&& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return e.errors();
    }
    return {};
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

void assertLines(const std::vector<std::string>& expected, const std::vector<std::string>& actual, const std::string& what) {
    std::string all;
    for (const auto& a : actual) all += "\n  " + a;
    for (std::size_t i = 0; i < std::max(expected.size(), actual.size()); ++i)
        CPPUNIT_ASSERT_EQUAL_MESSAGE(what + ": message " + std::to_string(i) + "; all:" + all,
                                     i < expected.size() ? expected[i] : std::string("(none)"),
                                     i < actual.size() ? actual[i] : std::string("(none)"));
}

const std::string kAddressForm = "\"IP:PORT\" such as \"127.0.0.1:8080\", \"[::1]:8080\" or \":8080\" (every interface)";
const std::string kPathForms = "\"/exact\", \"/prefix/\" or \"/prefix/*\", \"/users/:id\", \"*\"";
const std::string kSizeForm = "a size in bytes such as 1048576, or a string such as \"100kb\", \"1mb\" or \"10mb\"";
const std::string kHostForm = "a name such as \"example.com\", a wildcard such as \"*.example.com\", or an IP address";

/// A bad manifest and every message it must produce, in order. In the messages "F" stands
/// for the manifest's path and "D" for its folder.
struct BadManifest {
    const char* name;
    const char* json;
    std::vector<std::string> messages;
};

const std::vector<BadManifest> kBadManifests{
    {"trailing comma", R"({
  "name": "t",
  "listeners": [{"address": ":8080"}],
})",
     {"F:4: invalid JSON: unexpected byte '}' in value"}},
    {"missing comma", R"({
  "name": "t"
  "listeners": []
})",
     {"F:3: invalid JSON: expected ',' or '}' after member value"}},
    {"leading zero", "{\n\n  \"name\": 01\n}", {"F:3: invalid JSON: expected ',' or '}' after member value"}},
    {"empty file", "", {"F:1: invalid JSON: unexpected end of text"}},
    {"not an object", R"(["t"])",
     {R"(F:1: expected an object (a site manifest such as {"name": "demo", "listeners": [...], "routes": [...]}), found an array)"}},
    {"required keys", "\n{}",
     {R"(F:2: missing required key "name"; expected the site's name, such as "demo")",
      R"(F:2: missing required key "listeners"; expected a list such as [{"address": "127.0.0.1:8080"}])"}},
    {"unknown key and name", R"({
  "name": "My Site",
  "listeners": [{"address": ":8080"}],
  "middlewares": []
})",
     {R"(F:2: name: "My Site" is not a site name; expected lower-case letters, digits and '-', starting with a letter or digit, such as "demo")",
      R"(F:4: unknown key "middlewares" (did you mean "middleware"?); accepted keys: name, listeners, hosts, default, mode, plugins, middleware, routes)"}},
    {"name type and listeners type", R"({
  "name": 7,
  "listeners": {"address": ":8080"}
})",
     {R"(F:2: name: expected a string (the site's name, such as "demo"), found an integer)",
      R"(F:3: listeners: expected a list of listeners such as [{"address": "127.0.0.1:8080"}], found an object)"}},
    {"no listener", R"({"name": "t", "listeners": []})",
     {R"(F:1: listeners: expected at least one listener, such as {"address": "127.0.0.1:8080"})"}},
    {"listeners", R"({
  "name": "t",
  "listeners": [
    {"address": "localhost:8080"},
    {"address": "127.0.0.1"},
    {"address": "::1:80"},
    {"address": "[::1]:65536"},
    {"address": "0.0.0.0:80", "tls": {"cert": "missing.pem"}},
    {"adress": ":80"},
    {"address": "0.0.0.0:80"},
    "127.0.0.1:81"
  ]
})",
     {"F:4: listeners[0].address: \"localhost:8080\" is not a listening address (\"localhost\" is not an IP address: listen on an address, and name hosts in \"hosts\"); expected " + kAddressForm,
      "F:5: listeners[1].address: \"127.0.0.1\" is not a listening address (no port); expected " + kAddressForm,
      "F:6: listeners[2].address: \"::1:80\" is not a listening address (IPv6 addresses go in brackets, as in \"[::1]:8080\"); expected " + kAddressForm,
      "F:7: listeners[3].address: \"[::1]:65536\" is not a listening address (the port must be a number from 0 to 65535); expected " + kAddressForm,
      "F:8: listeners[4].tls.cert: cannot read \"D/missing.pem\": No such file or directory; expected the path of the certificate chain (PEM), relative to the site's folder",
      "F:8: listeners[4].tls: missing required key \"key\"; expected the path of the private key (PEM), relative to the site's folder",
      "F:9: listeners[5]: unknown key \"adress\" (did you mean \"address\"?); accepted keys: address, tls",
      "F:9: listeners[5]: missing required key \"address\"; expected " + kAddressForm,
      "F:10: listeners[6].address: \"0.0.0.0:80\" is listed twice (listeners[4])",
      "F:11: listeners[7]: expected an object such as {\"address\": \"127.0.0.1:8080\"}, found a string"}},
    {"hosts, default, mode", R"({
  "name": "t",
  "listeners": [{"address": ":8080"}],
  "hosts": ["Example.com", "example.com", "exa mple.com", "a.com:80", "*", "a.*.com", 7, "café.com"],
  "default": "yes",
  "mode": "prod"
})",
     {"F:4: hosts[1]: \"example.com\" is listed twice (hosts[0])",
      "F:4: hosts[2]: \"exa mple.com\" is not a host name (a space is not allowed); expected " + kHostForm,
      "F:4: hosts[3]: \"a.com:80\" is not a host name (no port: the listeners give the ports); expected " + kHostForm,
      "F:4: hosts[4]: \"*\" is not a host name (a lone \"*\" is no wildcard: leave \"hosts\" out to answer any host name); expected " + kHostForm,
      "F:4: hosts[5]: \"a.*.com\" is not a host name (\"*\" may only be the whole first label, as in \"*.example.com\"); expected " + kHostForm,
      "F:4: hosts[6]: expected a string (a host name such as \"example.com\" or \"*.example.com\"), found an integer",
      "F:4: hosts[7]: \"café.com\" is not a host name (byte 0xc3 is not allowed: write international names in punycode (\"xn--...\")); expected " + kHostForm,
      "F:5: default: expected a boolean (true: the site answers unknown host names on its addresses), found a string",
      "F:6: mode: expected \"production\" or \"development\", found \"prod\""}},
    {"empty hosts", R"({"name": "t", "listeners": [{"address": ":8080"}], "hosts": []})",
     {"F:1: hosts: expected at least one host name; leave \"hosts\" out to answer any host name"}},
    {"plugins", R"({
  "name": "t",
  "listeners": [{"address": ":8080"}],
  "plugins": {
    "a": "^1.0",
    "b": "one",
    "c": {"version": 2},
    "d": {"config": []},
    "e": {"version": "*", "confg": {}},
    "f": 3
  }
})",
     {"F:6: plugins.b: invalid range \"one\": expected a version, ^1.2.3, ~1.2.3, >=1.0.0 <2.0.0, 1.x, * or alternatives joined by ||",
      "F:7: plugins.c.version: expected a string (a version range such as \"^1.2.0\"), found an integer",
      "F:8: plugins.d: missing required key \"version\"; expected a version range such as \"^1.2.0\" (\"*\" for any version)",
      "F:8: plugins.d.config: expected an object (the plugin's configuration), found an array",
      "F:9: plugins.e: unknown key \"confg\" (did you mean \"config\"?); accepted keys: version, config",
      "F:10: plugins.f: expected a version range such as \"^1.2.0\", or {\"version\": \"^1.2.0\", \"config\": {...}}, found an integer"}},
    {"plugins not an object", R"({"name": "t", "listeners": [{"address": ":8080"}], "plugins": ["fs"]})",
     {"F:1: plugins: expected an object of plugin name -> version range, such as {\"fs\": \"^1.0.0\"}, found an array"}},
    {"middleware", R"({
  "name": "t",
  "listeners": [{"address": ":8080"}],
  "middleware": [
    "cors",
    {"use": "Cors"},
    {"use": "files/"},
    {"uses": "cors"},
    {"use": "cors", "config": "x"}
  ]
})",
     {"F:5: middleware[0]: expected an object such as {\"use\": \"cors\", \"config\": {}}, found a string",
      "F:6: middleware[1].use: \"Cors\" is not a handler name; expected the name of a middleware such as \"cors\" or \"plugin/cors\" (lower-case letters, digits and '-')",
      "F:7: middleware[2].use: \"files/\" is not a handler name; expected the name of a middleware such as \"cors\" or \"plugin/cors\" (lower-case letters, digits and '-')",
      "F:8: middleware[3]: unknown key \"uses\" (did you mean \"use\"?); accepted keys: use, config",
      "F:8: middleware[3]: missing required key \"use\"; expected the name of a middleware such as \"cors\" or \"plugin/cors\"",
      "F:9: middleware[4].config: expected an object (the middleware's configuration), found a string"}},
    {"route paths", R"({
  "name": "t",
  "listeners": [{"address": ":8080"}],
  "routes": [
    {"path": "static", "use": "static"},
    {"path": "/a//b", "use": "static"},
    {"path": "/a/./b", "use": "static"},
    {"path": "/*/a", "use": "static"},
    {"path": "/a*", "use": "static"},
    {"path": "/:", "use": "static"},
    {"path": "/:id/:id", "use": "static"},
    {"path": "/a b", "use": "static"},
    {"path": "/a%2", "use": "static"},
    {"path": "/a#b", "use": "static"},
    {"path": 5, "use": "static"},
    {"use": "static"},
    {"path": "/a%2Fb", "use": "static"},
    {"path": "/:a/:b/:c/:d/:e/:f/:g/:h/*", "use": "static"}
  ]
})",
     {"F:5: routes[0].path: \"static\" is not a route path: it must start with \"/\" (or be \"*\"); accepted: " + kPathForms,
      "F:6: routes[1].path: \"/a//b\" is not a route path: it has an empty segment (\"//\"); accepted: " + kPathForms,
      "F:7: routes[2].path: \"/a/./b\" is not a route path: \".\" and \"..\" segments never match: request paths are normalized before routing; accepted: " + kPathForms,
      "F:8: routes[3].path: \"/*/a\" is not a route path: \"*\" may only be the whole last segment; accepted: " + kPathForms,
      "F:9: routes[4].path: \"/a*\" is not a route path: \"*\" may only be the whole last segment; accepted: " + kPathForms,
      "F:10: routes[5].path: \"/:\" is not a route path: \":\" is not a parameter: expected ':' and a name such as \":id\" (letters, digits, '_'); accepted: " + kPathForms,
      "F:11: routes[6].path: \"/:id/:id\" is not a route path: parameter \":id\" appears twice; accepted: " + kPathForms,
      "F:12: routes[7].path: \"/a b\" is not a route path: a space must be percent-encoded; accepted: " + kPathForms,
      "F:13: routes[8].path: \"/a%2\" is not a route path: \"%\" must start a percent-encoded byte such as \"%20\"; accepted: " + kPathForms,
      "F:14: routes[9].path: \"/a#b\" is not a route path: a route path has no query (\"?\") or fragment (\"#\"); accepted: " + kPathForms,
      "F:15: routes[10].path: expected a string (a path pattern: " + kPathForms + "), found an integer",
      "F:16: routes[11]: missing required key \"path\"; expected a path pattern: " + kPathForms,
      // What the router refuses beyond these, in the same words.
      "F:17: routes[12].path: \"/a%2Fb\" is not a route path: \"%2F\" can never match: the request path is split on \"/\" after decoding; accepted: " + kPathForms,
      "F:18: routes[13].path: \"/:a/:b/:c/:d/:e/:f/:g/:h/*\" is not a route path: 9 captures; a route may capture at most 8 (parameters and \"*\"); accepted: " + kPathForms}},
    {"route fields", R"({
  "name": "t",
  "listeners": [{"address": ":8080"}],
  "routes": [
    {"path": "/a", "methods": "GET", "use": "static"},
    {"path": "/b", "methods": [], "use": "static"},
    {"path": "/c", "methods": ["get", "GET", "GET", 1], "use": "static"},
    {"path": "/d", "use": "static", "body_limit": "1 megabyte"},
    {"path": "/e", "use": "static", "body_limit": -1},
    {"path": "/f", "use": "static", "body_limit": true},
    {"path": "/g", "handler": "static"},
    {"path": "/h", "use": "static", "middleware": {"use": "cors"}},
    "/i"
  ]
})",
     {"F:5: routes[0].methods: expected a list of HTTP methods such as [\"GET\", \"POST\"], found a string",
      "F:6: routes[1].methods: expected at least one method; leave \"methods\" out to accept every method",
      "F:7: routes[2].methods[0]: \"get\" is not a method (did you mean \"GET\"?); expected an upper-case HTTP method such as \"GET\" or \"POST\"",
      "F:7: routes[2].methods[2]: \"GET\" is listed twice",
      "F:7: routes[2].methods[3]: expected a string (an HTTP method such as \"GET\"), found an integer",
      "F:8: routes[3].body_limit: expected " + kSizeForm + ", found \"1 megabyte\"",
      "F:9: routes[4].body_limit: expected " + kSizeForm + ", found -1",
      "F:10: routes[5].body_limit: expected " + kSizeForm + ", found a boolean",
      "F:11: routes[6]: unknown key \"handler\"; accepted keys: path, methods, use, config, middleware, body_limit",
      "F:11: routes[6]: missing required key \"use\"; expected the name of a handler such as \"static\" or \"plugin/static\"",
      "F:12: routes[7].middleware: expected a list of middleware such as [{\"use\": \"cors\"}], found an object",
      "F:13: routes[8]: expected an object such as {\"path\": \"/\", \"use\": \"static\"}, found a string"}},
    {"routes that never match", R"({
  "name": "t",
  "listeners": [{"address": ":8080"}],
  "routes": [
    {"path": "/users/:id", "methods": ["GET"], "use": "a"},
    {"path": "/users/:name", "methods": ["HEAD"], "use": "b"},
    {"path": "/users/:x", "methods": ["GET", "POST", "PUT"], "use": "c"},
    {"path": "/users/:y", "use": "fallback-for-other-methods"},
    {"path": "/files/", "use": "e"},
    {"path": "/files/*", "methods": ["PUT"], "use": "f"},
    {"path": "/%41", "use": "g"},
    {"path": "/A", "use": "h"},
    {"path": "/users", "use": "i"},
    {"path": "/m", "methods": ["GET"], "use": "j"},
    {"path": "/m", "methods": ["POST"], "use": "k"},
    {"path": "/m", "methods": ["POST", "GET"], "use": "l"},
    {"path": "*", "use": "m"},
    {"path": "/*", "methods": ["GET"], "use": "n"}
  ]
})",
     {"F:6: routes[1].path: never matches: routes[0] (line 5) has the same path pattern (\"/users/:id\") and comes first for all of its methods; remove one of them, or give them different paths or methods",
      "F:7: routes[2].methods: GET never reaches this route: routes[0] (line 5) has the same path pattern (\"/users/:id\") and comes first for it; remove it from one of the routes",
      "F:10: routes[5].path: never matches: routes[4] (line 9) has the same path pattern (\"/files/\") and comes first for all of its methods; remove one of them, or give them different paths or methods",
      "F:12: routes[7].path: never matches: routes[6] (line 11) has the same path pattern (\"/%41\") and comes first for every method; remove one of them, or give them different paths or methods",
      "F:16: routes[11].path: never matches: routes[9] (line 14) and routes[10] (line 15) have the same path pattern (\"/m\") and come first for all of its methods; remove one of them, or give them different paths or methods",
      "F:18: routes[13].path: never matches: routes[12] (line 17) has the same path pattern (\"*\") and comes first for all of its methods; remove one of them, or give them different paths or methods"}},
    {"key set twice, comments keep lines", R"(// a site for tests
{
  /* its name */ "name": "t",
  "listeners": [{"address": ":8080"}], // where
  "name": "u"
})",
     {"F:5: name: set twice (also on line 3); JSON keeps only the last value, so remove one"}},
};

} // namespace

class SiteConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SiteConfigTest);
    CPPUNIT_TEST(testBadManifestsWithTheirMessages);
    CPPUNIT_TEST(testGoodManifestWithComments);
    CPPUNIT_TEST(testDefaultsAndForms);
    CPPUNIT_TEST(testPathsRelativeToTheManifest);
    CPPUNIT_TEST(testFileNamedAsTyped);
    CPPUNIT_TEST(testUnreadableManifest);
    CPPUNIT_TEST(testSymlinkedManifestKeepsItsFolder);
    CPPUNIT_TEST(testPartialLoadForCheck);
    CPPUNIT_TEST(testGlobalConfigWithGlobs);
    CPPUNIT_TEST(testGlobalConfigErrors);
    CPPUNIT_TEST(testGlobalDefaults);
    CPPUNIT_TEST(testLoadSitesCollectsEveryFile);
    CPPUNIT_TEST(testCheckedInExamples);
    CPPUNIT_TEST(testListenAddressForTheCommandLine);
    CPPUNIT_TEST(testByteSizes);
    CPPUNIT_TEST(testJsonPositions);
    CPPUNIT_TEST_SUITE_END();

public:
    void testBadManifestsWithTheirMessages() {
        TempDir dir;
        for (const auto& bad : kBadManifests) {
            const std::string folder = dir.path() + "/" + replaceAll(bad.name, " ", "-");
            const std::string file = dir.write(replaceAll(bad.name, " ", "-") + "/site.json", bad.json);
            std::vector<std::string> expected;
            for (const auto& m : bad.messages) expected.push_back(replaceAll(replaceAll(m, "D/", folder + "/"), "F:", file + ":"));
            assertLines(expected, errorsOf([&] { loadSite(file); }), bad.name);
        }
    }

    void testGoodManifestWithComments() {
        TempDir dir;
        dir.write("s/cert.pem", "cert");
        dir.write("s/keys/key.pem", "key");
        const std::string file = dir.write("s/site.json", R"(// The shop, served in development mode
{
  "name": "shop-2",
  "listeners": [
    {"address": "127.0.0.1:8080"},              // plain
    {"address": "[::1]:8443", "tls": {"cert": "cert.pem", "key": "keys/key.pem"}},
    {"address": ":0"}                            /* any interface, any port */
  ],
  "hosts": ["Shop.Example.com", "*.shop.example.com", "127.0.0.1", "[::1]"],
  "default": true,
  "mode": "development",
  "plugins": {
    "zeta": "^1.0.0",
    "files": {"version": "~1.2", "config": {"cache_ms": 100}},
    "alpha": "*"
  },
  "middleware": [{"use": "cors", "config": {"origin": "*"}}, {"use": "guard/logger"}],
  "routes": [
    {"path": "/static/", "use": "files/static", "config": {"root": "public"}},
    {"path": "/users/:id", "methods": ["GET", "PUT"], "use": "listing", "body_limit": "100kb",
     "middleware": [{"use": "etag"}]},
    {"path": "/caf%C3%A9", "use": "listing", "body_limit": 0},
    {"path": "*", "use": "listing"}
  ]
})");
        SiteConfig site = loadSite(dir.path() + "/s");
        CPPUNIT_ASSERT_EQUAL(file, site.file);
        CPPUNIT_ASSERT_EQUAL(dir.path() + "/s", site.dir);
        CPPUNIT_ASSERT_EQUAL(dir.path() + "/s/site.lock.json", site.lockFile);
        CPPUNIT_ASSERT_EQUAL(std::string("shop-2"), site.name);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), site.listeners.size());
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), site.listeners[0].host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(8080), site.listeners[0].port);
        CPPUNIT_ASSERT(site.listeners[0].tlsCert.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("[::1]:8443"), site.listeners[1].address);
        CPPUNIT_ASSERT_EQUAL(std::string("::1"), site.listeners[1].host);
        CPPUNIT_ASSERT_EQUAL(dir.path() + "/s/cert.pem", site.listeners[1].tlsCert);
        CPPUNIT_ASSERT_EQUAL(dir.path() + "/s/keys/key.pem", site.listeners[1].tlsKey);
        CPPUNIT_ASSERT_EQUAL(std::string(""), site.listeners[2].host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(0), site.listeners[2].port);
        const std::vector<std::string> hosts{"shop.example.com", "*.shop.example.com", "127.0.0.1", "[::1]"};
        CPPUNIT_ASSERT(hosts == site.hosts);
        CPPUNIT_ASSERT(site.isDefault);
        CPPUNIT_ASSERT(site.mode == SiteConfig::Mode::development);
        // In the manifest's order, not Poco's.
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), site.plugins.size());
        CPPUNIT_ASSERT_EQUAL(std::string("zeta"), site.plugins[0].name);
        CPPUNIT_ASSERT_EQUAL(std::string("{}"), site.plugins[0].configJson);
        CPPUNIT_ASSERT_EQUAL(std::string("files"), site.plugins[1].name);
        CPPUNIT_ASSERT_EQUAL(std::string("~1.2"), site.plugins[1].range);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"cache_ms\":100}"), site.plugins[1].configJson);
        CPPUNIT_ASSERT_EQUAL(std::string("alpha"), site.plugins[2].name);

        CPPUNIT_ASSERT_EQUAL(std::size_t(2), site.middleware.size());
        CPPUNIT_ASSERT_EQUAL(std::string("cors"), site.middleware[0].use);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"origin\":\"*\"}"), site.middleware[0].configJson);
        CPPUNIT_ASSERT(site.middleware[0].role == UseConfig::Role::middleware);
        CPPUNIT_ASSERT_EQUAL(std::string("middleware[0]"), site.middleware[0].path);
        CPPUNIT_ASSERT_EQUAL(17, site.middleware[0].line);
        CPPUNIT_ASSERT_EQUAL(file + ":17: middleware[1]", site.middleware[1].where);

        CPPUNIT_ASSERT_EQUAL(std::size_t(4), site.routes.size());
        const RouteConfig& users = site.routes[1];
        CPPUNIT_ASSERT_EQUAL(std::string("/users/:id"), users.path);
        CPPUNIT_ASSERT((std::vector<std::string>{"GET", "PUT"}) == users.methods);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100 * 1024), users.bodyLimit);
        CPPUNIT_ASSERT_EQUAL(std::string("listing"), users.handler.use);
        CPPUNIT_ASSERT(users.handler.role == UseConfig::Role::handler);
        CPPUNIT_ASSERT_EQUAL(std::string("routes[1]"), users.handler.path);
        CPPUNIT_ASSERT_EQUAL(file + ":20: routes[1]", users.where);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), users.middleware.size());
        CPPUNIT_ASSERT_EQUAL(std::string("routes[1].middleware[0]"), users.middleware[0].path);
        CPPUNIT_ASSERT_EQUAL(21, users.middleware[0].line);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1024 * 1024), site.routes[0].bodyLimit); // the default
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), site.routes[2].bodyLimit);
        CPPUNIT_ASSERT_EQUAL(std::string("{\"root\":\"public\"}"), site.routes[0].handler.configJson);
        CPPUNIT_ASSERT_EQUAL(std::string("{}"), site.routes[3].handler.configJson);
        CPPUNIT_ASSERT(site.text.find("The shop, served") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(19, site.positions.line("routes[0].config.root"));
    }

    void testDefaultsAndForms() {
        TempDir dir;
        const std::string file = dir.write("site.json", R"({"name": "a", "listeners": [{"address": "0.0.0.0:80"}]})");
        const SiteConfig site = loadSite(file);
        CPPUNIT_ASSERT(site.mode == SiteConfig::Mode::production);
        CPPUNIT_ASSERT(!site.isDefault);
        CPPUNIT_ASSERT(site.hosts.empty() && site.plugins.empty() && site.middleware.empty() && site.routes.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("0.0.0.0"), site.listeners[0].host);
        // A site name may start with a digit.
        const std::string digits = dir.write("d/site.json", R"({"name": "2nd-site", "listeners": [{"address": ":80"}]})");
        CPPUNIT_ASSERT_EQUAL(std::string("2nd-site"), loadSite(digits).name);
    }

    void testPathsRelativeToTheManifest() {
        TempDir dir;
        dir.write("sites/a/tls/cert.pem", "c");
        dir.write("shared/key.pem", "k");
        const std::string file = dir.write("sites/a/site.json", R"({"name": "a", "listeners": [
            {"address": ":443", "tls": {"cert": "tls/cert.pem", "key": "../../shared/key.pem"}}]})");
        const SiteConfig site = loadSite(file);
        CPPUNIT_ASSERT_EQUAL(dir.path() + "/sites/a/tls/cert.pem", site.listeners[0].tlsCert);
        CPPUNIT_ASSERT_EQUAL(dir.path() + "/shared/key.pem", site.listeners[0].tlsKey);
        // A folder is a certificate no more than a missing file is.
        const std::string folder = dir.write("sites/b/site.json", R"({"name": "b", "listeners": [
            {"address": ":443", "tls": {"cert": "..", "key": ""}}]})");
        assertLines({folder + ":2: listeners[0].tls.cert: cannot read \"" + dir.path() +
                         "/sites\": it is a folder; expected the path of the certificate chain (PEM), relative to the site's folder",
                     folder + ":2: listeners[0].tls.key: expected the path of the private key (PEM), relative to the site's folder, found \"\""},
                    errorsOf([&] { loadSite(folder); }), "tls");
    }

    void testFileNamedAsTyped() {
        TempDir dir;
        dir.write("sites/demo/site.json", "{\"name\": \"demo\",\n \"listeners\": [{\"address\": \":80\"}],\n \"mode\": \"dev\"}");
        InDirectory here(dir.path());
        assertLines({"sites/demo/site.json:3: mode: expected \"production\" or \"development\", found \"dev\""},
                    errorsOf([] { loadSite("sites/demo/"); }), "relative");
        SiteConfig site;
        std::vector<std::string> errors;
        loadSite("sites/demo", site, errors);
        CPPUNIT_ASSERT_EQUAL(std::string("sites/demo/site.json"), site.file);
        CPPUNIT_ASSERT_EQUAL(std::string("sites/demo"), site.dir);
        CPPUNIT_ASSERT_EQUAL(std::string("sites/demo/site.lock.json"), site.lockFile);
        dir.write("alone.json", R"({"name": "alone", "listeners": [{"address": ":80"}]})");
        const SiteConfig alone = loadSite("alone.json");
        CPPUNIT_ASSERT_EQUAL(std::string("."), alone.dir);
        CPPUNIT_ASSERT_EQUAL(std::string("alone.lock.json"), alone.lockFile);
    }

    void testUnreadableManifest() {
        TempDir dir;
        assertLines({dir.path() + "/nothing/site.json: cannot read: No such file or directory"},
                    errorsOf([&] { loadSite(dir.path() + "/nothing/site.json"); }), "missing");
        fs::create_directories(dir.path() + "/empty");
        assertLines({dir.path() + "/empty/site.json: cannot read: No such file or directory"},
                    errorsOf([&] { loadSite(dir.path() + "/empty"); }), "folder without site.json");
    }

    void testSymlinkedManifestKeepsItsFolder() {
        TempDir dir;
        dir.write("sites/demo/cert.pem", "c");
        dir.write("sites/demo/key.pem", "k");
        dir.write("sites/demo/site.json",
                  R"({"name": "demo", "listeners": [{"address": ":443", "tls": {"cert": "cert.pem", "key": "key.pem"}}]})");
        fs::create_directories(dir.path() + "/sites-enabled");
        fs::create_symlink("../sites/demo/site.json", dir.path() + "/sites-enabled/demo.json");
        const SiteConfig site = loadSite(dir.path() + "/sites-enabled/demo.json");
        const std::string real = fs::canonical(dir.path() + "/sites/demo").string();
        CPPUNIT_ASSERT_EQUAL(dir.path() + "/sites-enabled/demo.json", site.file);
        CPPUNIT_ASSERT_EQUAL(real, site.dir);
        CPPUNIT_ASSERT_EQUAL(real + "/site.lock.json", site.lockFile);
        CPPUNIT_ASSERT_EQUAL(real + "/cert.pem", site.listeners[0].tlsCert);
    }

    void testPartialLoadForCheck() {
        TempDir dir;
        const std::string file = dir.write("site.json", R"({"name": "p", "listeners": [{"address": ":80"}],
            "plugins": {"a": "nope", "b": {"version": "1", "config": 3}},
            "routes": [{"path": "/", "use": "Bad!", "config": []}, {"path": "/x", "use": "ok"}]})");
        SiteConfig site;
        std::vector<std::string> errors;
        CPPUNIT_ASSERT(loadSite(file, site, errors));
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), errors.size());
        // What was wrong is left empty, so later checks skip it instead of repeating it.
        CPPUNIT_ASSERT_EQUAL(std::string(""), site.plugins[0].range);
        CPPUNIT_ASSERT_EQUAL(std::string(""), site.plugins[1].configJson);
        CPPUNIT_ASSERT_EQUAL(std::string(""), site.routes[0].handler.use);
        CPPUNIT_ASSERT_EQUAL(std::string(""), site.routes[0].handler.configJson);
        CPPUNIT_ASSERT_EQUAL(std::string("ok"), site.routes[1].handler.use);
        const std::string broken = dir.write("broken.json", "{");
        CPPUNIT_ASSERT(!loadSite(broken, site, errors));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), errors.size());
    }

    void testGlobalConfigWithGlobs() {
        TempDir dir;
        const std::string site = R"({"name": "NAME", "listeners": [{"address": ":0"}]})";
        dir.write("conf/sites-enabled/b.json", replaceAll(site, "NAME", "b"));
        dir.write("conf/sites-enabled/a.json", replaceAll(site, "NAME", "a"));
        dir.write("conf/sites-enabled/notes.txt", "not a site");
        dir.write("conf/extra/site.json", replaceAll(site, "NAME", "extra"));
        const std::string file = dir.write("conf/keel.json", R"({
  // the plugins shipped with this configuration, then the system's
  "plugin_path": ["plugins", "/usr/lib/keel/plugins"],
  "sites": ["sites-enabled/*.json", "extra", "sites-enabled/a.json"],
  "log": {"level": "debug", "format": "json"},
  "stop_deadline_ms": 2500,
  "workers": {"count": 4, "reuseport": true}
})");
        const GlobalConfig global = loadGlobal(file);
        const std::string conf = dir.path() + "/conf";
        CPPUNIT_ASSERT_EQUAL(conf, global.dir);
        CPPUNIT_ASSERT((std::vector<std::string>{conf + "/plugins", "/usr/lib/keel/plugins"}) == global.pluginPath);
        // Sorted glob matches, folders holding site.json, each site once.
        const std::vector<std::string> sites{conf + "/sites-enabled/a.json", conf + "/sites-enabled/b.json", conf + "/extra/site.json"};
        assertLines(sites, global.siteFiles, "sites");
        CPPUNIT_ASSERT(global.level == LogLevel::debug);
        CPPUNIT_ASSERT(global.jsonLogs);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2500), global.stopDeadlineMs);
        CPPUNIT_ASSERT_EQUAL(4u, global.workers);
        CPPUNIT_ASSERT(global.reuseport);
        const auto loaded = loadSites(global);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), loaded.size());
        CPPUNIT_ASSERT_EQUAL(std::string("extra"), loaded[2].name);

        // A single string is one entry; "auto" workers.
        const std::string single = dir.write("conf/one.json", R"({"sites": "extra", "plugin_path": "p", "workers": {"count": "auto"}})");
        const GlobalConfig one = loadGlobal(single);
        CPPUNIT_ASSERT((std::vector<std::string>{conf + "/extra/site.json"}) == one.siteFiles);
        CPPUNIT_ASSERT((std::vector<std::string>{conf + "/p"}) == one.pluginPath);
        CPPUNIT_ASSERT_EQUAL(0u, one.workers);
    }

    void testGlobalConfigErrors() {
        TempDir dir;
        const std::string file = dir.write("keel.json", R"({
  "plugin_path": [3, ""],
  "sites": ["nothing/*.json", "missing", 7],
  "log": {"level": "verbose", "format": "xml", "colour": true},
  "stop_deadline_ms": -5,
  "workers": {"count": 0, "reuseport": "yes"},
  "site": []
})");
        const std::string d = dir.path();
        assertLines({file + ":2: plugin_path[0]: expected a string (a plugin folder, relative to keel.json's folder), found an integer",
                     file + ":2: plugin_path[1]: expected a plugin folder, found \"\"",
                     file + ":3: sites[0]: \"nothing/*.json\" matches no file (looked for \"" + d + "/nothing/*.json\")",
                     file + ":3: sites[1]: \"missing\": no such file or folder (looked for \"" + d + "/missing\")",
                     file + ":3: sites[2]: expected a string (a site manifest, a folder holding site.json, or a glob such as \"sites-enabled/*.json\"), found an integer",
                     file + ":4: log: unknown key \"colour\"; accepted keys: level, format",
                     file + ":4: log.level: expected one of \"trace\", \"debug\", \"info\", \"warn\", \"error\", found \"verbose\"",
                     file + ":4: log.format: expected \"text\" or \"json\", found \"xml\"",
                     file + ":5: stop_deadline_ms: expected an integer >= 0 (milliseconds), found -5",
                     file + ":6: workers.count: expected an integer from 1 to 4096, or \"auto\" (one per core), found 0",
                     file + ":6: workers.reuseport: expected a boolean, found a string",
                     file + ":7: unknown key \"site\" (did you mean \"sites\"?); accepted keys: plugin_path, sites, log, stop_deadline_ms, workers"},
                    errorsOf([&] { loadGlobal(file); }), "keel.json");
        const std::string notList = dir.write("two.json", R"({"sites": {"a": 1}})");
        assertLines({notList + ":1: sites: expected a site manifest, a folder holding site.json, or a glob such as "
                               "\"sites-enabled/*.json\", or a list of them, found an object"},
                    errorsOf([&] { loadGlobal(notList); }), "sites");
    }

    void testGlobalDefaults() {
        const GlobalConfig defaults;
        CPPUNIT_ASSERT(defaults.file.empty());
        CPPUNIT_ASSERT_EQUAL(std::string("."), defaults.dir);
        CPPUNIT_ASSERT(defaults.pluginPath.empty() && defaults.siteFiles.empty());
        CPPUNIT_ASSERT(defaults.level == LogLevel::info);
        CPPUNIT_ASSERT(!defaults.jsonLogs);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(10000), defaults.stopDeadlineMs);
        TempDir dir;
        const GlobalConfig empty = loadGlobal(dir.write("keel.json", "{}  // everything defaulted"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(10000), empty.stopDeadlineMs);
        CPPUNIT_ASSERT(empty.siteFiles.empty());
    }

    void testLoadSitesCollectsEveryFile() {
        TempDir dir;
        dir.write("a/site.json", R"({"name": "a"})");
        dir.write("b/site.json", R"({"name": "b", "listeners": [{"address": ":80"}], "mode": 1})");
        const GlobalConfig global = loadGlobal(dir.write("keel.json", R"({"sites": ["a", "b"]})"));
        assertLines({dir.path() + "/a/site.json:1: missing required key \"listeners\"; expected a list such as [{\"address\": \"127.0.0.1:8080\"}]",
                     dir.path() + "/b/site.json:1: mode: expected \"production\" or \"development\", found 1"},
                    errorsOf([&] { loadSites(global); }), "both files");
        try {
            loadSites(global);
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT_EQUAL(e.errors()[0] + "\n" + e.errors()[1], std::string(e.what()));
        }
    }

    void testCheckedInExamples() {
        const GlobalConfig global = loadGlobal(kSites + "/keel.json");
        const auto sites = loadSites(global);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), sites.size());
        CPPUNIT_ASSERT_EQUAL(std::string("blog"), sites[0].name);
        CPPUNIT_ASSERT_EQUAL(std::string("demo"), sites[1].name);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), sites[1].routes.size());
    }

    void testListenAddressForTheCommandLine() {
        ListenerConfig listener;
        CPPUNIT_ASSERT_EQUAL(std::string(), parseListenAddress("[::1]:0", listener));
        CPPUNIT_ASSERT_EQUAL(std::string("::1"), listener.host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(0), listener.port);
        CPPUNIT_ASSERT_EQUAL(std::string("[::1]:0"), listener.address);
        CPPUNIT_ASSERT_EQUAL(std::string(), parseListenAddress(":8080", listener));
        CPPUNIT_ASSERT_EQUAL(std::string(), listener.host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(8080), listener.port);
        CPPUNIT_ASSERT_EQUAL("\"localhost\" is not an IP address: listen on an address, and name hosts in \"hosts\"; expected " + kAddressForm,
                             parseListenAddress("localhost:1", listener));
        CPPUNIT_ASSERT_EQUAL(std::string(":8080"), listener.address); // unchanged by a refusal
    }

    void testByteSizes() {
        std::uint64_t n = 7;
        CPPUNIT_ASSERT(parseByteSize("100kb", n) && n == 102400);
        CPPUNIT_ASSERT(parseByteSize("1mb", n) && n == 1048576);
        CPPUNIT_ASSERT(parseByteSize("10MB", n) && n == 10485760);
        CPPUNIT_ASSERT(parseByteSize("1.5mb", n) && n == 1572864);
        CPPUNIT_ASSERT(parseByteSize(" 2 gb ", n) && n == 2147483648ULL);
        CPPUNIT_ASSERT(parseByteSize("512", n) && n == 512);
        CPPUNIT_ASSERT(parseByteSize("512b", n) && n == 512);
        n = 7;
        CPPUNIT_ASSERT(!parseByteSize("", n));
        CPPUNIT_ASSERT(!parseByteSize("-1kb", n));
        CPPUNIT_ASSERT(!parseByteSize("1tb", n));
        CPPUNIT_ASSERT(!parseByteSize("kb", n));
        CPPUNIT_ASSERT(!parseByteSize("999999999999999gb", n));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(7), n);
    }

    void testJsonPositions() {
        const std::string text = stripJsonComments(R"(// leading comment
{
  "a": 1,
  "list": [
    {"b": true},
    [null, "x"]
  ],
  "esc\u0041ped": {"k\"q": 2},
  "a": 3
})");
        const JsonPositions p = JsonPositions::scan(text);
        CPPUNIT_ASSERT_EQUAL(0, p.errorLine());
        CPPUNIT_ASSERT_EQUAL(2, p.line(""));
        CPPUNIT_ASSERT_EQUAL(9, p.line("a")); // JSON keeps the last
        CPPUNIT_ASSERT_EQUAL(4, p.line("list"));
        CPPUNIT_ASSERT_EQUAL(5, p.line("list[0]"));
        CPPUNIT_ASSERT_EQUAL(5, p.line("list[0].b"));
        CPPUNIT_ASSERT_EQUAL(6, p.line("list[1][1]"));
        CPPUNIT_ASSERT_EQUAL(8, p.line("escAped.k\"q"));
        // Missing keys sit where what encloses them is.
        CPPUNIT_ASSERT_EQUAL(5, p.line("list[0].missing.deeper"));
        CPPUNIT_ASSERT_EQUAL(0, p.exactLine("list[0].missing"));
        CPPUNIT_ASSERT_EQUAL(2, p.line("nothing"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), p.duplicates().size());
        CPPUNIT_ASSERT_EQUAL(std::string("a"), p.duplicates()[0].path);
        CPPUNIT_ASSERT_EQUAL(3, p.duplicates()[0].firstLine);

        const JsonPositions broken = JsonPositions::scan("{\n  \"a\": [1,\n  2,\n  ]\n}");
        CPPUNIT_ASSERT_EQUAL(4, broken.errorLine());
        CPPUNIT_ASSERT_EQUAL(std::string("expected a value"), broken.error());
        CPPUNIT_ASSERT_EQUAL(3, broken.line("a[1]")); // what it indexed before stopping
        CPPUNIT_ASSERT_EQUAL(3, JsonPositions::scan("{\"a\":\n\"b\",\n\"c\" 1}").errorLine());
        CPPUNIT_ASSERT_EQUAL(2, JsonPositions::scan("{\"a\":\n\"b\n\"}").errorLine());
        CPPUNIT_ASSERT_EQUAL(1, JsonPositions::scan("{} []").errorLine());
        CPPUNIT_ASSERT_EQUAL(std::string("nested too deeply"), JsonPositions::scan(std::string(300, '[')).error());
        CPPUNIT_ASSERT_EQUAL(std::string("a.b"), JsonPositions::member("a", "b"));
        CPPUNIT_ASSERT_EQUAL(std::string("b"), JsonPositions::member("", "b"));
        CPPUNIT_ASSERT_EQUAL(std::string("a[3]"), JsonPositions::element("a", 3));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SiteConfigTest);
