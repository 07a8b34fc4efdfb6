// The figures a run reports (from Stats) and how they are rendered: text, JSON, HTML, live.
#include <cppunit/extensions/HelperMacros.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "Ensure.hpp"
#include "Report.hpp"
#include "Stats.hpp"

using namespace keel::bench;

namespace {

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

/// 1000 responses: 900 of 200 us, 100 of 50 ms (the delayed-tenth server, in numbers).
Stats delayedTenth() {
    Stats s;
    for (int i = 0; i < 1000; ++i) s.recordResponse(i % 10 == 9 ? 50000 : 200, i % 10 == 9 ? 503 : 200);
    s.addBytes(64000);
    s.recordError("ECONNREFUSED");
    s.recordError("ECONNREFUSED");
    s.recordError("ETIMEDOUT");
    s.closeSecond(1.0);
    s.recordResponse(1000, 200);
    s.closeSecond(1.5);
    return s;
}

std::size_t countOf(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

Poco::JSON::Object::Ptr json(const std::string& text) {
    Poco::JSON::Parser parser;
    return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

} // namespace

class ReportTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ReportTest);
    CPPUNIT_TEST(testSummaryFigures);
    CPPUNIT_TEST(testPercentilesWithinOnePercent);
    CPPUNIT_TEST(testSeries);
    CPPUNIT_TEST(testText);
    CPPUNIT_TEST(testJsonHasTheSameFigures);
    CPPUNIT_TEST(testHtmlIsSelfContained);
    CPPUNIT_TEST(testLiveLines);
    CPPUNIT_TEST(testNoResponses);
    CPPUNIT_TEST_SUITE_END();

public:
    void testSummaryFigures() {
        const Summary s = delayedTenth().summarize(2.0, 3);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1001), s.requests);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(500.5, s.requestsPerS, 1e-9);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(64000), s.bytes);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(32000.0, s.bytesPerS, 1e-9);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(0.2, s.latency.min, 1e-9);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(0.2, s.latency.p50, 0.002);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(1.0, s.latency.p90, 0.01);  // rank 901 of 1001: the one 1 ms response
        CPPUNIT_ASSERT_DOUBLES_EQUAL(50.0, s.latency.p95, 0.5);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(50.0, s.latency.p99, 0.5);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(50.0, s.latency.max, 1e-9);
        CPPUNIT_ASSERT_DOUBLES_EQUAL((900 * 0.2 + 100 * 50 + 1) / 1001, s.latency.mean, 1e-9);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(901), s.codes.at(200));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100), s.codes.at(503));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), s.errors.at("ECONNREFUSED"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), s.errors.at("ETIMEDOUT"));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), s.errorCount);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(100.0 * 3 / 1004, s.errorPercent, 1e-9);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), s.unfinished);
        // The curve climbs from min to max.
        CPPUNIT_ASSERT(s.curve.size() > 10);
        CPPUNIT_ASSERT_EQUAL(0.0, s.curve.front().first);
        CPPUNIT_ASSERT_EQUAL(100.0, s.curve.back().first);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(50.0, s.curve.back().second, 1e-9);
        for (std::size_t i = 1; i < s.curve.size(); ++i) CPPUNIT_ASSERT(s.curve[i].second >= s.curve[i - 1].second);
    }

    void testPercentilesWithinOnePercent() {
        // Log-normal latencies around 1 ms: every reported percentile within 1% of the exact one.
        std::mt19937_64 rng(42);
        std::lognormal_distribution<double> dist(std::log(1000.0), 1.0);
        Stats s;
        std::vector<std::uint64_t> values;
        for (int i = 0; i < 100000; ++i) {
            const auto v = static_cast<std::uint64_t>(dist(rng)) + 1;
            values.push_back(v);
            s.recordResponse(v, 200);
        }
        std::sort(values.begin(), values.end());
        const Summary sum = s.summarize(1, 0);
        const std::pair<double, double> checks[] = {{50, sum.latency.p50},  {75, sum.latency.p75}, {90, sum.latency.p90},
                                                    {95, sum.latency.p95},  {99, sum.latency.p99}, {99.9, sum.latency.p999}};
        for (const auto& [p, reported] : checks) {
            const auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * values.size()));
            const double exact = static_cast<double>(values[rank - 1]) / 1000.0;
            CPPUNIT_ASSERT_MESSAGE(std::to_string(p), std::fabs(reported - exact) <= exact * 0.01);
        }
    }

    void testSeries() {
        const Summary s = delayedTenth().summarize(1.5, 0);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), s.series.size());
        CPPUNIT_ASSERT_EQUAL(1.0, s.series[0].endS);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1000), s.series[0].requests);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(3), s.series[0].errors);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(64000), s.series[0].bytes);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(50.0, s.series[0].p99, 0.5);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(0.5, s.series[1].durationS, 1e-12);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), s.series[1].requests);
        CPPUNIT_ASSERT_DOUBLES_EQUAL(1.0, s.series[1].max, 1e-9);  // the second's own histogram
    }

    void testText() {
        Summary s = delayedTenth().summarize(2.0, 3);
        s.title = "GET http://127.0.0.1:8080/";
        s.model = "closed model: 4 connections x 250 requests";
        s.hasVusers = true;
        s.vusersCreated = 4;
        s.vusersCompleted = 3;
        s.vusersFailed = 1;
        s.ensure.push_back(evaluate(parseThreshold("p99<10ms"), s));
        s.ensure.push_back(evaluate(parseThreshold("p50<10ms"), s));
        const std::string t = renderText(s);
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "keel bench: GET http://127.0.0.1:8080/\n  closed model: 4 connections x 250 requests\n"));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "  Requests     1001 in 2.00 s, 500.5 requests/s\n"));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "  Received     64.00 kB, 32.00 kB/s\n"));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "  Latency      min 0.200 ms, mean "));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "max 50.00 ms\n"));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "  Percentiles  p50 0.200, p75 0.200, p90 1.003, p95 50."));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "  Codes        200: 901, 503: 100\n"));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "  Errors       ECONNREFUSED: 2, ETIMEDOUT: 1 (0.299% of requests)\n"));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "  Vusers       created 4, completed 3, failed 1, skipped 0\n"));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "  Unfinished   3 requests were in flight or queued when the run ended (not counted)\n"));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "  Ensure       FAILED  p99<10ms (p99 50 ms)\n"));
        CPPUNIT_ASSERT_MESSAGE(t, has(t, "               ok      p50<10ms (p50 0.2 ms)\n"));
    }

    void testJsonHasTheSameFigures() {
        Summary s = delayedTenth().summarize(2.0, 3);
        s.title = "GET \"quoted\"\n";
        s.ensure.push_back(evaluate(parseThreshold("errors<0.1%"), s));
        auto o = json(renderJson(s));
        CPPUNIT_ASSERT_EQUAL(s.title, o->getValue<std::string>("title"));
        CPPUNIT_ASSERT_EQUAL(1001, o->getValue<int>("requests"));
        CPPUNIT_ASSERT_DOUBLES_EQUAL(500.5, o->getValue<double>("requestsPerSecond"), 1e-9);
        CPPUNIT_ASSERT_EQUAL(64000, o->getValue<int>("bytes"));
        auto lat = o->getObject("latencyMs");
        for (const char* k : {"min", "mean", "p50", "p75", "p90", "p95", "p99", "p99.9", "max"}) CPPUNIT_ASSERT_MESSAGE(k, lat->has(k));
        CPPUNIT_ASSERT_DOUBLES_EQUAL(s.latency.p99, lat->getValue<double>("p99"), 1e-9);
        CPPUNIT_ASSERT_EQUAL(100, o->getObject("codes")->getValue<int>("503"));
        CPPUNIT_ASSERT_EQUAL(2, o->getObject("errors")->getValue<int>("ECONNREFUSED"));
        CPPUNIT_ASSERT_EQUAL(3, o->getValue<int>("errorCount"));
        CPPUNIT_ASSERT_EQUAL(3, o->getValue<int>("unfinished"));
        CPPUNIT_ASSERT(!o->has("vusers"));
        auto ensure = o->getArray("ensure");
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), ensure->size());
        CPPUNIT_ASSERT(!ensure->getObject(0)->getValue<bool>("ok"));
        auto series = o->getArray("series");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), series->size());
        CPPUNIT_ASSERT_EQUAL(1000, series->getObject(0)->getValue<int>("requests"));
        CPPUNIT_ASSERT_DOUBLES_EQUAL(1000.0, series->getObject(0)->getValue<double>("requestsPerSecond"), 1e-9);
        CPPUNIT_ASSERT(series->getObject(1)->getObject("latencyMs")->has("p99"));
        auto curve = o->getArray("percentiles");
        CPPUNIT_ASSERT_EQUAL(s.curve.size(), curve->size());
        CPPUNIT_ASSERT_DOUBLES_EQUAL(100.0, curve->getObject(curve->size() - 1)->getValue<double>("percentile"), 1e-9);
    }

    void testHtmlIsSelfContained() {
        Summary s = delayedTenth().summarize(2.0, 0);
        s.title = "GET http://127.0.0.1:8080/<x>";
        const std::string h = renderHtml(s);
        CPPUNIT_ASSERT(h.rfind("<!DOCTYPE html>", 0) == 0);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), countOf(h, "<svg "));
        CPPUNIT_ASSERT(has(h, "Latency over time"));
        CPPUNIT_ASSERT(has(h, "Latency by percentile"));
        CPPUNIT_ASSERT(has(h, "<polyline"));
        CPPUNIT_ASSERT(has(h, ">99%</text>"));
        CPPUNIT_ASSERT(has(h, "&lt;x&gt;"));
        // Nothing fetched, nothing run: no script, no stylesheet or image from elsewhere.
        CPPUNIT_ASSERT(!has(h, "<script"));
        CPPUNIT_ASSERT(!has(h, "src="));
        CPPUNIT_ASSERT(!has(h, "href="));
        CPPUNIT_ASSERT(!has(h, "url("));
        CPPUNIT_ASSERT(!has(h, "@import"));
    }

    void testLiveLines() {
        Progress p;
        p.elapsedS = 3;
        p.totalS = 10;
        p.requests = 1234;
        p.requestsPerS = 411.6;
        p.p99Ms = 1.5;
        p.errors = 1;
        CPPUNIT_ASSERT_EQUAL(std::string("\r\x1b[K  3 s / 10 s  |  1234 requests  |  412 req/s  |  p99 1.500 ms  |  1 error"), liveLine(p));
        p.totalRequests = 5000;
        p.errors = 0;
        p.elapsedS = 10;
        CPPUNIT_ASSERT_EQUAL(std::string("[10 s of 10 s] 1234 requests of 5000, 411.6 requests/s, p99 so far 1.500 ms, 0 errors\n"),
                             periodicLine(p));
        CPPUNIT_ASSERT_EQUAL(std::string("0.283"), formatMs(0.2834));
        CPPUNIT_ASSERT_EQUAL(std::string("12.50"), formatMs(12.5));
        CPPUNIT_ASSERT_EQUAL(std::string("1043.0"), formatMs(1043));
        CPPUNIT_ASSERT_EQUAL(std::string("83.72 MB"), formatBytes(83.72e6));
        CPPUNIT_ASSERT_EQUAL(std::string("512 B"), formatBytes(512));
    }

    void testNoResponses() {
        Stats st;
        st.recordError("ECONNREFUSED");
        const Summary s = st.summarize(1, 0);
        CPPUNIT_ASSERT_EQUAL(100.0, s.errorPercent);
        CPPUNIT_ASSERT(s.curve.empty());
        CPPUNIT_ASSERT(has(renderText(s), "  Latency      no responses\n"));
        CPPUNIT_ASSERT(has(renderText(s), "  Codes        none\n"));
        (void)json(renderJson(s));
        (void)renderHtml(s);
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ReportTest);
