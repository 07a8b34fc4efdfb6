// The `static` handler through the real http plugin on real sockets: files, HEAD, MIME,
// validators and conditional requests, ranges, index files and redirects, listings,
// precompressed siblings, methods, fallthrough, large files by sendfile.
#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <string>

#include <keel/testing/TestClient.hpp>

#include "FsHarness.hpp"

using keel::test::fetch;
using keel::test::fsSite;
using keel::test::Reply;
using keel::test::SiteHarness;
using keel::test::staticRoute;
using keel::test::Tree;

namespace {

std::string bigContent(std::size_t size) {
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return s;
}

} // namespace

class StaticTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(StaticTest);
    CPPUNIT_TEST(testFile);
    CPPUNIT_TEST(testHead);
    CPPUNIT_TEST(testMimeTypes);
    CPPUNIT_TEST(testNotModified);
    CPPUNIT_TEST(testPreconditionFailed);
    CPPUNIT_TEST(testRanges);
    CPPUNIT_TEST(testRangesOfLargeFile);
    CPPUNIT_TEST(testLargeFile);
    CPPUNIT_TEST(testIndexAndRedirect);
    CPPUNIT_TEST(testOtherIndex);
    CPPUNIT_TEST(testListingHtml);
    CPPUNIT_TEST(testListingJson);
    CPPUNIT_TEST(testListingByAccept);
    CPPUNIT_TEST(testListingDotfilesAllowed);
    CPPUNIT_TEST(testListingOff);
    CPPUNIT_TEST(testPrecompressed);
    CPPUNIT_TEST(testPrecompressedOff);
    CPPUNIT_TEST(testCacheControlAndValidatorsOff);
    CPPUNIT_TEST(testMethodNotAllowed);
    CPPUNIT_TEST(testFallthroughMiddleware);
    CPPUNIT_TEST(testNoFallthroughMiddleware);
    CPPUNIT_TEST(testTestClient);
    CPPUNIT_TEST(testClientGoesAway);
    CPPUNIT_TEST(testReload);
    CPPUNIT_TEST(testEmptyFile);
    CPPUNIT_TEST(testBadConfig);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        tree_ = std::make_unique<Tree>();
        tree_->write("hello.txt", "Hello World!");
        tree_->write("style.css", "body{}");
        tree_->write("app.js", "console.log(1)");
        tree_->write("data.json", "{}");
        tree_->write("logo.svg", "<svg/>");
        tree_->write("pic.png", "\x89PNG");
        tree_->write("blob.unknownext", "?");
        tree_->write("noext", "?");
        tree_->write("index.html", "<h1>home</h1>");
        tree_->write("docs/index.html", "<h1>docs</h1>");
        tree_->write("docs/guide.txt", "guide");
        tree_->write("big.bin", bigContent(300 * 1024));
        tree_->write("files/<b>&\"x'.txt", "x");
        tree_->write("files/a b.txt", "ab");
        tree_->write("files/.hidden", "h");
        tree_->write("files/sub/c.txt", "c");
        tree_->write("empty.txt", "");
    }
    void tearDown() override { tree_.reset(); }

    void testFile() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        const Reply r = fetch(h, "/hello.txt");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("12"), r.header("Content-Length"));
        CPPUNIT_ASSERT_EQUAL(std::string("text/plain; charset=utf-8"), r.header("Content-Type"));
        CPPUNIT_ASSERT_EQUAL(std::string("bytes"), r.header("Accept-Ranges"));
        CPPUNIT_ASSERT(r.header("ETag").size() > 2 && r.header("ETag").front() == '"');
        CPPUNIT_ASSERT(r.header("Last-Modified").ends_with(" GMT"));
        CPPUNIT_ASSERT(!r.has("Vary"));
        CPPUNIT_ASSERT(!r.has("Cache-Control"));
        // The second answer (from the cache) is the same.
        const Reply again = fetch(h, "/hello.txt");
        CPPUNIT_ASSERT_EQUAL(200, again.status);
        CPPUNIT_ASSERT_EQUAL(r.body, again.body);
        CPPUNIT_ASSERT_EQUAL(r.header("ETag"), again.header("ETag"));
        CPPUNIT_ASSERT_EQUAL(r.header("Last-Modified"), again.header("Last-Modified"));
        CPPUNIT_ASSERT_EQUAL(404, fetch(h, "/missing.txt").status);
        CPPUNIT_ASSERT_EQUAL(std::string("application/json; charset=utf-8"),
                             fetch(h, "/missing.txt").header("Content-Type"));
        CPPUNIT_ASSERT_EQUAL(std::string("ab"), fetch(h, "/files/a%20b.txt").body);
    }

    void testHead() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        for (const char* path : {"/hello.txt", "/big.bin"}) {
            for (int round = 0; round < 2; ++round) { // a miss, then (small file) a hit
                const Reply r = fetch(h, path, "", "HEAD");
                CPPUNIT_ASSERT_EQUAL(200, r.status);
                CPPUNIT_ASSERT(r.body.empty());
                CPPUNIT_ASSERT_EQUAL(std::string(path) == "/hello.txt" ? std::string("12")
                                                                       : std::to_string(300 * 1024),
                                     r.header("Content-Length"));
                CPPUNIT_ASSERT(r.has("ETag"));
            }
        }
        // And the connection stays usable: nothing was sent after the head.
        keel::test::RawClient c(h, h.port());
        c.send(
            "HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n");
        const auto replies = c.replies(2, 5000, {true, false});
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), replies.size());
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), replies[1].body);
    }

    void testMimeTypes() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        const std::pair<const char*, const char*> cases[] = {
            {"/style.css", "text/css; charset=utf-8"},
            {"/app.js", "text/javascript; charset=utf-8"},
            {"/data.json", "application/json; charset=utf-8"},
            {"/logo.svg", "image/svg+xml; charset=utf-8"},
            {"/pic.png", "image/png"},
            {"/index.html", "text/html; charset=utf-8"},
            {"/blob.unknownext", "application/octet-stream"},
            {"/noext", "application/octet-stream"},
            {"/big.bin", "application/octet-stream"},
        };
        for (const auto& [path, type] : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(path, std::string(type),
                                         fetch(h, path).header("Content-Type"));
    }

    void testNotModified() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        for (const char* path : {"/hello.txt", "/big.bin"}) {
            const Reply first = fetch(h, path);
            const std::string etag = first.header("ETag");
            const std::string lastModified = first.header("Last-Modified");
            Reply r = fetch(h, path, "If-None-Match: " + etag + "\r\n");
            CPPUNIT_ASSERT_EQUAL_MESSAGE(path, 304, r.status);
            CPPUNIT_ASSERT(r.body.empty());
            CPPUNIT_ASSERT_EQUAL(etag, r.header("ETag"));
            CPPUNIT_ASSERT(!r.has("Content-Length") || r.header("Content-Length") == "0");
            // A list, and the weak form, match too (weak comparison).
            CPPUNIT_ASSERT_EQUAL(
                304, fetch(h, path, "If-None-Match: \"nope\", W/" + etag + "\r\n").status);
            CPPUNIT_ASSERT_EQUAL(304, fetch(h, path, "If-None-Match: *\r\n").status);
            CPPUNIT_ASSERT_EQUAL(200, fetch(h, path, "If-None-Match: \"other\"\r\n").status);
            // If-Modified-Since alone.
            CPPUNIT_ASSERT_EQUAL(
                304, fetch(h, path, "If-Modified-Since: " + lastModified + "\r\n").status);
            CPPUNIT_ASSERT_EQUAL(
                304, fetch(h, path, "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n").status);
            CPPUNIT_ASSERT_EQUAL(
                200, fetch(h, path, "If-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT\r\n").status);
            CPPUNIT_ASSERT_EQUAL(200, fetch(h, path, "If-Modified-Since: not a date\r\n").status);
            // If-None-Match wins over If-Modified-Since, both ways.
            r = fetch(h, path,
                      "If-None-Match: \"other\"\r\nIf-Modified-Since: " + lastModified + "\r\n");
            CPPUNIT_ASSERT_EQUAL(200, r.status);
            CPPUNIT_ASSERT_EQUAL(first.body, r.body);
            r = fetch(h, path,
                      "If-None-Match: " + etag +
                          "\r\nIf-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT\r\n");
            CPPUNIT_ASSERT_EQUAL(304, r.status);
        }
    }

    void testPreconditionFailed() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        const std::string etag = fetch(h, "/hello.txt").header("ETag");
        CPPUNIT_ASSERT_EQUAL(200, fetch(h, "/hello.txt", "If-Match: " + etag + "\r\n").status);
        const Reply r = fetch(h, "/hello.txt", "If-Match: \"other\"\r\n");
        CPPUNIT_ASSERT_EQUAL(412, r.status);
        CPPUNIT_ASSERT(r.body.find("\"PRECONDITION_FAILED\"") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(
            412, fetch(h, "/hello.txt", "If-Unmodified-Since: Thu, 01 Jan 1970 00:00:01 GMT\r\n")
                     .status);
    }

    void checkRanges(SiteHarness& h, const std::string& path, const std::string& content) {
        const std::string size = std::to_string(content.size());
        Reply r = fetch(h, path, "Range: bytes=0-4\r\n");
        CPPUNIT_ASSERT_EQUAL(206, r.status);
        CPPUNIT_ASSERT_EQUAL(content.substr(0, 5), r.body);
        CPPUNIT_ASSERT_EQUAL("bytes 0-4/" + size, r.header("Content-Range"));
        CPPUNIT_ASSERT_EQUAL(std::string("5"), r.header("Content-Length"));
        r = fetch(h, path, "Range: bytes=-3\r\n");
        CPPUNIT_ASSERT_EQUAL(206, r.status);
        CPPUNIT_ASSERT_EQUAL(content.substr(content.size() - 3), r.body);
        r = fetch(h, path, "Range: bytes=6-\r\n");
        CPPUNIT_ASSERT_EQUAL(206, r.status);
        CPPUNIT_ASSERT_EQUAL(content.substr(6), r.body);
        r = fetch(h, path, "Range: bytes=5-99999999\r\n");
        CPPUNIT_ASSERT_EQUAL(206, r.status);
        CPPUNIT_ASSERT_EQUAL(content.substr(5), r.body);
        // Unsatisfiable: 416 with the size.
        r = fetch(h, path, "Range: bytes=" + size + "-\r\n");
        CPPUNIT_ASSERT_EQUAL(416, r.status);
        CPPUNIT_ASSERT_EQUAL("bytes */" + size, r.header("Content-Range"));
        CPPUNIT_ASSERT(r.body.find("\"RANGE_NOT_SATISFIABLE\"") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(416, fetch(h, path, "Range: bytes=-0\r\n").status);
        // Several ranges, another unit, garbage: the whole file.
        for (const char* header : {"Range: bytes=0-1,3-4\r\n", "Range: items=0-1\r\n",
                                   "Range: bytes=5-2\r\n", "Range: bytes=x-y\r\n"}) {
            r = fetch(h, path, header);
            CPPUNIT_ASSERT_EQUAL_MESSAGE(header, 200, r.status);
            CPPUNIT_ASSERT(r.body == content);
        }
        // If-Range: the current ETag or date allows the range; anything else gets everything.
        const Reply full = fetch(h, path);
        r = fetch(h, path, "Range: bytes=0-4\r\nIf-Range: " + full.header("ETag") + "\r\n");
        CPPUNIT_ASSERT_EQUAL(206, r.status);
        r = fetch(h, path,
                  "Range: bytes=0-4\r\nIf-Range: " + full.header("Last-Modified") + "\r\n");
        CPPUNIT_ASSERT_EQUAL(206, r.status);
        r = fetch(h, path, "Range: bytes=0-4\r\nIf-Range: \"stale\"\r\n");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT(r.body == content);
        r = fetch(h, path, "Range: bytes=0-4\r\nIf-Range: W/" + full.header("ETag") + "\r\n");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        r = fetch(h, path, "Range: bytes=0-4\r\nIf-Range: Thu, 01 Jan 1970 00:00:01 GMT\r\n");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        // HEAD with a range: the head of the 206.
        r = fetch(h, path, "Range: bytes=0-4\r\n", "HEAD");
        CPPUNIT_ASSERT_EQUAL(206, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("5"), r.header("Content-Length"));
    }

    void testRanges() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        checkRanges(h, "/hello.txt", "Hello World!");
    }

    void testRangesOfLargeFile() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        checkRanges(h, "/big.bin", bigContent(300 * 1024));
        const Reply r = fetch(h, "/big.bin", "Range: bytes=100000-100099\r\n");
        CPPUNIT_ASSERT_EQUAL(206, r.status);
        CPPUNIT_ASSERT(r.body == bigContent(300 * 1024).substr(100000, 100));
    }

    void testLargeFile() {
        const std::string content = bigContent(1024 * 1024);
        tree_->write("1m.bin", content);
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        keel::test::RawClient c(h, h.port());
        c.send("GET /1m.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /1m.bin HTTP/1.1\r\nHost: t\r\n\r\n");
        const auto replies = c.replies(2, 10000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), replies.size());
        for (const auto& r : replies) {
            CPPUNIT_ASSERT_EQUAL(200, r.status);
            CPPUNIT_ASSERT_EQUAL(content.size(), r.body.size());
            CPPUNIT_ASSERT(r.body == content);
        }
    }

    void testIndexAndRedirect() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        Reply r = fetch(h, "/");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("<h1>home</h1>"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("text/html; charset=utf-8"), r.header("Content-Type"));
        r = fetch(h, "/docs/");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("<h1>docs</h1>"), r.body);
        r = fetch(h, "/docs");
        CPPUNIT_ASSERT_EQUAL(301, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/docs/"), r.header("Location"));
        r = fetch(h, "/docs?x=1&y=%20");
        CPPUNIT_ASSERT_EQUAL(301, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/docs/?x=1&y=%20"), r.header("Location"));
        // Never a protocol-relative Location.
        r = fetch(h, "//docs");
        CPPUNIT_ASSERT_EQUAL(301, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("/docs/"), r.header("Location"));
        // A file asked for as a directory is not found.
        CPPUNIT_ASSERT_EQUAL(404, fetch(h, "/hello.txt/").status);
    }

    void testOtherIndex() {
        SiteHarness h(
            {fsSite(staticRoute(tree_->root, R"(, "index": ["missing.html", "guide.txt"])"))});
        CPPUNIT_ASSERT_EQUAL(std::string("guide"), fetch(h, "/docs/").body);
        CPPUNIT_ASSERT_EQUAL(404, fetch(h, "/").status); // no index, no listing
    }

    void testListingHtml() {
        SiteHarness h({fsSite(staticRoute(tree_->root, R"(, "listing": "html")"))});
        const Reply r = fetch(h, "/files/");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("text/html; charset=utf-8"), r.header("Content-Type"));
        // The name is escaped in text and percent-encoded in the link; nothing raw gets through.
        CPPUNIT_ASSERT_MESSAGE(r.body,
                               r.body.find("&lt;b&gt;&amp;&quot;x&#39;.txt") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(r.body, r.body.find("href=\"./%3Cb%3E%26%22x%27.txt\"") !=
                                           std::string::npos);
        CPPUNIT_ASSERT(r.body.find("<b>") == std::string::npos);
        CPPUNIT_ASSERT(r.body.find("href=\"./a%20b.txt\"") != std::string::npos);
        CPPUNIT_ASSERT(r.body.find("href=\"./sub/\"") != std::string::npos);
        CPPUNIT_ASSERT(r.body.find(".hidden") == std::string::npos);
        CPPUNIT_ASSERT(r.body.find("Index of /files/") != std::string::npos);
        // The link works.
        CPPUNIT_ASSERT_EQUAL(std::string("x"), fetch(h, "/files/%3Cb%3E%26%22x%27.txt").body);
    }

    void testListingJson() {
        SiteHarness h({fsSite(staticRoute(tree_->root, R"(, "listing": "json")"))});
        const Reply r = fetch(h, "/files/");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("application/json; charset=utf-8"),
                             r.header("Content-Type"));
        CPPUNIT_ASSERT_MESSAGE(
            r.body, r.body.find(R"({"name":"<b>&\"x'.txt","type":"file","size":1,"mtime":")") !=
                        std::string::npos);
        CPPUNIT_ASSERT(r.body.find(R"({"name":"sub","type":"directory")") != std::string::npos);
        CPPUNIT_ASSERT(r.body.find(".hidden") == std::string::npos);
        CPPUNIT_ASSERT(r.body.front() == '[' && r.body.back() == ']');
    }

    void testListingByAccept() {
        SiteHarness both({fsSite(staticRoute(tree_->root, R"(, "listing": true)"))});
        CPPUNIT_ASSERT_EQUAL(
            std::string("text/html; charset=utf-8"),
            fetch(both, "/files/", "Accept: text/html,*/*\r\n").header("Content-Type"));
        CPPUNIT_ASSERT_EQUAL(std::string("text/html; charset=utf-8"),
                             fetch(both, "/files/").header("Content-Type"));
        CPPUNIT_ASSERT_EQUAL(
            std::string("application/json; charset=utf-8"),
            fetch(both, "/files/", "Accept: application/json\r\n").header("Content-Type"));
    }

    void testListingDotfilesAllowed() {
        SiteHarness dots(
            {fsSite(staticRoute(tree_->root, R"(, "listing": "json", "dotfiles": "allow")"))});
        CPPUNIT_ASSERT(fetch(dots, "/files/").body.find("\".hidden\"") != std::string::npos);
    }

    void testListingOff() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        const Reply r = fetch(h, "/files/");
        CPPUNIT_ASSERT_EQUAL(404, r.status);
        CPPUNIT_ASSERT(r.body.find("a b.txt") == std::string::npos);
    }

    void testPrecompressed() {
        tree_->write("bundle.js", "identity-bytes");
        tree_->write("bundle.js.br", "brotli-bytes");
        tree_->write("bundle.js.gz", "gzip-bytes");
        tree_->write("only-gz.css", "plain");
        tree_->write("only-gz.css.gz", "gz");
        tree_->write("big.bin.gz", "gz-of-big");
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        struct Case {
            const char* acceptEncoding;
            const char* body;
            const char* encoding;
        };
        const Case cases[] = {
            {nullptr, "identity-bytes", ""},
            {"br", "brotli-bytes", "br"},
            {"gzip", "gzip-bytes", "gzip"},
            {"gzip, deflate, br", "brotli-bytes", "br"},
            {"br;q=0, gzip", "gzip-bytes", "gzip"},
            {"br;q=0.4, gzip;q=0.5", "gzip-bytes", "gzip"},
            {"br;q=0, gzip;q=0", "identity-bytes", ""},
            {"*", "brotli-bytes", "br"},
            {"*;q=0, identity", "identity-bytes", ""},
            {"deflate", "identity-bytes", ""},
            {"identity", "identity-bytes", ""},
        };
        for (int round = 0; round < 2; ++round) { // a miss, then hits
            for (const auto& c : cases) {
                const std::string headers =
                    c.acceptEncoding ? std::string("Accept-Encoding: ") + c.acceptEncoding + "\r\n"
                                     : "";
                const Reply r = fetch(h, "/bundle.js", headers);
                const std::string what = c.acceptEncoding ? c.acceptEncoding : "(none)";
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, 200, r.status);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string(c.body), r.body);
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string(c.encoding),
                                             r.header("Content-Encoding"));
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string("Accept-Encoding"),
                                             r.header("Vary"));
                CPPUNIT_ASSERT_EQUAL_MESSAGE(what, std::string("text/javascript; charset=utf-8"),
                                             r.header("Content-Type"));
            }
        }
        // Each representation has its own validator; a 304 keeps Vary.
        const Reply br = fetch(h, "/bundle.js", "Accept-Encoding: br\r\n");
        const Reply plain = fetch(h, "/bundle.js");
        CPPUNIT_ASSERT(br.header("ETag") != plain.header("ETag"));
        const Reply notModified = fetch(
            h, "/bundle.js", "Accept-Encoding: br\r\nIf-None-Match: " + br.header("ETag") + "\r\n");
        CPPUNIT_ASSERT_EQUAL(304, notModified.status);
        CPPUNIT_ASSERT_EQUAL(std::string("Accept-Encoding"), notModified.header("Vary"));
        CPPUNIT_ASSERT_EQUAL(
            200, fetch(h, "/bundle.js", "If-None-Match: " + br.header("ETag") + "\r\n").status);
        // Only a .gz sibling.
        Reply r = fetch(h, "/only-gz.css", "Accept-Encoding: br, gzip\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("gz"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("gzip"), r.header("Content-Encoding"));
        r = fetch(h, "/only-gz.css", "Accept-Encoding: br\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("plain"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("Accept-Encoding"), r.header("Vary"));
        // A large file (sendfile) with a small sibling.
        r = fetch(h, "/big.bin", "Accept-Encoding: gzip\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("gz-of-big"), r.body);
        r = fetch(h, "/big.bin");
        CPPUNIT_ASSERT_EQUAL(std::size_t(300 * 1024), r.body.size());
        CPPUNIT_ASSERT_EQUAL(std::string("Accept-Encoding"), r.header("Vary"));
        // A range applies to the representation sent.
        r = fetch(h, "/bundle.js", "Accept-Encoding: br\r\nRange: bytes=0-5\r\n");
        CPPUNIT_ASSERT_EQUAL(206, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("brotli"), r.body);
    }

    void testPrecompressedOff() {
        tree_->write("bundle.js", "identity-bytes");
        tree_->write("bundle.js.br", "brotli-bytes");
        SiteHarness h({fsSite(staticRoute(tree_->root, R"(, "precompressed": false)"))});
        const Reply r = fetch(h, "/bundle.js", "Accept-Encoding: br\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("identity-bytes"), r.body);
        CPPUNIT_ASSERT(!r.has("Content-Encoding"));
        CPPUNIT_ASSERT(!r.has("Vary"));
    }

    void testCacheControlAndValidatorsOff() {
        SiteHarness h({fsSite(staticRoute(
            tree_->root,
            R"(, "cache_control": "public, max-age=60", "etag": false, "last_modified": false)"))});
        for (const char* path : {"/hello.txt", "/big.bin"}) {
            const Reply r = fetch(h, path);
            CPPUNIT_ASSERT_EQUAL(std::string("public, max-age=60"), r.header("Cache-Control"));
            CPPUNIT_ASSERT(!r.has("ETag"));
            CPPUNIT_ASSERT(!r.has("Last-Modified"));
            CPPUNIT_ASSERT_EQUAL(
                200, fetch(h, path, "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT\r\n").status);
            CPPUNIT_ASSERT_EQUAL(304, fetch(h, path, "If-None-Match: *\r\n").status);
        }
    }

    void testMethodNotAllowed() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS"}) {
            RawClient c(h, h.port());
            c.send(std::string(method) +
                   " /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
            const Reply r = c.reply();
            CPPUNIT_ASSERT_EQUAL_MESSAGE(method, 405, r.status);
            CPPUNIT_ASSERT_EQUAL(std::string("GET, HEAD"), r.header("Allow"));
            CPPUNIT_ASSERT(r.body.find("\"METHOD_NOT_ALLOWED\"") != std::string::npos);
        }
    }

    void testFallthroughMiddleware() {
        // Express's app.use(express.static(...)): a missing file goes on to the routes.
        const std::string middleware = R"([{"use": "static", "config": {"root": ")" + tree_->root +
                                       R"(", "fallthrough": true}}])";
        SiteHarness h({fsSite(R"({"path": "/api", "use": "respond", "config": {"body": "api"}})",
                              "{}", middleware)});
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        CPPUNIT_ASSERT_EQUAL(std::string("api"), fetch(h, "/api").body);
        CPPUNIT_ASSERT_EQUAL(404, fetch(h, "/nothing").status);
        CPPUNIT_ASSERT_EQUAL(404, fetch(h, "/.hidden").status);
    }

    void testNoFallthroughMiddleware() {
        // Without fallthrough the file handler answers 404 itself.
        const std::string strict =
            R"([{"use": "static", "config": {"root": ")" + tree_->root + R"("}}])";
        SiteHarness s({fsSite(R"({"path": "/api", "use": "respond", "config": {"body": "api"}})",
                              "{}", strict)});
        CPPUNIT_ASSERT_EQUAL(404, fetch(s, "/api").status);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(s, "/hello.txt").body);
    }

    void testClientGoesAway() {
        // Clients that leave while their file is opened on the thread pool, or while it is
        // being sent: the server frees what they held and goes on serving.
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        for (int i = 0; i < 20; ++i) {
            RawClient c(h, h.port());
            c.send(std::string("GET ") + (i % 2 ? "/big.bin" : "/docs/guide.txt") +
                   " HTTP/1.1\r\nHost: t\r\n\r\n");
            c.abort();
        }
        RawClient slow(h, h.port());
        slow.send("GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
        CPPUNIT_ASSERT(slow.waitBytes(1000));
        slow.abort();
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        CPPUNIT_ASSERT_EQUAL(std::size_t(300 * 1024), fetch(h, "/big.bin").body.size());
    }

    void testReload() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        Reply r = fetch(h, "/hello.txt");
        CPPUNIT_ASSERT(!r.has("Cache-Control"));
        CPPUNIT_ASSERT(!fetch(h, "/hello.txt").has("Cache-Control")); // cached now
        const auto errors =
            h.reload({fsSite(staticRoute(tree_->root, R"(, "cache_control": "max-age=5")"))});
        CPPUNIT_ASSERT_MESSAGE(errors.empty() ? "" : errors.front(), errors.empty());
        // The new configuration answers, not the old cached one.
        r = fetch(h, "/hello.txt");
        CPPUNIT_ASSERT_EQUAL(std::string("max-age=5"), r.header("Cache-Control"));
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("max-age=5"),
                             fetch(h, "/hello.txt").header("Cache-Control"));
        // A bad configuration is refused with the key named, and the running one stays.
        const auto bad =
            h.reload({fsSite(staticRoute(tree_->root, R"(, "listing": "sometimes")"))});
        CPPUNIT_ASSERT(!bad.empty());
        CPPUNIT_ASSERT_MESSAGE(bad.front(), bad.front().find("listing") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("max-age=5"),
                             fetch(h, "/hello.txt").header("Cache-Control"));
    }

    void testEmptyFile() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        for (int round = 0; round < 2; ++round) {
            const Reply r = fetch(h, "/empty.txt");
            CPPUNIT_ASSERT_EQUAL(200, r.status);
            CPPUNIT_ASSERT_EQUAL(std::string("0"), r.header("Content-Length"));
            CPPUNIT_ASSERT(r.body.empty());
        }
    }

    void testTestClient() {
        // The in-process client (no sockets, no sendfile): the kernel copies the file.
        auto client = keel::testing::TestClient::fromJson(fsSite(staticRoute(tree_->root)),
                                                          tree_->base, {KEEL_PLUGIN_DIR});
        for (int round = 0; round < 2; ++round) {
            const auto small = client.get("/hello.txt");
            CPPUNIT_ASSERT_EQUAL(200, small.status);
            CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), small.body);
            const auto big = client.get("/big.bin");
            CPPUNIT_ASSERT_EQUAL(200, big.status);
            CPPUNIT_ASSERT(big.body == bigContent(300 * 1024));
        }
        CPPUNIT_ASSERT_EQUAL(404, client.get("/../secret").status);
    }

    void testBadConfig() {
        const auto refused = [this](const std::string& manifest, const std::string& needle) {
            try {
                keel::testing::TestClient::fromJson(manifest, tree_->base, {KEEL_PLUGIN_DIR});
            } catch (const std::exception& e) {
                const std::string what = e.what();
                CPPUNIT_ASSERT_MESSAGE(what, what.find(needle) != std::string::npos);
                return;
            }
            CPPUNIT_FAIL("the site started: " + needle);
        };
        refused(fsSite(staticRoute(tree_->base + "/nope")),
                "root: cannot open root " + tree_->base + "/nope");
        refused(fsSite(staticRoute(tree_->root, R"(, "index": ["../x"])")),
                "index: \"../x\" is not a file name");
        refused(fsSite(staticRoute(tree_->root, R"(, "dotfiles": "maybe")")), "dotfiles");
        refused(fsSite(staticRoute(tree_->root, R"(, "cache_control": "a\u0001b")")),
                "cache_control");
        refused(fsSite(staticRoute(tree_->root, R"(, "listing": "yes")")), "listing");
        refused(fsSite(staticRoute(tree_->root, R"(, "cache": {"max_file_bytes": -1})")),
                "max_file_bytes");
        refused(fsSite(staticRoute(tree_->root), R"({"cache_bytes": "big"})"), "cache_bytes");
        refused(fsSite(R"({"path": "/*", "use": "static", "config": {}})"), "root");
        refused(fsSite(staticRoute(tree_->root, R"(, "unknown_key": 1)")), "unknown_key");
        // A relative root resolves against the site's directory.
        auto client = keel::testing::TestClient::fromJson(fsSite(staticRoute("public")),
                                                          tree_->base, {KEEL_PLUGIN_DIR});
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), client.get("/hello.txt").body);
    }

private:
    using RawClient = keel::test::RawClient;
    std::unique_ptr<Tree> tree_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(StaticTest);
