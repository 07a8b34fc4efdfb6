// keel_fs::MimeTypes: the built-in table, /etc/mime.types over it, charsets for text types.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "Mime.hpp"

class MimeTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(MimeTest);
    CPPUNIT_TEST(testBuiltIn);
    CPPUNIT_TEST(testParse);
    CPPUNIT_TEST(testSystemFile);
    CPPUNIT_TEST(testMissingFile);
    CPPUNIT_TEST(testText);
    CPPUNIT_TEST_SUITE_END();

public:
    void testBuiltIn() {
        const keel_fs::MimeTypes m;
        CPPUNIT_ASSERT_EQUAL(std::string("text/html; charset=utf-8"), m.forName("index.html"));
        CPPUNIT_ASSERT_EQUAL(std::string("text/css; charset=utf-8"), m.forName("a/b/site.CSS"));
        CPPUNIT_ASSERT_EQUAL(std::string("text/javascript; charset=utf-8"), m.forName("app.mjs"));
        CPPUNIT_ASSERT_EQUAL(std::string("application/json; charset=utf-8"), m.forName("x.json"));
        CPPUNIT_ASSERT_EQUAL(std::string("image/svg+xml; charset=utf-8"), m.forName("logo.svg"));
        CPPUNIT_ASSERT_EQUAL(std::string("image/png"), m.forName("p.png"));
        CPPUNIT_ASSERT_EQUAL(std::string("font/woff2"), m.forName("f.woff2"));
        CPPUNIT_ASSERT_EQUAL(std::string("application/wasm"), m.forName("m.wasm"));
        for (const char* name : {"noext", "dir.d/noext", "trailing.", "x.nosuchext", ".hidden"})
            CPPUNIT_ASSERT_EQUAL_MESSAGE(name, std::string("application/octet-stream"),
                                         m.forName(name));
    }

    void testParse() {
        keel_fs::MimeTypes m;
        m.parse("# comment\n"
                "application/x-thing\tthing  THG # trailing comment\n"
                "text/x-custom custom\r\n"
                "application/no-extensions\n"
                "\n"
                "   \n"
                "notatype ext\n"
                "application/javascript js\n");
        CPPUNIT_ASSERT_EQUAL(std::string("application/x-thing"), m.forName("a.thing"));
        CPPUNIT_ASSERT_EQUAL(std::string("application/x-thing"), m.forName("a.thg"));
        CPPUNIT_ASSERT_EQUAL(std::string("text/x-custom; charset=utf-8"), m.forName("a.custom"));
        CPPUNIT_ASSERT_EQUAL(std::string("application/octet-stream"), m.forName("a.ext"));
        // JavaScript stays text/javascript (RFC 9239) whatever a table says.
        CPPUNIT_ASSERT_EQUAL(std::string("text/javascript; charset=utf-8"), m.forName("a.js"));
    }

    void testSystemFile() {
        std::string warning;
        const auto m = keel_fs::MimeTypes::load("/etc/mime.types", &warning);
        CPPUNIT_ASSERT_MESSAGE(warning, warning.empty());
        CPPUNIT_ASSERT(m.size() > 500); // Debian's media-types lists well over a thousand
        CPPUNIT_ASSERT_EQUAL(std::string("text/plain; charset=utf-8"), m.forName("a.txt"));
        CPPUNIT_ASSERT_EQUAL(std::string("application/pdf"), m.forName("a.pdf"));
        CPPUNIT_ASSERT_EQUAL(std::string("image/jpeg"), m.forName("a.JPG"));
    }

    void testMissingFile() {
        std::string warning;
        const auto m = keel_fs::MimeTypes::load("/nonexistent/mime.types", &warning);
        CPPUNIT_ASSERT_MESSAGE(warning,
                               warning.find("/nonexistent/mime.types") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(warning, warning.find("media-types") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("text/css; charset=utf-8"), m.forName("a.css"));
    }

    void testText() {
        using keel_fs::MimeTypes;
        CPPUNIT_ASSERT(MimeTypes::isText("text/plain"));
        CPPUNIT_ASSERT(MimeTypes::isText("application/json"));
        CPPUNIT_ASSERT(MimeTypes::isText("application/atom+xml"));
        CPPUNIT_ASSERT(MimeTypes::isText("application/ld+json"));
        CPPUNIT_ASSERT(MimeTypes::isText("image/svg+xml"));
        CPPUNIT_ASSERT(!MimeTypes::isText("image/png"));
        CPPUNIT_ASSERT(!MimeTypes::isText("application/octet-stream"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(MimeTest);
