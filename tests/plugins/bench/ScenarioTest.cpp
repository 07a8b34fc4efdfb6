// Artillery scenario files: what is supported parses into flows and phases; what is not is
// reported with its file, line and column.
#include <cppunit/extensions/HelperMacros.h>

#include "Plan.hpp"
#include "Scenario.hpp"

using namespace keel::bench;

namespace {

const std::string kFixtures = BENCH_FIXTURE_DIR;

std::vector<std::string> problems(const std::string& text, const std::string& file = "t.yml") {
    try {
        (void)parseScenario(text, file);
    } catch (const ScenarioError& e) {
        return e.problems();
    }
    return {};
}

bool contains(const std::vector<std::string>& lines, const std::string& line) {
    for (const auto& l : lines)
        if (l == line) return true;
    return false;
}

std::string dump(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

} // namespace

class ScenarioTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ScenarioTest);
    CPPUNIT_TEST(testSeedLoadtestRunsUnchanged);
    CPPUNIT_TEST(testEverythingSupported);
    CPPUNIT_TEST(testJsonScenario);
    CPPUNIT_TEST(testEnsureSpellings);
    CPPUNIT_TEST(testUnsupportedKeysNamedWithLines);
    CPPUNIT_TEST(testBadValuesNamedWithLines);
    CPPUNIT_TEST(testSyntaxErrorHasLine);
    CPPUNIT_TEST(testTargetOverrideAndRelativeUrls);
    CPPUNIT_TEST_SUITE_END();

public:
    void testSeedLoadtestRunsUnchanged() {
        const Scenario s = loadScenario(kFixtures + "/loadtest.yml");
        CPPUNIT_ASSERT_EQUAL(std::string("http://localhost:3000"), s.target);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), s.phases.size());
        CPPUNIT_ASSERT_EQUAL(60.0, s.phases[0].durationS);
        CPPUNIT_ASSERT_EQUAL(10.0, s.phases[0].arrivalRate);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), s.flows.size());
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), s.flows[0].steps.size());
        CPPUNIT_ASSERT(s.flows[0].steps[0].kind == Step::Kind::request);
        RunOptions o;
        const Plan p = planScenario(s, o);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), p.requests.size());
        CPPUNIT_ASSERT_EQUAL(std::string("localhost"), p.requests[0].url.host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(3000), p.requests[0].url.port);
        CPPUNIT_ASSERT_EQUAL(std::string("GET /api/data HTTP/1.1\r\nHost: localhost:3000\r\nUser-Agent: keel-bench\r\n\r\n"),
                             p.requests[0].wire);
        CPPUNIT_ASSERT_EQUAL(60.0, p.expectedDurationS);
        CPPUNIT_ASSERT(p.description.find("600 virtual users") != std::string::npos);
        CPPUNIT_ASSERT(p.stopUserOnError);
    }

    void testEverythingSupported() {
        const Scenario s = parseScenario(R"(config:
  target: "https://api.test/v1"
  phases:
    - duration: 30s
      arrivalRate: 1
      rampTo: 5
      name: warm up
    - pause: 10
    - duration: 1m
      arrivalCount: 20
      maxVusers: 4
  http:
    timeout: 2.5
  tls:
    rejectUnauthorized: false
  defaults:
    headers:
      x-team: perf
scenarios:
  - name: browse
    weight: 3
    flow:
      - get:
          url: "/items?page=1"
          headers:
            accept: application/json
          expect:
            statusCode: [200, 304]
      - think: 500ms
      - loop:
          - post:
              url: "/items"
              json:
                name: "widget"
                count: 3
                tags: [a, "1"]
                ok: true
                none: null
              expect:
                - statusCode: 201
        count: 2
  - flow:
      - delete: {url: "https://other.test/x"}
      - put: {url: "/y", body: "raw text"}
      - patch: {url: "/z"}
      - head: {url: "/"}
)",
                                         "full.yml");
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), s.phases.size());
        CPPUNIT_ASSERT_EQUAL(30.0, s.phases[0].durationS);
        CPPUNIT_ASSERT_EQUAL(5.0, *s.phases[0].rampTo);
        CPPUNIT_ASSERT_EQUAL(std::string("warm up"), s.phases[0].name);
        CPPUNIT_ASSERT(s.phases[1].pause);
        CPPUNIT_ASSERT_EQUAL(10.0, s.phases[1].durationS);
        CPPUNIT_ASSERT_EQUAL(60.0, s.phases[2].durationS);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(20), *s.phases[2].arrivalCount);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(4), *s.phases[2].maxVusers);
        CPPUNIT_ASSERT_EQUAL(2.5, s.timeoutS);
        CPPUNIT_ASSERT(s.insecure);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), s.flows.size());
        CPPUNIT_ASSERT_EQUAL(3.0, s.flows[0].weight);
        CPPUNIT_ASSERT_EQUAL(1.0, s.flows[1].weight);
        const auto& browse = s.flows[0].steps;
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), browse.size());
        CPPUNIT_ASSERT(browse[1].kind == Step::Kind::think);
        CPPUNIT_ASSERT_EQUAL(0.5, browse[1].thinkS);
        CPPUNIT_ASSERT(browse[2].kind == Step::Kind::loop);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(2), *browse[2].count);
        const RequestSpec& get = s.requests[browse[0].request];
        CPPUNIT_ASSERT_EQUAL(std::string("GET"), get.method);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), get.expectStatus.size());
        CPPUNIT_ASSERT_EQUAL(23, get.line);
        const RequestSpec& post = s.requests[browse[2].steps[0].request];
        CPPUNIT_ASSERT_EQUAL(std::string("{\"name\":\"widget\",\"count\":3,\"tags\":[\"a\",\"1\"],\"ok\":true,\"none\":null}"), post.body);
        CPPUNIT_ASSERT_EQUAL(201, post.expectStatus.at(0));

        RunOptions o;
        const Plan p = planScenario(s, o);
        CPPUNIT_ASSERT(p.insecure);
        const RequestSpec& planned = p.requests[browse[0].request];
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/items?page=1"), planned.url.target);
        CPPUNIT_ASSERT(planned.url.tls);
        CPPUNIT_ASSERT(planned.wire.find("accept: application/json\r\nx-team: perf\r\n") != std::string::npos);
        CPPUNIT_ASSERT(p.requests[browse[2].steps[0].request].wire.find("Content-Type: application/json\r\n") != std::string::npos);
        const auto& other = s.flows[1].steps;
        CPPUNIT_ASSERT_EQUAL(std::string("other.test"), p.requests[other[0].request].url.host);
        CPPUNIT_ASSERT_EQUAL(std::string("DELETE"), p.requests[other[0].request].method);
        CPPUNIT_ASSERT(p.requests[other[1].request].wire.find("Content-Length: 8\r\n\r\nraw text") != std::string::npos);
        CPPUNIT_ASSERT(p.requests[other[3].request].head);
        // 1 -> 5 over 30 s is 90 users, then 20: 110.
        CPPUNIT_ASSERT(p.description.find("110 virtual users over 3 phases (100 s), 2 scenarios") != std::string::npos);
    }

    void testJsonScenario() {
        const Scenario s = parseScenario(R"({
  "config": {"target": "http://127.0.0.1:8080", "phases": [{"duration": 5, "arrivalRate": 2}]},
  "scenarios": [{"flow": [{"post": {"url": "/login", "json": {"user": "ada", "n": 1.5}}}, {"think": 1}]}]
})",
                                         "load.json");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), s.flows[0].steps.size());
        CPPUNIT_ASSERT_EQUAL(std::string("{\"user\":\"ada\",\"n\":1.5}"), s.requests[0].body);
        const auto bad = problems(R"({
  "config": {"target": "http://127.0.0.1:8080", "phases": [{"duration": 5, "arrivalRate": 2}]},
  "scenarios": [{"flow": [{"get": {"url": "/", "qs": {"a": 1}}}]}]
})",
                                  "load.json");
        CPPUNIT_ASSERT_MESSAGE(dump(bad), contains(bad, "load.json:3:48: unsupported key 'qs' in a get step (supported: url, headers, "
                                                        "json, body, expect, name)"));
    }

    void testEnsureSpellings() {
        const Scenario s = parseScenario(R"(config:
  target: "http://h"
  phases: [{duration: 1, arrivalRate: 1}]
  ensure:
    p95: 200
    maxErrorRate: 1
    thresholds:
      - http.response_time.p99: 250
    conditions:
      - expression: "http.response_time.p50 < 20 and http.request_rate > 5"
scenarios:
  - flow: [{get: {url: "/"}}]
)",
                                         "e.yml");
        CPPUNIT_ASSERT_EQUAL(std::size_t(5), s.ensure.size());
        CPPUNIT_ASSERT_EQUAL(std::string("p95<=200ms"), s.ensure[0].text);
        CPPUNIT_ASSERT_EQUAL(std::string("errors<=1%"), s.ensure[1].text);
        CPPUNIT_ASSERT(s.ensure[1].metric == Threshold::Metric::errorPercent);
        CPPUNIT_ASSERT_EQUAL(std::string("http.response_time.p99<=250"), s.ensure[2].text);
        CPPUNIT_ASSERT_EQUAL(250.0, s.ensure[2].value);
        CPPUNIT_ASSERT(s.ensure[4].metric == Threshold::Metric::requestsPerS);
        const Scenario list = parseScenario(R"(config:
  target: "http://h"
  phases: [{duration: 1, arrivalRate: 1}]
  ensure: ["p99<50ms", "errors<0.1%"]
scenarios:
  - flow: [{get: {url: "/"}}]
)",
                                            "l.yml");
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), list.ensure.size());
        const auto bad = problems(R"(config:
  target: "http://h"
  phases: [{duration: 1, arrivalRate: 1}]
  ensure:
    p98: 10
    conditions:
      - expression: "p99 soon"
scenarios:
  - flow: [{get: {url: "/"}}]
)");
        CPPUNIT_ASSERT_MESSAGE(dump(bad), contains(bad, "t.yml:5:5: unsupported key 'p98' in config.ensure (supported: thresholds, "
                                                        "conditions, maxErrorRate, min, max, median, p50, p75, p90, p95, p99, p999)"));
        CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(bad), std::size_t(2), bad.size());
        CPPUNIT_ASSERT(bad[1].rfind("t.yml:7:21: ensure 'p99 soon': expected METRIC<VALUE", 0) == 0);
    }

    void testUnsupportedKeysNamedWithLines() {
        const auto p = problems(R"(config:
  target: "http://127.0.0.1:3000"
  processor: "./functions.js"
  phases:
    - duration: 10
      arrivalRate: 1
      rampUp: 5
  http:
    pool: 10
scenarios:
  - name: login
    beforeRequest: sign
    flow:
      - get:
          url: "/api"
          capture:
            json: "$.id"
            as: id
      - function: setup
      - log: "hi"
)",
                                "loadtest.yml");
        const std::vector<std::string> expected = {
            "loadtest.yml:3:3: unsupported key 'processor' in config (supported: target, phases, http, tls, defaults, ensure)",
            "loadtest.yml:7:7: unsupported key 'rampUp' in config.phases[0] (supported: duration, arrivalRate, rampTo, "
            "arrivalCount, pause, maxVusers, name)",
            "loadtest.yml:9:5: unsupported key 'pool' in config.http (supported: timeout)",
            "loadtest.yml:12:5: unsupported key 'beforeRequest' in scenarios[0] (supported: name, weight, flow, engine)",
            "loadtest.yml:16:11: unsupported key 'capture' in a get step (supported: url, headers, json, body, expect, name)",
            "loadtest.yml:19:9: unsupported key 'function' in a flow step (supported: get, post, put, patch, delete, head, think, "
            "loop with count)",
            "loadtest.yml:20:9: unsupported key 'log' in a flow step (supported: get, post, put, patch, delete, head, think, loop "
            "with count)",
        };
        CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(p), expected.size(), p.size());
        for (std::size_t i = 0; i < expected.size(); ++i) CPPUNIT_ASSERT_EQUAL(expected[i], p[i]);
    }

    void testBadValuesNamedWithLines() {
        const auto p = problems(R"(config:
  target: "localhost:3000"
  phases:
    - duration: ten
      arrivalRate: -1
    - arrivalRate: 5
    - duration: 5
      arrivalCount: 2.5
scenarios:
  - weight: heavy
    flow:
      - get:
          url: "/{{ id }}"
          expect:
            statusCode: 999
      - think: soon
      - post:
          json: {a: 1}
          body: "x"
)");
        const std::vector<std::string> expected = {
            "t.yml:2:11: config.target: 'localhost:3000': expected a URL starting with http:// or https://",
            "t.yml:4:17: config.phases[0].duration: expected a number of seconds or a duration such as 30s, 2m or 500ms, found 'ten'",
            "t.yml:5:20: config.phases[0].arrivalRate: expected a number >= 0, found '-1'",
            "t.yml:6:7: config.phases[1]: missing 'duration' (seconds)",
            "t.yml:8:21: config.phases[2].arrivalCount: expected a whole number, found '2.5'",
            "t.yml:10:13: scenarios[0].weight: expected a number >= 0, found 'heavy'",
            "t.yml:13:16: scenarios[0].flow[0].get.url: templates ({{ ... }}) are not supported; write the value out",
            "t.yml:15:25: scenarios[0].flow[0].get.expect.statusCode: expected a status code from 100 to 599",
            "t.yml:16:16: scenarios[0].flow[1].think: expected a number of seconds or a duration such as 30s, 2m or 500ms, found "
            "'soon'",
            "t.yml:18:11: scenarios[0].flow[2].post: missing 'url'",
            "t.yml:19:17: scenarios[0].flow[2].post: give json or body, not both",
        };
        CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(p), expected.size(), p.size());
        for (std::size_t i = 0; i < expected.size(); ++i) CPPUNIT_ASSERT_EQUAL(expected[i], p[i]);
        CPPUNIT_ASSERT(contains(problems("config: {phases: [{duration: 1, arrivalRate: 1}]}\n"), "t.yml:1:1: missing 'scenarios' (a list of flows)"));
        CPPUNIT_ASSERT(contains(problems("- just\n- a list\n"), "t.yml:1:1: expected a mapping with 'config' and 'scenarios'"));
    }

    void testSyntaxErrorHasLine() {
        const auto p = problems("config:\n  target: a\n   phases: b\n", "broken.yml");
        CPPUNIT_ASSERT_EQUAL_MESSAGE(dump(p), std::size_t(1), p.size());
        CPPUNIT_ASSERT_EQUAL(std::string("broken.yml:3:10: YAML syntax: illegal map value"), p[0]);
        try {
            (void)loadScenario("/nonexistent/x.yml");
            CPPUNIT_FAIL("missing file accepted");
        } catch (const ScenarioError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("/nonexistent/x.yml: cannot read the file"), std::string(e.what()));
        }
    }

    void testTargetOverrideAndRelativeUrls() {
        const Scenario s = loadScenario(kFixtures + "/loadtest.yml");
        RunOptions o;
        o.target = "http://127.0.0.1:18080";
        const Plan p = planScenario(s, o);
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), p.requests[0].url.host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(18080), p.requests[0].url.port);
        const auto noTarget = problems(R"(config:
  phases: [{duration: 1, arrivalRate: 1}]
scenarios:
  - flow: [{get: {url: "/x"}}]
)");
        CPPUNIT_ASSERT_MESSAGE(dump(noTarget), contains(noTarget, "t.yml:4:24: scenarios[0].flow[0].get.url: '/x' is relative and config.target is not set"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ScenarioTest);
