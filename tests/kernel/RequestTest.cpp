// The request's path and query decoding (kernel/src/Request.cpp): what every route match
// starts from. A path with an invalid escape or an encoded NUL is refused (400).
#include <cppunit/extensions/HelperMacros.h>

#include "Request.hpp"

using keel::kernel::decodePath;
using keel::kernel::decodeQueryComponent;

class RequestTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RequestTest);
    CPPUNIT_TEST(testPlainPathsAreCopied);
    CPPUNIT_TEST(testEscapesAreDecoded);
    CPPUNIT_TEST(testBadEscapesAndNulAreRefused);
    CPPUNIT_TEST(testQueryComponents);
    CPPUNIT_TEST_SUITE_END();

public:
    void testPlainPathsAreCopied() {
        std::string out = "left over";
        CPPUNIT_ASSERT(decodePath("/plain", out));
        CPPUNIT_ASSERT_EQUAL(std::string("/plain"), out);
        CPPUNIT_ASSERT(decodePath("", out));
        CPPUNIT_ASSERT_EQUAL(std::string(""), out);
        // '+' is a plus in a path (only a query turns it into a space).
        CPPUNIT_ASSERT(decodePath("/a+b", out));
        CPPUNIT_ASSERT_EQUAL(std::string("/a+b"), out);
    }

    void testEscapesAreDecoded() {
        std::string out;
        CPPUNIT_ASSERT(decodePath("/a%20b/%2e%2E/%C3%A9", out));
        CPPUNIT_ASSERT_EQUAL(std::string("/a b/../\xC3\xA9"), out);
        // An encoded slash is decoded here; the router sees "/a/b".
        CPPUNIT_ASSERT(decodePath("/a%2Fb", out));
        CPPUNIT_ASSERT_EQUAL(std::string("/a/b"), out);
    }

    void testBadEscapesAndNulAreRefused() {
        std::string out;
        CPPUNIT_ASSERT(!decodePath("/a%00b", out));
        CPPUNIT_ASSERT(!decodePath("/a%", out));
        CPPUNIT_ASSERT(!decodePath("/a%4", out));
        CPPUNIT_ASSERT(!decodePath("/a%4g", out));
        CPPUNIT_ASSERT(!decodePath("/a%zz/b", out));
        CPPUNIT_ASSERT(!decodePath(std::string_view("/a\0b", 4), out));
        // A raw NUL is refused without any escape in the path too (the fast path checks it).
        CPPUNIT_ASSERT(!decodePath(std::string_view("/plain\0", 7), out));
    }

    void testQueryComponents() {
        CPPUNIT_ASSERT_EQUAL(std::string("a b c"), decodeQueryComponent("a+b%20c"));
        // Invalid escapes are kept as they are in a query.
        CPPUNIT_ASSERT_EQUAL(std::string("100%"), decodeQueryComponent("100%"));
        CPPUNIT_ASSERT_EQUAL(std::string("%zz"), decodeQueryComponent("%zz"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RequestTest);
