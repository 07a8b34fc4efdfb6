// The arithmetic that turns artillery phases (and --rate) into arrival times.
#include <cppunit/extensions/HelperMacros.h>

#include <cmath>
#include <vector>

#include "Phases.hpp"

using namespace keel::bench;

namespace {

Phase rate(double duration, double r, std::optional<double> rampTo = std::nullopt) {
    Phase p;
    p.durationS = duration;
    p.arrivalRate = r;
    p.rampTo = rampTo;
    return p;
}

std::vector<double> times(std::vector<Phase> phases) {
    ArrivalSchedule s(std::move(phases));
    std::vector<double> out;
    while (auto a = s.peek()) {
        out.push_back(static_cast<double>(a->atNs) / 1e9);
        s.pop();
    }
    return out;
}

} // namespace

class PhasesTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(PhasesTest);
    CPPUNIT_TEST(testConstantRate);
    CPPUNIT_TEST(testFractionalRate);
    CPPUNIT_TEST(testRampUp);
    CPPUNIT_TEST(testRampDown);
    CPPUNIT_TEST(testArrivalCount);
    CPPUNIT_TEST(testPauseAndSequence);
    CPPUNIT_TEST(testAllAtOnce);
    CPPUNIT_TEST_SUITE_END();

public:
    void testConstantRate() {
        // The seed's loadtest.yml: 10 users a second for 60 s.
        const Phase p = rate(60, 10);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(600), p.arrivals());
        const auto t = times({p});
        CPPUNIT_ASSERT_EQUAL(std::size_t(600), t.size());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(0.0, t[0], 1e-9);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(0.1, t[1], 1e-9);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(59.9, t[599], 1e-9);
        // 0.1 x 30 is not exactly 3 in binary; it must still be 3 arrivals.
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), rate(30, 0.1).arrivals());
    }

    void testFractionalRate() {
        // Half a user a second for 5 s: at 0, 2 and 4 s.
        const auto t = times({rate(5, 0.5)});
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), t.size());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(2.0, t[1], 1e-9);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(4.0, t[2], 1e-9);
    }

    void testRampUp() {
        // 5/s rising to 20/s over 2 s: (5 + 20) / 2 x 2 = 25 arrivals.
        const Phase p = rate(2, 5, 20.0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(25), p.arrivals());
        const auto t = times({p});
        CPPUNIT_ASSERT_EQUAL(std::size_t(25), t.size());
        // Arrival k comes when the integral of the rate, 5t + 3.75t^2, reaches k.
        for (std::size_t k = 0; k < t.size(); ++k) CPPUNIT_ASSERT_DOUBLES_EQUAL(double(k), 5 * t[k] + 3.75 * t[k] * t[k], 1e-6);
        for (std::size_t k = 1; k < t.size(); ++k) CPPUNIT_ASSERT(t[k] > t[k - 1]);
        CPPUNIT_ASSERT(t.back() < 2.0);
        // Gaps shrink as the rate rises: about 1/5 s first, about 1/20 s last.
        CPPUNIT_ASSERT(t[1] - t[0] > 0.15);
        CPPUNIT_ASSERT(t[24] - t[23] < 0.06);
        // From zero: artillery's usual warm-up.
        const Phase z = rate(10, 0, 10.0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(50), z.arrivals());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(std::sqrt(2.0), z.offsetS(1), 1e-9);  // 0.5 t^2 = 1
    }

    void testRampDown() {
        const Phase p = rate(4, 10, 0.0);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(20), p.arrivals());
        double prev = -1;
        for (std::uint64_t k = 0; k < p.arrivals(); ++k) {
            const double t = p.offsetS(k);
            CPPUNIT_ASSERT(t > prev);
            CPPUNIT_ASSERT(t <= 4.0);
            CPPUNIT_ASSERT_DOUBLES_EQUAL(double(k), 10 * t - 1.25 * t * t, 1e-6);
            prev = t;
        }
    }

    void testArrivalCount() {
        Phase p;
        p.durationS = 60;
        p.arrivalCount = 20;  // one every 3 s
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(20), p.arrivals());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(3.0, p.offsetS(1), 1e-9);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(57.0, p.offsetS(19), 1e-9);
    }

    void testPauseAndSequence() {
        Phase pause;
        pause.pause = true;
        pause.durationS = 5;
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(0), pause.arrivals());
        ArrivalSchedule s({rate(2, 1), pause, rate(1, 2)});
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(8'000'000'000), s.totalNs());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(4), s.totalArrivals());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(7'000'000'000), s.phaseStartNs(2));
        const auto t = times({rate(2, 1), pause, rate(1, 2)});
        const std::vector<double> expected = {0, 1, 7, 7.5};
        CPPUNIT_ASSERT_EQUAL(expected.size(), t.size());
        for (std::size_t i = 0; i < t.size(); ++i) CPPUNIT_ASSERT_DOUBLES_EQUAL(expected[i], t[i], 1e-9);
        ArrivalSchedule phases({rate(2, 1), pause, rate(1, 2)});
        phases.pop();
        phases.pop();
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), phases.peek()->phase);
    }

    void testAllAtOnce() {
        // -c 64: 64 connections at t = 0.
        Phase p;
        p.durationS = 0;
        p.arrivalCount = 64;
        const auto t = times({p});
        CPPUNIT_ASSERT_EQUAL(std::size_t(64), t.size());
        for (double x : t) CPPUNIT_ASSERT_EQUAL(0.0, x);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(PhasesTest);
