#include <cppunit/extensions/HelperMacros.h>

#include "ConfigSchema.hpp"
#include "Json.hpp"

using namespace keel::kernel;

namespace {

std::vector<std::string> check(const std::string& schema, const std::string& config) {
    return ConfigSchema::parse(parseJson(schema, "schema"), "schema").validate(parseJson(config, "config"), "routes[2].config");
}

const std::string kSchema = R"({
    "type": "object", "required": ["root"],
    "properties": {
        "root": {"type": "string", "description": "a directory"},
        "index": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "max_age": {"type": ["integer", "string"]},
        "listing": {"type": "boolean"},
        "ratio": {"type": "number", "minimum": 0, "maximum": 1},
        "nested": {"type": "object", "additionalProperties": true}
    }
})";

} // namespace

class ConfigSchemaTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ConfigSchemaTest);
    CPPUNIT_TEST(testValidConfig);
    CPPUNIT_TEST(testEveryErrorAtOnceWithPaths);
    CPPUNIT_TEST(testNearest);
    CPPUNIT_TEST_SUITE_END();

public:
    void testValidConfig() {
        CPPUNIT_ASSERT(check(kSchema, R"({"root": "public", "index": ["index.html"], "max_age": "1d", "listing": false,
                                          "ratio": 0.5, "nested": {"anything": [1]}})").empty());
        CPPUNIT_ASSERT(check(kSchema, R"({"root": "public", "max_age": 3600})").empty());
    }

    void testEveryErrorAtOnceWithPaths() {
        auto errors = check(kSchema, R"({"root": 5, "index": ["", 3], "listing": "yes", "ratio": 2, "roots": 1})");
        const std::vector<std::string> expected{
            "routes[2].config.index[0]: expected at least 1 characters",
            "routes[2].config.index[1]: expected a string, found an integer",
            "routes[2].config.listing: expected a boolean, found a string",
            "routes[2].config.ratio: expected a value <= 1, found 2",
            "routes[2].config.root: expected a string (a directory), found an integer",
            "routes[2].config: unknown key \"roots\" (did you mean \"root\"?); accepted keys: index, listing, max_age, nested, ratio, root",
        };
        std::sort(errors.begin(), errors.end());
        CPPUNIT_ASSERT_EQUAL(expected.size(), errors.size());
        for (std::size_t i = 0; i < expected.size(); ++i) CPPUNIT_ASSERT_EQUAL(expected[i], errors[i]);
        auto missing = check(kSchema, R"({"max_age": true})");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), missing.size());
    }

    void testNearest() {
        CPPUNIT_ASSERT_EQUAL(std::string("middleware"), nearest("middlware", {"routes", "middleware", "listeners"}));
        CPPUNIT_ASSERT_EQUAL(std::string(), nearest("zzzzzz", {"routes", "middleware"}));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigSchemaTest);
