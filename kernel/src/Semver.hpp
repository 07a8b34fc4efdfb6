#pragma once

#include <compare>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keel::kernel {

// Derives from std::invalid_argument so callers that only care about "bad
// manifest input" can catch the standard type without knowing about semver.
class SemverError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// A SemVer 2.0.0 version. Kept an aggregate so tests and callers can spell
// versions inline; parse() is the only place that enforces the grammar.
struct Version {
    std::uint64_t major = 0;
    std::uint64_t minor = 0;
    std::uint64_t patch = 0;
    std::vector<std::string> prerelease;
    // Stored so toString() round-trips, but never consulted for ordering,
    // as SemVer 2.0.0 section 10 requires.
    std::string build;

    // Strict SemVer 2.0.0: no "v" prefix, no surrounding whitespace, no
    // leading zeros in numeric parts. Throws SemverError.
    static Version parse(std::string_view text);

    std::string toString() const;

    // Precedence per SemVer 2.0.0 section 11; build metadata is ignored, so
    // 1.0.0+a == 1.0.0+b even though their toString() differs.
    std::strong_ordering operator<=>(const Version& other) const;
    bool operator==(const Version& other) const;
};

// An npm/node-semver style version range, e.g. "^1.2.3 || >=2.1.0 <3".
class Range {
public:
    // Throws SemverError. An empty or all-whitespace text matches any release.
    static Range parse(std::string_view text);

    // Follows npm's prerelease rule: a prerelease version only matches if a
    // comparator in the same || alternative names the same MAJOR.MINOR.PATCH
    // with a prerelease, so "^1.0.0" never silently pulls in 1.5.0-beta.
    bool satisfies(const Version& version) const;

    // The text exactly as given to parse(), for diagnostics.
    const std::string& text() const;

private:
    friend class RangeBuilder;

    enum class Op { Less, LessEqual, Greater, GreaterEqual, Equal };

    struct Comparator {
        Op op;
        Version version;

        bool test(const Version& candidate) const;
    };

    // All comparators must hold (AND); an empty set matches any release.
    using ComparatorSet = std::vector<Comparator>;

    Range(std::string text, std::vector<ComparatorSet> alternatives);

    static bool testSet(const ComparatorSet& set, const Version& version);

    std::string text_;
    std::vector<ComparatorSet> alternatives_;  // OR of AND-sets
};

}  // namespace keel::kernel
