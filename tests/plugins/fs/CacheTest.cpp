// keel_fs::Cache: the LRU bound, recency, and what an fs event invalidates.
#include <cppunit/extensions/HelperMacros.h>

#include <string>

#include "Cache.hpp"

using keel_fs::Cache;
using keel_fs::CacheEntry;
using keel_fs::CacheEntryPtr;

namespace {

CacheEntryPtr entry(std::uint64_t watchId, const std::string& dir, std::size_t bodyBytes) {
    auto e = std::make_shared<CacheEntry>();
    e->watchId = watchId;
    e->dir = dir;
    keel_fs::Representation rep;
    rep.body.assign(bodyBytes, 'x');
    e->reps.push_back(std::move(rep));
    return e;
}

} // namespace

class CacheTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(CacheTest);
    CPPUNIT_TEST(testBoundAndRecency);
    CPPUNIT_TEST(testTooLarge);
    CPPUNIT_TEST(testReplace);
    CPPUNIT_TEST(testInvalidate);
    CPPUNIT_TEST(testErasePrefix);
    CPPUNIT_TEST_SUITE_END();

public:
    void testBoundAndRecency() {
        const std::size_t one = entry(1, "", 1000)->bytes();
        Cache cache(one * 3);
        cache.insert("a", entry(1, "", 1000));
        cache.insert("b", entry(1, "", 1000));
        cache.insert("c", entry(1, "", 1000));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), cache.size());
        CPPUNIT_ASSERT_EQUAL(one * 3, cache.bytes());
        CPPUNIT_ASSERT(cache.find("a") != nullptr); // a is now the most recent: b goes first
        auto b = cache.findShared("b");
        cache.find("a");
        cache.find("c");
        cache.insert("d", entry(1, "", 1000));
        CPPUNIT_ASSERT(cache.find("b") == nullptr);
        CPPUNIT_ASSERT(!b->valid); // a holder (a revalidation) sees the eviction
        CPPUNIT_ASSERT(cache.find("a") && cache.find("c") && cache.find("d"));
        CPPUNIT_ASSERT(cache.bytes() <= cache.capacity());
    }

    void testTooLarge() {
        Cache cache(1000);
        CPPUNIT_ASSERT(!cache.insert("big", entry(1, "", 5000)));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), cache.size());
        Cache none(0);
        CPPUNIT_ASSERT(!none.insert("a", entry(1, "", 1)));
    }

    void testReplace() {
        Cache cache(1 << 20);
        cache.insert("a", entry(1, "", 10));
        const std::size_t small = cache.bytes();
        auto old = cache.findShared("a");
        cache.insert("a", entry(1, "", 100));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.size());
        CPPUNIT_ASSERT_EQUAL(small + 90, cache.bytes());
        CPPUNIT_ASSERT(!old->valid);
        cache.erase("a");
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), cache.bytes());
    }

    void testInvalidate() {
        Cache cache(1 << 20);
        cache.insert("top", entry(1, "", 1));
        cache.insert("docs", entry(1, "docs", 1));
        cache.insert("docs/api", entry(1, "docs/api", 1));
        cache.insert("docsx", entry(1, "docsx", 1));
        cache.insert("other-root", entry(2, "docs", 1));
        // A file changed in docs: what lives in docs goes (and docs/<name> if it was a directory).
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.invalidate(1, "docs", "page.html"));
        CPPUNIT_ASSERT(!cache.find("docs") && cache.find("docs/api") && cache.find("top") &&
                       cache.find("docsx"));
        CPPUNIT_ASSERT(cache.find("other-root"));
        // A directory renamed in the root: everything under it.
        cache.insert("docs", entry(1, "docs", 1));
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), cache.invalidate(1, "", "docs"));
        CPPUNIT_ASSERT(!cache.find("docs") && !cache.find("docs/api") && !cache.find("top") &&
                       cache.find("docsx"));
        // A broken watch (no name): everything in and under the directory.
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.invalidate(1, "", ""));
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.invalidateAll(2));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), cache.size());
    }

    void testErasePrefix() {
        Cache cache(1 << 20);
        cache.insert("1:a", entry(1, "", 1));
        cache.insert("1:b", entry(1, "", 1));
        cache.insert("12:a", entry(1, "", 1));
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), cache.erasePrefix("1:"));
        CPPUNIT_ASSERT(cache.find("12:a") != nullptr);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), cache.size());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(CacheTest);
