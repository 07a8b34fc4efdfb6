#include <cppunit/extensions/HelperMacros.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "Semver.hpp"

using keel::kernel::Range;
using keel::kernel::SemverError;
using keel::kernel::Version;

namespace {

// Returns what() of the SemverError thrown, or "" when parsing succeeded, so
// a failed assertion shows the actual message instead of just "no throw".
std::string versionErrorOf(std::string_view text) {
    try {
        Version::parse(text);
    } catch (const SemverError& error) {
        return error.what();
    }
    return {};
}

std::string rangeErrorOf(std::string_view text) {
    try {
        Range::parse(text);
    } catch (const SemverError& error) {
        return error.what();
    }
    return {};
}

std::string versionMessage(const std::string& text) {
    return "invalid version \"" + text + "\": expected MAJOR.MINOR.PATCH such as 1.4.0";
}

std::string rangeMessage(const std::string& text) {
    return "invalid range \"" + text +
           "\": expected a version, ^1.2.3, ~1.2.3, >=1.0.0 <2.0.0, 1.x, * or alternatives joined by ||";
}

struct RangeCase {
    const char* range;
    const char* version;
    bool expected;
};

// Expected values agree with node-semver 7 (npm's own implementation).
const RangeCase kRangeCases[] = {
    // exact
    {"1.2.3", "1.2.3", true},
    {"1.2.3", "1.2.4", false},
    {"1.2.3", "1.2.2", false},
    {"=1.2.3", "1.2.3", true},
    {"v1.2.3", "1.2.3", true},
    {"=v1.2.3", "1.2.3", true},
    {"1.2.3", "1.2.3+build.7", true},
    {"1.2.3-beta.1", "1.2.3-beta.1", true},
    {"1.2.3-beta.1", "1.2.3", false},
    {"1.2.3", "1.2.3-beta", false},
    // primitive comparators
    {">1.2.3", "1.2.4", true},
    {">1.2.3", "1.2.3", false},
    {">=1.2.3", "1.2.3", true},
    {">=1.2.3", "1.2.2", false},
    {"<1.2.3", "1.2.2", true},
    {"<1.2.3", "1.2.3", false},
    {"<=1.2.3", "1.2.3", true},
    {"<=1.2.3", "1.2.4", false},
    {">= 1.2.3", "1.2.3", true},
    {">=v1.2.3", "1.5.0", true},
    // comparator sets (AND)
    {">=1.0.0 <2.0.0", "1.0.0", true},
    {">=1.0.0 <2.0.0", "1.5.0", true},
    {">=1.0.0 <2.0.0", "2.0.0", false},
    {">=1.0.0 <2.0.0", "0.9.9", false},
    {"  >=1.0.0 \t  <2.0.0  ", "1.9.9", true},
    {">1.0.0 <=1.0.0", "1.0.0", false},
    {">=1.2.7 <1.3.0", "1.2.8", true},
    {">=1.2.7 <1.3.0", "1.2.6", false},
    // alternatives (OR)
    {"1.2.3 || 2.x", "2.5.0", true},
    {"1.2.3 || 2.x", "1.2.3", true},
    {"1.2.3 || 2.x", "1.2.4", false},
    {"<1.0.0||>=3.0.0", "0.5.0", true},
    {"<1.0.0||>=3.0.0", "3.0.0", true},
    {"<1.0.0||>=3.0.0", "2.0.0", false},
    {"^1.0.0 || ^2.0.0 || ^3.0.0", "3.1.0", true},
    {"1.2.7 || >=1.2.9 <2.0.0", "1.2.8", false},
    {"1.2.7 || >=1.2.9 <2.0.0", "1.4.6", true},
    // caret
    {"^1.2.3", "1.2.3", true},
    {"^1.2.3", "1.9.9", true},
    {"^1.2.3", "2.0.0", false},
    {"^1.2.3", "1.2.2", false},
    {"^0.2.3", "0.2.3", true},
    {"^0.2.3", "0.2.9", true},
    {"^0.2.3", "0.3.0", false},
    {"^0.2.3", "0.2.2", false},
    {"^0.0.3", "0.0.3", true},
    {"^0.0.3", "0.0.4", false},
    {"^0.0.3", "0.0.2", false},
    {"^1.2", "1.9.0", true},
    {"^1.2", "1.1.9", false},
    {"^0.2", "0.2.0", true},
    {"^0.2", "0.3.0", false},
    {"^0.0", "0.0.9", true},
    {"^0.0", "0.1.0", false},
    {"^1", "1.9.9", true},
    {"^1", "2.0.0", false},
    {"^0", "0.9.9", true},
    {"^0", "1.0.0", false},
    {"^1.x", "1.5.0", true},
    {"^0.x", "0.5.0", true},
    {"^0.0.x", "0.0.5", true},
    {"^0.0.x", "0.1.0", false},
    {"^*", "5.0.0", true},
    {"^ 1.2.3", "1.3.0", true},
    {"^1.2.3-beta.2", "1.2.3-beta.4", true},
    {"^1.2.3-beta.2", "1.2.3-beta.1", false},
    {"^1.2.3-beta.2", "1.2.3", true},
    {"^1.2.3-beta.2", "1.9.0", true},
    {"^1.2.3-beta.2", "1.3.0-beta", false},
    {"^0.0.3-beta", "0.0.3-pr.2", true},
    {"^0.0.3-beta", "0.0.3", true},
    {"^0.0.3-beta", "0.0.4", false},
    // tilde
    {"~1.2.3", "1.2.3", true},
    {"~1.2.3", "1.2.9", true},
    {"~1.2.3", "1.3.0", false},
    {"~1.2.3", "1.2.2", false},
    {"~1.2", "1.2.0", true},
    {"~1.2", "1.3.0", false},
    {"~1", "1.0.0", true},
    {"~1", "1.9.9", true},
    {"~1", "2.0.0", false},
    {"~0.2.3", "0.2.5", true},
    {"~0.2.3", "0.3.0", false},
    {"~1.x", "1.4.0", true},
    {"~>1.2.3", "1.2.5", true},
    {"~ 1.2.3", "1.2.5", true},
    {"~1.2.3-beta.2", "1.2.3-beta.3", true},
    {"~1.2.3-beta.2", "1.2.4-beta", false},
    {"~1.2.3-beta.2", "1.2.4", true},
    // x-ranges and partials
    {"*", "1.2.3", true},
    {"*", "0.0.0", true},
    {"x", "9.9.9", true},
    {"X", "9.9.9", true},
    {"", "1.0.0", true},
    {"   ", "1.0.0", true},
    {"1", "1.0.0", true},
    {"1", "1.9.9", true},
    {"1", "2.0.0", false},
    {"1", "0.9.9", false},
    {"1.x", "1.2.3", true},
    {"1.x", "2.0.0", false},
    {"1.X", "1.0.0", true},
    {"1.2", "1.2.9", true},
    {"1.2", "1.3.0", false},
    {"1.2", "1.1.9", false},
    {"1.2.*", "1.2.0", true},
    {"1.2.x", "1.2.9", true},
    {"1.2.x", "1.3.0", false},
    {"1.*.*", "1.5.5", true},
    {"=1.2", "1.2.7", true},
    {">1", "2.0.0", true},
    {">1", "1.9.9", false},
    {">1.2", "1.3.0", true},
    {">1.2", "1.2.9", false},
    {">=1.2", "1.2.0", true},
    {">=1.2", "1.1.9", false},
    {"<1.2", "1.1.9", true},
    {"<1.2", "1.2.0", false},
    {"<=1.2", "1.2.9", true},
    {"<=1.2", "1.3.0", false},
    {"<=1", "1.9.9", true},
    {"<=1", "2.0.0", false},
    {"<1", "0.9.9", true},
    {"<1", "1.0.0", false},
    {">*", "1.0.0", false},
    {"<*", "1.0.0", false},
    {">=*", "1.0.0", true},
    {"<=*", "0.0.0", true},
    {">=1.x", "1.0.0", true},
    // hyphen ranges
    {"1.2.3 - 2.3.4", "1.2.3", true},
    {"1.2.3 - 2.3.4", "2.3.4", true},
    {"1.2.3 - 2.3.4", "2.3.5", false},
    {"1.2.3 - 2.3.4", "1.2.2", false},
    {"1.2 - 2.3.4", "1.2.0", true},
    {"1.2 - 2.3.4", "1.1.9", false},
    {"1.2.3 - 2.3", "2.3.9", true},
    {"1.2.3 - 2.3", "2.4.0", false},
    {"1.2.3 - 2", "2.9.9", true},
    {"1.2.3 - 2", "3.0.0", false},
    {"* - 2", "0.0.0", true},
    {"1.2.3 - *", "99.0.0", true},
    {"1.2.3 - *", "1.2.2", false},
    {"v1.2.3 - v2.3.4", "2.0.0", true},
    {"1.2.3-beta - 2.3.4", "1.2.3-rc", true},
    {"1.2.3 - 2.3.4", "2.3.4-beta", false},
    {"1.2.3 - 2.3.4-beta", "2.3.4-alpha", true},
    {"1.2.3 - 2.3.4-beta", "2.3.4", false},
    {"1.0.0 - 1.5.0 || 3.0.0 - 3.5.0", "3.2.0", true},
    {"1.0.0 - 1.5.0 || 3.0.0 - 3.5.0", "2.0.0", false},
    // prerelease exclusion
    {"^1.0.0", "1.5.0-beta", false},
    {">=1.0.0", "2.0.0-alpha", false},
    {"*", "1.0.0-beta", false},
    {"", "1.0.0-beta", false},
    {"1.x", "1.2.0-beta", false},
    {"<2.0.0", "2.0.0-beta", false},
    {"^1.2.3", "2.0.0-beta", false},
    {">1.2.3-alpha.3", "1.2.3-alpha.7", true},
    {">1.2.3-alpha.3", "3.4.5-alpha.9", false},
    {">1.2.3-alpha.3", "3.4.5", true},
    {">=1.0.0-rc.1 <2.0.0", "1.0.0-rc.2", true},
    {">=1.0.0-rc.1 <2.0.0", "1.1.0-rc.1", false},
    {">=1.0.0 <=2.0.0-beta.2", "2.0.0-beta.1", true},
    {"^1.2.3 || 1.5.0-beta", "1.5.0-beta", true},
    // the opt-in only counts within its own alternative
    {"1.5.0-beta.1 || ^1.0.0", "1.5.0-beta.2", false},
};

const char* const kInvalidRanges[] = {
    "^^1",          ">=",          "1.2.3 -",      "- 1.2.3",      "1.2.3 - 2.3.4 - 3",
    ">=1.0.0 - 2",  "1 | 2",       "1.2.3.4",      "01.2.3",       ">=1.2.3<2.0.0",
    "1.x.3",        "1.2-beta",    "=>1.0.0",      "abc",          "~",
    "^",            "1.2.3 ||| 2", "<>1",          "1.2.3-01",     "v",
    "1.2.3-",       "!1.2.3",      "latest",       ">=1.0.0, <2",  "1.2.3+",
    "1.2.3 -- 2",   ">= ^1",       "~1.2.3.4",     "^01",          "1.2.3 - 2.3.4 1",
    "1.x-beta",
};

// Deliberately stricter than npm, which reads a dangling || as "*" and drops
// the prerelease from 1.2.x-beta: both are more likely typos than intent.
const char* const kStricterThanNpm[] = {"1.2.3 ||", "|| 1.2.3", "||", "1.2.x-beta"};

}  // namespace

class SemverTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(SemverTest);
    CPPUNIT_TEST(testParseRoundTrip);
    CPPUNIT_TEST(testParseFields);
    CPPUNIT_TEST(testParseLargestNumber);
    CPPUNIT_TEST(testInvalidVersions);
    CPPUNIT_TEST(testVersionErrorMessage);
    CPPUNIT_TEST(testSpecPrecedenceChain);
    CPPUNIT_TEST(testNumericPrecedence);
    CPPUNIT_TEST(testBuildMetadataIgnoredForPrecedence);
    CPPUNIT_TEST(testRangeTable);
    CPPUNIT_TEST(testRangeTextIsOriginal);
    CPPUNIT_TEST(testInvalidRanges);
    CPPUNIT_TEST(testStricterThanNpm);
    CPPUNIT_TEST(testRangeErrorMessage);
    CPPUNIT_TEST(testBoundsAtNumericLimit);
    CPPUNIT_TEST_SUITE_END();

public:
    void testParseRoundTrip() {
        const char* const texts[] = {
            "0.0.0",
            "1.2.3",
            "10.20.30",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-0.3.7",
            "1.0.0-x.7.z.92",
            "1.0.0-x-y-z.--",
            "1.0.0-alpha+001",
            "1.0.0+20130313144700",
            "1.0.0-beta+exp.sha.5114f85",
            "1.0.0+21AF26D3----117B344092BD",
            "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
            "2.0.0-rc.1+build.123",
        };
        for (const char* text : texts) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(text, std::string(text), Version::parse(text).toString());
        }
    }

    void testParseFields() {
        const Version v = Version::parse("1.22.333-beta.4.x-y+build.005");
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{1}, v.major);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{22}, v.minor);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{333}, v.patch);
        CPPUNIT_ASSERT(v.prerelease == (std::vector<std::string>{"beta", "4", "x-y"}));
        CPPUNIT_ASSERT_EQUAL(std::string("build.005"), v.build);

        const Version plain = Version::parse("4.5.6");
        CPPUNIT_ASSERT(plain.prerelease.empty());
        CPPUNIT_ASSERT(plain.build.empty());

        const Version built{7, 8, 9, {"rc", "1"}, "sha.1"};
        CPPUNIT_ASSERT_EQUAL(std::string("7.8.9-rc.1+sha.1"), built.toString());
    }

    void testParseLargestNumber() {
        const Version v = Version::parse("18446744073709551615.0.0");
        CPPUNIT_ASSERT_EQUAL(std::uint64_t{18446744073709551615ULL}, v.major);
        CPPUNIT_ASSERT_EQUAL(std::string("18446744073709551615.0.0"), v.toString());
        CPPUNIT_ASSERT_EQUAL(versionMessage("18446744073709551616.0.0"), versionErrorOf("18446744073709551616.0.0"));
    }

    void testInvalidVersions() {
        const char* const texts[] = {
            "",         "1",           "1.2",          "1.2.3.4",      "01.2.3",     "1.02.3",     "1.2.03",
            "00.0.0",   "1.2.3-01",    "1.2.3-beta.01", "1.2.3-",      "1.2.3+",     "1.2.3-+b",   "1.2.3-beta..1",
            "1.2.3-.a", "1.2.3-beta.", "1.2.3-beta_1", "1.2.3+build!", "1.2.3+a..b", "a.b.c",      "v1.2.3",
            "=1.2.3",   " 1.2.3",      "1.2.3 ",       "-1.2.3",       "1.2.x",      "1.2.*",      "1..3",
            "1.2.3-ß",  "1.2.3a",      "1.-2.3",       "+1.2.3",       "1.2.3-beta+exp+more",
        };
        for (const char* text : texts) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(text, versionMessage(text), versionErrorOf(text));
        }
        // Leading zeros are fine in build metadata, which is never compared.
        CPPUNIT_ASSERT_EQUAL(std::string("1.2.3+007"), Version::parse("1.2.3+007").toString());
    }

    void testVersionErrorMessage() {
        try {
            Version::parse("1.2");
            CPPUNIT_FAIL("expected SemverError");
        } catch (const std::invalid_argument& error) {
            CPPUNIT_ASSERT_EQUAL(std::string("invalid version \"1.2\": expected MAJOR.MINOR.PATCH such as 1.4.0"),
                                 std::string(error.what()));
        }
        // Control characters must not reach logs raw.
        CPPUNIT_ASSERT_EQUAL(std::string("invalid version \"1.2.3\\x0a\\\"\": expected MAJOR.MINOR.PATCH such as 1.4.0"),
                             versionErrorOf("1.2.3\n\""));
    }

    void testSpecPrecedenceChain() {
        const char* const chain[] = {
            "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
            "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",      "1.0.0",
        };
        const std::size_t count = sizeof(chain) / sizeof(chain[0]);
        for (std::size_t i = 0; i < count; ++i) {
            const Version a = Version::parse(chain[i]);
            CPPUNIT_ASSERT_MESSAGE(chain[i], a == Version::parse(chain[i]));
            for (std::size_t j = i + 1; j < count; ++j) {
                const Version b = Version::parse(chain[j]);
                const std::string pair = std::string(chain[i]) + " < " + chain[j];
                CPPUNIT_ASSERT_MESSAGE(pair, a < b);
                CPPUNIT_ASSERT_MESSAGE(pair, b > a);
                CPPUNIT_ASSERT_MESSAGE(pair, a != b);
                CPPUNIT_ASSERT_MESSAGE(pair, (a <=> b) == std::strong_ordering::less);
            }
        }
    }

    void testNumericPrecedence() {
        const auto less = [](const char* a, const char* b) {
            CPPUNIT_ASSERT_MESSAGE(std::string(a) + " < " + b, Version::parse(a) < Version::parse(b));
            CPPUNIT_ASSERT_MESSAGE(std::string(b) + " > " + a, Version::parse(b) > Version::parse(a));
        };
        less("1.9.0", "1.10.0");
        less("1.10.0", "1.11.0");
        less("2.0.0", "2.1.0");
        less("2.1.0", "2.1.1");
        less("1.99.99", "2.0.0");
        less("0.0.9", "0.0.10");
        less("1.0.0-2", "1.0.0-10");
        less("1.0.0-1", "1.0.0-a");
        less("1.0.0-999", "1.0.0--");
        less("1.0.0-alpha", "1.0.0-alpha.0");
        less("1.0.0-Z", "1.0.0-a");
        less("1.0.0-9999", "1.0.0-99999999999999999999999");
        less("1.0.0-rc.1", "1.0.0");
        less("0.9.9", "1.0.0-alpha");
        CPPUNIT_ASSERT(Version::parse("1.0.0") >= Version::parse("1.0.0"));
        CPPUNIT_ASSERT(Version::parse("1.0.0-rc.1") <= Version::parse("1.0.0-rc.1"));
    }

    void testBuildMetadataIgnoredForPrecedence() {
        const Version a = Version::parse("1.0.0+a");
        const Version b = Version::parse("1.0.0+b");
        CPPUNIT_ASSERT(a == b);
        CPPUNIT_ASSERT(!(a < b) && !(b < a));
        CPPUNIT_ASSERT(a.toString() != b.toString());
        CPPUNIT_ASSERT(Version::parse("1.0.0-rc.1+x") == Version::parse("1.0.0-rc.1"));
        CPPUNIT_ASSERT(Version::parse("1.0.0-rc.1+x") < Version::parse("1.0.0+x"));
    }

    void testRangeTable() {
        for (const RangeCase& c : kRangeCases) {
            const std::string label = "\"" + std::string(c.range) + "\" vs " + c.version;
            CPPUNIT_ASSERT_EQUAL_MESSAGE(label, c.expected, Range::parse(c.range).satisfies(Version::parse(c.version)));
        }
    }

    void testRangeTextIsOriginal() {
        CPPUNIT_ASSERT_EQUAL(std::string("  ^1.2.3 ||  ~2.0 "), Range::parse("  ^1.2.3 ||  ~2.0 ").text());
        CPPUNIT_ASSERT_EQUAL(std::string(), Range::parse("").text());
        const Range copy = Range::parse(">=1.0.0 <2.0.0");
        CPPUNIT_ASSERT_EQUAL(std::string(">=1.0.0 <2.0.0"), copy.text());
    }

    void testInvalidRanges() {
        for (const char* text : kInvalidRanges) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(text, rangeMessage(text), rangeErrorOf(text));
        }
    }

    void testStricterThanNpm() {
        for (const char* text : kStricterThanNpm) {
            CPPUNIT_ASSERT_EQUAL_MESSAGE(text, rangeMessage(text), rangeErrorOf(text));
        }
    }

    void testRangeErrorMessage() {
        try {
            Range::parse("^^1");
            CPPUNIT_FAIL("expected SemverError");
        } catch (const std::invalid_argument& error) {
            CPPUNIT_ASSERT_EQUAL(std::string("invalid range \"^^1\": expected a version, ^1.2.3, ~1.2.3, "
                                             ">=1.0.0 <2.0.0, 1.x, * or alternatives joined by ||"),
                                 std::string(error.what()));
        }
        // The whole range is named, not just the offending comparator.
        CPPUNIT_ASSERT_EQUAL(rangeMessage(">=1.0.0 <02.0.0"), rangeErrorOf(">=1.0.0 <02.0.0"));
    }

    void testBoundsAtNumericLimit() {
        // Bumping past the largest number must not wrap around to 0.
        const Version top = Version::parse("18446744073709551615.18446744073709551615.18446744073709551615");
        CPPUNIT_ASSERT(Range::parse("^18446744073709551615.0.0").satisfies(top));
        CPPUNIT_ASSERT(Range::parse("<=18446744073709551615").satisfies(top));
        CPPUNIT_ASSERT(!Range::parse(">18446744073709551615").satisfies(top));
        CPPUNIT_ASSERT(!Range::parse(">18446744073709551615").satisfies(Version::parse("0.0.0")));
        CPPUNIT_ASSERT(Range::parse("~1.18446744073709551615").satisfies(Version::parse("1.18446744073709551615.7")));
        CPPUNIT_ASSERT(!Range::parse("~1.18446744073709551615").satisfies(Version::parse("2.0.0")));
        CPPUNIT_ASSERT(Range::parse("^0.0.18446744073709551615").satisfies(
            Version::parse("0.0.18446744073709551615")));
        CPPUNIT_ASSERT(!Range::parse("^0.0.18446744073709551615").satisfies(Version::parse("0.1.0")));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(SemverTest);
