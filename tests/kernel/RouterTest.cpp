#include <cppunit/extensions/HelperMacros.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "Router.hpp"

using namespace keel::kernel;

namespace {

struct RouteSpec {
    std::string pattern;
    std::vector<std::string> methods;
    int id;
};

Router makeRouter(const std::vector<RouteSpec>& routes) {
    Router router;
    for (const RouteSpec& r : routes) router.add(r.pattern, r.methods, r.id);
    router.compile();
    return router;
}

/// One line per outcome, so a table row can state the whole expected result:
/// "#3 id=42 *=a/b", "405 GET, HEAD" or "404".
std::string describe(const Router::Match& m) {
    switch (m.result) {
    case Router::Match::Result::notFound:
        return "404";
    case Router::Match::Result::methodNotAllowed:
        return "405 " + m.allow;
    case Router::Match::Result::found:
        break;
    }
    std::string out = "#" + std::to_string(m.id);
    for (std::size_t i = 0; i < m.paramCount; ++i) {
        out += " " + std::string(m.params[i].name) + "=" + std::string(m.params[i].value);
    }
    return out;
}

struct Case {
    std::string method;
    std::string path;
    std::string expected;
};

void checkCases(const Router& router, const std::vector<Case>& cases) {
    for (const Case& c : cases) {
        CPPUNIT_ASSERT_EQUAL_MESSAGE(c.method + " " + c.path, c.expected,
                                     describe(router.match(c.method, c.path)));
    }
}

std::string addError(std::string_view pattern, const std::vector<std::string>& methods = {}) {
    Router router;
    try {
        router.add(pattern, methods, 0);
    } catch (const RouteError& e) {
        return e.what();
    }
    return "(accepted)";
}

// --- a deliberately naive matcher, for comparing the trie against on random tables --------

struct Reference {
    std::vector<std::string> segments; // "*" for the wildcard, ":x" for a parameter
    std::vector<std::string> methods;  // GET already implies HEAD; empty = any
    int id;
};

std::vector<std::string> split(std::string_view s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = s.find('/', start);
        out.emplace_back(s.substr(start, slash == std::string_view::npos ? slash : slash - start));
        if (slash == std::string_view::npos) return out;
        start = slash + 1;
    }
}

Reference reference(const RouteSpec& r) {
    Reference ref{{}, r.methods, r.id};
    if (std::find(ref.methods.begin(), ref.methods.end(), "GET") != ref.methods.end())
        ref.methods.push_back("HEAD");
    if (r.pattern == "*") {
        ref.segments = {"*"};
    } else if (r.pattern == "/") {
        ref.segments = {""};
    } else {
        std::string body = r.pattern.substr(1);
        if (body.back() == '/') body += "*";
        ref.segments = split(body);
    }
    return ref;
}

/// The kinds along the route (0 static, 1 param, 2 wildcard): lexicographic order of these is
/// the router's priority, by definition rather than by trie walk.
std::vector<int> shape(const Reference& ref) {
    std::vector<int> kinds;
    for (const std::string& s : ref.segments) kinds.push_back(s == "*" ? 2 : s[0] == ':' ? 1 : 0);
    return kinds;
}

bool referenceMatch(const Reference& ref, const std::vector<std::string>& path,
                    std::string& captured) {
    captured.clear();
    for (std::size_t i = 0; i < ref.segments.size(); ++i) {
        const std::string& s = ref.segments[i];
        if (i >= path.size()) return false;
        if (s == "*") {
            std::string rest;
            for (std::size_t j = i; j < path.size(); ++j) rest += (j > i ? "/" : "") + path[j];
            captured += " *=" + rest;
            return true;
        }
        if (s[0] == ':') {
            if (path[i].empty()) return false;
            captured += " " + s.substr(1) + "=" + path[i];
        } else if (s != path[i]) {
            return false;
        }
    }
    return ref.segments.size() == path.size();
}

std::string referenceDescribe(const std::vector<Reference>& refs, const std::string& method,
                              const std::string& path) {
    const std::vector<std::string> segments = split(path.substr(1));
    std::vector<std::pair<std::size_t, std::string>> matching; // index, captures
    std::string captured;
    for (std::size_t i = 0; i < refs.size(); ++i) {
        if (referenceMatch(refs[i], segments, captured)) matching.emplace_back(i, captured);
    }
    std::stable_sort(matching.begin(), matching.end(), [&](const auto& a, const auto& b) {
        return shape(refs[a.first]) < shape(refs[b.first]);
    });
    std::vector<std::string> allow;
    for (const auto& [index, caps] : matching) {
        const Reference& ref = refs[index];
        if (ref.methods.empty() ||
            std::find(ref.methods.begin(), ref.methods.end(), method) != ref.methods.end()) {
            return "#" + std::to_string(ref.id) + caps;
        }
        allow.insert(allow.end(), ref.methods.begin(), ref.methods.end());
    }
    if (allow.empty()) return "404";
    std::sort(allow.begin(), allow.end());
    allow.erase(std::unique(allow.begin(), allow.end()), allow.end());
    std::string out = "405 ";
    for (std::size_t i = 0; i < allow.size(); ++i) out += (i > 0 ? ", " : "") + allow[i];
    return out;
}

} // namespace

class RouterTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(RouterTest);
    CPPUNIT_TEST(testExactPaths);
    CPPUNIT_TEST(testParams);
    CPPUNIT_TEST(testParamValuesPointIntoThePath);
    CPPUNIT_TEST(testRootWildcardMatchesEveryPath);
    CPPUNIT_TEST(testWildcardAndPrefix);
    CPPUNIT_TEST(testTrailingSlashSensitivity);
    CPPUNIT_TEST(testPriorityAtEachDepthWithBacktracking);
    CPPUNIT_TEST(testLowerPriorityPathWinsWhenHigherRefusesMethod);
    CPPUNIT_TEST(testBacktrackingRewritesCaptures);
    CPPUNIT_TEST(testSameShapeInAddOrder);
    CPPUNIT_TEST(testMethodNotAllowedListsUnionSorted);
    CPPUNIT_TEST(testHeadMatchesGetRoutes);
    CPPUNIT_TEST(testNotFound);
    CPPUNIT_TEST(testPercentEscapesInPatterns);
    CPPUNIT_TEST(testInvalidPatterns);
    CPPUNIT_TEST(testInvalidMethods);
    CPPUNIT_TEST(testRefusedRouteLeavesRouterUsable);
    CPPUNIT_TEST(testNineOrMoreCapturesAreRefused);
    CPPUNIT_TEST(testShadows);
    CPPUNIT_TEST(testMatchRequiresCompile);
    CPPUNIT_TEST(testLargeTable);
    CPPUNIT_TEST(testAgreesWithNaiveMatcherOnRandomTables);
    CPPUNIT_TEST_SUITE_END();

public:
    void testExactPaths() {
        const Router router =
            makeRouter({{"/", {"GET"}, 0}, {"/about", {"GET"}, 1}, {"/a/b/c", {}, 2}});
        checkCases(router, {
                               {"GET", "/", "#0"},
                               {"GET", "/about", "#1"},
                               {"GET", "/About", "404"},
                               {"GET", "/about/x", "404"},
                               {"GET", "/a/b/c", "#2"},
                               {"GET", "/a/b", "404"},
                               {"GET", "/a/b/c/d", "404"},
                               {"GET", "//", "404"},
                               {"GET", "//about", "404"},
                           });
    }

    void testParams() {
        const Router router = makeRouter({
            {"/users/:id", {"GET"}, 0},
            {"/users/:id/posts/:post", {"GET"}, 1},
            {"/:a/:b/:c", {"GET"}, 2},
            {"/files/:name_2/raw", {"GET"}, 3},
        });
        checkCases(router,
                   {
                       {"GET", "/users/42", "#0 id=42"},
                       {"GET", "/users/a b", "#0 id=a b"},                 // decoded by the caller
                       {"GET", "/users/caf\xC3\xA9", "#0 id=caf\xC3\xA9"}, // bytes as given
                       {"GET", "/users/:id", "#0 id=:id"},
                       {"GET", "/users/", "404"}, // a parameter never matches an empty segment
                       {"GET", "/users/42/posts/7", "#1 id=42 post=7"},
                       {"GET", "/x/y/z", "#2 a=x b=y c=z"},
                       {"GET", "/x//z", "404"},
                       {"GET", "/files/report.pdf/raw", "#3 name_2=report.pdf"},
                   });
    }

    void testParamValuesPointIntoThePath() {
        const Router router = makeRouter({{"/users/:id/posts/:post/*", {}, 7}});
        const std::string path = "/users/42/posts/seven/a/b";
        const Router::Match m = router.match("GET", path);
        CPPUNIT_ASSERT(m.result == Router::Match::Result::found);
        CPPUNIT_ASSERT_EQUAL(std::size_t(3), m.paramCount);
        const std::size_t offsets[] = {7, 16, 22};
        for (std::size_t i = 0; i < m.paramCount; ++i) {
            CPPUNIT_ASSERT(m.params[i].value.data() == path.data() + offsets[i]);
        }
        CPPUNIT_ASSERT_EQUAL(std::string("a/b"), std::string(m.params[2].value));
        CPPUNIT_ASSERT_EQUAL(std::string("*"), std::string(m.params[2].name));
    }

    void testRootWildcardMatchesEveryPath() {
        for (const char* pattern : {"*", "/*"}) {
            const Router router = makeRouter({{pattern, {}, 0}});
            checkCases(router, {
                                   {"GET", "/", "#0 *="},
                                   {"POST", "/a", "#0 *=a"},
                                   {"GET", "/a/b/", "#0 *=a/b/"},
                                   {"GET", "//x", "#0 *=/x"},
                                   // Not a path: the pipeline answers the asterisk-form itself.
                                   {"OPTIONS", "*", "404"},
                                   {"GET", "", "404"},
                               });
        }
    }

    void testWildcardAndPrefix() {
        const Router router = makeRouter({
            {"/static/*", {"GET"}, 0},
            {"/assets/", {"GET"}, 1},
            {"/files/:id/*", {"GET"}, 2},
        });
        checkCases(router, {
                               {"GET", "/static/", "#0 *="},
                               {"GET", "/static/app.css", "#0 *=app.css"},
                               {"GET", "/static/a/b/c.css", "#0 *=a/b/c.css"},
                               {"GET", "/static/a/", "#0 *=a/"},
                               {"GET", "/static//x", "#0 *=/x"},
                               {"GET", "/static", "404"},
                               {"GET", "/staticx", "404"},
                               {"GET", "/assets/", "#1 *="},
                               {"GET", "/assets/img/logo.png", "#1 *=img/logo.png"},
                               {"GET", "/assets", "404"},
                               {"GET", "/files/9/", "#2 id=9 *="},
                               {"GET", "/files/9/x/y", "#2 id=9 *=x/y"},
                               {"GET", "/files/9", "404"},
                           });
    }

    void testTrailingSlashSensitivity() {
        const Router router = makeRouter({
            {"/about", {"GET"}, 0},
            {"/docs/", {"GET"}, 1},
            {"/docs", {"GET"}, 2},
            {"/users/:id", {"GET"}, 3},
        });
        checkCases(router, {
                               {"GET", "/about", "#0"},
                               {"GET", "/about/", "404"},
                               {"GET", "/docs", "#2"},
                               {"GET", "/docs/", "#1 *="},
                               {"GET", "/docs/intro", "#1 *=intro"},
                               {"GET", "/users/1", "#3 id=1"},
                               {"GET", "/users/1/", "404"},
                           });
    }

    void testPriorityAtEachDepthWithBacktracking() {
        // Added lowest priority first, so add order cannot be what decides.
        const Router router = makeRouter({
            {"/*", {}, 0},
            {"/a/*", {}, 1},
            {"/:x", {}, 2},
            {"/:x/b", {}, 3},
            {"/a/:y", {}, 4},
            {"/a/b", {}, 5},
            {"/a/:y/c", {}, 6},
            {"/:x/b/c", {}, 7},
            {"/a/b/:z/d", {}, 8},
        });
        checkCases(router, {
                               {"GET", "/a", "#2 x=a"},
                               {"GET", "/a/b", "#5"},
                               {"GET", "/a/q", "#4 y=q"},
                               {"GET", "/q", "#2 x=q"},
                               {"GET", "/q/b", "#3 x=q"},
                               {"GET", "/q/r", "#0 *=q/r"},
                               // static "a" beats ":x" at depth 1, then ":y" beats "*" at depth 2
                               {"GET", "/a/b/c", "#6 y=b"},
                               {"GET", "/q/b/c", "#7 x=q"},
                               // a/b/:z has only "d" below it: back up to a/:y, then to a/*
                               {"GET", "/a/b/z", "#1 *=b/z"},
                               {"GET", "/a/b/z/d", "#8 z=z"},
                               {"GET", "/a/b/z/e", "#1 *=b/z/e"},
                               {"GET", "/a/", "#1 *="},
                               {"GET", "/q/r/s", "#0 *=q/r/s"},
                           });
    }

    void testLowerPriorityPathWinsWhenHigherRefusesMethod() {
        const Router router = makeRouter({
            {"/users/me", {"GET"}, 0},
            {"/users/:id", {"DELETE"}, 1},
            {"/a/b/c", {"GET"}, 2},
            {"/a/:x/c", {"POST"}, 3},
            {"/a/*", {"PUT"}, 4},
            {"/v1/items/:id", {"GET"}, 5},
            {"/:version/items/:id", {"POST"}, 6},
        });
        checkCases(router, {
                               {"DELETE", "/users/me", "#1 id=me"},
                               {"GET", "/users/me", "#0"},
                               {"GET", "/users/5", "405 DELETE"},
                               {"POST", "/users/me", "405 DELETE, GET, HEAD"},
                               {"GET", "/a/b/c", "#2"},
                               {"POST", "/a/b/c", "#3 x=b"},
                               {"PUT", "/a/b/c", "#4 *=b/c"},
                               {"DELETE", "/a/b/c", "405 GET, HEAD, POST, PUT"},
                               {"POST", "/v1/items/3", "#6 version=v1 id=3"},
                               {"GET", "/v2/items/3", "405 POST"},
                           });
    }

    void testBacktrackingRewritesCaptures() {
        // The refused route captured into the same slots; the winner's values must be its own.
        const Router router = makeRouter({
            {"/:a/x/:b", {"GET"}, 0},
            {"/:c/:d/:e", {"POST"}, 1},
            {"/:f/*", {"PUT"}, 2},
        });
        checkCases(router, {
                               {"GET", "/1/x/2", "#0 a=1 b=2"},
                               {"POST", "/1/x/2", "#1 c=1 d=x e=2"},
                               {"PUT", "/1/x/2", "#2 f=1 *=x/2"},
                           });
    }

    void testSameShapeInAddOrder() {
        const Router router = makeRouter({
            {"/users/:id", {"GET"}, 0},
            {"/users/:name", {"GET"}, 1}, // never wins: #0 has the same shape and methods
            {"/users/:name", {"POST"}, 2},
            {"/users/:uid", {}, 3},
            {"/users/:late", {"PATCH"}, 4}, // never wins: #3 takes every method
        });
        checkCases(router, {
                               {"GET", "/users/5", "#0 id=5"},
                               {"HEAD", "/users/5", "#0 id=5"},
                               {"POST", "/users/5", "#2 name=5"},
                               {"PATCH", "/users/5", "#3 uid=5"},
                               {"BREW", "/users/5", "#3 uid=5"},
                           });
    }

    void testMethodNotAllowedListsUnionSorted() {
        const Router router = makeRouter({
            {"/r", {"POST", "GET"}, 0},
            {"/r", {"POST"}, 1},
            {"/:x", {"DELETE"}, 2},
            {"/*", {"PUT", "M-SEARCH"}, 3},
            {"/other", {"OPTIONS"}, 4},
        });
        checkCases(router, {
                               // only routes whose path matches count: not OPTIONS from /other
                               {"PATCH", "/r", "405 DELETE, GET, HEAD, M-SEARCH, POST, PUT"},
                               {"PATCH", "/deep/path", "405 M-SEARCH, PUT"},
                               {"BREW", "/q", "405 DELETE, M-SEARCH, PUT"},
                               // methods are case-sensitive tokens
                               {"get", "/r", "405 DELETE, GET, HEAD, M-SEARCH, POST, PUT"},
                               {"", "/r", "405 DELETE, GET, HEAD, M-SEARCH, POST, PUT"},
                               {"M-SEARCH", "/r", "#3 *=r"},
                           });
        const Router::Match m = router.match("PATCH", "/r");
        CPPUNIT_ASSERT_EQUAL(-1, m.id);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), m.paramCount);
    }

    void testHeadMatchesGetRoutes() {
        const Router router = makeRouter({
            {"/g", {"GET"}, 0},
            {"/h", {"HEAD"}, 1},
            {"/p", {"POST"}, 2},
            {"/both", {"HEAD"}, 3},
            {"/both", {"GET"}, 4},
            {"/any", {}, 5},
        });
        checkCases(router, {
                               {"HEAD", "/g", "#0"},
                               {"POST", "/g", "405 GET, HEAD"},
                               {"HEAD", "/h", "#1"},
                               {"GET", "/h", "405 HEAD"}, // HEAD does not imply GET
                               {"HEAD", "/p", "405 POST"},
                               {"HEAD", "/both", "#3"},
                               {"GET", "/both", "#4"},
                               {"HEAD", "/any", "#5"},
                           });
    }

    void testNotFound() {
        Router empty;
        empty.compile();
        CPPUNIT_ASSERT_EQUAL(std::string("404"), describe(empty.match("GET", "/")));
        const Router router = makeRouter({{"/a/:b/c", {"GET"}, 0}, {"/x/", {"GET"}, 1}});
        checkCases(router, {
                               {"GET", "/", "404"},
                               {"GET", "/a", "404"},
                               {"GET", "/a/b", "404"},
                               {"POST", "/a/b", "404"}, // no path matches: not a 405
                               {"GET", "/a/b/d", "404"},
                               {"GET", "/x", "404"},
                               {"GET", "a/b/c", "404"},
                           });
    }

    void testPercentEscapesInPatterns() {
        const Router router = makeRouter({
            {"/caf%C3%A9", {"GET"}, 0},
            {"/na%c3%afve", {"GET"}, 1},
            {"/a%2Ab", {"GET"}, 2},
            {"/%3Aid", {"GET"}, 3},
            {"/:id", {"GET"}, 4},
            {"/sp%20ace/", {"GET"}, 5},
        });
        checkCases(router,
                   {
                       {"GET", "/caf\xC3\xA9", "#0"},
                       {"GET", "/caf%C3%A9", "#4 id=caf%C3%A9"}, // the path is already decoded
                       {"GET", "/na\xC3\xAFve", "#1"},
                       {"GET", "/a*b", "#2"},
                       {"GET", "/:id", "#3"},
                       {"GET", "/7", "#4 id=7"},
                       {"GET", "/sp ace/x", "#5 *=x"},
                   });
    }

    void testInvalidPatterns() {
        const std::string segmentChars = "use letters, digits, -._~!$&'()+,;=:@ or %XX escapes";
        const std::string paramRule =
            "a parameter is \":\" followed by a letter or \"_\", then letters, digits or \"_\"";
        const std::vector<std::pair<std::string, std::string>> cases = {
            {"",
             R"(invalid route path "": a route path starts with "/" (or is "*", for every path))"},
            {"users",
             R"(invalid route path "users": a route path starts with "/" (or is "*", for every path))"},
            {"*/a",
             R"(invalid route path "*/a": a route path starts with "/" (or is "*", for every path))"},
            {"//",
             R"(invalid route path "//": empty segment; segments are separated by a single "/")"},
            {"/a//b",
             R"(invalid route path "/a//b": empty segment; segments are separated by a single "/")"},
            {"/a//",
             R"(invalid route path "/a//": empty segment; segments are separated by a single "/")"},
            {"/a/*/b", R"(invalid route path "/a/*/b": "*" may only be the last segment)"},
            {"/a/*/", R"(invalid route path "/a/*/": "*" may only be the last segment)"},
            {"/files/*.png",
             R"(invalid route path "/files/*.png": "*" may only be a whole segment (the last one); )"
             R"(write %2A for a literal "*")"},
            {"/a/:", R"(invalid route path "/a/:": bad parameter name ":"; )" + paramRule},
            {"/a/:1x", R"(invalid route path "/a/:1x": bad parameter name ":1x"; )" + paramRule},
            {"/a/:id.json",
             R"(invalid route path "/a/:id.json": bad parameter name ":id.json"; )" + paramRule},
            {"/a/:id/b/:id",
             R"(invalid route path "/a/:id/b/:id": duplicate parameter name ":id")"},
            {"/a b", R"(invalid route path "/a b": character " " is not allowed in a segment; )" +
                         segmentChars},
            {"/a?x=1",
             R"(invalid route path "/a?x=1": character "?" is not allowed in a segment; )" +
                 segmentChars},
            {"/a#top",
             R"(invalid route path "/a#top": character "#" is not allowed in a segment; )" +
                 segmentChars},
            {"/caf\xC3\xA9",
             "invalid route path \"/caf\xC3\xA9\": byte 0xC3 is not allowed in a segment; " +
                 segmentChars},
            {"/a\nb", R"(invalid route path "/a\x0ab": byte 0x0A is not allowed in a segment; )" +
                          segmentChars},
            {"/a%2", R"(invalid route path "/a%2": "%" must be followed by two hex digits)"},
            {"/a%zz", R"(invalid route path "/a%zz": "%" must be followed by two hex digits)"},
            {"/a%2Fb",
             R"(invalid route path "/a%2Fb": "%2F" can never match: the request path is split on "/" )"
             R"(after decoding)"},
            {"/a%00",
             R"(invalid route path "/a%00": "%00" can never match: requests containing it are refused)"},
        };
        for (const auto& [pattern, message] : cases)
            CPPUNIT_ASSERT_EQUAL_MESSAGE(pattern, message, addError(pattern));
        // And the ones that look odd but are fine.
        for (const char* fine :
             {"/", "*", "/*", "/a:b", "/v1/items:batchGet", "/@me", "/~user/", "/a/_x/:_"}) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(fine, std::string("(accepted)"), addError(fine));
        }
        // RouteError is what the site loader catches for every bad manifest input.
        CPPUNIT_ASSERT_THROW(Router().add("nope", {}, 0), std::invalid_argument);
    }

    void testInvalidMethods() {
        const std::string rule =
            R"(a method is an upper-case token such as "GET" (A-Z, then A-Z, 0-9, "-" or "_"))";
        CPPUNIT_ASSERT_EQUAL(R"(invalid method "get" for route "/a": )" + rule,
                             addError("/a", {"get"}));
        CPPUNIT_ASSERT_EQUAL(R"(invalid method "" for route "/a": )" + rule,
                             addError("/a", {"GET", ""}));
        CPPUNIT_ASSERT_EQUAL(R"(invalid method "GET " for route "/a": )" + rule,
                             addError("/a", {"GET "}));
        CPPUNIT_ASSERT_EQUAL(R"(invalid method "*" for route "/a": )" + rule,
                             addError("/a", {"*"}));
        CPPUNIT_ASSERT_EQUAL(std::string("(accepted)"),
                             addError("/a", {"M-SEARCH", "VERSION_CONTROL", "GET"}));
        // The pattern is checked first: its message is the more useful one.
        CPPUNIT_ASSERT_EQUAL(
            std::string(R"(invalid route path "a": a route path starts with "/" (or is "*", for )"
                        R"(every path))"),
            addError("a", {"get"}));

        // A method mask has one bit per distinct method.
        Router router;
        for (int i = 0; i < 64; ++i)
            router.add("/m" + std::to_string(i), {"M" + std::to_string(i)}, i);
        try {
            router.add("/m64", {"M63", "M64"}, 64);
            CPPUNIT_FAIL("a 65th method was accepted");
        } catch (const RouteError& e) {
            CPPUNIT_ASSERT_EQUAL(
                std::string(
                    R"(route "/m64": too many distinct methods; a router accepts at most 64)"),
                std::string(e.what()));
        }
        router.compile();
        checkCases(router,
                   {{"M63", "/m63", "#63"}, {"M64", "/m63", "405 M63"}, {"M63", "/m64", "404"}});
    }

    void testRefusedRouteLeavesRouterUsable() {
        Router router;
        router.add("/a", {"GET"}, 0);
        CPPUNIT_ASSERT_THROW(router.add("/b/:x/:x", {"PURGE"}, 1), RouteError);
        CPPUNIT_ASSERT_THROW(router.add("/a", {"PURGE", "bad"}, 2), RouteError);
        router.add("/:p", {"PUT"}, 3);
        router.compile();
        checkCases(router,
                   {
                       {"GET", "/a", "#0"},
                       {"DELETE", "/a", "405 GET, HEAD, PUT"}, // no PURGE from the refused routes
                       {"PURGE", "/b", "405 PUT"},
                       {"PUT", "/b", "#3 p=b"},
                   });
    }

    void testNineOrMoreCapturesAreRefused() {
        const std::string eight = "/:a/:b/:c/:d/:e/:f/:g/:h";
        const Router router =
            makeRouter({{eight, {"GET"}, 0}, {"/x/:a/:b/:c/:d/:e/:f/:g/*", {"GET"}, 1}});
        checkCases(router,
                   {
                       {"GET", "/1/2/3/4/5/6/7/8", "#0 a=1 b=2 c=3 d=4 e=5 f=6 g=7 h=8"},
                       {"GET", "/x/1/2/3/4/5/6/7/8/9", "#1 a=1 b=2 c=3 d=4 e=5 f=6 g=7 *=8/9"},
                   });
        CPPUNIT_ASSERT_EQUAL(std::size_t(8), router.match("GET", "/1/2/3/4/5/6/7/8").paramCount);

        const std::string limit =
            R"( captures; a route may capture at most 8 (parameters and "*"))";
        CPPUNIT_ASSERT_EQUAL(R"(invalid route path ")" + eight + R"(/:i": 9)" + limit,
                             addError(eight + "/:i"));
        CPPUNIT_ASSERT_EQUAL(R"(invalid route path ")" + eight + R"(/*": 9)" + limit,
                             addError(eight + "/*"));
        CPPUNIT_ASSERT_EQUAL(R"(invalid route path ")" + eight + R"(/": 9)" + limit,
                             addError(eight + "/"));
        CPPUNIT_ASSERT_EQUAL(R"(invalid route path ")" + eight + R"(/:i/:j": 10)" + limit,
                             addError(eight + "/:i/:j"));
        // Static segments do not count.
        CPPUNIT_ASSERT_EQUAL(std::string("(accepted)"), addError("/s/s/s/s/s/s/s/s/s/s" + eight));
    }

    void testShadows() {
        Router router;
        router.add("/users/:id", {"GET"}, 10);
        router.add("/users/:name", {"GET"}, 11);         // complete: same shape, same methods
        router.add("/users/:name", {"HEAD"}, 12);        // complete: GET implied HEAD
        router.add("/users/:name", {"GET", "POST"}, 13); // overlaps 10, 11 on GET/HEAD; 12 on HEAD
        router.add("/users/me", {"GET"}, 14);            // static: a different shape
        router.add("/files/", {}, 15);
        router.add("/files/*", {"GET"}, 16); // "/files/" is "/files/*", and any method covers GET
        router.add("/files", {"GET"}, 17);   // exact: a different shape
        router.add("*", {"POST"}, 18);
        router.add("/*", {"POST", "PUT"}, 19); // "*" is "/*": overlaps on POST
        router.add("/x", {"PUT"}, 20);
        router.add("/x", {}, 21);         // any-method later: overlaps, not complete
        router.add("/x", {"DELETE"}, 22); // complete (by 21); no overlap with 20
        router.compile();

        std::string out;
        for (const Router::Shadow& s : router.shadows()) {
            out += std::to_string(s.earlier) + ">" + std::to_string(s.later) +
                   (s.complete ? "!" : "~") + " ";
        }
        CPPUNIT_ASSERT_EQUAL(
            std::string("10>11! 10>12! 11>12! 10>13~ 11>13~ 12>13~ 15>16! 18>19~ 20>21~ 21>22! "),
            out);

        Router clean;
        clean.add("/a", {"GET"}, 0);
        clean.add("/a", {"POST"}, 1);
        clean.add("/:a", {"GET"}, 2);
        CPPUNIT_ASSERT(clean.shadows().empty());
    }

    void testMatchRequiresCompile() {
        Router router;
        router.add("/a", {}, 0);
        CPPUNIT_ASSERT_THROW(router.match("GET", "/a"), std::logic_error);
        router.compile();
        CPPUNIT_ASSERT_EQUAL(std::string("#0"), describe(router.match("GET", "/a")));
        router.add("/b", {}, 1);
        CPPUNIT_ASSERT_THROW(router.match("GET", "/a"), std::logic_error);
        router.compile(); // compile() again after more add()s picks them up
        CPPUNIT_ASSERT_EQUAL(std::string("#0"), describe(router.match("GET", "/a")));
        CPPUNIT_ASSERT_EQUAL(std::string("#1"), describe(router.match("GET", "/b")));
    }

    void testLargeTable() {
        Router router;
        for (int i = 0; i < 50; ++i) {
            const std::string v = "/api/v" + std::to_string(i);
            router.add(v + "/users", {"GET"}, 4 * i);
            router.add(v + "/users/:id", {"GET", "PUT"}, 4 * i + 1);
            router.add(v + "/users/:id/files/*", {"GET"}, 4 * i + 2);
            router.add("/site" + std::to_string(i) + "/", {}, 4 * i + 3);
        }
        router.compile();
        CPPUNIT_ASSERT(router.shadows().empty());
        for (int i = 0; i < 50; ++i) {
            const std::string v = "/api/v" + std::to_string(i);
            const std::string n = std::to_string(i);
            checkCases(
                router,
                {
                    {"GET", v + "/users", "#" + std::to_string(4 * i)},
                    {"PUT", v + "/users/u" + n, "#" + std::to_string(4 * i + 1) + " id=u" + n},
                    {"GET", v + "/users/u" + n + "/files/a/" + n,
                     "#" + std::to_string(4 * i + 2) + " id=u" + n + " *=a/" + n},
                    {"DELETE", "/site" + n + "/x", "#" + std::to_string(4 * i + 3) + " *=x"},
                    {"DELETE", v + "/users/1", "405 GET, HEAD, PUT"},
                    {"GET", v + "/user", "404"},
                });
        }
        checkCases(router, {{"GET", "/api/v50/users", "404"}, {"GET", "/site50/", "404"}});
    }

    void testAgreesWithNaiveMatcherOnRandomTables() {
        // Small alphabets so that shapes collide, backtracking happens and methods overlap.
        std::mt19937 random(20240611); // fixed: a failure must reproduce
        const std::vector<std::string> literals = {"a", "b", "c"};
        const std::vector<std::string> pathSegments = {"a", "b", "c", "d", ""};
        const std::vector<std::vector<std::string>> methodSets = {
            {}, {"GET"}, {"POST"}, {"GET", "POST"}, {"DELETE"}, {"HEAD"}};
        const auto pick = [&](std::size_t n) {
            return std::uniform_int_distribution<std::size_t>(0, n - 1)(random);
        };

        for (int table = 0; table < 200; ++table) {
            std::vector<RouteSpec> specs;
            const std::size_t routeCount = 1 + pick(12);
            for (std::size_t r = 0; r < routeCount; ++r) {
                std::string pattern;
                const std::size_t depth = pick(4);
                int param = 0;
                for (std::size_t d = 0; d < depth; ++d) {
                    pattern += pick(3) == 0 ? "/:p" + std::to_string(param++)
                                            : "/" + literals[pick(literals.size())];
                }
                switch (pick(4)) {
                case 0:
                    pattern += "/*";
                    break;
                case 1:
                    pattern += "/";
                    break;
                default:
                    if (pattern.empty()) pattern = pick(2) == 0 ? "/" : "*";
                    break;
                }
                specs.push_back(
                    {pattern, methodSets[pick(methodSets.size())], static_cast<int>(r)});
            }
            const Router router = makeRouter(specs);
            std::vector<Reference> refs;
            for (const RouteSpec& s : specs) refs.push_back(reference(s));

            for (int p = 0; p < 60; ++p) {
                std::string path;
                const std::size_t depth = 1 + pick(5);
                for (std::size_t d = 0; d < depth; ++d)
                    path += "/" + pathSegments[pick(pathSegments.size())];
                const std::string method =
                    std::vector<std::string>{"GET", "HEAD", "POST", "DELETE", "PUT"}[pick(5)];
                std::string table_text;
                for (const RouteSpec& s : specs) {
                    table_text += " " + s.pattern + "[";
                    for (const std::string& m : s.methods) table_text += m + ",";
                    table_text += "]";
                }
                CPPUNIT_ASSERT_EQUAL_MESSAGE(method + " " + path + " in" + table_text,
                                             referenceDescribe(refs, method, path),
                                             describe(router.match(method, path)));
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(RouterTest);
