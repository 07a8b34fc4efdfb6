#include <cppunit/extensions/HelperMacros.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "AccessLog.hpp"

using namespace keel::http;

namespace {

AccessEntry entry() {
    AccessEntry e;
    e.remote = "10.0.0.7";
    e.method = "GET";
    e.target = "/a?b=1";
    e.status = 200;
    e.bytes = 12;
    e.referer = "";
    e.userAgent = "curl/7.88 \"quoted\"\x01";
    e.requestId = "abc";
    e.site = "demo";
    e.durationMs = 3;
    return e;
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

class AccessLogTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(AccessLogTest);
    CPPUNIT_TEST(testCombined);
    CPPUNIT_TEST(testJson);
    CPPUNIT_TEST(testFileBufferedUntilFlush);
    CPPUNIT_TEST(testUnwritablePathIsAClearError);
    CPPUNIT_TEST_SUITE_END();

public:
    void testCombined() {
        Buffer out;
        AccessLog::formatCombined(out, entry(), "06/Nov/1994:08:49:37 +0000");
        CPPUNIT_ASSERT_EQUAL(
            std::string(
                "10.0.0.7 - - [06/Nov/1994:08:49:37 +0000] \"GET /a?b=1 HTTP/1.1\" 200 12 \"-\" "
                "\"curl/7.88 \\x22quoted\\x22\\x01\" \"abc\"\n"),
            std::string(out.view()));
    }

    void testJson() {
        Buffer out;
        AccessLog::formatJson(out, entry(), "1994-11-06T08:49:37Z");
        CPPUNIT_ASSERT_EQUAL(
            std::string(
                R"({"time":"1994-11-06T08:49:37Z","site":"demo","remote":"10.0.0.7","method":"GET",)"
                R"("target":"/a?b=1","protocol":"HTTP/1.1","status":200,"bytes":12,"duration_ms":3,)"
                R"("referer":"","user_agent":"curl/7.88 \"quoted\"\u0001","request_id":"abc"})"
                "\n"),
            std::string(out.view()));
    }

    void testFileBufferedUntilFlush() {
        char dir[] = "/tmp/keel-http-log-XXXXXX";
        CPPUNIT_ASSERT(::mkdtemp(dir) != nullptr);
        const std::string path = std::string(dir) + "/access.log";
        {
            AccessLog log(AccessLogConfig{path, AccessLogConfig::Format::combined});
            log.write(entry(), "t");
            CPPUNIT_ASSERT(log.pending());
            CPPUNIT_ASSERT_EQUAL(std::string(), read(path)); // buffered, not yet written
            CPPUNIT_ASSERT(log.flush());
            CPPUNIT_ASSERT(read(path).find("\"GET /a?b=1 HTTP/1.1\" 200 12") != std::string::npos);
            log.write(entry(), "t");
        } // the destructor flushes the rest
        const std::string text = read(path);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2),
                             static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')));
        std::filesystem::remove_all(dir);
    }

    void testUnwritablePathIsAClearError() {
        try {
            AccessLog log(
                AccessLogConfig{"/nonexistent-dir/access.log", AccessLogConfig::Format::json});
            CPPUNIT_FAIL("expected ConfigError");
        } catch (const ConfigError& e) {
            CPPUNIT_ASSERT(std::string(e.what()).find(
                               "cannot open \"/nonexistent-dir/access.log\"") != std::string::npos);
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(AccessLogTest);
