#include <cppunit/extensions/HelperMacros.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "Process.hpp"

using keel::kernel::Loop;
using keel::test::Process;
namespace fs = std::filesystem;

namespace {

const std::string kKeel = KEEL_BINARY;

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

/// A temporary folder with a copy of the plugins and a site using them.
struct Workspace {
    fs::path root;
    Workspace() {
        char pattern[] = "/tmp/keel-sites-test-XXXXXX";
        root = ::mkdtemp(pattern);
        fs::create_directories(root / "plugins");
        fs::copy_file(fs::path(KEEL_PLUGIN_DIR) / "keel_hello.so", root / "plugins" / "keel_hello.so");
        fs::create_directories(root / "site");
        write(R"({
            // the site the CLI tests run
            "name": "cli", "listeners": [{"address": "127.0.0.1:0"}],
            "plugins": {"hello": "^0.1.0"},
            "routes": [{"path": "/greet/:name", "use": "greet"}]
        })");
    }
    ~Workspace() { fs::remove_all(root); }
    void write(const std::string& manifest) const {
        // As editors and deploy tools do: a new file renamed over the old one.
        std::ofstream(root / "site" / "site.json.new") << manifest;
        fs::rename(root / "site" / "site.json.new", root / "site" / "site.json");
    }
    std::string plugins() const { return (root / "plugins").string(); }
    std::string site() const { return (root / "site").string(); }
};

/// `keel lock` of the workspace's site: it must succeed.
void lockSite(Loop& loop, const Workspace& w) {
    Process lock(loop, {kKeel, "--plugin-path", w.plugins(), "lock", w.site()});
    CPPUNIT_ASSERT(lock.waitExit());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(lock.err(), 0, lock.status());
}

/// `keel ARGS...` until its site has started, then a graceful stop (SIGTERM): it must exit 0.
void serveAndStop(Loop& loop, std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    Process keel(loop, std::move(args), std::move(env));
    CPPUNIT_ASSERT_MESSAGE(keel.err(), keel.waitForOutput("kernel: started 1 site(s)"));
    keel.kill(SIGTERM);
    CPPUNIT_ASSERT(keel.waitExit());
    CPPUNIT_ASSERT_EQUAL_MESSAGE(keel.err(), 0, keel.status());
}

} // namespace

class SitesCliTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SitesCliTest);
    CPPUNIT_TEST(testCheckReportsEveryProblem);
    CPPUNIT_TEST(testProductionNeedsALock);
    CPPUNIT_TEST(testLockTamperIsRefused);
    CPPUNIT_TEST(testUnpinnedPluginNeverLoadsUnderALock);
    CPPUNIT_TEST(testReloadOnEditAndSighup);
    CPPUNIT_TEST_SUITE_END();

public:
    void testCheckReportsEveryProblem() {
        Workspace w;
        Loop loop;
        Process good(loop, {kKeel, "--plugin-path", w.plugins(), "check", w.site()});
        CPPUNIT_ASSERT(good.waitExit());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(good.err(), 0, good.status());
        CPPUNIT_ASSERT(has(good.out(), "ok (1 route, 1 plugin)"));
        w.write(R"({"name": "cli", "listeners": [{"address": "127.0.0.1:0"}],
            "plugins": {"hello": "^0.1.0"},
            "routes": [{"path": "/greet/:name", "use": "greet", "config": {"greting": "x"}},
                       {"path": "/x", "use": "nope"}]})");
        Process bad(loop, {kKeel, "--plugin-path", w.plugins(), "check", w.site()});
        CPPUNIT_ASSERT(bad.waitExit());
        CPPUNIT_ASSERT_EQUAL(1, bad.status());
        CPPUNIT_ASSERT_MESSAGE(bad.err(), has(bad.err(), "site.json:3: routes[0].config: unknown key \"greting\" (did you mean \"greeting\"?)"));
        CPPUNIT_ASSERT_MESSAGE(bad.err(), has(bad.err(), "site.json:4: routes[1].use: unknown handler \"nope\""));
    }

    void testProductionNeedsALock() {
        Workspace w;
        Loop loop;
        Process noLock(loop, {kKeel, "--plugin-path", w.plugins(), "run", w.site()});
        CPPUNIT_ASSERT(noLock.waitExit());
        CPPUNIT_ASSERT_EQUAL(1, noLock.status());
        CPPUNIT_ASSERT(has(noLock.err(), "a production site needs a lock file"));
        serveAndStop(loop, {kKeel, "--plugin-path", w.plugins(), "run", w.site(), "--no-lock"});
    }

    void testLockTamperIsRefused() {
        Workspace w;
        Loop loop;
        lockSite(loop, w);
        CPPUNIT_ASSERT(fs::exists(fs::path(w.site()) / "site.lock.json"));
        // Change one byte of the plugin file, far from anything the loader reads first.
        const fs::path so = fs::path(w.plugins()) / "keel_hello.so";
        {
            std::fstream f(so, std::ios::in | std::ios::out | std::ios::binary);
            f.seekg(static_cast<std::streamoff>(fs::file_size(so) - 1));
            char c = 0;
            f.read(&c, 1);
            f.seekp(static_cast<std::streamoff>(fs::file_size(so) - 1));
            c = static_cast<char>(c ^ 0x5a);
            f.write(&c, 1);
        }
        Process check(loop, {kKeel, "--plugin-path", w.plugins(), "lock", "--check", w.site()});
        CPPUNIT_ASSERT(check.waitExit());
        CPPUNIT_ASSERT_EQUAL(1, check.status());
        Process run(loop, {kKeel, "--plugin-path", w.plugins(), "run", w.site()});
        CPPUNIT_ASSERT(run.waitExit());
        CPPUNIT_ASSERT_EQUAL(1, run.status());
        CPPUNIT_ASSERT_MESSAGE(run.err(), has(run.err(), "plugin 'hello'"));
        CPPUNIT_ASSERT_MESSAGE(run.err(), has(run.err(), so.string()));
        CPPUNIT_ASSERT_MESSAGE(run.err(), has(run.err(), "sha256"));
    }

    // `keel run` of a locked site dlopens only the files its lock pins: another plugin in the
    // folder (its initializer would leave a mark) never runs any code.
    void testUnpinnedPluginNeverLoadsUnderALock() {
        Workspace w;
        Loop loop;
        lockSite(loop, w);
        fs::copy_file(fs::path(KEEL_FIXTURE_DIR) / "ctor" / "keel_fix_ctor.so", fs::path(w.plugins()) / "keel_fix_ctor.so");
        const fs::path mark = w.root / "mark";
        serveAndStop(loop, {kKeel, "--plugin-path", w.plugins(), "run", w.site()}, {{"KEEL_FIXTURE_CTOR_MARK", mark.string()}});
        CPPUNIT_ASSERT_MESSAGE("the unpinned plugin's initializer ran", !fs::exists(mark));
        // The same folder without a lock (--no-lock) loads it: the mark shows the test can see it.
        Process unlocked(loop, {kKeel, "--plugin-path", w.plugins(), "run", w.site(), "--no-lock"},
                         {{"KEEL_FIXTURE_CTOR_MARK", mark.string()}});
        CPPUNIT_ASSERT_MESSAGE(unlocked.err(), unlocked.waitForOutput("kernel: started 1 site(s)"));
        unlocked.kill(SIGTERM);
        CPPUNIT_ASSERT(unlocked.waitExit());
        CPPUNIT_ASSERT(fs::exists(mark));
    }

    void testReloadOnEditAndSighup() {
        Workspace w;
        Loop loop;
        Process keel(loop, {kKeel, "--plugin-path", w.plugins(), "run", w.site(), "--no-lock"});
        CPPUNIT_ASSERT_MESSAGE(keel.err(), keel.waitForOutput("kernel: started 1 site(s)"));
        w.write(R"({"name": "cli", "listeners": [{"address": "127.0.0.1:0"}], "plugins": {"hello": "^0.1.0"},
                    "routes": [{"path": "/greet/:name", "use": "greeet"}]})");
        CPPUNIT_ASSERT_MESSAGE(keel.err(), keel.waitForOutput("reload refused: "));
        CPPUNIT_ASSERT(has(keel.err(), "unknown handler \"greeet\" (did you mean \"greet\"?)"));
        w.write(R"({"name": "cli", "listeners": [{"address": "127.0.0.1:0"}],
                    "plugins": {"hello": {"version": "^0.1.0", "config": {"greeting": "Hej"}}},
                    "routes": [{"path": "/greet/:name", "use": "greet"}]})");
        CPPUNIT_ASSERT_MESSAGE(keel.err(), keel.waitForOutput("kernel: reloaded 1 site(s)"));
        CPPUNIT_ASSERT(keel.waitForOutput("Hej from hello#cli")); // changed config: a new instance
        keel.kill(SIGHUP);
        CPPUNIT_ASSERT(keel.waitForOutput("reloading (SIGHUP)"));
        keel.kill(SIGTERM);
        CPPUNIT_ASSERT(keel.waitExit());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(keel.err(), 0, keel.status());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SitesCliTest);
