// The `files` handler through the http plugin on real sockets (SiteHarness: the real kernel
// and the plugins loaded from their .so files), with raw HTTP clients, curl and Python's
// http.client: PUT create/replace, GET of files and directories, mkdir -p, DELETE, copy,
// read-only routes, size limits and quotas, traversal attempts, and the JSON error bodies.
#include <cppunit/extensions/HelperMacros.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>

#include "Process.hpp"
#include "SiteHarness.hpp"

namespace {

namespace stdfs = std::filesystem;
using keel::test::RawClient;
using keel::test::Reply;
using keel::test::SiteHarness;

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

void spit(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

int tempFiles(const std::string& dir) {
    int n = 0;
    for (const auto& e : stdfs::recursive_directory_iterator(dir))
        if (e.path().filename().string().starts_with(".keel-tmp-")) ++n;
    return n;
}

/// A site with the http and fs plugins and `routes` (JSON fragments).
std::string site(const std::string& routes) {
    return R"({"name": "files", "listeners": [{"address": "127.0.0.1:0"}],
        "plugins": {"http": "^0.1.0", "fs": "^0.1.0"}, "routes": [)" +
           routes + "]}";
}

std::string filesRoute(const std::string& root, const std::string& extra = R"("write": true)",
                       const std::string& routeExtra = "") {
    return R"({"path": "/files/*", "use": "files", )" + routeExtra + R"("config": {"root": ")" +
           root + "\"" + (extra.empty() ? "" : ", " + extra) + "}}";
}

Poco::JSON::Object::Ptr jsonObject(const std::string& text) {
    Poco::JSON::Parser parser;
    return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

/// A temporary directory with the API's root inside it and a secret right outside it.
class Tree {
public:
    Tree() {
        char pattern[] = "/tmp/keel-fs-api-XXXXXX";
        base = ::mkdtemp(pattern);
        root = base + "/data";
        outside = base + "/outside";
        stdfs::create_directories(root);
        stdfs::create_directories(outside);
        spit(outside + "/secret.txt", "SECRET");
    }
    ~Tree() { stdfs::remove_all(base); }
    std::string base, root, outside;
};

} // namespace

class FileApiTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(FileApiTest);
    CPPUNIT_TEST(testPutCreatesThenReplaces);
    CPPUNIT_TEST(testGetFileConditionalAndRange);
    CPPUNIT_TEST(testDirectoryJson);
    CPPUNIT_TEST(testMkdirP);
    CPPUNIT_TEST(testPutIntoMissingDirectoryAndOverDirectory);
    CPPUNIT_TEST(testDelete);
    CPPUNIT_TEST(testCopy);
    CPPUNIT_TEST(testReadOnlyAnswers405);
    CPPUNIT_TEST(testMaxFileBytes);
    CPPUNIT_TEST(testRouteBodyLimit);
    CPPUNIT_TEST(testQuota);
    CPPUNIT_TEST(testQuotaCountsChangesTheWatcherSees);
    CPPUNIT_TEST(testTraversalNeverWritesOutside);
    CPPUNIT_TEST(testLargeChunkedUploadIsExact);
    CPPUNIT_TEST(testReadersSeeOldOrNewDuringReplaces);
    CPPUNIT_TEST(testAbortedUploadLeavesNothing);
    CPPUNIT_TEST(testLeftoversRemovedAtSiteLoad);
    CPPUNIT_TEST(testConfigErrors);
    CPPUNIT_TEST(testCurlAndPythonClients);
    CPPUNIT_TEST_SUITE_END();

public:
    /// One request on a fresh connection; `head` for HEAD responses.
    Reply call(SiteHarness& h, const std::string& method, const std::string& target,
               const std::string& body = "", const std::string& headers = "") {
        RawClient c(h, h.port());
        std::string req = method + " " + target + " HTTP/1.1\r\nHost: t\r\n" + headers;
        if (!body.empty() || method == "PUT" || method == "POST")
            req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
        req += "\r\n" + body;
        CPPUNIT_ASSERT(c.send(req));
        Reply r = c.reply(10000, method == "HEAD");
        CPPUNIT_ASSERT_MESSAGE(method + " " + target + ": no response", r.status != 0);
        return r;
    }

    void expectError(const Reply& r, int status, const std::string& code, const Tree& t) {
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, status, r.status);
        auto obj = jsonObject(r.body);
        CPPUNIT_ASSERT_EQUAL(false, obj->getValue<bool>("success"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.body, code, obj->getValue<std::string>("code"));
        // The message names paths relative to the root, never the server's directories.
        CPPUNIT_ASSERT_MESSAGE(r.body, r.body.find(t.base) == std::string::npos);
    }

    void testPutCreatesThenReplaces() {
        Tree t;
        SiteHarness h({site(filesRoute(t.root))});
        Reply r = call(h, "PUT", "/files/a.txt", "first");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 201, r.status);
        auto obj = jsonObject(r.body);
        CPPUNIT_ASSERT(obj->getValue<bool>("success"));
        CPPUNIT_ASSERT_EQUAL(std::string("/a.txt"), obj->getValue<std::string>("path"));
        CPPUNIT_ASSERT_EQUAL(5, obj->getValue<int>("size"));
        CPPUNIT_ASSERT_EQUAL(std::string("first"), slurp(t.root + "/a.txt"));
        r = call(h, "PUT", "/files/a.txt", "second, longer");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("second, longer"), slurp(t.root + "/a.txt"));
        // An empty body makes an empty file.
        r = call(h, "PUT", "/files/empty", "");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 201, r.status);
        CPPUNIT_ASSERT_EQUAL(std::uintmax_t(0), stdfs::file_size(t.root + "/empty"));
        // A new file gets 0644 whatever the umask; a replaced one keeps its mode.
        struct stat st {};
        ::stat((t.root + "/a.txt").c_str(), &st);
        CPPUNIT_ASSERT_EQUAL(mode_t(0644), st.st_mode & 07777);
        ::chmod((t.root + "/a.txt").c_str(), 0600);
        CPPUNIT_ASSERT_EQUAL(200, call(h, "PUT", "/files/a.txt", "third").status);
        ::stat((t.root + "/a.txt").c_str(), &st);
        CPPUNIT_ASSERT_EQUAL(mode_t(0600), st.st_mode & 07777);
        // Several requests on one keep-alive connection.
        RawClient c(h, h.port());
        CPPUNIT_ASSERT(c.send("PUT /files/k1 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nk1"
                              "PUT /files/k2 HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nk2"
                              "GET /files/k1 HTTP/1.1\r\nHost: t\r\n\r\n"));
        auto replies = c.replies(3, 10000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), replies.size());
        CPPUNIT_ASSERT_EQUAL(201, replies[0].status);
        CPPUNIT_ASSERT_EQUAL(201, replies[1].status);
        CPPUNIT_ASSERT_EQUAL(std::string("k1"), replies[2].body);
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(t.root));
    }

    void testGetFileConditionalAndRange() {
        Tree t;
        spit(t.root + "/f.bin", "0123456789");
        SiteHarness h({site(filesRoute(t.root, ""))});
        Reply r = call(h, "GET", "/files/f.bin");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("0123456789"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("10"), r.header("Content-Length"));
        CPPUNIT_ASSERT_EQUAL(std::string("application/octet-stream"), r.header("Content-Type"));
        CPPUNIT_ASSERT_EQUAL(std::string("bytes"), r.header("Accept-Ranges"));
        const std::string etag = r.header("ETag");
        CPPUNIT_ASSERT(etag.size() > 2 && etag.front() == '"');
        CPPUNIT_ASSERT(r.has("Last-Modified"));

        r = call(h, "GET", "/files/f.bin", "", "If-None-Match: " + etag + "\r\n");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 304, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string(), r.body);
        r = call(h, "GET", "/files/f.bin", "", "If-None-Match: \"other\"\r\n");
        CPPUNIT_ASSERT_EQUAL(200, r.status);

        r = call(h, "GET", "/files/f.bin", "", "Range: bytes=2-4\r\n");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 206, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("234"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("bytes 2-4/10"), r.header("Content-Range"));
        r = call(h, "GET", "/files/f.bin", "", "Range: bytes=-3\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("789"), r.body);
        r = call(h, "GET", "/files/f.bin", "", "Range: bytes=10-\r\n");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 416, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("bytes */10"), r.header("Content-Range"));

        r = call(h, "HEAD", "/files/f.bin");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("10"), r.header("Content-Length"));
        CPPUNIT_ASSERT_EQUAL(std::string(""), r.body);

        // After a replace the ETag changes, and the old one no longer gives 304.
        spit(t.root + "/f.bin", "changed content");
        r = call(h, "GET", "/files/f.bin", "", "If-None-Match: " + etag + "\r\n");
        CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("changed content"), r.body);

        expectError(call(h, "GET", "/files/missing.txt"), 404, "ENOENT", t);
    }

    void testDirectoryJson() {
        Tree t;
        stdfs::create_directories(t.root + "/sub/deeper");
        spit(t.root + "/b.txt", "bb");
        spit(t.root + "/a.txt", "a");
        spit(t.root + "/sub/c.txt", "ccc");
        spit(t.root + "/.hidden", "h");
        spit(t.root + "/.keel-tmp-0000000000000000", "torn"); // removed at load anyway
        spit(t.root + "/sub/.keel-tmp-1111", "x");
        stdfs::create_symlink("a.txt", t.root + "/link");
        SiteHarness h({site(filesRoute(t.root, ""))});
        Reply r = call(h, "GET", "/files/");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 200, r.status);
        CPPUNIT_ASSERT(r.header("Content-Type").starts_with("application/json"));
        Poco::JSON::Parser parser;
        auto list = parser.parse(r.body).extract<Poco::JSON::Array::Ptr>();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.body, std::size_t(4), list->size());
        const std::vector<std::pair<std::string, std::string>> expected = {
            {"a.txt", "file"}, {"b.txt", "file"}, {"link", "symlink"}, {"sub", "directory"}};
        const std::regex iso("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z");
        for (std::size_t i = 0; i < expected.size(); ++i) {
            auto e = list->getObject(static_cast<unsigned>(i));
            CPPUNIT_ASSERT_EQUAL(expected[i].first, e->getValue<std::string>("name"));
            CPPUNIT_ASSERT_EQUAL(expected[i].second, e->getValue<std::string>("type"));
            CPPUNIT_ASSERT(std::regex_match(e->getValue<std::string>("mtime"), iso));
        }
        CPPUNIT_ASSERT_EQUAL(1, list->getObject(0)->getValue<int>("size"));
        CPPUNIT_ASSERT_EQUAL(2, list->getObject(1)->getValue<int>("size"));
        // A subdirectory, with or without the trailing slash.
        r = call(h, "GET", "/files/sub");
        list = parser.parse(r.body).extract<Poco::JSON::Array::Ptr>();
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.body, std::size_t(2), list->size());
        CPPUNIT_ASSERT_EQUAL(std::string("c.txt"),
                             list->getObject(0)->getValue<std::string>("name"));
        CPPUNIT_ASSERT_EQUAL(std::string("deeper"),
                             list->getObject(1)->getValue<std::string>("name"));
        // Names that need escaping stay valid JSON.
        spit(t.root + "/sub/deeper/q\"uote\\back", "");
        r = call(h, "GET", "/files/sub/deeper");
        list = parser.parse(r.body).extract<Poco::JSON::Array::Ptr>();
        CPPUNIT_ASSERT_EQUAL(std::string("q\"uote\\back"),
                             list->getObject(0)->getValue<std::string>("name"));
    }

    void testMkdirP() {
        Tree t;
        SiteHarness h({site(filesRoute(t.root))});
        Reply r = call(h, "PUT", "/files/x/y/z/");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 201, r.status);
        CPPUNIT_ASSERT(stdfs::is_directory(t.root + "/x/y/z"));
        r = call(h, "PUT", "/files/x/y/z/");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 200, r.status); // already there
        r = call(h, "PUT", "/files/x/w?mkdir=1");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 201, r.status);
        CPPUNIT_ASSERT(stdfs::is_directory(t.root + "/x/w"));
        spit(t.root + "/file", "f");
        expectError(call(h, "PUT", "/files/file/sub/"), 409, "ENOTDIR", t);
        expectError(call(h, "PUT", "/files/file?mkdir=1"), 409, "ENOTDIR", t);
        // Into the new directories a PUT works.
        CPPUNIT_ASSERT_EQUAL(201, call(h, "PUT", "/files/x/y/z/f.txt", "deep").status);
        CPPUNIT_ASSERT_EQUAL(std::string("deep"), slurp(t.root + "/x/y/z/f.txt"));
    }

    void testPutIntoMissingDirectoryAndOverDirectory() {
        Tree t;
        stdfs::create_directories(t.root + "/dir");
        SiteHarness h({site(filesRoute(t.root))});
        Reply r = call(h, "PUT", "/files/nodir/f.txt", "x");
        expectError(r, 404, "ENOENT", t);
        CPPUNIT_ASSERT_MESSAGE(r.body, r.body.find("/nodir/f.txt") != std::string::npos);
        expectError(call(h, "PUT", "/files/dir", "x"), 409, "EISDIR", t);
        CPPUNIT_ASSERT(stdfs::is_directory(t.root + "/dir"));
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(t.root));
    }

    void testDelete() {
        Tree t;
        stdfs::create_directories(t.root + "/full/inner");
        stdfs::create_directories(t.root + "/empty");
        spit(t.root + "/f.txt", "f");
        spit(t.root + "/full/inner/g.txt", "g");
        SiteHarness h({site(filesRoute(t.root))});
        Reply r = call(h, "DELETE", "/files/f.txt");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 204, r.status);
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/f.txt"));
        expectError(call(h, "DELETE", "/files/f.txt"), 404, "ENOENT", t);
        r = call(h, "DELETE", "/files/full");
        expectError(r, 409, "ENOTEMPTY", t);
        CPPUNIT_ASSERT(stdfs::exists(t.root + "/full/inner/g.txt"));
        CPPUNIT_ASSERT_EQUAL(204, call(h, "DELETE", "/files/empty").status);
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/empty"));
        CPPUNIT_ASSERT_EQUAL(204, call(h, "DELETE", "/files/full?recursive=1").status);
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/full"));
        expectError(call(h, "DELETE", "/files/"), 403, "EPERM", t);
        CPPUNIT_ASSERT(stdfs::is_directory(t.root));
    }

    void testCopy() {
        Tree t;
        stdfs::create_directories(t.root + "/dir");
        spit(t.root + "/src.txt", "copy me");
        spit(t.root + "/dst.txt", "old");
        SiteHarness h({site(filesRoute(t.root))});
        Reply r = call(h, "POST", "/files/dir/new.txt?copy_from=src.txt");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 201, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("copy me"), slurp(t.root + "/dir/new.txt"));
        r = call(h, "POST", "/files/dst.txt?copy_from=%2Fsrc.txt");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 200, r.status);
        CPPUNIT_ASSERT_EQUAL(std::string("copy me"), slurp(t.root + "/dst.txt"));
        expectError(call(h, "POST", "/files/x?copy_from=missing"), 404, "ENOENT", t);
        expectError(call(h, "POST", "/files/x?copy_from=dir"), 409, "EISDIR", t);
        expectError(call(h, "POST", "/files/x"), 400, "BAD_REQUEST", t);
        expectError(call(h, "POST", "/files/x?copy_from=../outside/secret.txt"), 404, "ENOENT", t);
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/x"));
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(t.root));
    }

    void testReadOnlyAnswers405() {
        Tree t;
        spit(t.root + "/f.txt", "f");
        SiteHarness h({site(filesRoute(t.root, ""))});
        for (const std::string method : {"PUT", "DELETE", "POST"}) {
            Reply r = call(h, method, "/files/f.txt", method == "DELETE" ? "" : "new");
            expectError(r, 405, "METHOD_NOT_ALLOWED", t);
            CPPUNIT_ASSERT_EQUAL(std::string("GET, HEAD"), r.header("Allow"));
        }
        CPPUNIT_ASSERT_EQUAL(std::string("f"), slurp(t.root + "/f.txt"));
        CPPUNIT_ASSERT_EQUAL(std::string("f"), call(h, "GET", "/files/f.txt").body);
    }

    void testMaxFileBytes() {
        Tree t;
        SiteHarness h({site(filesRoute(t.root, R"("write": true, "max_file_bytes": 1000)"))});
        Reply r = call(h, "PUT", "/files/big", std::string(1001, 'b'));
        expectError(r, 413, "PAYLOAD_TOO_LARGE", t);
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/big"));
        // Chunked: the size shows only as the body streams in.
        RawClient c(h, h.port());
        std::string chunked =
            "PUT /files/big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 3; ++i)
            chunked += "190\r\n" + std::string(400, 'c') + "\r\n";
        chunked += "0\r\n\r\n";
        CPPUNIT_ASSERT(c.send(chunked));
        expectError(c.reply(10000), 413, "PAYLOAD_TOO_LARGE", t);
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/big"));
        CPPUNIT_ASSERT_EQUAL(201, call(h, "PUT", "/files/big", std::string(1000, 'b')).status);
        CPPUNIT_ASSERT_EQUAL(std::uintmax_t(1000), stdfs::file_size(t.root + "/big"));
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(t.root));
    }

    void testRouteBodyLimit() {
        Tree t;
        SiteHarness h({site(filesRoute(t.root, R"("write": true)", R"("body_limit": 500, )"))});
        Reply r = call(h, "PUT", "/files/big", std::string(501, 'b'));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 413, r.status);
        // Chunked over the kernel's limit while the handler streams it.
        RawClient c(h, h.port());
        std::string chunked =
            "PUT /files/big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 4; ++i)
            chunked += "c8\r\n" + std::string(200, 'c') + "\r\n";
        chunked += "0\r\n\r\n";
        CPPUNIT_ASSERT(c.send(chunked));
        r = c.reply(10000);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 413, r.status);
        // The 413 can come before the upload's temporary file is even made (on the thread
        // pool): wait until the upload's work is all back, then for no temporary file.
        CPPUNIT_ASSERT(h.runUntil(
            [&] { return h.loop.offloadsInFlight() == 0 && tempFiles(t.root) == 0; }, 5000));
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/big"));
    }

    void testQuota() {
        Tree t;
        spit(t.root + "/six", std::string(6000, '6')); // counted at site load
        SiteHarness h({site(filesRoute(t.root, R"("write": true, "quota_bytes": 10000)"))});
        Reply r = call(h, "PUT", "/files/five", std::string(5000, '5'));
        expectError(r, 507, "EDQUOT", t);
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/five"));
        CPPUNIT_ASSERT_EQUAL(201, call(h, "PUT", "/files/three", std::string(3000, '3')).status);
        // Replacing counts only the difference: 6000 → 6500 fits (9500 in all).
        CPPUNIT_ASSERT_EQUAL(200, call(h, "PUT", "/files/six", std::string(6500, '6')).status);
        // Chunked over the quota.
        RawClient c(h, h.port());
        std::string chunked =
            "PUT /files/more HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        chunked += "258\r\n" + std::string(600, 'm') + "\r\n0\r\n\r\n";
        CPPUNIT_ASSERT(c.send(chunked));
        expectError(c.reply(10000), 507, "EDQUOT", t);
        // A copy over the quota, then room made by a delete.
        expectError(call(h, "POST", "/files/copy?copy_from=three"), 507, "EDQUOT", t);
        CPPUNIT_ASSERT_EQUAL(204, call(h, "DELETE", "/files/six").status);
        CPPUNIT_ASSERT_EQUAL(201, call(h, "POST", "/files/copy?copy_from=three").status);
        CPPUNIT_ASSERT_EQUAL(201, call(h, "PUT", "/files/five", std::string(4000, '5')).status);
        // 3000 + 3000 + 4000 = 10000: one more byte is too many.
        expectError(call(h, "PUT", "/files/one", "1"), 507, "EDQUOT", t);
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(t.root));
    }

    void testQuotaCountsChangesTheWatcherSees() {
        Tree t;
        // A static route on the same directory watches it and publishes fs.changed.
        SiteHarness h(
            {site(R"({"path": "/pub/*", "use": "static", "config": {"root": ")" + t.root +
                  R"("}}, )" + filesRoute(t.root, R"("write": true, "quota_bytes": 10000)"))});
        CPPUNIT_ASSERT(h.runUntil([&] { return h.logged("0 files, 0 bytes"); }, 5000));
        CPPUNIT_ASSERT_EQUAL(201, call(h, "PUT", "/files/mine", std::string(4000, 'm')).status);
        // Written behind the API's back: 4000 + 5000 bytes, seen through the watcher.
        spit(t.root + "/external", std::string(5000, 'e'));
        CPPUNIT_ASSERT_MESSAGE(
            "no recount logged",
            h.runUntil([&] { return h.logged("counted again after changes: 2 files, 9000 bytes"); },
                       5000));
        expectError(call(h, "PUT", "/files/two", std::string(2000, '2')), 507, "EDQUOT", t);
        CPPUNIT_ASSERT_EQUAL(201, call(h, "PUT", "/files/one", std::string(1000, '1')).status);
    }

    void testTraversalNeverWritesOutside() {
        Tree t;
        stdfs::create_directories(t.root + "/sub");
        stdfs::create_symlink(t.outside, t.root + "/out-dir");
        stdfs::create_symlink("../outside/secret.txt", t.root + "/out-file");
        SiteHarness h({site(filesRoute(t.root))});
        const std::vector<std::string> targets = {"/files/../outside/x",
                                                  "/files/%2e%2e/outside/x",
                                                  "/files/sub/..%2f..%2foutside/x",
                                                  "/files/sub/%2E%2E/%2E%2E/outside/x",
                                                  "/files/..%5coutside%5cx",
                                                  "/files/out-dir/x",
                                                  "/files/out-dir/secret.txt",
                                                  "/files/%c0%ae%c0%ae/outside/x",
                                                  "/files/.keel-tmp-x",
                                                  "/files/sub/%00x"};
        for (const auto& target : targets) {
            Reply r = call(h, "PUT", target, "PWNED");
            CPPUNIT_ASSERT_MESSAGE(target + " -> " + r.raw, r.status >= 400);
            r = call(h, "PUT", target + "/", "");
            CPPUNIT_ASSERT_MESSAGE(target + "/ -> " + r.raw, r.status >= 400);
            r = call(h, "DELETE", target + "?recursive=1");
            CPPUNIT_ASSERT_MESSAGE(target + " -> " + r.raw, r.status >= 400);
            r = call(h, "POST", target + "?copy_from=sub");
            CPPUNIT_ASSERT_MESSAGE(target + " -> " + r.raw, r.status >= 400);
        }
        // The link to a file outside: reading it is a 404; a PUT replaces the link itself.
        expectError(call(h, "GET", "/files/out-file"), 404, "ENOENT", t);
        expectError(call(h, "POST", "/files/stolen?copy_from=out-file"), 404, "ENOENT", t);
        CPPUNIT_ASSERT_EQUAL(200, call(h, "PUT", "/files/out-file", "mine").status);
        CPPUNIT_ASSERT(!stdfs::is_symlink(t.root + "/out-file"));
        CPPUNIT_ASSERT_EQUAL(std::string("mine"), slurp(t.root + "/out-file"));
        // Deleting the link to a directory outside removes the link only.
        CPPUNIT_ASSERT_EQUAL(204, call(h, "DELETE", "/files/out-dir?recursive=1").status);
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/out-dir"));
        // Outside: exactly what was there.
        std::vector<std::string> names;
        for (const auto& e : stdfs::recursive_directory_iterator(t.base))
            if (e.path().string().rfind(t.root, 0) != 0) names.push_back(e.path().string());
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), names.size()); // outside, outside/secret.txt
        CPPUNIT_ASSERT_EQUAL(std::string("SECRET"), slurp(t.outside + "/secret.txt"));
        CPPUNIT_ASSERT(!stdfs::exists(t.base + "/x"));
    }

    void testLargeChunkedUploadIsExact() {
        Tree t;
        SiteHarness h(
            {site(filesRoute(t.root, R"("write": true)", R"("body_limit": 67108864, )"))});
        std::string body(8 * 1024 * 1024 + 123, '\0');
        for (std::size_t i = 0; i < body.size(); ++i)
            body[i] = static_cast<char>((i * 7919) >> 5);
        RawClient c(h, h.port());
        std::string req =
            "PUT /files/big.bin HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (std::size_t at = 0; at < body.size(); at += 100000) {
            const std::size_t n = std::min<std::size_t>(100000, body.size() - at);
            char size[16];
            std::snprintf(size, sizeof size, "%zx\r\n", n);
            req += size + body.substr(at, n) + "\r\n";
        }
        req += "0\r\n\r\n";
        CPPUNIT_ASSERT(c.send(req, 30000));
        Reply r = c.reply(30000);
        CPPUNIT_ASSERT_EQUAL_MESSAGE(r.raw, 201, r.status);
        CPPUNIT_ASSERT(slurp(t.root + "/big.bin") == body);
        r = call(h, "GET", "/files/big.bin", "", "Range: bytes=5000000-5000099\r\n");
        CPPUNIT_ASSERT(r.body == body.substr(5000000, 100));
    }

    void testReadersSeeOldOrNewDuringReplaces() {
        Tree t;
        const std::string a(256 * 1024, 'a'), b(256 * 1024, 'b');
        spit(t.root + "/f", a);
        SiteHarness h({site(filesRoute(t.root))});
        // A writer pipelines 20 replaces (A, B, A, ...) while a reader pipelines 40 GETs;
        // both run on the server's loop at once.
        RawClient writer(h, h.port()), reader(h, h.port());
        std::string puts, gets;
        for (int i = 0; i < 20; ++i)
            puts +=
                "PUT /files/f HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(a.size()) +
                "\r\n\r\n" + (i % 2 ? a : b);
        for (int i = 0; i < 40; ++i)
            gets += "GET /files/f HTTP/1.1\r\nHost: t\r\n\r\n";
        CPPUNIT_ASSERT(reader.send(gets.substr(0, gets.size() / 2)));
        CPPUNIT_ASSERT(writer.send(puts, 30000));
        CPPUNIT_ASSERT(reader.send(gets.substr(gets.size() / 2)));
        const auto written = writer.replies(20, 30000);
        const auto read = reader.replies(40, 30000);
        CPPUNIT_ASSERT_EQUAL(std::size_t(20), written.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(40), read.size());
        int sawA = 0, sawB = 0;
        for (const auto& r : read) {
            CPPUNIT_ASSERT_EQUAL(200, r.status);
            CPPUNIT_ASSERT_MESSAGE("torn read of " + std::to_string(r.body.size()) + " bytes",
                                   r.body == a || r.body == b);
            (r.body == a ? sawA : sawB)++;
        }
        for (const auto& r : written)
            CPPUNIT_ASSERT_EQUAL(200, r.status);
        CPPUNIT_ASSERT(slurp(t.root + "/f") == a); // the last PUT (i = 19) wrote A
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(t.root));
        std::fprintf(stderr, " [reads: %d A, %d B] ", sawA, sawB);
    }

    void testAbortedUploadLeavesNothing() {
        Tree t;
        spit(t.root + "/f", "old");
        SiteHarness h(
            {site(filesRoute(t.root, R"("write": true)", R"("body_limit": 67108864, )"))});
        {
            RawClient c(h, h.port());
            CPPUNIT_ASSERT(
                c.send("PUT /files/f HTTP/1.1\r\nHost: t\r\nContent-Length: 4000000\r\n\r\n" +
                       std::string(1500000, 'n')));
            // The temporary file exists while the body streams in.
            CPPUNIT_ASSERT(h.runUntil([&] { return tempFiles(t.root) == 1; }, 5000));
            c.abort();
            CPPUNIT_ASSERT(h.runUntil([&] { return tempFiles(t.root) == 0; }, 5000));
        }
        CPPUNIT_ASSERT_EQUAL(std::string("old"), slurp(t.root + "/f"));
        // The API still works afterwards.
        CPPUNIT_ASSERT_EQUAL(200, call(h, "PUT", "/files/f", "new").status);
        CPPUNIT_ASSERT_EQUAL(std::string("new"), slurp(t.root + "/f"));
    }

    void testLeftoversRemovedAtSiteLoad() {
        Tree t;
        stdfs::create_directories(t.root + "/a/b");
        spit(t.root + "/.keel-tmp-0123456789abcdef", "torn");
        spit(t.root + "/a/b/.keel-tmp-fedcba9876543210", "torn");
        spit(t.root + "/a/keep.txt", "keep");
        SiteHarness h({site(filesRoute(t.root))});
        CPPUNIT_ASSERT(
            h.runUntil([&] { return h.logged("removed 2 leftover temporary files"); }, 5000));
        CPPUNIT_ASSERT_EQUAL(0, tempFiles(t.root));
        CPPUNIT_ASSERT_EQUAL(std::string("keep"), slurp(t.root + "/a/keep.txt"));
        // A request for a temporary file's name is never served.
        expectError(call(h, "GET", "/files/.keel-tmp-0123456789abcdef"), 404, "ENOENT", t);
    }

    void testConfigErrors() {
        Tree t;
        spit(t.base + "/plain-file", "x");
        // The site refuses to start; the kernel reports the error with the use's location.
        auto error = [&](const std::string& route) {
            std::string errors;
            try {
                SiteHarness h({site(route)});
                for (const auto& line : h.logs)
                    if (line.starts_with("ERROR")) errors += line + "\n";
            } catch (const std::exception& e) {
                errors = e.what();
            }
            return errors;
        };
        std::string e = error(R"({"path": "/files/*", "use": "files", "config": {}})");
        CPPUNIT_ASSERT_MESSAGE(e, e.find("routes[0]: files: config.root: required") !=
                                      std::string::npos);
        e = error(filesRoute(t.base + "/plain-file"));
        CPPUNIT_ASSERT_MESSAGE(e, e.find("config.root: cannot") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(e, e.find("plain-file") != std::string::npos);
        e = error(filesRoute(t.base + "/missing", R"("create_root": false)"));
        CPPUNIT_ASSERT_MESSAGE(e,
                               e.find("missing: No such file or directory") != std::string::npos);
        e = error(filesRoute(t.root, R"("file_mode": "0999")"));
        CPPUNIT_ASSERT_MESSAGE(e, e.find("file_mode") != std::string::npos);
        e = error(filesRoute(t.root, R"("dotfiles": "sometimes")"));
        CPPUNIT_ASSERT_MESSAGE(e, e.find("dotfiles") != std::string::npos);
        // create_root (the default) makes the directory.
        CPPUNIT_ASSERT_EQUAL(std::string(), error(filesRoute(t.base + "/new/root")));
        CPPUNIT_ASSERT(stdfs::is_directory(t.base + "/new/root"));
    }

    void testCurlAndPythonClients() {
        Tree t;
        SiteHarness h({site(filesRoute(t.root))});
        const std::string base = "http://127.0.0.1:" + std::to_string(h.port()) + "/files";
        spit(t.base + "/upload.bin", std::string(300000, 'u'));
        {
            keel::test::Process curl(h.loop,
                                     {"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T",
                                      t.base + "/upload.bin", base + "/up.bin"});
            CPPUNIT_ASSERT(curl.waitExit(20000));
            CPPUNIT_ASSERT_EQUAL_MESSAGE(curl.err(), std::string("201"), curl.out());
        }
        CPPUNIT_ASSERT(slurp(t.root + "/up.bin") == std::string(300000, 'u'));
        const std::string script =
            "import http.client, json, sys\n"
            "c = http.client.HTTPConnection('127.0.0.1', " +
            std::to_string(h.port()) +
            ")\n"
            "c.request('PUT', '/files/py/', body=b'')\n"
            "r = c.getresponse(); r.read(); assert r.status == 201, r.status\n"
            "c.request('PUT', '/files/py/hello.txt', body=b'from python')\n"
            "r = c.getresponse(); b = json.loads(r.read()); assert r.status == 201 and "
            "b['success'], b\n"
            "c.request('GET', '/files/py/hello.txt')\n"
            "r = c.getresponse(); assert r.read() == b'from python'\n"
            "c.request('GET', '/files/py')\n"
            "r = c.getresponse(); l = json.loads(r.read()); assert [e['name'] for e in l] == "
            "['hello.txt'], l\n"
            "c.request('DELETE', '/files/py')\n"
            "r = c.getresponse(); b = json.loads(r.read()); assert r.status == 409 and b['code'] "
            "== 'ENOTEMPTY', b\n"
            "c.request('DELETE', '/files/py?recursive=1')\n"
            "r = c.getresponse(); r.read(); assert r.status == 204, r.status\n"
            "print('ok')\n";
        keel::test::Process py(h.loop, {"python3", "-c", script});
        CPPUNIT_ASSERT(py.waitExit(20000));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(py.err(), std::string("ok\n"), py.out());
        CPPUNIT_ASSERT(!stdfs::exists(t.root + "/py"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(FileApiTest);
