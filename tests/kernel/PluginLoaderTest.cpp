#include <cppunit/extensions/HelperMacros.h>

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../../plugins/hello/HelloCounter.h"
#include "Catalog.hpp"
#include "LockFile.hpp"
#include "LoopTestSupport.hpp"
#include "PluginSet.hpp"

using namespace keel::kernel;
using keel::kernel::test::LogCapture;
using keel::kernel::test::runWithDeadline;

namespace {

const std::string kPlugins = KEEL_PLUGIN_DIR;
const std::string kGood = std::string(KEEL_FIXTURE_DIR) + "/good";
const std::string kBad = std::string(KEEL_FIXTURE_DIR) + "/bad";
const std::string kDup = std::string(KEEL_FIXTURE_DIR) + "/dup";

struct Kernel {
    Loop loop;
    Bus bus{loop};
    Services services;
    Runtime runtime{loop, bus, services};
};

/// The message PluginError carries when `f` throws it; "" when nothing is thrown.
template <class F>
std::string errorOf(F&& f) {
    try {
        f();
    } catch (const PluginError& e) {
        return e.what();
    }
    return "";
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

std::vector<std::string> lifecycle(const LogCapture& logs) {
    std::vector<std::string> out;
    for (const auto& line : logs.lines) {
        // "INFO fix-a: started" -> "fix-a started"
        auto colon = line.find(": ");
        auto space = line.find(' ');
        if (colon == std::string::npos || space == std::string::npos) continue;
        std::string who = line.substr(space + 1, colon - space - 1);
        std::string what = line.substr(colon + 2);
        if (what == "started" || what == "stopped" || what == "draining") out.push_back(who + " " + what);
    }
    return out;
}

} // namespace

class PluginLoaderTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PluginLoaderTest);
    CPPUNIT_TEST(testExamplePluginsAreListedWithManifests);
    CPPUNIT_TEST(testLibraryLoadedOnceStateSharedInstancesSeparate);
    CPPUNIT_TEST(testCAndCppPluginsTalkOverTheBus);
    CPPUNIT_TEST(testStopReleasesWhatTheInstanceHeld);
    CPPUNIT_TEST(testNotAKeelPlugin);
    CPPUNIT_TEST(testAbiMajorMismatch);
    CPPUNIT_TEST(testPluginNewerThanKernel);
    CPPUNIT_TEST(testBadManifestAndSdkRange);
    CPPUNIT_TEST(testUnreadableAndNonLibraryFiles);
    CPPUNIT_TEST(testCheckedDescriptorIsWhatLoads);
    CPPUNIT_TEST(testCatalogKeepsGoingPastBadFiles);
    CPPUNIT_TEST(testDuplicatePluginName);
    CPPUNIT_TEST(testMissingDependency);
    CPPUNIT_TEST(testDependencyVersionOutOfRange);
    CPPUNIT_TEST(testRequestedRangeNotSatisfied);
    CPPUNIT_TEST(testDependencyCycleIsSpelledOut);
    CPPUNIT_TEST(testDependencyOrderStartAndReverseStopWithPendingStop);
    CPPUNIT_TEST(testTransportsStopFirst);
    CPPUNIT_TEST(testStopWaitsForOffloadedWork);
    CPPUNIT_TEST(testStartFailureStopsThoseStarted);
    CPPUNIT_TEST(testCreateFailure);
    CPPUNIT_TEST(testConfigCheckedAgainstSchema);
    CPPUNIT_TEST(testCppExceptionsStopAtTheBoundary);
    CPPUNIT_TEST(testPluginCommandThroughSdk);
    CPPUNIT_TEST_SUITE_END();

public:
    void testExamplePluginsAreListedWithManifests() {
        Catalog catalog({kPlugins});
        CPPUNIT_ASSERT(catalog.problems().empty());
        auto hello = catalog.find("hello");
        auto helloC = catalog.find("hello-c");
        CPPUNIT_ASSERT(hello && helloC);
        CPPUNIT_ASSERT_EQUAL(std::string("0.1.0"), hello->manifest().version.toString());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), hello->manifest().provides.size());
        CPPUNIT_ASSERT_EQUAL(std::string("hello.counter@1"), hello->manifest().provides[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("hello"), hello->manifest().commands.at(0).name);
        CPPUNIT_ASSERT(contains(helloC->manifest().description, "plain-C"));
    }

    // The seed's module-caching "counter" challenge: both sites share the library (and its
    // library-level count), each has its own instance count.
    void testLibraryLoadedOnceStateSharedInstancesSeparate() {
        Kernel k;
        Catalog catalog({kPlugins});
        PluginSet siteA(k.runtime, catalog, "a");
        PluginSet siteB(k.runtime, catalog, "b");
        siteA.add("hello");
        siteB.add("hello", R"({"greeting": "Hi"})");
        siteA.resolve();
        siteB.resolve();
        siteA.start();
        siteB.start();
        CPPUNIT_ASSERT(&siteA.find("hello")->library() == &siteB.find("hello")->library());
        CPPUNIT_ASSERT(PluginLibrary::open(kPlugins + "/keel_hello.so").get() == &siteA.find("hello")->library());
        CPPUNIT_ASSERT_EQUAL(std::string("hello#a"), siteA.find("hello")->name());

        auto a = siteA.services().lookup("hello.counter", 1);
        auto b = siteB.services().lookup("hello.counter", 1);
        CPPUNIT_ASSERT(a && b);
        CPPUNIT_ASSERT(a->self != b->self);
        const auto* vt = static_cast<const hello_counter_v1*>(a->vtable);
        vt->reset_library(a->self);
        vt->increment(a->self);
        vt->increment(a->self);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), vt->library_count(b->self)); // counter2.getCount() -> 2
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), vt->instance_count(b->self));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), vt->instance_count(a->self));
        vt->reset_library(b->self); // counter2.reset()
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), vt->library_count(a->self)); // counter1.getCount() -> 0
        bool stopped = false;
        siteA.stop([&] { stopped = true; });
        CPPUNIT_ASSERT(stopped);
        CPPUNIT_ASSERT(!siteA.services().lookup("hello.counter", 1));
        CPPUNIT_ASSERT(siteB.services().lookup("hello.counter", 1));
    }

    void testCAndCppPluginsTalkOverTheBus() {
        Kernel k;
        Catalog catalog({kPlugins});
        PluginSet set(k.runtime, catalog);
        set.add("hello", R"({"greeting": "Bonjour"})");
        set.add("hello-c");
        set.resolve();
        set.start();
        std::vector<std::string> events;
        k.bus.subscribe(k.bus.topic("hello.pong"), 0, [&](TopicId, const keel_payload& p) {
            events.push_back("pong " + std::string(static_cast<const char*>(p.data), p.size));
        });
        k.bus.subscribe(k.bus.topic("hello-c.seen"), 0, [&](TopicId, const keel_payload& p) {
            events.push_back("seen " + std::string(static_cast<const char*>(p.data), p.size));
        });
        static constexpr std::string_view kType = "text/plain";
        keel_payload ping{{kType.data(), kType.size()}, "Ada", 3};
        k.bus.publish(k.bus.topic("hello.ping"), ping);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), events.size());
        // hello-c subscribed at priority 10: it hears the ping first.
        CPPUNIT_ASSERT(contains(events[0], "seen {\"count\":"));
        CPPUNIT_ASSERT(contains(events[0], "\"bytes\":3}"));
        CPPUNIT_ASSERT_EQUAL(std::string("pong Bonjour, Ada!"), events[1]);
    }

    void testStopReleasesWhatTheInstanceHeld() {
        Kernel k;
        Catalog catalog({kPlugins});
        PluginSet set(k.runtime, catalog);
        set.add("hello", R"({"heartbeat_ms": 1000})");
        set.resolve();
        set.start();
        const TopicId ping = k.bus.topic("hello.ping");
        CPPUNIT_ASSERT(k.bus.hasSubscribers(ping));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), k.loop.pendingTimers());
        set.stop(nullptr);
        CPPUNIT_ASSERT(!k.bus.hasSubscribers(ping));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), k.loop.pendingTimers());
        CPPUNIT_ASSERT(runWithDeadline(k.loop, 2000)); // nothing keeps the loop alive any more
    }

    void testNotAKeelPlugin() {
        const std::string e = errorOf([] { PluginLibrary::open(kBad + "/keel_bad_notkeel.so"); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "keel_bad_notkeel.so is not a Keel plugin: it does not export keel_plugin_entry"));
    }

    void testAbiMajorMismatch() {
        const std::string e = errorOf([] { PluginLibrary::open(kBad + "/keel_bad_abi2.so"); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "was built for Keel ABI 2.0, but this kernel speaks ABI 1.0"));
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "rebuild the plugin"));
    }

    void testPluginNewerThanKernel() {
        const std::string e = errorOf([] { PluginLibrary::open(kBad + "/keel_bad_newer.so"); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "needs Keel ABI 1.1, newer than this kernel's ABI 1.0: upgrade Keel"));
    }

    void testBadManifestAndSdkRange() {
        std::string e = errorOf([] { PluginLibrary::open(kBad + "/keel_bad_manifest.so"); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "keel_bad_manifest.so: manifest: version: invalid version \"1.0\""));
        e = errorOf([] { PluginLibrary::open(kBad + "/keel_bad_sdk.so"); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "(plugin 'bad-sdk' 1.0.0) requires SDK >=2.0.0, but this kernel provides SDK 1.0.0"));
    }

    void testUnreadableAndNonLibraryFiles() {
        std::string e = errorOf([] { PluginLibrary::open(kBad + "/keel_missing.so"); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "cannot read plugin file " + kBad + "/keel_missing.so: No such file or directory"));
        e = errorOf([] { PluginLibrary::open(kBad); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "not a regular file"));
        const auto garbage = std::filesystem::temp_directory_path() / ("keel_garbage_" + std::to_string(::getpid()) + ".so");
        std::ofstream(garbage) << "this is not an ELF file\n";
        e = errorOf([&] { PluginLibrary::open(garbage.string()); });
        std::filesystem::remove(garbage);
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "is not a loadable shared library"));
    }

    // A pinned plugin is hashed from a descriptor and loaded through it: a file renamed over
    // the path between the check and the load is not the one run.
    void testCheckedDescriptorIsWhatLoads() {
        namespace fs = std::filesystem;
        const fs::path dir = fs::temp_directory_path() / ("keel_swap_" + std::to_string(::getpid()));
        fs::create_directories(dir);
        const fs::path path = dir / "keel_swapped.so";
        fs::copy_file(kGood + "/keel_fix_a.so", path);
        Fd checked = openToRead(path.string());
        const std::string hash = sha256File(checked.fd, path.string());
        CPPUNIT_ASSERT_EQUAL(sha256File(kGood + "/keel_fix_a.so"), hash);
        // The swap: another plugin renamed over the checked file's name.
        fs::copy_file(kGood + "/keel_fix_b.so", dir / "next.so");
        fs::rename(dir / "next.so", path);
        CPPUNIT_ASSERT(sha256File(path.string()) != hash);
        const PluginLibraryPtr library = PluginLibrary::open(path.string(), checked.fd);
        CPPUNIT_ASSERT_EQUAL(std::string("fix-a"), library->name());
        CPPUNIT_ASSERT_EQUAL((fs::canonical(dir) / "keel_swapped.so").string(), library->path());

        // The next pinned plugin opened on the same descriptor number (the first one's was
        // closed after its load) is loaded itself, not taken for the first by its name.
        fs::copy_file(kGood + "/keel_fix_c.so", dir / "keel_third.so");
        {
            Fd other = openToRead((dir / "keel_third.so").string());
            CPPUNIT_ASSERT_EQUAL(checked.fd, ::dup3(other.fd, checked.fd, O_CLOEXEC));
        }
        const PluginLibraryPtr third = PluginLibrary::open((dir / "keel_third.so").string(), checked.fd);
        CPPUNIT_ASSERT_EQUAL(std::string("fix-c"), third->name());

        // A descriptor that is not a regular file is refused, naming the path.
        fs::copy_file(kGood + "/keel_fix_c.so", dir / "keel_unloaded.so");
        Fd folder(::open(kGood.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        const std::string unloaded = (dir / "keel_unloaded.so").string();
        const std::string e = errorOf([&] { PluginLibrary::open(unloaded, folder.fd); });
        fs::remove_all(dir);
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "cannot read plugin file " + unloaded + ": not a regular file"));
    }

    void testCatalogKeepsGoingPastBadFiles() {
        Catalog catalog({kBad, kPlugins, "/nonexistent/dir"});
        CPPUNIT_ASSERT(catalog.find("hello"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), catalog.problems().size());
    }

    void testDuplicatePluginName() {
        Kernel k;
        Catalog catalog({kDup});
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), catalog.problems().size());
        CPPUNIT_ASSERT(contains(catalog.problems()[0], "duplicate plugin name 'fix-dup'"));
        CPPUNIT_ASSERT(contains(catalog.problems()[0], "keel_fix_dup_one.so"));
        CPPUNIT_ASSERT(contains(catalog.problems()[0], "keel_fix_dup_two.so"));
        PluginSet set(k.runtime, catalog);
        set.add("fix-dup");
        const std::string e = errorOf([&] { set.resolve(); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "duplicate plugin name 'fix-dup'"));
    }

    void testMissingDependency() {
        Kernel k;
        Catalog catalog({kGood});
        PluginSet set(k.runtime, catalog);
        set.add("fix-needs-missing");
        set.add("fix-not-there");
        const std::string e = errorOf([&] { set.resolve(); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "plugin 'fix-needs-missing 1.0.0' requires 'fix-nope' ^1.0.0, which is not installed (plugin path: " + kGood + ")"));
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "plugin 'fix-not-there' is not installed"));
    }

    void testDependencyVersionOutOfRange() {
        Kernel k;
        Catalog catalog({kGood});
        PluginSet set(k.runtime, catalog);
        set.add("fix-needs-newer");
        const std::string e = errorOf([&] { set.resolve(); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "plugin 'fix-needs-newer 1.0.0' requires 'fix-a' ^2.0.0, but the installed 'fix-a' is 1.0.0 (" +
                                                  kGood + "/keel_fix_a.so)"));
    }

    void testRequestedRangeNotSatisfied() {
        Kernel k;
        Catalog catalog({kGood});
        PluginSet set(k.runtime, catalog, "demo");
        set.add("fix-b", "{}", "^3.0.0");
        const std::string e = errorOf([&] { set.resolve(); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "site 'demo' requires plugin 'fix-b' ^3.0.0, but the installed 'fix-b' is 2.1.0"));
    }

    void testDependencyCycleIsSpelledOut() {
        Kernel k;
        Catalog catalog({kGood});
        PluginSet set(k.runtime, catalog);
        set.add("fix-cycle-x");
        const std::string e = errorOf([&] { set.resolve(); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "dependency cycle: fix-cycle-x -> fix-cycle-y -> fix-cycle-z -> fix-cycle-x"));
    }

    void testDependencyOrderStartAndReverseStopWithPendingStop() {
        LogCapture logs;
        Kernel k;
        Catalog catalog({kGood});
        PluginSet set(k.runtime, catalog);
        set.add("fix-c"); // requires fix-b (requires fix-a) and fix-a: both pulled in
        set.resolve();
        std::vector<std::string> names;
        for (auto* i : set.order()) names.push_back(i->name());
        CPPUNIT_ASSERT((names == std::vector<std::string>{"fix-a", "fix-b", "fix-c"}));
        set.start();
        bool stopped = false;
        set.stop([&] { stopped = true; });
        CPPUNIT_ASSERT(!stopped); // fix-c drains first, from the loop
        CPPUNIT_ASSERT(runWithDeadline(k.loop));
        CPPUNIT_ASSERT(stopped);
        const std::vector<std::string> expected{"fix-a started", "fix-b started", "fix-c started", "fix-c draining",
                                                "fix-c stopped", "fix-b stopped", "fix-a stopped"};
        CPPUNIT_ASSERT(expected == lifecycle(logs));
    }

    // A plugin's stop is complete when the work it offloaded came back: its done callback
    // runs while the plugin's subscriptions and services stand, before its dependencies stop.
    void testStopWaitsForOffloadedWork() {
        LogCapture logs;
        Kernel k;
        Catalog catalog({kGood});
        PluginSet set(k.runtime, catalog);
        set.add("fix-b"); // needs fix-a, which stops after it
        set.add("fix-offload");
        set.resolve();
        set.start();
        bool stopped = false;
        set.stop([&] { stopped = true; });
        CPPUNIT_ASSERT(!stopped); // the work is still on the pool
        CPPUNIT_ASSERT(runWithDeadline(k.loop));
        CPPUNIT_ASSERT(stopped);
        std::string order;
        for (const auto& line : logs.lines)
            if (line.find("offload done") != std::string::npos || line.find(": stopped") != std::string::npos)
                order += line.substr(line.find(' ') + 1) + "; ";
        CPPUNIT_ASSERT_EQUAL(std::string("fix-offload: stopped; fix-offload: offload done; fix-b: stopped; fix-a: stopped; "),
                             order);
    }

    void testTransportsStopFirst() {
        // Listed first, so started first: a plain reverse stop would stop it last, after the
        // plugins its requests in flight use. stopTransports() drains it while they run.
        LogCapture logs;
        Kernel k;
        Catalog catalog({kGood});
        PluginSet set(k.runtime, catalog);
        set.add("fix-transport");
        set.add("fix-b");
        set.resolve();
        set.start();
        bool stopped = false;
        set.stopTransports([&] { set.stop([&] { stopped = true; }); });
        CPPUNIT_ASSERT(runWithDeadline(k.loop));
        CPPUNIT_ASSERT(stopped);
        const std::vector<std::string> expected{"fix-transport started", "fix-a started",         "fix-b started",
                                                "fix-transport draining", "fix-transport stopped", "fix-b stopped",
                                                "fix-a stopped"};
        const auto got = lifecycle(logs);
        std::string text;
        for (const auto& line : got) text += line + "; ";
        CPPUNIT_ASSERT_MESSAGE(text, expected == got);
    }

    void testStartFailureStopsThoseStarted() {
        LogCapture logs;
        Kernel k;
        Catalog catalog({kGood});
        PluginSet set(k.runtime, catalog);
        set.add("fix-failstart");
        set.resolve();
        const std::string e = errorOf([&] { set.start(); });
        CPPUNIT_ASSERT_EQUAL(std::string("plugin 'fix-failstart' failed to start: port 80 is taken"), e);
        const std::vector<std::string> expected{"fix-a started", "fix-b started", "fix-b stopped", "fix-a stopped"};
        CPPUNIT_ASSERT(expected == lifecycle(logs));
    }

    void testCreateFailure() {
        Kernel k;
        Catalog catalog({kGood});
        PluginSet set(k.runtime, catalog);
        set.add("fix-failcreate");
        set.resolve();
        const std::string e = errorOf([&] { set.start(); });
        CPPUNIT_ASSERT_EQUAL(std::string("plugin 'fix-failcreate' failed to create: refusing to be created"), e);
    }

    void testConfigCheckedAgainstSchema() {
        Kernel k;
        Catalog catalog({kGood, kPlugins});
        PluginSet set(k.runtime, catalog);
        set.add("fix-schema", R"({"port": "80", "mdoe": "fast"})");
        set.add("fix-a", R"({"anything": 1})");
        set.add("hello", R"({"greeting": 5, "heartbeat_ms": -1})");
        const std::string e = errorOf([&] { set.resolve(); });
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "plugin 'fix-schema': config.port: expected an integer, found a string"));
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "plugin 'fix-schema': config: unknown key \"mdoe\" (did you mean \"mode\"?)"));
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "plugin 'fix-a': config: this plugin takes no configuration"));
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "plugin 'hello': config.greeting: expected a string"));
        CPPUNIT_ASSERT_MESSAGE(e, contains(e, "plugin 'hello': config.heartbeat_ms: expected a value >= 0, found -1"));

        PluginSet missing(k.runtime, catalog);
        missing.add("fix-schema", R"({"mode": "slow"})");
        const std::string e2 = errorOf([&] { missing.resolve(); });
        CPPUNIT_ASSERT_MESSAGE(e2, contains(e2, "config: missing required key \"port\""));
        CPPUNIT_ASSERT_MESSAGE(e2, contains(e2, "config.mode: expected one of \"fast\", \"safe\", found \"slow\""));

        PluginSet good(k.runtime, catalog);
        good.add("fix-schema", R"({"port": 8080, "mode": "safe"})");
        good.resolve();
    }

    void testCppExceptionsStopAtTheBoundary() {
        LogCapture logs;
        Kernel k;
        Catalog catalog({kGood});
        {
            PluginSet set(k.runtime, catalog);
            set.add("fix-cpp", R"({"fail": "create"})");
            set.resolve();
            CPPUNIT_ASSERT_EQUAL(std::string("plugin 'fix-cpp' failed to create: bad create"), errorOf([&] { set.start(); }));
        }
        {
            PluginSet set(k.runtime, catalog);
            set.add("fix-cpp", R"({"fail": "start"})");
            set.resolve();
            CPPUNIT_ASSERT_EQUAL(std::string("plugin 'fix-cpp' failed to start: bad start"), errorOf([&] { set.start(); }));
        }
        PluginSet set(k.runtime, catalog);
        set.add("fix-cpp");
        set.resolve();
        set.start();
        int after = 0;
        k.bus.subscribe(k.bus.topic("fix.after"), 0, [&](TopicId, const keel_payload&) { ++after; });
        static constexpr std::string_view kType = "text/plain";
        keel_payload p{{kType.data(), kType.size()}, "", 0};
        k.bus.publish(k.bus.topic("fix.throw"), p);
        CPPUNIT_ASSERT_EQUAL(1, after);
        CPPUNIT_ASSERT(logs.contains("ERROR fix-cpp: uncaught exception in bus subscriber: subscriber bug"));
        k.loop.runMain([&] { k.bus.publish(k.bus.topic("fix.tick"), p); });
        CPPUNIT_ASSERT(logs.contains("ERROR fix-cpp: uncaught exception in loop callback: tick bug"));

        std::string order;
        k.bus.subscribe(k.bus.topic("fix.io.done"), 0, [&](TopicId, const keel_payload& done) {
            order.assign(static_cast<const char*>(done.data), done.size);
        });
        k.bus.publish(k.bus.topic("fix.io"), p);
        CPPUNIT_ASSERT(runWithDeadline(k.loop));
        CPPUNIT_ASSERT_EQUAL(std::string("callback,tick"), order);
    }

    void testPluginCommandThroughSdk() {
        Kernel k;
        Catalog catalog({kPlugins});
        PluginSet set(k.runtime, catalog);
        set.add("hello");
        set.resolve();
        set.start();
        PluginInstance* hello = set.find("hello");
        const char* bad[] = {"hello", "--bogus", nullptr};
        CPPUNIT_ASSERT_EQUAL(2, hello->command("hello", 2, bad, nullptr));
        const char* later[] = {"hello", "--wait", "5", "Ada", nullptr};
        int code = -1;
        CPPUNIT_ASSERT_EQUAL(KEEL_PENDING, hello->command("hello", 4, later, [&](int c) { code = c; }));
        CPPUNIT_ASSERT(runWithDeadline(k.loop));
        CPPUNIT_ASSERT_EQUAL(0, code);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PluginLoaderTest);
