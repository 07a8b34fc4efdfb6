// Unit tests for keel::quoteJson / keel::appendJsonString (sdk/include/keel/Json.hpp).
#include <keel/Json.hpp>

#include <cppunit/extensions/HelperMacros.h>

#include <string>

class JsonTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(JsonTest);
    CPPUNIT_TEST(testEscapes);
    CPPUNIT_TEST(testAppendsAndKeepsUtf8);
    CPPUNIT_TEST_SUITE_END();

public:
    void testEscapes() {
        CPPUNIT_ASSERT_EQUAL(std::string("\"a\\\"b\\\\c\\n\\u0001\""), keel::quoteJson("a\"b\\c\n\x01"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\\r\\t\\u001f\\u007f\""), keel::quoteJson("\r\t\x1f\x7f"));
        CPPUNIT_ASSERT_EQUAL(std::string("\"\""), keel::quoteJson(""));
    }

    void testAppendsAndKeepsUtf8() {
        std::string out = "{\"name\":";
        keel::appendJsonString(out, "caf\xc3\xa9");
        out += '}';
        CPPUNIT_ASSERT_EQUAL(std::string("{\"name\":\"caf\xc3\xa9\"}"), out);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(JsonTest);
