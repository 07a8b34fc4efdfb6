// keel/Histogram.hpp — HDR-style log-linear histogram of uint64_t values.
//
// Used for event-loop lag (nanoseconds) and load-generator latency reports
// (microseconds); the unit is whatever the caller records.
//
// Error bound: every reported percentile is within 1/128 (< 0.79%) relative
// error of the true value; values below 256 are recorded exactly. count(),
// min(), max() and mean() are exact. The full uint64_t range is accepted.
//
// Memory is fixed at construction (7424 buckets x 8 bytes = 58 KiB);
// record() is O(1), branch-light and never allocates.
//
// NOT thread-safe: keep one Histogram per thread and merge() them to combine.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace keel {

class Histogram {
public:
    // Bucket scheme: values < kSubBuckets get one bucket each (exact). Every
    // power-of-two range [2^m, 2^(m+1)) with m >= kSubBits is split into
    // kSubBuckets linear sub-buckets of width 2^(m - kSubBits). A value v in
    // such a bucket is >= kSubBuckets * width, so reporting any value of the
    // bucket is off by < width / v <= 1/128 = 0.78%: 128 is the smallest
    // power of two that keeps the error <= 1% (64 would give 1.56%).
    static constexpr unsigned kSubBits = 7;
    static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBits;  // 128
    // Index block 0 holds the exact values [0, 128); block b >= 1 holds
    // magnitude m = b + kSubBits - 1, up to m = 63.
    static constexpr std::size_t kBlocks = 64 - kSubBits + 1;         // 58
    static constexpr std::size_t kBucketCount = kBlocks * kSubBuckets;  // 7424

    Histogram() : counts_(kBucketCount, 0) {}

    void record(uint64_t v) { recordN(v, 1); }

    void recordN(uint64_t v, uint64_t n) {
        if (n == 0) {
            return;
        }
        counts_[indexOf(v)] += n;
        count_ += n;
        sum_ += static_cast<Sum>(v) * static_cast<Sum>(n);
        if (v < min_) {
            min_ = v;
        }
        if (v > max_) {
            max_ = v;
        }
    }

    uint64_t count() const { return count_; }
    uint64_t min() const { return count_ == 0 ? 0 : min_; }
    uint64_t max() const { return count_ == 0 ? 0 : max_; }

    double mean() const {
        if (count_ == 0) {
            return 0.0;
        }
        return static_cast<double>(static_cast<long double>(sum_) /
                                   static_cast<long double>(count_));
    }

    // p in [0, 100]. p <= 0 (or NaN) -> min(), p >= 100 -> max(). Otherwise
    // the value at which the cumulative count first reaches
    // ceil(p/100 * count), reported as the bucket's highest value clamped to
    // [min(), max()].
    uint64_t percentile(double p) const {
        if (count_ == 0) {
            return 0;
        }
        if (!(p > 0.0)) {
            return min();
        }
        if (p >= 100.0) {
            return max();
        }
        const double total = static_cast<double>(count_);
        const double x = (p / 100.0) * total;
        // The relative tolerance absorbs binary rounding of p (99.9 is not
        // exactly representable) so that e.g. p90 of 1000 values is rank 900.
        const double r = std::ceil(x - x * 1e-12);
        uint64_t rank = 1;
        if (r >= total) {
            rank = count_;
        } else if (r > 1.0) {
            rank = static_cast<uint64_t>(r);
        }
        uint64_t cumulative = 0;
        for (std::size_t i = 0; i < kBucketCount; ++i) {
            cumulative += counts_[i];
            if (cumulative >= rank) {
                return std::clamp(highValueOf(i), min_, max_);
            }
        }
        return max_;  // unreachable while counts_ is consistent with count_
    }

    void merge(const Histogram& other) {
        if (other.count_ == 0) {
            return;
        }
        for (std::size_t i = 0; i < kBucketCount; ++i) {
            counts_[i] += other.counts_[i];
        }
        count_ += other.count_;
        sum_ += other.sum_;
        min_ = std::min(min_, other.min_);
        max_ = std::max(max_, other.max_);
    }

    void reset() {
        std::fill(counts_.begin(), counts_.end(), uint64_t{0});
        count_ = 0;
        sum_ = 0;
        min_ = std::numeric_limits<uint64_t>::max();
        max_ = 0;
    }

    // Calls f(lowValue, highValue, count) for each non-empty bucket in
    // ascending value order; [lowValue, highValue] is inclusive.
    template <class F>
    void forEachBucket(F f) const {
        for (std::size_t i = 0; i < kBucketCount; ++i) {
            if (counts_[i] != 0) {
                f(lowValueOf(i), highValueOf(i), counts_[i]);
            }
        }
    }

    // Bucket geometry, exposed for tests and reporting.
    static constexpr std::size_t indexOf(uint64_t v) {
        if (v < kSubBuckets) {
            return static_cast<std::size_t>(v);
        }
        const unsigned magnitude = static_cast<unsigned>(std::bit_width(v)) - 1;  // >= kSubBits
        const unsigned shift = magnitude - kSubBits;
        // (v >> shift) is in [kSubBuckets, 2*kSubBuckets): block shift+1.
        return static_cast<std::size_t>(shift) * kSubBuckets +
               static_cast<std::size_t>(v >> shift);
    }

    static constexpr uint64_t lowValueOf(std::size_t index) {
        const std::size_t block = index / kSubBuckets;
        if (block == 0) {
            return static_cast<uint64_t>(index);
        }
        const unsigned shift = static_cast<unsigned>(block - 1);
        const uint64_t sub = static_cast<uint64_t>(index % kSubBuckets);
        return (kSubBuckets + sub) << shift;
    }

    static constexpr uint64_t highValueOf(std::size_t index) {
        const std::size_t block = index / kSubBuckets;
        if (block == 0) {
            return static_cast<uint64_t>(index);
        }
        const unsigned shift = static_cast<unsigned>(block - 1);
        return lowValueOf(index) + ((uint64_t{1} << shift) - 1);
    }

private:
#if defined(__SIZEOF_INT128__)
    // count_ < 2^64 and every value < 2^64, so the sum always fits in 128 bits.
    __extension__ typedef unsigned __int128 Sum;
#else
    typedef long double Sum;
#endif

    std::vector<uint64_t> counts_;
    uint64_t count_ = 0;
    Sum sum_ = 0;
    uint64_t min_ = std::numeric_limits<uint64_t>::max();
    uint64_t max_ = 0;
};

}  // namespace keel
