#include <cppunit/extensions/HelperMacros.h>

#include <Poco/JSON/Object.h>

#include "Manifest.hpp"

using namespace keel::kernel;

namespace {

std::string errorOf(const std::string& json) {
    try {
        Manifest::parse(json, "keel_x.so");
    } catch (const ManifestError& e) {
        return e.what();
    }
    return "";
}

const std::string kBase = R"("name": "rate-limit", "version": "1.2.0", "sdk": "^1.0.0", "description": "Limits")";

} // namespace

class ManifestTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ManifestTest);
    CPPUNIT_TEST(testFullManifest);
    CPPUNIT_TEST(testErrorsNameTheKeyAndTheForm);
    CPPUNIT_TEST_SUITE_END();

public:
    void testFullManifest() {
        Manifest m = Manifest::parse(R"({
            // comments are fine in manifests
            "name": "rate-limit", "version": "1.2.0-beta.1+build.7", "sdk": ">=1.0.0 <2.0.0",
            "description": "Limits requests per client",
            "requires": {"http": "^1.4.0", "metrics": "~2.1 || >=3.0.0"},
            "provides": ["ratelimit.store@1"],
            "commands": [{"name": "ratelimit-reset", "description": "Forget a client's counters"}],
            "handlers": [{"name": "limit", "kind": "middleware", "description": "Counts and limits",
                          "config": {"type": "object", "properties": {"window": {"type": "string"}}}},
                         {"name": "limit-status", "description": "Shows a client's counters"}],
            "config": {"type": "object", "properties": {"max": {"type": "integer", "minimum": 1}}}
        })", "keel_rate_limit.so");
        CPPUNIT_ASSERT_EQUAL(std::string("rate-limit"), m.name);
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.0-beta.1+build.7"), m.version.toString());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), m.requirements.size());
        CPPUNIT_ASSERT_EQUAL(std::string("http"), m.requirements[0].name);
        CPPUNIT_ASSERT(m.requirements[1].range.satisfies(Version::parse("2.1.9")));
        CPPUNIT_ASSERT(!m.requirements[1].range.satisfies(Version::parse("2.2.0")));
        CPPUNIT_ASSERT(m.sdk.satisfies(Version::parse("1.0.0")));
        CPPUNIT_ASSERT_EQUAL(std::string("ratelimit.store@1"), m.provides[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("ratelimit-reset"), m.commands[0].name);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), m.handlers.size());
        CPPUNIT_ASSERT(m.handlers[0].usableAsMiddleware() && !m.handlers[0].usableAsHandler());
        CPPUNIT_ASSERT(m.handlers[1].usableAsHandler() && !m.handlers[1].usableAsMiddleware());
        CPPUNIT_ASSERT(!m.handlers[0].config.validate(Poco::Dynamic::Var(Poco::JSON::Object::Ptr(new Poco::JSON::Object)), "c").size());
    }

    void testErrorsNameTheKeyAndTheForm() {
        CPPUNIT_ASSERT_EQUAL(std::string("keel_x.so: manifest: missing \"name\": expected a plugin name such as \"rate-limit\" ([a-z][a-z0-9-]*)"),
                             errorOf(R"({"version": "1.0.0"})"));
        CPPUNIT_ASSERT(errorOf(R"({"name": "Rate_Limit", "version": "1.0.0", "sdk": "*", "description": "x"})")
                           .find("name: \"Rate_Limit\" is not a plugin name") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "requries": {}})").find("unknown key \"requries\" (did you mean \"requires\"?)") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "requires": {"http": "^^1"}})").find("requires.http: invalid range \"^^1\"") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "requires": ["http"]})").find("requires: expected an object of plugin name -> version range") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "transport": "yes"})").find("transport: expected true or false, found yes") != std::string::npos);
        CPPUNIT_ASSERT(Manifest::parse("{" + kBase + R"(, "transport": true})", "x.so").transport);
        CPPUNIT_ASSERT(!Manifest::parse("{" + kBase + "}", "x.so").transport);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "provides": ["hasher"]})").find("expected name@major such as \"auth.hasher@1\"") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "config": {"type": "strnig"}})").find("config.type: unknown type \"strnig\"") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "config": {"propertys": {}}})").find("unknown schema keyword \"propertys\" (did you mean \"properties\"?)") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "requires": {"rate-limit": "*"}})").find("cannot require itself") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "handlers": [{"name": "x", "kind": "filter", "description": "d"}]})").find("handlers[0]: kind: expected \"handler\", \"middleware\" or \"both\", found \"filter\"") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{" + kBase + R"(, "handlers": [{"name": "x", "description": "d"}, {"name": "x", "description": "d"}]})").find("\"x\" is listed twice") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("[1, 2]").find("expected a JSON object, found an array") != std::string::npos);
        CPPUNIT_ASSERT(errorOf("{\"name\": ").find("invalid JSON") != std::string::npos);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ManifestTest);
