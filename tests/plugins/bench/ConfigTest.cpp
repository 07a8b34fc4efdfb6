// The option parser of `keel bench quick` / `run`, URLs, request bytes, and the plans they
// become.
#include <cppunit/extensions/HelperMacros.h>

#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <vector>

#include "Config.hpp"
#include "Plan.hpp"
#include "Url.hpp"

using namespace keel::bench;

namespace {

QuickOptions quick(std::vector<const char*> args) { return parseQuickOptions(args); }

std::string usageError(std::vector<const char*> args) {
    try {
        (void)parseQuickOptions(args);
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

} // namespace

class ConfigTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(ConfigTest);
    CPPUNIT_TEST(testArtilleryQuickDefaults);
    CPPUNIT_TEST(testConnectionsAndDuration);
    CPPUNIT_TEST(testOpenModel);
    CPPUNIT_TEST(testEveryOption);
    CPPUNIT_TEST(testRefusedCombinations);
    CPPUNIT_TEST(testBadValues);
    CPPUNIT_TEST(testSeconds);
    CPPUNIT_TEST(testRunOptions);
    CPPUNIT_TEST(testUrls);
    CPPUNIT_TEST(testRequestBytes);
    CPPUNIT_TEST(testBodyFile);
    CPPUNIT_TEST_SUITE_END();

public:
    void testArtilleryQuickDefaults() {
        // artillery quick --count 50 -n 20 URL: 50 users over a second, 20 requests each.
        Plan p = planQuick(quick({"--count", "50", "-n", "20", "http://127.0.0.1:3000/"}));
        CPPUNIT_ASSERT(p.model == Plan::Model::closed);
        CPPUNIT_ASSERT(p.repeat);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(20), *p.perUser);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), p.phases.size());
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(50), *p.phases[0].arrivalCount);
        CPPUNIT_ASSERT_EQUAL(1.0, p.phases[0].durationS);
        CPPUNIT_ASSERT(!p.durationS);
        CPPUNIT_ASSERT(p.stopUserOnError);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1000), p.expectedRequests);
        CPPUNIT_ASSERT_EQUAL(std::string("GET http://127.0.0.1:3000/"), p.title);
        // Nothing said: artillery's defaults, 10 users x 10 requests.
        Plan d = planQuick(quick({"http://127.0.0.1:3000/"}));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(10), *d.phases[0].arrivalCount);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(10), *d.perUser);
    }

    void testConnectionsAndDuration() {
        Plan p = planQuick(quick({"-c", "64", "-d", "5", "http://127.0.0.1/"}));
        CPPUNIT_ASSERT(p.model == Plan::Model::closed);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(64), *p.phases[0].arrivalCount);
        CPPUNIT_ASSERT_EQUAL(0.0, p.phases[0].durationS);  // all at once
        CPPUNIT_ASSERT_EQUAL(5.0, *p.durationS);
        CPPUNIT_ASSERT(!p.perUser);  // until the deadline
        CPPUNIT_ASSERT(!p.stopUserOnError);
        CPPUNIT_ASSERT_EQUAL(std::string("closed model: 64 connections for 5 s"), p.description);
        // -c alone runs 10 s (wrk), -d alone on 10 connections.
        CPPUNIT_ASSERT_EQUAL(10.0, *planQuick(quick({"-c", "2", "http://h/"})).durationS);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(10), *planQuick(quick({"-d", "1", "http://h/"})).phases[0].arrivalCount);
        // -c with -n: exactly c x n requests, no deadline.
        Plan n = planQuick(quick({"-c", "4", "-n", "25", "-p", "3", "http://h/"}));
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(25), *n.perUser);
        CPPUNIT_ASSERT(!n.durationS);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(100), n.expectedRequests);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(3), n.pipelining);
    }

    void testOpenModel() {
        Plan p = planQuick(quick({"--rate", "200", "-c", "4", "-d", "3", "http://h/"}));
        CPPUNIT_ASSERT(p.model == Plan::Model::open);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(4), p.connections);
        CPPUNIT_ASSERT_EQUAL(200.0, p.phases[0].arrivalRate);
        CPPUNIT_ASSERT_EQUAL(3.0, p.phases[0].durationS);
        CPPUNIT_ASSERT_EQUAL(3.0, *p.durationS);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(600), p.phases[0].arrivals());
        Plan d = planQuick(quick({"--rate=50", "http://h/"}));
        CPPUNIT_ASSERT_EQUAL(10.0, *d.durationS);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(10), d.connections);
    }

    void testEveryOption() {
        QuickOptions o = quick({"-m", "post", "-H", "X-A: 1", "--header=Authorization:  Bearer t", "-k", "--timeout", "2.5",
                                "-o", "r.json", "--html", "r.html", "--ensure", "p99<50ms", "--ensure=errors<1%", "-q",
                                "-p", "4", "-c", "2", "https://example.test:8443/a?b=1"});
        CPPUNIT_ASSERT_EQUAL(std::string("POST"), o.method);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), o.headers.size());
        CPPUNIT_ASSERT_EQUAL(std::string("X-A"), o.headers[0].first);
        CPPUNIT_ASSERT_EQUAL(std::string("1"), o.headers[0].second);
        CPPUNIT_ASSERT_EQUAL(std::string("Bearer t"), o.headers[1].second);
        CPPUNIT_ASSERT(o.insecure);
        CPPUNIT_ASSERT_EQUAL(2.5, o.timeoutS);
        CPPUNIT_ASSERT_EQUAL(std::string("r.json"), o.output.jsonPath);
        CPPUNIT_ASSERT_EQUAL(std::string("r.html"), o.output.htmlPath);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), o.output.ensure.size());
        CPPUNIT_ASSERT(o.output.quiet);
        CPPUNIT_ASSERT_EQUAL(std::uint32_t(4), o.pipelining);
        Plan p = planQuick(o);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), p.ensure.size());
        CPPUNIT_ASSERT(p.insecure);
        CPPUNIT_ASSERT(quick({"--help"}).help);
    }

    void testRefusedCombinations() {
        CPPUNIT_ASSERT(has(usageError({"--count", "5", "-c", "5", "http://h/"}), "choose one"));
        CPPUNIT_ASSERT(has(usageError({"--rate", "5", "--count", "5", "http://h/"}), "--rate schedules requests"));
        CPPUNIT_ASSERT(has(usageError({"--rate", "5", "-n", "5", "http://h/"}), "not a number of requests per user"));
        CPPUNIT_ASSERT(has(usageError({"--count", "5", "-p", "2", "http://h/"}), "-p pipelines"));
        CPPUNIT_ASSERT(has(usageError({"http://a/", "http://b/"}), "one URL only"));
        CPPUNIT_ASSERT(has(usageError({"-c", "3"}), "no URL given"));
        CPPUNIT_ASSERT_EQUAL(std::string("quick: unknown option '--frob'"), usageError({"--frob", "http://h/"}));
    }

    void testBadValues() {
        CPPUNIT_ASSERT_EQUAL(std::string("-c: expected a whole number >= 1, found 'many'"), usageError({"-c", "many", "http://h/"}));
        CPPUNIT_ASSERT_EQUAL(std::string("-n: expected a whole number >= 1, found '0'"), usageError({"-n", "0", "http://h/"}));
        CPPUNIT_ASSERT(has(usageError({"-d", "soon", "http://h/"}), "-d: expected a duration such as 10, 10s, 1m or 500ms"));
        CPPUNIT_ASSERT(has(usageError({"--rate", "-3", "http://h/"}), "--rate: expected a number > 0"));
        CPPUNIT_ASSERT_EQUAL(std::string("-H: expected 'Name: value', found 'nocolon'"), usageError({"-H", "nocolon", "http://h/"}));
        CPPUNIT_ASSERT(has(usageError({"-m", "G3T", "http://h/"}), "-m: expected a method name"));
        CPPUNIT_ASSERT_EQUAL(std::string("-c needs a value"), usageError({"http://h/", "-c"}));
        try {
            (void)planQuick(quick({"ftp://h/"}));
            CPPUNIT_FAIL("ftp accepted");
        } catch (const UsageError& e) {
            CPPUNIT_ASSERT(has(e.what(), "expected a URL starting with http:// or https://"));
        }
        try {
            (void)planQuick(quick({"--ensure", "p99 fast", "http://h/"}));
            CPPUNIT_FAIL("bad ensure accepted");
        } catch (const UsageError& e) {
            CPPUNIT_ASSERT(has(e.what(), "--ensure 'p99 fast'"));
        }
    }

    void testSeconds() {
        CPPUNIT_ASSERT_EQUAL(10.0, parseSeconds("10"));
        CPPUNIT_ASSERT_EQUAL(10.0, parseSeconds("10s"));
        CPPUNIT_ASSERT_EQUAL(90.0, parseSeconds("1.5m"));
        CPPUNIT_ASSERT_EQUAL(0.5, parseSeconds("500ms"));
        CPPUNIT_ASSERT_EQUAL(7200.0, parseSeconds("2h"));
        CPPUNIT_ASSERT_THROW(parseSeconds("ten"), std::invalid_argument);
        CPPUNIT_ASSERT_THROW(parseSeconds("10 parsecs"), std::invalid_argument);
        CPPUNIT_ASSERT_THROW(parseSeconds("-1"), std::invalid_argument);
    }

    void testRunOptions() {
        std::vector<const char*> args = {"loadtest.yml", "--target", "http://127.0.0.1:9/", "-k", "-o", "x.json", "--ensure", "p95<1s"};
        RunOptions o = parseRunOptions(args);
        CPPUNIT_ASSERT_EQUAL(std::string("loadtest.yml"), o.scenarioPath);
        CPPUNIT_ASSERT_EQUAL(std::string("http://127.0.0.1:9/"), *o.target);
        CPPUNIT_ASSERT(o.insecure);
        CPPUNIT_ASSERT_EQUAL(std::string("x.json"), o.output.jsonPath);
        std::vector<const char*> none;
        CPPUNIT_ASSERT_THROW(parseRunOptions(none), UsageError);
        std::vector<const char*> bad = {"a.yml", "--frob"};
        CPPUNIT_ASSERT_THROW(parseRunOptions(bad), UsageError);
    }

    void testUrls() {
        Url u = Url::parse("http://127.0.0.1:8080/a/b?c=d#frag");
        CPPUNIT_ASSERT(!u.tls);
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1"), u.host);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(8080), u.port);
        CPPUNIT_ASSERT_EQUAL(std::string("/a/b?c=d"), u.target);
        CPPUNIT_ASSERT_EQUAL(std::string("127.0.0.1:8080"), u.authority());
        Url s = Url::parse("HTTPS://Example.test");
        CPPUNIT_ASSERT(s.tls);
        CPPUNIT_ASSERT_EQUAL(std::uint16_t(443), s.port);
        CPPUNIT_ASSERT_EQUAL(std::string("/"), s.target);
        CPPUNIT_ASSERT_EQUAL(std::string("Example.test"), s.authority());
        Url v6 = Url::parse("http://[::1]:9000?x=1");
        CPPUNIT_ASSERT_EQUAL(std::string("::1"), v6.host);
        CPPUNIT_ASSERT_EQUAL(std::string("/?x=1"), v6.target);
        CPPUNIT_ASSERT_EQUAL(std::string("[::1]:9000"), v6.authority());
        CPPUNIT_ASSERT_THROW(Url::parse("http://h:0/"), std::invalid_argument);
        CPPUNIT_ASSERT_THROW(Url::parse("http://h:70000/"), std::invalid_argument);
        CPPUNIT_ASSERT_THROW(Url::parse("http:///x"), std::invalid_argument);
        CPPUNIT_ASSERT_THROW(Url::parse("http://u:p@h/"), std::invalid_argument);
        CPPUNIT_ASSERT_THROW(Url::parse("localhost:3000"), std::invalid_argument);
        // artillery joins config.target and a step's url by appending.
        Url base = Url::parse("http://localhost:3000");
        CPPUNIT_ASSERT_EQUAL(std::string("/api/data"), base.resolve("/api/data").target);
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/api"), Url::parse("http://h/v1/").resolve("/api").target);
        CPPUNIT_ASSERT_EQUAL(std::string("/v1/api"), Url::parse("http://h/v1").resolve("api").target);
        Url abs = base.resolve("https://other.test/x");
        CPPUNIT_ASSERT(abs.tls);
        CPPUNIT_ASSERT_EQUAL(std::string("other.test"), abs.host);
    }

    void testRequestBytes() {
        RequestSpec get;
        get.url = Url::parse("http://127.0.0.1:8080/x");
        get.build();
        CPPUNIT_ASSERT_EQUAL(std::string("GET /x HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: keel-bench\r\n\r\n"), get.wire);
        RequestSpec post;
        post.method = "POST";
        post.url = Url::parse("http://h/items");
        post.headers = {{"Content-Type", "application/json"}, {"user-agent", "mine"}};
        post.body = "{\"a\":1}";
        post.build();
        CPPUNIT_ASSERT_EQUAL(std::string("POST /items HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
                                         "user-agent: mine\r\nContent-Length: 7\r\n\r\n{\"a\":1}"),
                             post.wire);
        RequestSpec put;
        put.method = "PUT";
        put.url = Url::parse("http://h/");
        put.build();
        CPPUNIT_ASSERT(has(put.wire, "Content-Length: 0\r\n"));
        RequestSpec head;
        head.method = "HEAD";
        head.url = Url::parse("http://h/");
        head.build();
        CPPUNIT_ASSERT(head.head);
        CPPUNIT_ASSERT(head.expects(500));
        head.expectStatus = {200, 204};
        CPPUNIT_ASSERT(head.expects(204));
        CPPUNIT_ASSERT(!head.expects(500));
    }

    void testBodyFile() {
        char path[] = "/tmp/keel-bench-body-XXXXXX";
        const int fd = mkstemp(path);
        CPPUNIT_ASSERT(fd >= 0);
        CPPUNIT_ASSERT_EQUAL(ssize_t(5), write(fd, "hello", 5));
        close(fd);
        Plan p = planQuick(quick({"-m", "POST", "--body", path, "http://h/"}));
        std::remove(path);
        CPPUNIT_ASSERT(has(p.requests[0].wire, "Content-Length: 5\r\n\r\nhello"));
        try {
            (void)planQuick(quick({"--body", "/nonexistent/keel-bench", "http://h/"}));
            CPPUNIT_FAIL("missing body file accepted");
        } catch (const UsageError& e) {
            CPPUNIT_ASSERT_EQUAL(std::string("--body: cannot read '/nonexistent/keel-bench'"), std::string(e.what()));
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(ConfigTest);
