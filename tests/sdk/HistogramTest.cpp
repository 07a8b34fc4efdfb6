// Unit tests for keel::Histogram (sdk/include/keel/Histogram.hpp).
#include <keel/Histogram.hpp>

#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

// |actual - expected| <= 1% of expected.
void assertWithin1Percent(const std::string& what, uint64_t expected, uint64_t actual) {
    const long double e = static_cast<long double>(expected);
    const long double a = static_cast<long double>(actual);
    const long double err = std::fabs(a - e);
    CPPUNIT_ASSERT_MESSAGE(what + ": expected ~" + std::to_string(expected) + ", got " +
                               std::to_string(actual),
                           err <= e * 0.01L);
}

}  // namespace

class HistogramTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(HistogramTest);
    CPPUNIT_TEST(testEmpty);
    CPPUNIT_TEST(testExactSmallValues);
    CPPUNIT_TEST(testMinMaxMeanExact);
    CPPUNIT_TEST(testUniformPercentiles);
    CPPUNIT_TEST(testBimodal);
    CPPUNIT_TEST(testVeryLargeValues);
    CPPUNIT_TEST(testBucketGeometry);
    CPPUNIT_TEST(testMergeEqualsRecordingBoth);
    CPPUNIT_TEST(testRecordN);
    CPPUNIT_TEST(testReset);
    CPPUNIT_TEST(testForEachBucket);
    CPPUNIT_TEST_SUITE_END();

public:
    void testEmpty() {
        keel::Histogram h;
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.count());
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.min());
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.max());
        CPPUNIT_ASSERT_EQUAL(0.0, h.mean());
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.percentile(0));
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.percentile(50));
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.percentile(100));
        int calls = 0;
        h.forEachBucket([&](uint64_t, uint64_t, uint64_t) { ++calls; });
        CPPUNIT_ASSERT_EQUAL(0, calls);
    }

    void testExactSmallValues() {
        // Each of 0..127 recorded once: every rank must resolve to the exact value.
        keel::Histogram h;
        for (uint64_t v = 0; v < 128; ++v) {
            h.record(v);
        }
        CPPUNIT_ASSERT_EQUAL(uint64_t{128}, h.count());
        for (uint64_t k = 1; k <= 128; ++k) {
            // p such that ceil(p/100 * 128) == k  ->  value k-1.
            const double p = 100.0 * (static_cast<double>(k) - 0.5) / 128.0;
            CPPUNIT_ASSERT_EQUAL(k - 1, h.percentile(p));
        }
        // Distinct small values each get their own bucket of width 1.
        keel::Histogram g;
        g.record(3);
        g.record(7);
        g.record(7);
        g.record(100);
        CPPUNIT_ASSERT_EQUAL(uint64_t{3}, g.percentile(25));
        CPPUNIT_ASSERT_EQUAL(uint64_t{7}, g.percentile(26));
        CPPUNIT_ASSERT_EQUAL(uint64_t{7}, g.percentile(75));
        CPPUNIT_ASSERT_EQUAL(uint64_t{100}, g.percentile(76));

        // Rank is ceil(p/100 * count) despite binary rounding of p: 99.9/100*1000
        // evaluates to 999.0000000000001 in double, but the rank must be 999.
        keel::Histogram t;
        t.recordN(10, 999);
        t.record(200);
        CPPUNIT_ASSERT_EQUAL(uint64_t{10}, t.percentile(99.9));
        CPPUNIT_ASSERT_EQUAL(uint64_t{200}, t.percentile(99.91));
    }

    void testMinMaxMeanExact() {
        keel::Histogram h;
        // Values that share coarse buckets, so min/max must come from exact tracking.
        h.record(1000003);
        h.record(1000001);
        h.record(2000005);
        h.record(1500007);
        CPPUNIT_ASSERT_EQUAL(uint64_t{1000001}, h.min());
        CPPUNIT_ASSERT_EQUAL(uint64_t{2000005}, h.max());
        CPPUNIT_ASSERT_EQUAL(uint64_t{1000001}, h.percentile(0));
        CPPUNIT_ASSERT_EQUAL(uint64_t{2000005}, h.percentile(100));
        CPPUNIT_ASSERT_DOUBLES_EQUAL(5500016.0 / 4.0, h.mean(), 1e-9);

        // Mean must not overflow 64 bits: two values near 2^63 + 2^63-ish.
        keel::Histogram big;
        const uint64_t a = std::numeric_limits<uint64_t>::max();
        const uint64_t b = std::numeric_limits<uint64_t>::max() - 2;
        big.record(a);
        big.record(b);
        const double expected = static_cast<double>(a) - 1.0;  // (a+b)/2 = a-1
        CPPUNIT_ASSERT_DOUBLES_EQUAL(expected, big.mean(), expected * 1e-15);
        CPPUNIT_ASSERT_EQUAL(a, big.max());
        CPPUNIT_ASSERT_EQUAL(b, big.min());
    }

    void testUniformPercentiles() {
        keel::Histogram h;
        const uint64_t n = 100000;
        for (uint64_t v = 1; v <= n; ++v) {
            h.record(v);
        }
        CPPUNIT_ASSERT_EQUAL(n, h.count());
        CPPUNIT_ASSERT_EQUAL(uint64_t{1}, h.min());
        CPPUNIT_ASSERT_EQUAL(n, h.max());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(50000.5, h.mean(), 1e-9);
        assertWithin1Percent("p50", 50000, h.percentile(50));
        assertWithin1Percent("p90", 90000, h.percentile(90));
        assertWithin1Percent("p99", 99000, h.percentile(99));
        assertWithin1Percent("p99.9", 99900, h.percentile(99.9));
        CPPUNIT_ASSERT_EQUAL(n, h.percentile(100));

        // Shuffled random values: every percentile within 1% of the true order statistic.
        std::mt19937_64 rng(12345);
        std::uniform_int_distribution<uint64_t> dist(1, uint64_t{1} << 40);
        std::vector<uint64_t> values(20000);
        keel::Histogram r;
        for (auto& v : values) {
            v = dist(rng);
            r.record(v);
        }
        std::sort(values.begin(), values.end());
        for (double p : {1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99}) {
            const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * 20000.0 - 1e-9));
            assertWithin1Percent("random p" + std::to_string(p), values[rank - 1],
                                 r.percentile(p));
        }
    }

    void testBimodal() {
        // 90% at 1 ms, 10% at 50 ms, in nanoseconds.
        const uint64_t ms = 1000000;
        keel::Histogram h;
        for (int i = 0; i < 9000; ++i) {
            h.record(1 * ms);
        }
        for (int i = 0; i < 1000; ++i) {
            h.record(50 * ms);
        }
        assertWithin1Percent("p50", 1 * ms, h.percentile(50));
        assertWithin1Percent("p90", 1 * ms, h.percentile(90));
        assertWithin1Percent("p90.01", 50 * ms, h.percentile(90.01));
        assertWithin1Percent("p99", 50 * ms, h.percentile(99));
        CPPUNIT_ASSERT_EQUAL(1 * ms, h.min());
        CPPUNIT_ASSERT_EQUAL(50 * ms, h.max());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(0.9 * 1e6 + 0.1 * 50e6, h.mean(), 1e-6);

        // Same shape with jitter so the 1 ms mode is not clamped to min/max.
        keel::Histogram j;
        for (uint64_t i = 0; i < 9000; ++i) {
            j.record(1 * ms - 4500 + i);  // 0.9955 ms .. 1.0045 ms
        }
        for (uint64_t i = 0; i < 1000; ++i) {
            j.record(50 * ms - 500000 + 1000 * i);  // 49.5 ms .. 50.5 ms
        }
        assertWithin1Percent("jitter p90", 1 * ms, j.percentile(90));
        assertWithin1Percent("jitter p99", 50 * ms, j.percentile(99));
    }

    void testVeryLargeValues() {
        const uint64_t base = uint64_t{1} << 62;
        const uint64_t step = uint64_t{1} << 52;
        keel::Histogram h;
        for (uint64_t k = 0; k < 1000; ++k) {
            h.record(base + k * step);  // spans 2^62 .. ~1.24 * 2^62
        }
        CPPUNIT_ASSERT_EQUAL(base, h.min());
        CPPUNIT_ASSERT_EQUAL(base + 999 * step, h.max());
        for (double p : {10.0, 50.0, 90.0, 99.0}) {
            const auto k = static_cast<uint64_t>(std::ceil(p / 100.0 * 1000.0 - 1e-9)) - 1;
            assertWithin1Percent("2^62 p" + std::to_string(p), base + k * step, h.percentile(p));
        }

        // Top of the range, including 2^63 and UINT64_MAX.
        keel::Histogram top;
        const uint64_t two63 = uint64_t{1} << 63;
        for (uint64_t k = 0; k < 100; ++k) {
            top.record(two63 + k * (uint64_t{1} << 56));
        }
        top.record(std::numeric_limits<uint64_t>::max());
        assertWithin1Percent("2^63 p50", two63 + 50 * (uint64_t{1} << 56), top.percentile(50));
        CPPUNIT_ASSERT_EQUAL(std::numeric_limits<uint64_t>::max(), top.percentile(100));
    }

    void testBucketGeometry() {
        using H = keel::Histogram;
        // Exact below 256.
        for (uint64_t v = 0; v < 256; ++v) {
            CPPUNIT_ASSERT_EQUAL(v, H::lowValueOf(H::indexOf(v)));
            CPPUNIT_ASSERT_EQUAL(v, H::highValueOf(H::indexOf(v)));
        }
        CPPUNIT_ASSERT_EQUAL(H::kBucketCount - 1,
                             H::indexOf(std::numeric_limits<uint64_t>::max()));
        CPPUNIT_ASSERT_EQUAL(std::numeric_limits<uint64_t>::max(),
                             H::highValueOf(H::kBucketCount - 1));
        // Buckets tile the range contiguously, every value lies in its bucket,
        // and each bucket's width is <= 1/128 of its low value.
        for (std::size_t i = 1; i < H::kBucketCount; ++i) {
            CPPUNIT_ASSERT_EQUAL(H::highValueOf(i - 1) + 1, H::lowValueOf(i));
            const uint64_t lo = H::lowValueOf(i);
            const uint64_t hi = H::highValueOf(i);
            CPPUNIT_ASSERT_EQUAL(i, H::indexOf(lo));
            CPPUNIT_ASSERT_EQUAL(i, H::indexOf(hi));
            CPPUNIT_ASSERT(hi - lo <= lo / 128);
        }
    }

    void testMergeEqualsRecordingBoth() {
        keel::Histogram a, b, both;
        std::mt19937_64 rng(7);
        std::uniform_int_distribution<uint64_t> small(0, 5000);
        std::uniform_int_distribution<uint64_t> large(1000000, 100000000);
        for (int i = 0; i < 5000; ++i) {
            const uint64_t x = small(rng);
            a.record(x);
            both.record(x);
            const uint64_t y = large(rng);
            b.record(y);
            both.record(y);
        }
        a.merge(b);
        CPPUNIT_ASSERT_EQUAL(both.count(), a.count());
        CPPUNIT_ASSERT_EQUAL(both.min(), a.min());
        CPPUNIT_ASSERT_EQUAL(both.max(), a.max());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(both.mean(), a.mean(), 1e-9);
        for (double p : {0.0, 1.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 100.0}) {
            CPPUNIT_ASSERT_EQUAL(both.percentile(p), a.percentile(p));
        }
        CPPUNIT_ASSERT(bucketsOf(both) == bucketsOf(a));

        // Merging an empty histogram changes nothing; merging into an empty one copies.
        keel::Histogram empty;
        a.merge(empty);
        CPPUNIT_ASSERT_EQUAL(both.count(), a.count());
        CPPUNIT_ASSERT_EQUAL(both.min(), a.min());
        keel::Histogram c;
        c.merge(b);
        CPPUNIT_ASSERT_EQUAL(b.count(), c.count());
        CPPUNIT_ASSERT_EQUAL(b.min(), c.min());
        CPPUNIT_ASSERT_EQUAL(b.max(), c.max());
        CPPUNIT_ASSERT_EQUAL(b.percentile(50), c.percentile(50));
    }

    void testRecordN() {
        keel::Histogram n, loop;
        n.recordN(1234567, 1000);
        n.recordN(42, 3);
        n.recordN(999999999, 0);  // n == 0 is a no-op, must not affect max
        for (int i = 0; i < 1000; ++i) {
            loop.record(1234567);
        }
        for (int i = 0; i < 3; ++i) {
            loop.record(42);
        }
        CPPUNIT_ASSERT_EQUAL(uint64_t{1003}, n.count());
        CPPUNIT_ASSERT_EQUAL(uint64_t{42}, n.min());
        CPPUNIT_ASSERT_EQUAL(uint64_t{1234567}, n.max());
        CPPUNIT_ASSERT_DOUBLES_EQUAL((1234567.0 * 1000 + 42.0 * 3) / 1003.0, n.mean(), 1e-6);
        CPPUNIT_ASSERT(bucketsOf(loop) == bucketsOf(n));
        CPPUNIT_ASSERT_EQUAL(uint64_t{42}, n.percentile(0.2));
        CPPUNIT_ASSERT_EQUAL(uint64_t{1234567}, n.percentile(0.3));

        // Large n: sum must not overflow 64 bits.
        keel::Histogram huge;
        const uint64_t v = uint64_t{1} << 40;
        huge.recordN(v, uint64_t{1} << 40);
        CPPUNIT_ASSERT_EQUAL(uint64_t{1} << 40, huge.count());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(static_cast<double>(v), huge.mean(), 1e-3);
    }

    void testReset() {
        keel::Histogram h;
        for (uint64_t v = 100; v < 10000; v += 7) {
            h.record(v);
        }
        CPPUNIT_ASSERT(h.count() > 0);
        h.reset();
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.count());
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.min());
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.max());
        CPPUNIT_ASSERT_EQUAL(0.0, h.mean());
        CPPUNIT_ASSERT_EQUAL(uint64_t{0}, h.percentile(50));
        CPPUNIT_ASSERT(bucketsOf(h).empty());
        // Usable again afterwards, with min/max re-initialised.
        h.record(5000);
        CPPUNIT_ASSERT_EQUAL(uint64_t{1}, h.count());
        CPPUNIT_ASSERT_EQUAL(uint64_t{5000}, h.min());
        CPPUNIT_ASSERT_EQUAL(uint64_t{5000}, h.max());
        CPPUNIT_ASSERT_EQUAL(uint64_t{5000}, h.percentile(50));
        CPPUNIT_ASSERT_DOUBLES_EQUAL(5000.0, h.mean(), 1e-9);
    }

    void testForEachBucket() {
        keel::Histogram h;
        std::mt19937_64 rng(99);
        std::uniform_int_distribution<uint64_t> dist(0, uint64_t{1} << 50);
        std::vector<uint64_t> values;
        for (int i = 0; i < 3000; ++i) {
            values.push_back(dist(rng));
        }
        values.push_back(0);
        values.push_back(0);
        for (uint64_t v : values) {
            h.record(v);
        }
        uint64_t total = 0;
        uint64_t prevHigh = 0;
        bool first = true;
        std::size_t buckets = 0;
        h.forEachBucket([&](uint64_t lo, uint64_t hi, uint64_t c) {
            CPPUNIT_ASSERT(lo <= hi);
            CPPUNIT_ASSERT(c > 0);
            if (!first) {
                CPPUNIT_ASSERT(lo > prevHigh);
            }
            first = false;
            prevHigh = hi;
            // Count must match the number of recorded values inside [lo, hi].
            uint64_t inside = 0;
            for (uint64_t v : values) {
                inside += (v >= lo && v <= hi) ? 1 : 0;
            }
            CPPUNIT_ASSERT_EQUAL(inside, c);
            total += c;
            ++buckets;
        });
        CPPUNIT_ASSERT_EQUAL(h.count(), total);
        CPPUNIT_ASSERT_EQUAL(static_cast<uint64_t>(values.size()), total);
        CPPUNIT_ASSERT(buckets > 100);  // random 50-bit values spread over many buckets
    }

private:
    struct Bucket {
        uint64_t lo, hi, count;
        bool operator==(const Bucket&) const = default;
    };

    static std::vector<Bucket> bucketsOf(const keel::Histogram& h) {
        std::vector<Bucket> out;
        h.forEachBucket([&](uint64_t lo, uint64_t hi, uint64_t c) { out.push_back({lo, hi, c}); });
        return out;
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(HistogramTest);
