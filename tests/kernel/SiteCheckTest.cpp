#include <cppunit/extensions/HelperMacros.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "Catalog.hpp"
#include "SiteCheck.hpp"
#include "SiteCommands.hpp"
#include "SiteConfig.hpp"
#include "TempDir.hpp"

using namespace keel::kernel;
namespace fs = std::filesystem;

using keel::test::TempDir;

namespace {

// Fixture plugins declaring handlers (tests/kernel/fixtures/site_*.c): files 1.2.0 (static,
// listing; etag middleware), guard 2.0.0 (cors middleware, logger both, static), cdn 1.0.0
// (edge; requires files), extra 0.3.0 (upload; its config needs "dir").
const std::string kPlugins = std::string(KEEL_FIXTURE_DIR) + "/site";
const std::string kSites = (fs::path(__FILE__).parent_path() / "sites").string();

class InDirectory {
public:
    explicit InDirectory(const std::string& dir) : previous_(fs::current_path()) { fs::current_path(dir); }
    ~InDirectory() { fs::current_path(previous_); }
    InDirectory(const InDirectory&) = delete;
    InDirectory& operator=(const InDirectory&) = delete;

private:
    fs::path previous_;
};

void assertLines(const std::vector<std::string>& expected, const std::vector<std::string>& actual, const std::string& what) {
    std::string all;
    for (const auto& a : actual) all += "\n  " + a;
    for (std::size_t i = 0; i < std::max(expected.size(), actual.size()); ++i)
        CPPUNIT_ASSERT_EQUAL_MESSAGE(what + ": message " + std::to_string(i) + "; all:" + all,
                                     i < expected.size() ? expected[i] : std::string("(none)"),
                                     i < actual.size() ? actual[i] : std::string("(none)"));
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

struct Run {
    int status;
    std::string out;
    std::string err;
};

Run check(const std::vector<std::string>& args, const std::string& pluginPath = kPlugins) {
    std::ostringstream out, err;
    std::vector<std::string> argv{"check"};
    argv.insert(argv.end(), args.begin(), args.end());
    const int status = cmdCheck(argv, pluginPath, out, err);
    return {status, out.str(), err.str()};
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

} // namespace

class SiteCheckTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SiteCheckTest);
    CPPUNIT_TEST(testExamplesCheckOutAndResolve);
    CPPUNIT_TEST(testHandlerProblems);
    CPPUNIT_TEST(testPluginProblems);
    CPPUNIT_TEST(testBetweenSites);
    CPPUNIT_TEST(testCheckCommand);
    CPPUNIT_TEST(testCheckCommandReportsEverythingAtOnce);
    CPPUNIT_TEST(testCheckCommandUsage);
    CPPUNIT_TEST_SUITE_END();

public:
    void testExamplesCheckOutAndResolve() {
        const Catalog catalog({kPlugins});
        const auto sites = loadSites(loadGlobal(kSites + "/keel.json"));
        assertLines({}, checkSites(sites), "between sites");
        const SiteConfig& blog = sites[0];
        const SiteCheck blogCheck(blog, catalog);
        assertLines({}, blogCheck.problems(), "blog");
        // Naming cdn brings files along, handlers and all.
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), blogCheck.plugins().size());
        CPPUNIT_ASSERT_EQUAL(std::string("cdn"), blogCheck.plugins()[0]->name());
        CPPUNIT_ASSERT_EQUAL(std::string("files"), blogCheck.plugins()[1]->name());
        auto resolved = blogCheck.resolve(blog.routes[1].handler);
        CPPUNIT_ASSERT(resolved && resolved->plugin == "files" && resolved->handler == "static");

        const SiteConfig& demo = sites[1];
        const SiteCheck demoCheck(demo, catalog);
        assertLines({}, demoCheck.problems(), "demo");
        resolved = demoCheck.resolve(demo.routes[3].handler);
        CPPUNIT_ASSERT(resolved && resolved->plugin == "guard" && resolved->handler == "static");
        resolved = demoCheck.resolve(demo.middleware[1]);
        CPPUNIT_ASSERT(resolved && resolved->plugin == "guard" && resolved->handler == "logger");
        resolved = demoCheck.resolve(demo.routes[1].middleware[0]);
        CPPUNIT_ASSERT(resolved && resolved->plugin == "files" && resolved->handler == "etag");
        UseConfig ambiguous = demo.routes[0].handler;
        ambiguous.use = "static";
        CPPUNIT_ASSERT(!demoCheck.resolve(ambiguous));
        CPPUNIT_ASSERT(checkSite(demo, catalog).empty());
    }

    void testHandlerProblems() {
        TempDir dir;
        const std::string file = dir.write("site.json", R"({
  "name": "t",
  "listeners": [{"address": ":0"}],
  "plugins": {"files": "^1.0.0", "guard": "^2.0.0"},
  "middleware": [
    {"use": "static"},
    {"use": "listing"},
    {"use": "corz"},
    {"use": "guard/cors", "config": {"origin": 1}}
  ],
  "routes": [
    {"path": "/a", "use": "static"},
    {"path": "/b", "use": "etag"},
    {"path": "/c", "use": "upload"},
    {"path": "/d", "use": "statik"},
    {"path": "/e", "use": "files/statc"},
    {"path": "/f", "use": "cdn/edge"},
    {"path": "/g", "use": "nope/x"},
    {"path": "/h", "use": "files/static", "config": {"root": 5, "roots": "x"}},
    {"path": "/i", "use": "listing", "config": {"a": 1}},
    {"path": "/j", "use": "guard/logger", "middleware": [{"use": "files/etag", "config": {"x": 1}}]},
    {"path": "/k", "use": "files/static"}
  ]
})");
        const Catalog catalog({kPlugins});
        const std::string f = file + ":";
        assertLines({f + "6: middleware[0].use: \"static\" is provided by plugins 'files' and 'guard'; write \"files/static\" or \"guard/static\"",
                     f + "7: middleware[1].use: \"listing\" (plugin 'files') is a route handler, not middleware; use it as a route's \"use\"",
                     f + "8: middleware[2].use: unknown middleware \"corz\" (did you mean \"cors\"?); the site's plugins provide: files/etag, guard/cors, guard/logger",
                     f + "9: middleware[3].config.origin: expected a string, found an integer",
                     f + "12: routes[0].use: \"static\" is provided by plugins 'files' and 'guard'; write \"files/static\" or \"guard/static\"",
                     f + "13: routes[1].use: \"etag\" (plugin 'files') is middleware only; use it in a \"middleware\" list, not as a route's handler",
                     f + "14: routes[2].use: unknown handler \"upload\"; plugin 'extra' provides it: add \"extra\": \"^0.3.0\" to plugins",
                     f + "15: routes[3].use: unknown handler \"statik\" (did you mean \"static\"?); the site's plugins provide: files/listing, files/static, guard/logger, guard/static",
                     f + "16: routes[4].use: plugin 'files' has no handler \"statc\" (did you mean \"static\"?); it provides: static, listing, etag",
                     f + "17: routes[5].use: plugin 'cdn' is not one of the site's plugins: add \"cdn\": \"^1.0.0\" to plugins",
                     f + "18: routes[6].use: plugin 'nope' is not installed (plugin path: " + kPlugins + ")",
                     f + "19: routes[7].config.root: expected a string (a directory), found an integer",
                     f + "19: routes[7].config: unknown key \"roots\" (did you mean \"root\"?); accepted keys: index, root",
                     f + "20: routes[8].config: this handler takes no configuration; expected {}",
                     f + "21: routes[9].middleware[0].config: this handler takes no configuration; expected {}",
                     f + "22: routes[10].config: missing required key \"root\""},
                    checkSite(loadSite(file), catalog), "handlers");
    }

    void testPluginProblems() {
        TempDir dir;
        const std::string file = dir.write("site.json", R"({
  "name": "t",
  "listeners": [{"address": ":0"}],
  "plugins": {
    "files": {"version": "^2.0.0", "config": {"cache_ms": -1, "cache_m": 1}},
    "gaurd": "^2.0.0",
    "extra": "*"
  },
  "routes": [{"path": "/", "use": "unknown"}]
})");
        const Catalog catalog({kPlugins});
        const std::string f = file + ":";
        assertLines({f + "5: plugins.files: the site requires 'files' ^2.0.0, but the installed 'files' is 1.2.0 (" + kPlugins + "/keel_site_files.so)",
                     f + "5: plugins.files.config: unknown key \"cache_m\" (did you mean \"cache_ms\"?); accepted keys: cache_ms",
                     f + "5: plugins.files.config.cache_ms: expected a value >= 0, found -1",
                     f + "6: plugins.gaurd: plugin 'gaurd' is not installed (plugin path: " + kPlugins + "); did you mean \"guard\"?",
                     f + "7: plugins.extra.config: missing required key \"dir\"",
                     f + "9: routes[0].use: unknown handler \"unknown\"; the site's plugins provide: extra/upload, files/listing, files/static "
                         "(plugin 'gaurd' is not installed, so its handlers are unknown)"},
                    checkSite(loadSite(file), catalog), "plugins");
        // With no plugins at all, the handler list says so.
        const std::string bare = dir.write("bare.json", R"({"name": "b", "listeners": [{"address": ":0"}], "routes": [{"path": "/", "use": "x"}]})");
        assertLines({bare + ":1: routes[0].use: unknown handler \"x\"; the site's plugins provide no handlers"},
                    checkSite(loadSite(bare), catalog), "no plugins");
    }

    void testBetweenSites() {
        TempDir dir;
        const std::string a = dir.write("a.json", R"({
  "name": "a",
  "listeners": [{"address": "127.0.0.1:8080"}],
  "hosts": ["a.com", "shared.com"]
})");
        const std::string b = dir.write("b.json", R"({
  "name": "b",
  "listeners": [{"address": "127.0.0.1:8080"}],
  "hosts": ["Shared.com", "b.com"]
})");
        const std::string c = dir.write("c.json", R"({
  "name": "c",
  "listeners": [{"address": "127.0.0.1:9090"}, {"address": "127.0.0.1:8080"}],
  "hosts": ["c.com"],
  "default": true
})");
        const std::string d = dir.write("d.json", R"({
  "name": "d",
  "listeners": [{"address": "127.0.0.1:8080"}]
})");
        const std::string e = dir.write("e.json", R"({
  "name": "a",
  "listeners": [{"address": "127.0.0.1:0"}]
})");
        const std::string f = dir.write("f.json", R"({
  "name": "f",
  "listeners": [{"address": "127.0.0.1:0"}, {"address": ":8080"}, {"address": "[::1]:8080"}]
})");
        std::vector<SiteConfig> sites;
        for (const auto& file : {a, b, c, d, e, f}) sites.push_back(loadSite(file));
        assertLines({b + ":4: hosts[0]: \"shared.com\" on 127.0.0.1:8080 is also a host of site 'a' (" + a +
                         ":4); a host name belongs to one site per address",
                     d + ":3: listeners[0].address: sites 'c' (" + c + ":2) and 'd' both answer unknown host names on 127.0.0.1:8080 "
                         "('c' is \"default\", 'd' has no \"hosts\"); only one site per address may: give the other one \"hosts\" and no \"default\"",
                     e + ":2: name: site name \"a\" is also used by " + a + ":2; site names must be unique"},
                    checkSites(sites), "between sites");
    }

    void testCheckCommand() {
        Run run = check({"--config", kSites + "/keel.json"});
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.err, 0, run.status);
        assertLines({kSites + "/blog/site.json: ok (2 routes, 2 plugins)", kSites + "/demo/site.json: ok (4 routes, 2 plugins)"},
                    lines(run.out), "stdout");
        // No lock yet: production says what `keel run` will want, development only warns.
        assertLines({"warning: " + kSites + "/blog/site.json: a production site needs a lock file (" + kSites +
                         "/blog/site.lock.json): run `keel lock " + kSites + "/blog/site.json`, or pass --no-lock to run without one",
                     "warning: " + kSites + "/demo/site.json: no lock file (" + kSites + "/demo/site.lock.json): plugin versions and "
                         "files are not pinned; `keel lock " + kSites + "/demo/site.json` pins them"},
                    lines(run.err), "stderr");

        // A site named on the command line; keel.json's plugin_path when no --plugin-path.
        TempDir dir;
        dir.write("keel.json", "{\"plugin_path\": \"" + kPlugins + "\", \"sites\": \"" + kSites + "/blog\"}");
        InDirectory here(dir.path());
        run = check({}, "");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.err, 0, run.status);
        CPPUNIT_ASSERT_EQUAL(kSites + "/blog/site.json: ok (2 routes, 2 plugins)\n", run.out);
        run = check({kSites + "/demo"}, "");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.err, 1, run.status); // no keel.json read: default plugin path
        CPPUNIT_ASSERT(contains(run.err, "plugins.files: plugin 'files' is not installed"));
        run = check({"--config=keel.json", kSites + "/demo"}, "");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.err, 0, run.status);
        CPPUNIT_ASSERT_EQUAL(kSites + "/demo/site.json: ok (4 routes, 2 plugins)\n", run.out);
    }

    void testCheckCommandReportsEverythingAtOnce() {
        TempDir dir;
        const std::string one = dir.write("one/site.json", R"({
  "name": "dup",
  "listeners": [{"address": "127.0.0.1:8080"}],
  "plugins": {"files": "^1.0.0"},
  "routes": [
    {"path": "/", "use": "files/static", "config": {"root": 1}},
    {"path": "oops", "use": "listng"}
  ]
})");
        const std::string two = dir.write("two/site.json", R"({"name": "dup", "listeners": [{"address": "127.0.0.1:8080"}]})");
        const std::string broken = dir.write("three/site.json", "{\"name\": \"x\",\n\"listeners\": [}");
        const Run run = check({dir.path() + "/one", dir.path() + "/two", dir.path() + "/three"});
        CPPUNIT_ASSERT_EQUAL(1, run.status);
        CPPUNIT_ASSERT_EQUAL(std::string(), run.out);
        // The manifest's own problems and those with the plugins, merged in line order;
        // then the problems between sites; a file that is not JSON stops at that.
        assertLines({one + ":6: routes[0].config.root: expected a string (a directory), found an integer",
                     one + ":7: routes[1].path: \"oops\" is not a route path: it must start with \"/\" (or be \"*\"); accepted: "
                           "\"/exact\", \"/prefix/\" or \"/prefix/*\", \"/users/:id\", \"*\"",
                     one + ":7: routes[1].use: unknown handler \"listng\" (did you mean \"listing\"?); the site's plugins provide: "
                           "files/listing, files/static",
                     two + ":1: name: site name \"dup\" is also used by " + one + ":2; site names must be unique",
                     two + ":1: listeners[0].address: sites 'dup' (" + one + ":2) and 'dup' both answer unknown host names on "
                           "127.0.0.1:8080 ('dup' has no \"hosts\", 'dup' has no \"hosts\"); only one site per address may: give "
                           "the other one \"hosts\" and no \"default\"",
                     broken + ":2: invalid JSON: unexpected byte '}' in value"},
                    lines(run.err), "stderr");
    }

    void testCheckCommandUsage() {
        Run run = check({"--bogus"});
        CPPUNIT_ASSERT_EQUAL(2, run.status);
        CPPUNIT_ASSERT_EQUAL(std::string("keel check: unknown option '--bogus'\n"), run.err);
        run = check({"--config"});
        CPPUNIT_ASSERT_EQUAL(2, run.status);
        CPPUNIT_ASSERT_EQUAL(std::string("keel check: option --config needs a value\n"), run.err);
        TempDir dir;
        InDirectory here(dir.path());
        run = check({});
        CPPUNIT_ASSERT_EQUAL(2, run.status);
        CPPUNIT_ASSERT_EQUAL(std::string("keel check: no SITE given and no keel.json here; usage: keel check [--config FILE] [SITE...]\n"),
                             run.err);
        run = check({"--help"});
        CPPUNIT_ASSERT_EQUAL(0, run.status);
        CPPUNIT_ASSERT(contains(run.out, "Usage: keel check [--config FILE] [SITE...]"));
        run = check({"--config", "missing.json"});
        CPPUNIT_ASSERT_EQUAL(1, run.status);
        CPPUNIT_ASSERT_EQUAL(std::string("missing.json: cannot read: No such file or directory\n"), run.err);
        dir.write("keel.json", "{}");
        run = check({});
        CPPUNIT_ASSERT_EQUAL(0, run.status);
        CPPUNIT_ASSERT_EQUAL(std::string("keel.json: ok (no sites)\n"), run.out);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SiteCheckTest);
