#include <cppunit/extensions/HelperMacros.h>

#include <csignal>
#include <set>

#include "Json.hpp"
#include "Process.hpp"

using keel::kernel::Loop;
using keel::test::Process;

namespace {

const std::string kKeel = KEEL_BINARY;
const std::string kGood = std::string(KEEL_FIXTURE_DIR) + "/good";
const std::string kBad = std::string(KEEL_FIXTURE_DIR) + "/bad";

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

} // namespace

class CliTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CliTest);
    CPPUNIT_TEST(testVersionNamesEveryLibrary);
    CPPUNIT_TEST(testHelpListsPluginCommands);
    CPPUNIT_TEST(testUnknownCommandAndOptionExit2);
    CPPUNIT_TEST(testPluginsJson);
    CPPUNIT_TEST(testPluginsReportsBrokenFiles);
    CPPUNIT_TEST(testPluginPathFromEnvironmentAndOption);
    CPPUNIT_TEST(testPluginCommand);
    CPPUNIT_TEST(testRunStopsGracefullyOnSigterm);
    CPPUNIT_TEST(testSecondSignalStopsAtOnce);
    CPPUNIT_TEST(testStopDeadline);
    CPPUNIT_TEST(testRunRefusesBadConfigAndFailedStart);
    CPPUNIT_TEST_SUITE_END();

public:
    void testVersionNamesEveryLibrary() {
        Loop loop;
        Process keel(loop, {kKeel, "version"});
        CPPUNIT_ASSERT(keel.waitExit());
        CPPUNIT_ASSERT_EQUAL(0, keel.status());
        for (const char* line : {"keel 0.", "abi 1.0", "llhttp ", "poco 1.", "openssl OpenSSL 3", "sqlite 3."})
            CPPUNIT_ASSERT_MESSAGE(keel.out(), has(keel.out(), line));
        CPPUNIT_ASSERT(has(keel.out(), std::string("libuv ") + uv_version_string()));
    }

    void testHelpListsPluginCommands() {
        Loop loop;
        Process keel(loop, {kKeel, "--help"});
        CPPUNIT_ASSERT(keel.waitExit());
        CPPUNIT_ASSERT_EQUAL(0, keel.status());
        CPPUNIT_ASSERT(has(keel.out(), "Commands from plugins:"));
        CPPUNIT_ASSERT(has(keel.out(), "hello      Print a greeting: keel hello [NAME] [--wait MS] (plugin hello 0.1.0)"));
        CPPUNIT_ASSERT(has(keel.out(), "  run "));
    }

    void testUnknownCommandAndOptionExit2() {
        Loop loop;
        Process command(loop, {kKeel, "frobnicate"});
        CPPUNIT_ASSERT(command.waitExit());
        CPPUNIT_ASSERT_EQUAL(2, command.status());
        CPPUNIT_ASSERT_EQUAL(std::string("keel: unknown command 'frobnicate'"), command.err().substr(0, command.err().find('\n')));
        CPPUNIT_ASSERT(has(command.err(), "Usage: keel"));
        Process option(loop, {kKeel, "--frob", "version"});
        CPPUNIT_ASSERT(option.waitExit());
        CPPUNIT_ASSERT_EQUAL(2, option.status());
        CPPUNIT_ASSERT(has(option.err(), "keel: unknown option '--frob'"));
        Process runOption(loop, {kKeel, "run", "--bogus"});
        CPPUNIT_ASSERT(runOption.waitExit());
        CPPUNIT_ASSERT_EQUAL(2, runOption.status());
        CPPUNIT_ASSERT(has(runOption.err(), "keel: run: unknown option '--bogus'"));
        Process none(loop, {kKeel});
        CPPUNIT_ASSERT(none.waitExit());
        CPPUNIT_ASSERT_EQUAL(2, none.status());
    }

    void testPluginsJson() {
        Loop loop;
        Process keel(loop, {kKeel, "plugins", "--json"});
        CPPUNIT_ASSERT(keel.waitExit());
        CPPUNIT_ASSERT_EQUAL(0, keel.status());
        auto root = keel::kernel::parseJsonObject(keel.out(), "keel plugins --json");
        auto plugins = root->getArray("plugins");
        Poco::JSON::Object::Ptr hello;
        std::set<std::string> names;
        for (std::size_t i = 0; i < plugins->size(); ++i) {
            auto entry = plugins->getObject(static_cast<unsigned>(i));
            const std::string name = entry->getObject("manifest")->getValue<std::string>("name");
            names.insert(name);
            if (name == "hello") hello = entry;
        }
        CPPUNIT_ASSERT(names.count("hello") && names.count("hello-c"));
        CPPUNIT_ASSERT(hello);
        CPPUNIT_ASSERT_EQUAL(std::string("1.0"), hello->getValue<std::string>("abi"));
        CPPUNIT_ASSERT(hello->getObject("manifest")->has("config"));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), root->getArray("problems")->size());
    }

    void testPluginsReportsBrokenFiles() {
        Loop loop;
        Process keel(loop, {kKeel, "--plugin-path", kBad, "plugins"});
        CPPUNIT_ASSERT(keel.waitExit());
        CPPUNIT_ASSERT_EQUAL(1, keel.status());
        CPPUNIT_ASSERT(has(keel.out(), "Problems:"));
        CPPUNIT_ASSERT(has(keel.out(), "is not a Keel plugin"));
        CPPUNIT_ASSERT(has(keel.out(), "newer than this kernel's ABI"));
    }

    void testPluginPathFromEnvironmentAndOption() {
        Loop loop;
        Process env(loop, {kKeel, "plugins"}, {{"KEEL_PLUGIN_PATH", kGood}});
        CPPUNIT_ASSERT(env.waitExit());
        CPPUNIT_ASSERT(has(env.out(), "fix-a 1.0.0"));
        CPPUNIT_ASSERT(!has(env.out(), "hello 0.1.0"));
        Process option(loop, {kKeel, "--plugin-path", std::string(KEEL_PLUGIN_DIR), "plugins"}, {{"KEEL_PLUGIN_PATH", kGood}});
        CPPUNIT_ASSERT(option.waitExit());
        CPPUNIT_ASSERT(has(option.out(), "hello 0.1.0"));
        CPPUNIT_ASSERT(!has(option.out(), "fix-a"));
    }

    void testPluginCommand() {
        Loop loop;
        Process now(loop, {kKeel, "hello", "Ada"});
        CPPUNIT_ASSERT(now.waitExit());
        CPPUNIT_ASSERT_EQUAL(0, now.status());
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, Ada!\n"), now.out());
        Process later(loop, {kKeel, "hello", "--wait", "20", "Bob"});
        CPPUNIT_ASSERT(later.waitExit());
        CPPUNIT_ASSERT_EQUAL(0, later.status());
        CPPUNIT_ASSERT_EQUAL(std::string("Hello, Bob!\n"), later.out());
        Process bad(loop, {kKeel, "hello", "--wait", "soon"});
        CPPUNIT_ASSERT(bad.waitExit());
        CPPUNIT_ASSERT_EQUAL(2, bad.status());
        CPPUNIT_ASSERT(has(bad.err(), "--wait: expected a number of milliseconds, found 'soon'"));
    }

    void testRunStopsGracefullyOnSigterm() {
        Loop loop;
        Process keel(loop, {kKeel, "run"});
        CPPUNIT_ASSERT_MESSAGE(keel.err(), keel.waitForOutput("kernel: started hello 0.1.0, hello-c 0.1.0"));
        CPPUNIT_ASSERT(has(keel.err(), "running the example plugins"));
        keel.kill(SIGHUP);
        CPPUNIT_ASSERT(keel.waitForOutput("SIGHUP: reloading"));
        keel.kill(SIGTERM);
        CPPUNIT_ASSERT(keel.waitExit());
        CPPUNIT_ASSERT_EQUAL_MESSAGE(keel.err(), 0, keel.status());
        // Reverse dependency order: hello-c started last, stops first.
        const auto c = keel.err().find("goodbye from C");
        const auto cpp = keel.err().find("hello: stopping after");
        CPPUNIT_ASSERT(c != std::string::npos && cpp != std::string::npos && c < cpp);
        CPPUNIT_ASSERT(has(keel.err(), "kernel: stopped; loop delay over"));
    }

    void testSecondSignalStopsAtOnce() {
        Loop loop;
        Process keel(loop, {kKeel, "--plugin-path", kGood, "run", "--plugin", "fix-hang", "--stop-deadline", "60000"});
        CPPUNIT_ASSERT_MESSAGE(keel.err(), keel.waitForOutput("kernel: started fix-hang"));
        keel.kill(SIGINT);
        CPPUNIT_ASSERT(keel.waitForOutput("fix-hang: hanging"));
        keel.kill(SIGINT);
        CPPUNIT_ASSERT(keel.waitExit());
        CPPUNIT_ASSERT_EQUAL(1, keel.status());
        CPPUNIT_ASSERT(has(keel.err(), "second Interrupt: stopping now"));
    }

    void testStopDeadline() {
        Loop loop;
        Process keel(loop, {kKeel, "--plugin-path", kGood, "run", "--plugin", "fix-hang", "--stop-deadline", "100"});
        CPPUNIT_ASSERT_MESSAGE(keel.err(), keel.waitForOutput("kernel: started fix-hang"));
        keel.kill(SIGTERM);
        CPPUNIT_ASSERT(keel.waitExit());
        CPPUNIT_ASSERT_EQUAL(1, keel.status());
        CPPUNIT_ASSERT(has(keel.err(), "graceful stop deadline of 100 ms passed: stopping now"));
    }

    void testRunRefusesBadConfigAndFailedStart() {
        Loop loop;
        Process config(loop, {kKeel, "--plugin-path", kGood, "run", "--plugin", "fix-schema", "--plugin-config", "fix-schema={\"port\": 0}"});
        CPPUNIT_ASSERT(config.waitExit());
        CPPUNIT_ASSERT_EQUAL(1, config.status());
        CPPUNIT_ASSERT_MESSAGE(config.err(), has(config.err(), "plugin 'fix-schema': config.port: expected a value >= 1, found 0"));
        Process start(loop, {kKeel, "--plugin-path", kGood, "run", "--plugin", "fix-failstart"});
        CPPUNIT_ASSERT(start.waitExit());
        CPPUNIT_ASSERT_EQUAL(1, start.status());
        CPPUNIT_ASSERT_MESSAGE(start.err(), has(start.err(), "plugin 'fix-failstart' failed to start: port 80 is taken"));
        CPPUNIT_ASSERT(has(start.err(), "fix-a: stopped"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CliTest);
