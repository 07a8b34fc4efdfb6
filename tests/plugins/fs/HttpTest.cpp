// keel_fs's HTTP helpers: ETags, dates, preconditions, ranges, Accept-Encoding, escaping.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "Http.hpp"

using namespace keel_fs;

class HttpTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(HttpTest);
    CPPUNIT_TEST(testETag);
    CPPUNIT_TEST(testDates);
    CPPUNIT_TEST(testETagLists);
    CPPUNIT_TEST(testPreconditions);
    CPPUNIT_TEST(testRanges);
    CPPUNIT_TEST(testIfRange);
    CPPUNIT_TEST(testAcceptEncoding);
    CPPUNIT_TEST(testEscaping);
    CPPUNIT_TEST_SUITE_END();

public:
    void testETag() {
        struct stat st {};
        st.st_size = 12;
        st.st_mtim.tv_sec = 1;
        st.st_mtim.tv_nsec = 5;
        st.st_ino = 255;
        CPPUNIT_ASSERT_EQUAL(std::string("\"c-3b9aca05-ff\""), makeETag(st));
        CPPUNIT_ASSERT_EQUAL(std::string("\"c-3b9aca05-ff-br\""), makeETag(st, "br"));
        struct stat other = st;
        other.st_mtim.tv_nsec = 6; // a sub-second change is a new tag
        CPPUNIT_ASSERT(makeETag(st) != makeETag(other));
    }

    void testDates() {
        CPPUNIT_ASSERT_EQUAL(std::string("Sun, 06 Nov 1994 08:49:37 GMT"), httpDate(784111777));
        CPPUNIT_ASSERT_EQUAL(std::time_t(784111777),
                             parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT").value());
        CPPUNIT_ASSERT_EQUAL(std::time_t(784111777),
                             parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT").value());
        CPPUNIT_ASSERT_EQUAL(std::time_t(784111777),
                             parseHttpDate("Sun Nov  6 08:49:37 1994").value());
        for (const char* bad :
             {"", "yesterday", "Sun, 06 Nov 1994 08:49:37 PST", "Sun, 32 Nov 1994 08:49:37 GMT",
              "Sun, 06 Nov 1994 08:49:37 GMT trailing", "Sun, 06 Foo 1994 08:49:37 GMT"})
            CPPUNIT_ASSERT_MESSAGE(bad, !parseHttpDate(bad).has_value());
    }

    void testETagLists() {
        CPPUNIT_ASSERT(etagListMatches("\"a\"", "\"a\"", true));
        CPPUNIT_ASSERT(etagListMatches("\"x\", \"a\"", "\"a\"", true));
        CPPUNIT_ASSERT(etagListMatches("W/\"a\"", "\"a\"", true));
        CPPUNIT_ASSERT(!etagListMatches("W/\"a\"", "\"a\"", false));
        CPPUNIT_ASSERT(!etagListMatches("\"a\"", "W/\"a\"", false));
        CPPUNIT_ASSERT(etagListMatches(" * ", "\"a\"", false));
        CPPUNIT_ASSERT(etagListMatches("*", "", true));
        CPPUNIT_ASSERT(!etagListMatches("\"a\"", "", true));
        CPPUNIT_ASSERT(!etagListMatches("\"ab\"", "\"a\"", true));
        CPPUNIT_ASSERT(!etagListMatches("a", "\"a\"", true));
        CPPUNIT_ASSERT(!etagListMatches("\"a", "\"a\"", true));
        CPPUNIT_ASSERT(etagListMatches("garbage, \"a\"", "\"a\"", true));
    }

    void testPreconditions() {
        const std::string etag = "\"e\"";
        const std::time_t mtime = 784111777;
        const std::string same = "Sun, 06 Nov 1994 08:49:37 GMT";
        const std::string before = "Sat, 05 Nov 1994 08:49:37 GMT";
        auto eval = [&](std::string_view im, std::string_view ius, std::string_view inm,
                        std::string_view ims) {
            return evaluatePreconditions(im, ius, inm, ims, etag, mtime);
        };
        CPPUNIT_ASSERT(eval("", "", "", "") == Precondition::none);
        CPPUNIT_ASSERT(eval("", "", etag, "") == Precondition::notModified);
        CPPUNIT_ASSERT(eval("", "", "\"x\"", "") == Precondition::none);
        CPPUNIT_ASSERT(eval("", "", "", same) == Precondition::notModified);
        CPPUNIT_ASSERT(eval("", "", "", before) == Precondition::none);
        CPPUNIT_ASSERT(eval("", "", "\"x\"", same) == Precondition::none); // If-None-Match wins
        CPPUNIT_ASSERT(eval("", "", etag, before) == Precondition::notModified);
        CPPUNIT_ASSERT(eval("\"x\"", "", "", "") == Precondition::failed);
        CPPUNIT_ASSERT(eval(etag, "", "", "") == Precondition::none);
        CPPUNIT_ASSERT(eval("", before, "", "") == Precondition::failed);
        CPPUNIT_ASSERT(eval("", same, "", "") == Precondition::none);
        CPPUNIT_ASSERT(eval(etag, before, "", "") == Precondition::none); // If-Match wins
    }

    void testRanges() {
        auto check = [](const char* header, std::uint64_t size, ByteRange::Kind kind,
                        std::uint64_t offset = 0, std::uint64_t length = 0) {
            const ByteRange r = parseRange(header, size);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(header, static_cast<int>(kind), static_cast<int>(r.kind));
            if (kind == ByteRange::single) {
                CPPUNIT_ASSERT_EQUAL_MESSAGE(header, offset, r.offset);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(header, length, r.length);
            }
        };
        check("bytes=0-4", 12, ByteRange::single, 0, 5);
        check("bytes=0-0", 12, ByteRange::single, 0, 1);
        check("bytes=11-", 12, ByteRange::single, 11, 1);
        check("bytes=5-100", 12, ByteRange::single, 5, 7);
        check("bytes=-3", 12, ByteRange::single, 9, 3);
        check("bytes=-100", 12, ByteRange::single, 0, 12);
        check("BYTES = 1-2", 12, ByteRange::none);
        check("Bytes=1-2", 12, ByteRange::single, 1, 2);
        check("bytes=12-", 12, ByteRange::unsatisfiable);
        check("bytes=100-200", 12, ByteRange::unsatisfiable);
        check("bytes=-0", 12, ByteRange::unsatisfiable);
        check("bytes=0-", 0, ByteRange::unsatisfiable);
        check("bytes=-5", 0, ByteRange::unsatisfiable);
        check("bytes=0-1,5-6", 12, ByteRange::none);
        check("bytes=5-2", 12, ByteRange::none);
        check("bytes=a-b", 12, ByteRange::none);
        check("bytes=1", 12, ByteRange::none);
        check("bytes=-", 12, ByteRange::none);
        check("items=0-1", 12, ByteRange::none);
        check("bytes=99999999999999999999999-", 12, ByteRange::none);
        CPPUNIT_ASSERT_EQUAL(std::string("bytes 0-4/12"),
                             contentRange(parseRange("bytes=0-4", 12), 12));
        CPPUNIT_ASSERT_EQUAL(std::string("bytes */12"),
                             contentRange(parseRange("bytes=20-", 12), 12));
    }

    void testIfRange() {
        const std::time_t mtime = 784111777;
        CPPUNIT_ASSERT(ifRangeAllows("", "\"e\"", mtime));
        CPPUNIT_ASSERT(ifRangeAllows("\"e\"", "\"e\"", mtime));
        CPPUNIT_ASSERT(!ifRangeAllows("\"f\"", "\"e\"", mtime));
        CPPUNIT_ASSERT(!ifRangeAllows("W/\"e\"", "\"e\"", mtime));
        CPPUNIT_ASSERT(ifRangeAllows("Sun, 06 Nov 1994 08:49:37 GMT", "\"e\"", mtime));
        CPPUNIT_ASSERT(!ifRangeAllows("Sun, 06 Nov 1994 08:49:38 GMT", "\"e\"", mtime));
        CPPUNIT_ASSERT(!ifRangeAllows("garbage", "\"e\"", mtime));
    }

    void testAcceptEncoding() {
        auto ae = parseAcceptEncoding("gzip, deflate, br");
        CPPUNIT_ASSERT(ae.br == 1 && ae.gzip == 1);
        ae = parseAcceptEncoding("br;q=0, gzip;q=0.8");
        CPPUNIT_ASSERT(ae.br == 0 && ae.gzip == 0.8);
        ae = parseAcceptEncoding("*");
        CPPUNIT_ASSERT(ae.br == 1 && ae.gzip == 1);
        ae = parseAcceptEncoding("*;q=0.5, br;q=0");
        CPPUNIT_ASSERT(ae.br == 0 && ae.gzip == 0.5);
        ae = parseAcceptEncoding("x-gzip; q=0.3");
        CPPUNIT_ASSERT(ae.br == 0 && ae.gzip == 0.3);
        ae = parseAcceptEncoding("BR;Q=1");
        CPPUNIT_ASSERT(ae.br == 1);
        ae = parseAcceptEncoding("br;q=2, gzip;q=abc"); // invalid q-values refuse
        CPPUNIT_ASSERT(ae.br == 0 && ae.gzip == 0);
        ae = parseAcceptEncoding("identity");
        CPPUNIT_ASSERT(ae.br == 0 && ae.gzip == 0);
        ae = parseAcceptEncoding("");
        CPPUNIT_ASSERT(ae.br == 0 && ae.gzip == 0);
    }

    void testEscaping() {
        CPPUNIT_ASSERT_EQUAL(std::string("&lt;a href=&quot;x&quot;&gt;&amp;&#39;"),
                             escapeHtml("<a href=\"x\">&'"));
        CPPUNIT_ASSERT_EQUAL(std::string("a%20b/%3Cc%3E%25%3F%23%22%3A-_.~"),
                             encodePath("a b/<c>%?#\":-_.~"));
        CPPUNIT_ASSERT_EQUAL(std::string("caf%C3%A9"), encodePath("caf\xc3\xa9"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(HttpTest);
