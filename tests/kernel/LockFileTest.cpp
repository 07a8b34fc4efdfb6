#include <cppunit/extensions/HelperMacros.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "Catalog.hpp"
#include "LockFile.hpp"
#include "SiteCommands.hpp"
#include "SiteConfig.hpp"
#include "TempDir.hpp"

using namespace keel::kernel;
namespace fs = std::filesystem;

using keel::test::TempDir;

namespace {

const std::string kFixturePlugins = std::string(KEEL_FIXTURE_DIR) + "/site";

std::string readAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void assertLines(const std::vector<std::string>& expected, const std::vector<std::string>& actual, const std::string& what) {
    std::string all;
    for (const auto& a : actual) all += "\n  " + a;
    for (std::size_t i = 0; i < std::max(expected.size(), actual.size()); ++i)
        CPPUNIT_ASSERT_EQUAL_MESSAGE(what + ": message " + std::to_string(i) + "; all:" + all,
                                     i < expected.size() ? expected[i] : std::string("(none)"),
                                     i < actual.size() ? actual[i] : std::string("(none)"));
}

template <class F>
std::vector<std::string> errorsOf(F&& f) {
    try {
        f();
    } catch (const ConfigError& e) {
        return e.errors();
    }
    return {};
}

/// A site (naming cdn, which requires files) and a private copy of the fixture plugins, so a
/// test can change a plugin file without touching the shared fixtures.
struct Setup {
    TempDir dir;
    std::string plugins = dir.path() + "/plugins";
    std::string site;

    explicit Setup(const std::string& mode = "production") {
        fs::create_directories(plugins);
        for (const auto& entry : fs::directory_iterator(kFixturePlugins))
            fs::copy_file(entry.path(), plugins + "/" + entry.path().filename().string());
        site = dir.write("sites/blog/site.json", R"({"name": "blog", "listeners": [{"address": ":0"}], "mode": ")" + mode +
                                                     R"(", "plugins": {"cdn": "^1.0.0"}, "routes": [{"path": "/", "use": "edge"}]})");
    }
    std::string lockFile() const { return dir.path() + "/sites/blog/site.lock.json"; }
    std::string plugin(const std::string& name) const { return plugins + "/keel_site_" + name + ".so"; }
};

/// Replaces `path` by a copy with one byte changed, as a new file, the way an installer
/// would: the running process keeps the library it mapped; the file on disk differs.
void tamper(const std::string& path) {
    std::string bytes = readAll(path);
    const std::size_t at = bytes.find("edge cache");
    CPPUNIT_ASSERT(at != std::string::npos);
    bytes[at] = 'E';
    const std::string temp = path + ".new";
    std::ofstream(temp, std::ios::binary) << bytes;
    fs::rename(temp, path);
}

/// Writes the site's lock, then changes cdn's file; returns the lock.
Lock lockThenTamperCdn(const Setup& s, const SiteConfig& site) {
    const Lock lock = makeLock(site, Catalog({s.plugins}));
    writeLock(site.lockFile, lock);
    tamper(s.plugin("cdn"));
    return lock;
}

struct Run {
    int status;
    std::string out;
    std::string err;
};

Run lockCommand(const std::vector<std::string>& args, const std::string& pluginPath) {
    std::ostringstream out, err;
    std::vector<std::string> argv{"lock"};
    argv.insert(argv.end(), args.begin(), args.end());
    const int status = cmdLock(argv, pluginPath, out, err);
    return {status, out.str(), err.str()};
}

} // namespace

class LockFileTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LockFileTest);
    CPPUNIT_TEST(testSha256);
    CPPUNIT_TEST(testLockPinsEveryPluginTheSiteRuns);
    CPPUNIT_TEST(testWriteIsAtomicAndReadable);
    CPPUNIT_TEST(testMatchingLockHasNoProblems);
    CPPUNIT_TEST(testTamperedPluginIsRefusedByName);
    CPPUNIT_TEST(testUnpinnedFilesAreNeverOpened);
    CPPUNIT_TEST(testTamperedPluginIsNotOpenedUnderItsLock);
    CPPUNIT_TEST(testVersionDiffers);
    CPPUNIT_TEST(testLockOutOfDate);
    CPPUNIT_TEST(testLockedPluginNotInstalled);
    CPPUNIT_TEST(testMalformedLock);
    CPPUNIT_TEST(testNoLock);
    CPPUNIT_TEST(testPolicy);
    CPPUNIT_TEST(testBrokenSiteIsNotLocked);
    CPPUNIT_TEST(testLockCommand);
    CPPUNIT_TEST_SUITE_END();

public:
    void testSha256() {
        TempDir dir;
        CPPUNIT_ASSERT_EQUAL(std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
                             sha256File(dir.write("abc", "abc")));
        CPPUNIT_ASSERT_EQUAL(std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
                             sha256File(dir.write("empty", "")));
        // More than one read's worth.
        const std::string big(200000, 'a');
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), sha256File(dir.write("big", big)).size());
        try {
            sha256File(dir.path() + "/missing");
            CPPUNIT_FAIL("no error for a missing file");
        } catch (const std::runtime_error& e) {
            CPPUNIT_ASSERT_EQUAL("cannot read " + dir.path() + "/missing: No such file or directory", std::string(e.what()));
        }
    }

    void testLockPinsEveryPluginTheSiteRuns() {
        Setup s;
        const Catalog catalog({s.plugins});
        const Lock lock = makeLock(loadSite(s.site), catalog);
        CPPUNIT_ASSERT_EQUAL(std::string("blog"), lock.site);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), lock.plugins.size());
        CPPUNIT_ASSERT_EQUAL(std::string("cdn"), lock.plugins[0].name);
        CPPUNIT_ASSERT_EQUAL(std::string("1.0.0"), lock.plugins[0].version);
        CPPUNIT_ASSERT_EQUAL(std::string("1.0"), lock.plugins[0].abi);
        CPPUNIT_ASSERT_EQUAL(std::string("keel_site_cdn.so"), lock.plugins[0].file);
        CPPUNIT_ASSERT_EQUAL(sha256File(s.plugin("cdn")), lock.plugins[0].sha256);
        CPPUNIT_ASSERT_EQUAL(std::string("files"), lock.plugins[1].name); // required by cdn
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.0"), lock.plugins[1].version);
        CPPUNIT_ASSERT_EQUAL(sha256File(s.plugin("files")), lock.plugins[1].sha256);

        const std::string expected = "{\n"
                                     "  \"lockfileVersion\": 1,\n"
                                     "  \"site\": \"blog\",\n"
                                     "  \"plugins\": {\n"
                                     "    \"cdn\": {\n"
                                     "      \"version\": \"1.0.0\",\n"
                                     "      \"abi\": \"1.0\",\n"
                                     "      \"file\": \"keel_site_cdn.so\",\n"
                                     "      \"sha256\": \"" + lock.plugins[0].sha256 + "\"\n"
                                     "    },\n"
                                     "    \"files\": {\n"
                                     "      \"version\": \"1.2.0\",\n"
                                     "      \"abi\": \"1.0\",\n"
                                     "      \"file\": \"keel_site_files.so\",\n"
                                     "      \"sha256\": \"" + lock.plugins[1].sha256 + "\"\n"
                                     "    }\n"
                                     "  }\n"
                                     "}\n";
        CPPUNIT_ASSERT_EQUAL(expected, lockJson(lock));
        CPPUNIT_ASSERT_EQUAL(std::string("{\n  \"lockfileVersion\": 1,\n  \"site\": \"x\",\n  \"plugins\": {}\n}\n"),
                             lockJson(Lock{"x", {}}));
    }

    void testWriteIsAtomicAndReadable() {
        Setup s;
        const Catalog catalog({s.plugins});
        const Lock lock = makeLock(loadSite(s.site), catalog);
        s.dir.write("sites/blog/site.lock.json", "old contents");
        writeLock(s.lockFile(), lock);
        CPPUNIT_ASSERT_EQUAL(lockJson(lock), readAll(s.lockFile()));
        struct stat st {};
        CPPUNIT_ASSERT_EQUAL(0, ::stat(s.lockFile().c_str(), &st));
        CPPUNIT_ASSERT_EQUAL(0644u, static_cast<unsigned>(st.st_mode & 0777));
        // No temporary file left beside it.
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(s.dir.path() + "/sites/blog")) names.push_back(entry.path().filename().string());
        std::sort(names.begin(), names.end());
        CPPUNIT_ASSERT((std::vector<std::string>{"site.json", "site.lock.json"}) == names);

        const Lock back = readLock(s.lockFile());
        CPPUNIT_ASSERT_EQUAL(lockJson(lock), lockJson(back));
        try {
            writeLock(s.dir.path() + "/no/such/folder/site.lock.json", lock);
            CPPUNIT_FAIL("no error for a missing folder");
        } catch (const std::runtime_error& e) {
            CPPUNIT_ASSERT_EQUAL("cannot write " + s.dir.path() + "/no/such/folder/site.lock.json: No such file or directory",
                                 std::string(e.what()));
        }
    }

    void testMatchingLockHasNoProblems() {
        Setup s;
        const Catalog catalog({s.plugins});
        const SiteConfig site = loadSite(s.site);
        writeLock(site.lockFile, makeLock(site, catalog));
        assertLines({}, checkLock(site, catalog), "matching");
        const LockPolicy policy = lockPolicy(site, false);
        CPPUNIT_ASSERT(policy.error.empty() && policy.warning.empty());
    }

    void testTamperedPluginIsRefusedByName() {
        Setup s;
        const SiteConfig site = loadSite(s.site);
        const Lock lock = lockThenTamperCdn(s, site);
        const Catalog after({s.plugins});
        assertLines({s.lockFile() + ":5: plugin 'cdn': " + s.plugin("cdn") + " has sha256 " + sha256File(s.plugin("cdn")) +
                     ", the lock expects " + lock.plugins[0].sha256 + "; reinstall the locked version or run `keel lock " + s.site + "`"},
                    checkLock(site, after), "tampered");
        CPPUNIT_ASSERT(sha256File(s.plugin("cdn")) != lock.plugins[0].sha256);
    }

    // A catalog given the pinned hashes hashes each file first and never dlopens one they do
    // not list: the fixture's initializer, which leaves a mark, does not run.
    void testUnpinnedFilesAreNeverOpened() {
        TempDir dir;
        const std::string plugins = dir.path() + "/plugins";
        fs::create_directories(plugins);
        const std::string so = plugins + "/keel_fix_ctor.so";
        fs::copy_file(std::string(KEEL_FIXTURE_DIR) + "/ctor/keel_fix_ctor.so", so);
        const std::string mark = dir.path() + "/mark";
        ::setenv("KEEL_FIXTURE_CTOR_MARK", mark.c_str(), 1);
        const std::string hash = sha256File(so);

        const Catalog refused({plugins}, std::set<std::string>{std::string(64, '0')});
        CPPUNIT_ASSERT(refused.find("fix-ctor") == nullptr);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), refused.skipped().size());
        CPPUNIT_ASSERT_EQUAL(so, refused.skipped()[0].path);
        CPPUNIT_ASSERT_EQUAL(hash, refused.skipped()[0].sha256);
        assertLines({so + " was not opened: no lock file pins its sha256 " + hash}, refused.problems(), "problems");
        CPPUNIT_ASSERT_MESSAGE("the unpinned plugin's initializer ran", !fs::exists(mark));

        const Catalog pinned({plugins}, std::set<std::string>{hash});
        ::unsetenv("KEEL_FIXTURE_CTOR_MARK");
        CPPUNIT_ASSERT(pinned.find("fix-ctor") != nullptr);
        CPPUNIT_ASSERT(pinned.skipped().empty());
        CPPUNIT_ASSERT_MESSAGE("the pinned plugin did not load", fs::exists(mark));
    }

    void testTamperedPluginIsNotOpenedUnderItsLock() {
        Setup s;
        const SiteConfig site = loadSite(s.site);
        const Lock lock = lockThenTamperCdn(s, site);
        std::set<std::string> pinned;
        for (const auto& p : readLock(site.lockFile).plugins) pinned.insert(p.sha256);
        const Catalog after({s.plugins}, pinned);
        CPPUNIT_ASSERT(after.find("cdn") == nullptr);
        CPPUNIT_ASSERT(after.find("files") != nullptr);
        // cdn only: files was opened (its hash is pinned), and cdn, which needs it, was not.
        assertLines({s.lockFile() + ":5: plugin 'cdn': locked 1.0.0 with sha256 " + lock.plugins[0].sha256 +
                     ", which no file on the plugin path has; not opened, as no lock pins them: " + s.plugin("cdn") +
                     " (sha256 " + sha256File(s.plugin("cdn")) + "); reinstall the locked version or run `keel lock " + s.site + "`"},
                    checkLock(site, after), "tampered, unopened");
    }

    void testVersionDiffers() {
        Setup s;
        const SiteConfig site = loadSite(s.site);
        Lock lock = makeLock(site, Catalog({s.plugins}));
        lock.plugins[1].version = "1.1.0"; // locked with an older files
        lock.plugins[1].sha256 = std::string(64, '0');
        writeLock(site.lockFile, lock);
        assertLines({s.lockFile() + ":11: plugin 'files': locked 1.1.0, installed 1.2.0 (" + s.plugin("files") + ")"},
                    checkLock(site, Catalog({s.plugins})), "version");
    }

    void testLockOutOfDate() {
        Setup s;
        const SiteConfig site = loadSite(s.site);
        Lock lock = makeLock(site, Catalog({s.plugins}));
        lock.plugins.erase(lock.plugins.begin()); // cdn not locked
        lock.plugins.push_back({"old", "0.1.0", "1.0", "keel_old.so", std::string(64, 'a')});
        writeLock(site.lockFile, lock);
        assertLines({s.lockFile() + ": plugin 'cdn' 1.0.0 (" + s.plugin("cdn") + "): used by the site but not locked; run `keel lock " +
                         s.site + "` to add it",
                     s.lockFile() + ":11: plugin 'old': locked, but the site no longer uses it; run `keel lock " + s.site +
                         "` to update the lock"},
                    checkLock(site, Catalog({s.plugins})), "out of date");
    }

    void testLockedPluginNotInstalled() {
        Setup s;
        const SiteConfig site = loadSite(s.site);
        writeLock(site.lockFile, makeLock(site, Catalog({s.plugins})));
        fs::remove(s.plugin("files"));
        const Catalog without({s.plugins});
        assertLines({s.lockFile() + ":11: plugin 'files': locked 1.2.0, not installed (plugin path: " + s.plugins + ")"},
                    checkLock(site, without), "missing");
    }

    void testMalformedLock() {
        Setup s;
        const SiteConfig site = loadSite(s.site);
        const std::string lock = s.dir.write("sites/blog/site.lock.json", R"({
  "lockfileVersion": 2,
  "site": "blog",
  "plugin": {},
  "plugins": {
    "cdn": {"version": "1.0", "abi": "1.0", "file": "keel_site_cdn.so", "sha256": "ABC"},
    "files": {"abi": 1, "file": "keel_site_files.so", "sha": ""},
    "x": []
  }
})");
        assertLines({lock + ":2: lockfileVersion: expected 1 (the only version this Keel reads), found 2",
                     lock + ":4: unknown key \"plugin\" (did you mean \"plugins\"?); accepted keys: lockfileVersion, site, plugins",
                     lock + ":6: plugins.cdn.version: invalid version \"1.0\": expected MAJOR.MINOR.PATCH such as 1.4.0",
                     lock + ":6: plugins.cdn.sha256: expected 64 lower-case hex digits, found \"ABC\"",
                     lock + ":7: plugins.files: unknown key \"sha\"; accepted keys: version, abi, file, sha256",
                     lock + ":7: plugins.files: missing required key \"version\"; expected a version such as \"1.2.0\"",
                     lock + ":7: plugins.files.abi: expected an ABI version such as \"1.0\", found an integer",
                     lock + ":7: plugins.files: missing required key \"sha256\"; expected 64 lower-case hex digits",
                     lock + ":8: plugins.x: expected an object with \"version\", \"abi\", \"file\" and \"sha256\", found an array"},
                    checkLock(site, Catalog({s.plugins})), "malformed");
        s.dir.write("sites/blog/site.lock.json", "{\"lockfileVersion\": 1,\n");
        assertLines({lock + ":2: invalid JSON: unexpected end of text"}, errorsOf([&] { readLock(lock); }), "truncated");
    }

    void testNoLock() {
        Setup s;
        const SiteConfig site = loadSite(s.site);
        assertLines({s.lockFile() + ": no lock file; run `keel lock " + s.site + "` to write it"},
                    checkLock(site, Catalog({s.plugins})), "none");
    }

    void testPolicy() {
        Setup production;
        const SiteConfig site = loadSite(production.site);
        LockPolicy policy = lockPolicy(site, false);
        CPPUNIT_ASSERT_EQUAL(production.site + ": a production site needs a lock file (" + production.lockFile() + "): run `keel lock " +
                                 production.site + "`, or pass --no-lock to run without one",
                             policy.error);
        CPPUNIT_ASSERT(policy.warning.empty());
        policy = lockPolicy(site, true);
        CPPUNIT_ASSERT(policy.error.empty());
        CPPUNIT_ASSERT_EQUAL(production.site + ": running without a lock file (--no-lock): plugin versions and files are not pinned",
                             policy.warning);

        Setup development("development");
        const SiteConfig dev = loadSite(development.site);
        policy = lockPolicy(dev, false);
        CPPUNIT_ASSERT(policy.error.empty());
        CPPUNIT_ASSERT_EQUAL(development.site + ": no lock file (" + development.lockFile() +
                                 "): plugin versions and files are not pinned; `keel lock " + development.site + "` pins them",
                             policy.warning);
    }

    void testBrokenSiteIsNotLocked() {
        Setup s;
        const std::string broken = s.dir.write("sites/broken/site.json",
                                               R"({"name": "broken", "listeners": [{"address": ":0"}], "plugins": {"cdn": "^1.0.0"},
                                                   "routes": [{"path": "/", "use": "edje"}]})");
        assertLines({broken + ":2: routes[0].use: unknown handler \"edje\" (did you mean \"edge\"?); the site's plugins provide: "
                              "cdn/edge, files/listing, files/static"},
                    errorsOf([&] { makeLock(loadSite(broken), Catalog({s.plugins})); }), "broken");
        const Run run = lockCommand({broken}, s.plugins);
        CPPUNIT_ASSERT_EQUAL(1, run.status);
        CPPUNIT_ASSERT(!fs::exists(s.dir.path() + "/sites/broken/site.lock.json"));
    }

    void testLockCommand() {
        Setup s;
        Run run = lockCommand({"--check", s.site}, s.plugins);
        CPPUNIT_ASSERT_EQUAL(1, run.status);
        CPPUNIT_ASSERT_EQUAL(s.lockFile() + ": no lock file; run `keel lock " + s.site + "` to write it\n", run.err);

        run = lockCommand({s.dir.path() + "/sites/blog"}, s.plugins);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.err, 0, run.status);
        CPPUNIT_ASSERT_EQUAL("wrote " + s.lockFile() + " (2 plugins)\n", run.out);
        run = lockCommand({"--check", s.site}, s.plugins);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(run.err, 0, run.status);
        CPPUNIT_ASSERT_EQUAL(s.lockFile() + ": ok (2 plugins match)\n", run.out);

        // CI after someone replaced a plugin file: refused, naming the plugin.
        const std::string locked = sha256File(s.plugin("files"));
        std::string bytes = readAll(s.plugin("files"));
        bytes[bytes.find("serves files")] = 'S';
        std::ofstream(s.plugin("files") + ".new", std::ios::binary) << bytes;
        fs::rename(s.plugin("files") + ".new", s.plugin("files"));
        run = lockCommand({"--check", s.site}, s.plugins);
        CPPUNIT_ASSERT_EQUAL(1, run.status);
        CPPUNIT_ASSERT_EQUAL(s.lockFile() + ":11: plugin 'files': " + s.plugin("files") + " has sha256 " + sha256File(s.plugin("files")) +
                                 ", the lock expects " + locked + "; reinstall the locked version or run `keel lock " + s.site + "`\n",
                             run.err);
        // `keel check` reports it as well.
        std::ostringstream out, err;
        CPPUNIT_ASSERT_EQUAL(1, cmdCheck({"check", s.site}, s.plugins, out, err));
        CPPUNIT_ASSERT(err.str().find("plugin 'files': " + s.plugin("files") + " has sha256") != std::string::npos);

        run = lockCommand({"--bogus"}, s.plugins);
        CPPUNIT_ASSERT_EQUAL(2, run.status);
        CPPUNIT_ASSERT_EQUAL(std::string("keel lock: unknown option '--bogus'\n"), run.err);
        run = lockCommand({"--help"}, s.plugins);
        CPPUNIT_ASSERT_EQUAL(0, run.status);
        CPPUNIT_ASSERT(run.out.find("Usage: keel lock [--check] [--config FILE] [SITE...]") == 0);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LockFileTest);
