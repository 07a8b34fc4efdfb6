#include <cppunit/extensions/HelperMacros.h>

#include <cstdio>

#include "Response.hpp"

using namespace keel::http;

namespace {

std::string head(const HeadSpec& spec, std::vector<std::pair<std::string, std::string>> headers,
                 HeadResult* result = nullptr) {
    std::vector<keel_header> raw;
    for (const auto& [n, v] : headers)
        raw.push_back(keel_header{{n.data(), n.size()}, {v.data(), v.size()}});
    Buffer out;
    HeadResult r =
        formatHead(out, spec, raw.data(), raw.size(), "Date: Thu, 01 Jan 1970 00:00:00 GMT\r\n");
    if (result != nullptr) *result = r;
    return std::string(out.view());
}

} // namespace

class ResponseTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ResponseTest);
    CPPUNIT_TEST(testKnownLength);
    CPPUNIT_TEST(testStreamedIsChunkedOn11AndCloseDelimitedOn10);
    CPPUNIT_TEST(testNoBodyStatusesAndHead);
    CPPUNIT_TEST(testFramingHeadersAreOurs);
    CPPUNIT_TEST(testUnsafeHeadersAreDropped);
    CPPUNIT_TEST(testRequestIdEcho);
    CPPUNIT_TEST(testErrorResponse);
    CPPUNIT_TEST(testChunkHeader);
    CPPUNIT_TEST(testClock);
    CPPUNIT_TEST(testTokens);
    CPPUNIT_TEST(testFieldValueEveryByteEveryPlace);
    CPPUNIT_TEST(testAllInEveryByteEveryPlace);
    CPPUNIT_TEST(testEqualsIgnoreCase);
    CPPUNIT_TEST(testCountUpHex);
    CPPUNIT_TEST(testJsonString);
    CPPUNIT_TEST_SUITE_END();

public:
    void testKnownLength() {
        HeadSpec spec;
        spec.contentLength = 12;
        HeadResult r;
        const std::string text = head(spec, {{"Content-Type", "text/plain"}}, &r);
        CPPUNIT_ASSERT_EQUAL(
            std::string("HTTP/1.1 200 OK\r\nDate: Thu, 01 Jan 1970 00:00:00 GMT\r\n"
                        "Content-Type: text/plain\r\nContent-Length: 12\r\n\r\n"),
            text);
        CPPUNIT_ASSERT(!r.chunked);
        CPPUNIT_ASSERT(!r.close);
        CPPUNIT_ASSERT(r.bodyAllowed);
    }

    void testStreamedIsChunkedOn11AndCloseDelimitedOn10() {
        HeadSpec spec;
        spec.contentLength = -1;
        HeadResult r;
        CPPUNIT_ASSERT(head(spec, {}, &r).find("Transfer-Encoding: chunked\r\n") !=
                       std::string::npos);
        CPPUNIT_ASSERT(r.chunked);
        spec.versionMinor = 0;
        const std::string text = head(spec, {}, &r);
        CPPUNIT_ASSERT(text.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
        CPPUNIT_ASSERT(text.find("Transfer-Encoding") == std::string::npos);
        CPPUNIT_ASSERT(text.find("Connection: close\r\n") != std::string::npos);
        CPPUNIT_ASSERT(r.close);
        // A 1.0 client that asked for keep-alive with a known length keeps it, and is told.
        spec.contentLength = 3;
        CPPUNIT_ASSERT(head(spec, {}, &r).find("Connection: keep-alive\r\n") != std::string::npos);
        CPPUNIT_ASSERT(!r.close);
    }

    void testNoBodyStatusesAndHead() {
        HeadSpec spec;
        spec.status = 204;
        spec.contentLength = 0;
        HeadResult r;
        std::string text = head(spec, {}, &r);
        CPPUNIT_ASSERT(text.find("Content-Length") == std::string::npos);
        CPPUNIT_ASSERT(!r.bodyAllowed);
        spec.status = 304;
        spec.contentLength = -1;
        text = head(spec, {}, &r);
        CPPUNIT_ASSERT(text.find("Transfer-Encoding") == std::string::npos);
        CPPUNIT_ASSERT(!r.chunked);
        // HEAD: the same headers GET would have, no body.
        spec.status = 200;
        spec.head = true;
        spec.contentLength = 12;
        text = head(spec, {}, &r);
        CPPUNIT_ASSERT(text.find("Content-Length: 12\r\n") != std::string::npos);
        CPPUNIT_ASSERT(!r.bodyAllowed);
    }

    void testFramingHeadersAreOurs() {
        HeadSpec spec;
        spec.contentLength = 2;
        HeadResult r;
        const std::string text = head(spec,
                                      {{"content-length", "99"},
                                       {"Transfer-Encoding", "gzip"},
                                       {"Connection", "Close"},
                                       {"Keep-Alive", "timeout=5"},
                                       {"X-A", "1"}},
                                      &r);
        CPPUNIT_ASSERT(text.find("99") == std::string::npos);
        CPPUNIT_ASSERT(text.find("gzip") == std::string::npos);
        CPPUNIT_ASSERT(text.find("timeout=5") == std::string::npos);
        CPPUNIT_ASSERT(text.find("Content-Length: 2\r\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find("Connection: close\r\n") != std::string::npos);
        CPPUNIT_ASSERT(text.find("X-A: 1\r\n") != std::string::npos);
        CPPUNIT_ASSERT(r.close); // the pipeline's "Connection: close" is obeyed
        // A Date the pipeline set replaces ours.
        CPPUNIT_ASSERT(head(spec, {{"Date", "x"}}).find("1970") == std::string::npos);
    }

    void testUnsafeHeadersAreDropped() {
        HeadSpec spec;
        spec.contentLength = 0;
        HeadResult r;
        const std::string text = head(spec,
                                      {{"X-Split", "a\r\nSet-Cookie: evil=1"},
                                       {"Bad Name", "v"},
                                       {"X-Nul", std::string("a\0b", 3)},
                                       {"", "empty"},
                                       {"X-Ok", "caf\xc3\xa9\tok"}},
                                      &r);
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), r.dropped);
        CPPUNIT_ASSERT(text.find("evil") == std::string::npos);
        CPPUNIT_ASSERT(text.find("Bad Name") == std::string::npos);
        CPPUNIT_ASSERT(text.find("X-Ok: caf\xc3\xa9\tok\r\n") != std::string::npos);
    }

    void testRequestIdEcho() {
        HeadSpec spec;
        spec.contentLength = 0;
        spec.requestId = "abc123";
        CPPUNIT_ASSERT(head(spec, {}).find("X-Request-Id: abc123\r\n") != std::string::npos);
        // One set by the pipeline wins; ours is not added twice.
        const std::string text = head(spec, {{"X-Request-Id", "mine"}});
        CPPUNIT_ASSERT(text.find("abc123") == std::string::npos);
        CPPUNIT_ASSERT(text.find("X-Request-Id: mine\r\n") != std::string::npos);
    }

    void testErrorResponse() {
        Buffer out;
        formatError(out, 431, "REQUEST_HEADER_FIELDS_TOO_LARGE", "too big", "Date: x\r\n");
        const std::string text(out.view());
        const std::string body =
            R"({"success":false,"code":"REQUEST_HEADER_FIELDS_TOO_LARGE","message":"too big"})";
        CPPUNIT_ASSERT(text.rfind("HTTP/1.1 431 Request Header Fields Too Large\r\n", 0) == 0);
        CPPUNIT_ASSERT(text.find("Content-Length: " + std::to_string(body.size()) + "\r\n") !=
                       std::string::npos);
        CPPUNIT_ASSERT(text.find("Connection: close\r\n") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(body, text.substr(text.find("\r\n\r\n") + 4));
    }

    void testChunkHeader() {
        Buffer out;
        formatChunkHeader(out, 0x1a2b);
        formatChunkHeader(out, 1);
        CPPUNIT_ASSERT_EQUAL(std::string("1a2b\r\n1\r\n"), std::string(out.view()));
    }

    void testClock() {
        Clock clock;
        clock.set(784111777, 500); // RFC 9110's example, until the loop's clock says 500 ms
        CPPUNIT_ASSERT_EQUAL(std::string("Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n"),
                             std::string(clock.dateLine(0)));
        CPPUNIT_ASSERT_EQUAL(std::string("06/Nov/1994:08:49:37 +0000"),
                             std::string(clock.logTime(0)));
        CPPUNIT_ASSERT_EQUAL(std::string("1994-11-06T08:49:37Z"), std::string(clock.isoTime(0)));
        // Asked with a later loop time, it reads the wall clock again (a 2026-ish year).
        CPPUNIT_ASSERT(clock.dateLine(1000000).find("1994") == std::string_view::npos);
    }

    void testTokens() {
        CPPUNIT_ASSERT(isToken("X-Custom_1.a!#$%&'*+^`|~"));
        CPPUNIT_ASSERT(!isToken(""));
        CPPUNIT_ASSERT(!isToken("a b"));
        CPPUNIT_ASSERT(!isToken("a:b"));
        CPPUNIT_ASSERT(isFieldValue("a b\tc\x80\xff"));
        CPPUNIT_ASSERT(!isFieldValue("a\rb"));
        CPPUNIT_ASSERT(!isFieldValue("a\x7f"));
        CPPUNIT_ASSERT(hasToken("keep-alive, Close", "close"));
        CPPUNIT_ASSERT(!hasToken("closed", "close"));
        CPPUNIT_ASSERT_EQUAL(std::string("Misdirected Request"), std::string(reasonPhrase(421)));
        CPPUNIT_ASSERT_EQUAL(std::string("Unknown"), std::string(reasonPhrase(599)));
    }

    // isFieldValue reads eight bytes at a time: every byte value, at every place in a word
    // and in the tail, gets the answer of the RFC's character class.
    void testFieldValueEveryByteEveryPlace() {
        for (int c = 0; c < 256; ++c) {
            const bool valid = c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
            for (std::size_t at = 0; at < 19; ++at) {
                std::string value(19, 'v');
                value[at] = static_cast<char>(c);
                if (isFieldValue(value) != valid) {
                    CPPUNIT_FAIL("byte " + std::to_string(c) + " at " + std::to_string(at) + ": expected " +
                                 (valid ? "valid" : "invalid"));
                }
            }
        }
        // Bytes that borrow across the word's lanes in the arithmetic check.
        CPPUNIT_ASSERT(isFieldValue("\x80\x20\x80\x20\x80\x20\x80\x20\xff\x21"));
        CPPUNIT_ASSERT(!isFieldValue(std::string("\x80\x20\x00\x20\x80\x20\x80\x20", 8)));
        CPPUNIT_ASSERT(isFieldValue(""));
    }

    // allIn reads four bytes per step: every byte value at every place of strings of 1 to 9
    // bytes (whole steps and tails) gets the table's answer, for each table.
    void testAllInEveryByteEveryPlace() {
        const std::pair<const char*, const bool (*)[256]> tables[] = {
            {"token", &kChars.token}, {"value", &kChars.value}, {"host", &kChars.host}};
        for (const auto& [name, table] : tables) {
            for (std::size_t length = 1; length <= 9; ++length) {
                for (int c = 0; c < 256; ++c) {
                    for (std::size_t at = 0; at < length; ++at) {
                        std::string s(length, 'a');
                        s[at] = static_cast<char>(c);
                        if (allIn(*table, s) != (*table)[c])
                            CPPUNIT_FAIL(std::string(name) + ": byte " + std::to_string(c) + " at " +
                                         std::to_string(at) + " of " + std::to_string(length));
                    }
                }
            }
            CPPUNIT_ASSERT(allIn(*table, ""));
        }
        CPPUNIT_ASSERT(isToken("Content-Type"));
        CPPUNIT_ASSERT(!isToken("Content-Type:"));
    }

    void testEqualsIgnoreCase() {
        CPPUNIT_ASSERT(equalsIgnoreCase("Content-Length", "content-LENGTH"));
        CPPUNIT_ASSERT(!equalsIgnoreCase("Content-Length", "Content-Lengt"));
        CPPUNIT_ASSERT(!equalsIgnoreCase("a", "b"));
        // Only ASCII letters fold: '@' (0x40) and '`' (0x60), '[' and '{' stay apart.
        CPPUNIT_ASSERT(!equalsIgnoreCase("@", "`"));
        CPPUNIT_ASSERT(!equalsIgnoreCase("[", "{"));
        CPPUNIT_ASSERT(!equalsIgnoreCase("\xc3", "\xe3"));
        CPPUNIT_ASSERT(equalsIgnoreCase("", ""));
    }

    void testCountUpHex() {
        auto next = [](std::string digits) {
            countUpHex(digits.data(), digits.size());
            return digits;
        };
        CPPUNIT_ASSERT_EQUAL(std::string("0001"), next("0000"));
        CPPUNIT_ASSERT_EQUAL(std::string("000a"), next("0009"));
        CPPUNIT_ASSERT_EQUAL(std::string("0010"), next("000f"));
        CPPUNIT_ASSERT_EQUAL(std::string("0a00"), next("09ff"));
        CPPUNIT_ASSERT_EQUAL(std::string("0000"), next("ffff"));
        // 4096 steps from zero count every value once, in order, as the number does.
        std::string digits = "000";
        for (unsigned n = 1; n < 4096; ++n) {
            digits = next(digits);
            char expected[4];
            std::snprintf(expected, sizeof expected, "%03x", n);
            CPPUNIT_ASSERT_EQUAL(std::string(expected), digits);
        }
    }

    void testJsonString() {
        std::string out;
        appendJsonString(out, "a\"b\\c\n\x01\xff");
        CPPUNIT_ASSERT_EQUAL(std::string(R"("a\"b\\c\u000a\u0001\u00ff")"), out);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ResponseTest);
