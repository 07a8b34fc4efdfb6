// --ensure thresholds: parsing, and evaluation against a run's figures.
#include <cppunit/extensions/HelperMacros.h>

#include "Ensure.hpp"

using namespace keel::bench;

namespace {

std::string parseError(const std::string& text) {
    try {
        (void)parseThreshold(text);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

Summary figures() {
    Summary s;
    s.latency.min = 0.1;
    s.latency.mean = 3;
    s.latency.p50 = 1;
    s.latency.p90 = 8;
    s.latency.p95 = 20;
    s.latency.p99 = 49.5;
    s.latency.p999 = 120;
    s.latency.max = 300;
    s.requests = 1000;
    s.requestsPerS = 250;
    s.errorCount = 2;
    s.errorPercent = 0.2;
    return s;
}

bool holds(const std::string& text) { return evaluate(parseThreshold(text), figures()).ok; }

} // namespace

class EnsureTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(EnsureTest);
    CPPUNIT_TEST(testParse);
    CPPUNIT_TEST(testUnits);
    CPPUNIT_TEST(testErrors);
    CPPUNIT_TEST(testEvaluate);
    CPPUNIT_TEST(testConditions);
    CPPUNIT_TEST_SUITE_END();

public:
    void testParse() {
        Threshold t = parseThreshold(" p99 < 50ms ");
        CPPUNIT_ASSERT_EQUAL(std::string("p99 < 50ms"), t.text);
        CPPUNIT_ASSERT(t.metric == Threshold::Metric::latency);
        CPPUNIT_ASSERT_EQUAL(std::string("p99"), t.stat);
        CPPUNIT_ASSERT(t.op == Threshold::Op::less);
        CPPUNIT_ASSERT_EQUAL(50.0, t.value);
        CPPUNIT_ASSERT_EQUAL(std::string("p99.9"), parseThreshold("p999<=1s").stat);
        CPPUNIT_ASSERT_EQUAL(std::string("p99.9"), parseThreshold("p99.9<1s").stat);
        CPPUNIT_ASSERT_EQUAL(std::string("p50"), parseThreshold("median<10").stat);
        CPPUNIT_ASSERT_EQUAL(std::string("p95"), parseThreshold("http.response_time.p95<200").stat);
        CPPUNIT_ASSERT(parseThreshold("mean<=3").op == Threshold::Op::lessEqual);
        CPPUNIT_ASSERT(parseThreshold("rps>1000").metric == Threshold::Metric::requestsPerS);
        CPPUNIT_ASSERT(parseThreshold("rps>=1000").op == Threshold::Op::greaterEqual);
        CPPUNIT_ASSERT(parseThreshold("http.request_rate>10").metric == Threshold::Metric::requestsPerS);
        CPPUNIT_ASSERT(parseThreshold("requests>=100").metric == Threshold::Metric::requests);
        CPPUNIT_ASSERT(parseThreshold("errors<0.1%").metric == Threshold::Metric::errorPercent);
        CPPUNIT_ASSERT(parseThreshold("errors<5").metric == Threshold::Metric::errors);
        Threshold zero = parseThreshold("errors=0");
        CPPUNIT_ASSERT(zero.op == Threshold::Op::lessEqual);
        CPPUNIT_ASSERT_EQUAL(0.0, zero.value);
        CPPUNIT_ASSERT(parseThreshold("errors==0").op == Threshold::Op::lessEqual);
    }

    void testUnits() {
        CPPUNIT_ASSERT_EQUAL(50.0, parseThreshold("p99<50").value);
        CPPUNIT_ASSERT_EQUAL(1500.0, parseThreshold("p99<1.5s").value);
        CPPUNIT_ASSERT_EQUAL(0.25, parseThreshold("p99<250us").value);
        CPPUNIT_ASSERT_EQUAL(0.1, parseThreshold("errors<0.1%").value);
    }

    void testErrors() {
        CPPUNIT_ASSERT(parseError("p99 fast").find("ensure 'p99 fast': expected METRIC<VALUE") == 0);
        CPPUNIT_ASSERT(parseError("<5").find("expected METRIC<VALUE") != std::string::npos);
        CPPUNIT_ASSERT(parseError("p98<5ms").find("unknown metric 'p98'") != std::string::npos);
        CPPUNIT_ASSERT(parseError("p99<5kg").find("a latency is in us, ms (the default) or s, not 'kg'") != std::string::npos);
        CPPUNIT_ASSERT(parseError("rps>5ms").find("rps is a plain number") != std::string::npos);
        CPPUNIT_ASSERT(parseError("errors<5ms").find("errors is a count, or a percentage") != std::string::npos);
        CPPUNIT_ASSERT(parseError("p99<").find("expected METRIC<VALUE") != std::string::npos);
    }

    void testEvaluate() {
        CPPUNIT_ASSERT(holds("p99<50ms"));
        CPPUNIT_ASSERT(!holds("p99<49ms"));
        CPPUNIT_ASSERT(holds("p99<=49.5"));
        CPPUNIT_ASSERT(!holds("max<0.2s"));
        CPPUNIT_ASSERT(holds("min<200us"));
        CPPUNIT_ASSERT(holds("errors<0.5%"));
        CPPUNIT_ASSERT(!holds("errors<0.1%"));
        CPPUNIT_ASSERT(!holds("errors=0"));
        CPPUNIT_ASSERT(holds("errors<=2"));
        CPPUNIT_ASSERT(holds("rps>200"));
        CPPUNIT_ASSERT(!holds("rps>250"));
        CPPUNIT_ASSERT(holds("requests>=1000"));
        const Verdict v = evaluate(parseThreshold("p99<20ms"), figures());
        CPPUNIT_ASSERT(!v.ok);
        CPPUNIT_ASSERT_EQUAL(std::string("p99<20ms"), v.threshold);
        CPPUNIT_ASSERT_EQUAL(49.5, v.actual);
        CPPUNIT_ASSERT_EQUAL(std::string("p99 49.5 ms"), v.actualText);
        CPPUNIT_ASSERT_EQUAL(std::string("0.2% errors"), evaluate(parseThreshold("errors<0.1%"), figures()).actualText);
    }

    void testConditions() {
        const auto all = parseCondition("http.response_time.p99 < 250 and http.request_rate > 100");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), all.size());
        CPPUNIT_ASSERT_EQUAL(std::string("http.response_time.p99 < 250"), all[0].text);
        CPPUNIT_ASSERT(all[1].metric == Threshold::Metric::requestsPerS);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), parseCondition("p99<1").size());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(EnsureTest);
