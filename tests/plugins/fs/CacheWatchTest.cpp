// The small-file cache and file watching, end to end: a second request is answered from
// memory (a change the watcher cannot see does not show until the once-a-second stat), a
// change the watcher sees invalidates at once and is published as fs.changed, in
// subdirectories too, and without a cache every request reads the file.
#include <cppunit/extensions/HelperMacros.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "FsHarness.hpp"

using keel::test::fetch;
using keel::test::fsSite;
using keel::test::Reply;
using keel::test::SiteHarness;
using keel::test::staticRoute;
using keel::test::Tree;

namespace {

/// Collects fs.changed payloads while alive.
class Changes {
public:
    explicit Changes(SiteHarness& h) : h_(h) {
        id_ = h.bus().subscribe(h.bus().topic("fs.changed"), 0,
                                [this](keel::kernel::TopicId, const keel_payload& p) {
                                    events.emplace_back(static_cast<const char*>(p.data), p.size);
                                });
    }
    ~Changes() { h_.bus().unsubscribe(id_); }
    Changes(const Changes&) = delete;
    Changes& operator=(const Changes&) = delete;

    /// Runs the loop until an event for `path` arrived; returns it ("" after the deadline).
    std::string waitFor(const std::string& path, unsigned deadlineMs = 5000) {
        std::string found;
        const std::string needle = "\"path\":\"" + path + "\"";
        h_.runUntil(
            [&] {
                for (const auto& e : events)
                    if (e.find(needle) != std::string::npos) found = e;
                return !found.empty();
            },
            deadlineMs);
        return found;
    }

    std::vector<std::string> events;

private:
    SiteHarness& h_;
    keel::kernel::SubscriptionId id_ = 0;
};

} // namespace

class CacheWatchTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CacheWatchTest);
    CPPUNIT_TEST(testSecondRequestIsACacheHit);
    CPPUNIT_TEST(testWithoutCacheEveryRequestReads);
    CPPUNIT_TEST(testLargeFilesAreNotCached);
    CPPUNIT_TEST(testLargeFileKeptOpenFollowsAReplace);
    CPPUNIT_TEST(testChangeInvalidatesAndPublishes);
    CPPUNIT_TEST(testAtomicReplaceInvalidates);
    CPPUNIT_TEST(testSubdirectoryChange);
    CPPUNIT_TEST(testDeletedFile);
    CPPUNIT_TEST(testPrecompressedSiblingAppears);
    CPPUNIT_TEST_SUITE_END();

public:
    void setUp() override {
        tree_ = std::make_unique<Tree>();
        tree_->write("hello.txt", "Hello World!");
        tree_->write("deep/er/a.txt", "deep one");
        tree_->write("app.js", "plain");
        // A hard link outside the root: writes through it reach the file's inode without an
        // event in the watched directory (inotify reports by the path used).
        std::filesystem::create_hard_link(tree_->root + "/hello.txt",
                                          tree_->base + "/hello-link.txt");
    }
    void tearDown() override { tree_.reset(); }

    /// Writes through the outside hard link, keeping the inode (and the size).
    void writeUnseen(const std::string& content) {
        Tree::writeAt(tree_->base + "/hello-link.txt", content);
        CPPUNIT_ASSERT_EQUAL(std::filesystem::file_size(tree_->root + "/hello.txt"),
                             std::uintmax_t(content.size()));
    }

    /// Fetches until the body is `expected` or the deadline passes; every fetch runs the loop.
    static std::string fetchUntil(SiteHarness& h, const std::string& path,
                                  const std::string& expected, unsigned deadlineMs) {
        std::string body;
        bool timedOut = false;
        const auto guard = h.loop.setTimeout(deadlineMs, [&] { timedOut = true; });
        while (!timedOut) {
            body = fetch(h, path).body;
            if (body == expected) break;
        }
        h.loop.clearTimer(guard);
        return body;
    }

    void testSecondRequestIsACacheHit() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        writeUnseen("HELLO WORLD!");
        // From memory: the file changed on disk, the answer did not.
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        // The once-a-second stat notices the change nobody announced.
        CPPUNIT_ASSERT_EQUAL(std::string("HELLO WORLD!"),
                             fetchUntil(h, "/hello.txt", "HELLO WORLD!", 5000));
    }

    void testWithoutCacheEveryRequestReads() {
        // The control for the test above: with no cache the unseen write shows at once.
        {
            SiteHarness h({fsSite(staticRoute(tree_->root), R"({"cache_bytes": 0})")});
            CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
            writeUnseen("HELLO WORLD!");
            CPPUNIT_ASSERT_EQUAL(std::string("HELLO WORLD!"), fetch(h, "/hello.txt").body);
        }
        // Per use, too.
        SiteHarness off({fsSite(staticRoute(tree_->root, R"(, "cache": {"max_file_bytes": 0})"))});
        CPPUNIT_ASSERT_EQUAL(std::string("HELLO WORLD!"), fetch(off, "/hello.txt").body);
        writeUnseen("Hello World!");
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(off, "/hello.txt").body);
    }

    void testLargeFilesAreNotCached() {
        // Over max_file_bytes: the cache keeps the file open, not its bytes, so a write to
        // the same inode shows at once.
        SiteHarness h({fsSite(staticRoute(tree_->root, R"(, "cache": {"max_file_bytes": 11})"))});
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        writeUnseen("HELLO WORLD!");
        CPPUNIT_ASSERT_EQUAL(std::string("HELLO WORLD!"), fetch(h, "/hello.txt").body);
    }

    void testLargeFileKeptOpenFollowsAReplace() {
        // The kept descriptor is of the old inode: a file renamed over it must drop it (the
        // watch event), or the old content would be served from the open file.
        SiteHarness h({fsSite(staticRoute(tree_->root, R"(, "cache": {"max_file_bytes": 11})"))});
        Changes changes(h);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        Tree::writeAt(tree_->root + "/.keel-tmp-y", "Replaced, and longer");
        std::filesystem::rename(tree_->root + "/.keel-tmp-y", tree_->root + "/hello.txt");
        CPPUNIT_ASSERT_MESSAGE("no fs.changed event for the rename", !changes.waitFor("hello.txt").empty());
        const Reply r = fetch(h, "/hello.txt");
        CPPUNIT_ASSERT_EQUAL(std::string("Replaced, and longer"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("20"), r.header("Content-Length"));
        // Ranges come from the kept descriptor too.
        CPPUNIT_ASSERT_EQUAL(std::string("and"), fetch(h, "/hello.txt", "Range: bytes=10-12\r\n").body);
    }

    void testChangeInvalidatesAndPublishes() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        Changes changes(h);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        tree_->write("hello.txt", "Changed content, longer");
        const std::string event = changes.waitFor("hello.txt");
        CPPUNIT_ASSERT_MESSAGE("no fs.changed event for hello.txt", !event.empty());
        CPPUNIT_ASSERT_MESSAGE(event, event.find("\"site\":\"fstest\"") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(event,
                               event.find("\"root\":\"" + tree_->root + "\"") != std::string::npos);
        CPPUNIT_ASSERT_MESSAGE(event, event.find("\"event\":\"change\"") != std::string::npos ||
                                          event.find("\"event\":\"rename\"") != std::string::npos);
        CPPUNIT_ASSERT_EQUAL(std::string("Changed content, longer"), fetch(h, "/hello.txt").body);
    }

    void testAtomicReplaceInvalidates() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        Changes changes(h);
        CPPUNIT_ASSERT_EQUAL(std::string("Hello World!"), fetch(h, "/hello.txt").body);
        const std::string etag = fetch(h, "/hello.txt").header("ETag");
        // Same size, written elsewhere and renamed over: a new inode.
        Tree::writeAt(tree_->root + "/.keel-tmp-x", "HELLO WORLD!");
        std::filesystem::rename(tree_->root + "/.keel-tmp-x", tree_->root + "/hello.txt");
        const std::string event = changes.waitFor("hello.txt");
        CPPUNIT_ASSERT_MESSAGE("no fs.changed event for the rename", !event.empty());
        CPPUNIT_ASSERT_MESSAGE(event, event.find("\"event\":\"rename\"") != std::string::npos);
        // Temporary files are not announced.
        for (const auto& e : changes.events)
            CPPUNIT_ASSERT_MESSAGE(e, e.find("keel-tmp") == std::string::npos);
        const Reply r = fetch(h, "/hello.txt");
        CPPUNIT_ASSERT_EQUAL(std::string("HELLO WORLD!"), r.body);
        CPPUNIT_ASSERT(r.header("ETag") != etag);
        CPPUNIT_ASSERT_EQUAL(
            304, fetch(h, "/hello.txt", "If-None-Match: " + r.header("ETag") + "\r\n").status);
        CPPUNIT_ASSERT_EQUAL(200, fetch(h, "/hello.txt", "If-None-Match: " + etag + "\r\n").status);
    }

    void testSubdirectoryChange() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        Changes changes(h);
        CPPUNIT_ASSERT_EQUAL(std::string("deep one"), fetch(h, "/deep/er/a.txt").body);
        CPPUNIT_ASSERT_EQUAL(std::string("deep one"), fetch(h, "/deep/er/a.txt").body);
        tree_->write("deep/er/a.txt", "deep two");
        CPPUNIT_ASSERT_MESSAGE("no fs.changed event for deep/er/a.txt",
                               !changes.waitFor("deep/er/a.txt").empty());
        CPPUNIT_ASSERT_EQUAL(std::string("deep two"), fetch(h, "/deep/er/a.txt").body);
        // A directory made later is watched once its creation is announced.
        std::filesystem::create_directory(tree_->root + "/late");
        CPPUNIT_ASSERT(!changes.waitFor("late").empty());
        tree_->write("late/b.txt", "b1");
        // Either the walk of "late" came first (an event), or the file is read fresh anyway.
        CPPUNIT_ASSERT_EQUAL(std::string("b1"), fetch(h, "/late/b.txt").body);
        tree_->write("late/b.txt", "b2");
        CPPUNIT_ASSERT(!changes.waitFor("late/b.txt").empty());
        CPPUNIT_ASSERT_EQUAL(std::string("b2"), fetchUntil(h, "/late/b.txt", "b2", 3000));
    }

    void testDeletedFile() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        Changes changes(h);
        CPPUNIT_ASSERT_EQUAL(200, fetch(h, "/hello.txt").status);
        CPPUNIT_ASSERT_EQUAL(200, fetch(h, "/hello.txt").status);
        std::filesystem::remove(tree_->root + "/hello.txt");
        CPPUNIT_ASSERT(!changes.waitFor("hello.txt").empty());
        CPPUNIT_ASSERT_EQUAL(404, fetch(h, "/hello.txt").status);
    }

    void testPrecompressedSiblingAppears() {
        SiteHarness h({fsSite(staticRoute(tree_->root))});
        Changes changes(h);
        Reply r = fetch(h, "/app.js", "Accept-Encoding: br\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("plain"), r.body);
        CPPUNIT_ASSERT(!r.has("Vary"));
        tree_->write("app.js.br", "compressed");
        CPPUNIT_ASSERT(!changes.waitFor("app.js.br").empty());
        r = fetch(h, "/app.js", "Accept-Encoding: br\r\n");
        CPPUNIT_ASSERT_EQUAL(std::string("compressed"), r.body);
        CPPUNIT_ASSERT_EQUAL(std::string("Accept-Encoding"), r.header("Vary"));
    }

private:
    std::unique_ptr<Tree> tree_;
};

CPPUNIT_TEST_SUITE_REGISTRATION(CacheWatchTest);
