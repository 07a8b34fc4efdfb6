#include "Semver.hpp"

#include "Text.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <utility>

namespace keel::kernel {

namespace {

constexpr std::string_view kVersionExpectation = "expected MAJOR.MINOR.PATCH such as 1.4.0";
constexpr std::string_view kRangeExpectation =
    "expected a version, ^1.2.3, ~1.2.3, >=1.0.0 <2.0.0, 1.x, * or alternatives joined by ||";

constexpr std::uint64_t kMaxNumber = std::numeric_limits<std::uint64_t>::max();

SemverError versionError(std::string_view input) {
    return SemverError("invalid version " + quoteForMessage(input) + ": " + std::string(kVersionExpectation));
}

SemverError rangeError(std::string_view input) {
    return SemverError("invalid range " + quoteForMessage(input) + ": " + std::string(kRangeExpectation));
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool isIdentifierChar(char c) {
    return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool isAllDigits(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), isDigit); }

std::vector<std::string_view> split(std::string_view s, char separator) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t end = s.find(separator, start);
        if (end == std::string_view::npos) {
            parts.push_back(s.substr(start));
            return parts;
        }
        parts.push_back(s.substr(start, end - start));
        start = end + 1;
    }
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
    while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> splitWhitespace(std::string_view s) {
    std::vector<std::string_view> tokens;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && isSpace(s[i])) ++i;
        const std::size_t start = i;
        while (i < s.size() && !isSpace(s[i])) ++i;
        if (i > start) tokens.push_back(s.substr(start, i - start));
    }
    return tokens;
}

std::optional<std::uint64_t> parseNumber(std::string_view s) {
    // SemVer forbids leading zeros so every version has one spelling.
    if (!isAllDigits(s) || (s.size() > 1 && s.front() == '0')) return std::nullopt;
    std::uint64_t value = 0;
    for (char c : s) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (kMaxNumber - digit) / 10) return std::nullopt;
        value = value * 10 + digit;
    }
    return value;
}

bool parseIdentifiers(std::string_view s, bool forbidLeadingZeros, std::vector<std::string>& out) {
    for (std::string_view id : split(s, '.')) {
        if (id.empty() || !std::all_of(id.begin(), id.end(), isIdentifierChar)) return false;
        // Only prerelease identifiers are compared numerically, so only they
        // need a canonical spelling; build metadata may keep "001".
        if (forbidLeadingZeros && isAllDigits(id) && id.size() > 1 && id.front() == '0') return false;
        out.emplace_back(id);
    }
    return true;
}

// A version that may stop early or use x/X/* wildcards, as ranges allow.
// A missing part means "any", exactly like a wildcard.
struct Partial {
    std::optional<std::uint64_t> major;
    std::optional<std::uint64_t> minor;
    std::optional<std::uint64_t> patch;
    std::vector<std::string> prerelease;
    std::string build;

    bool isFull() const { return patch.has_value(); }

    // Fills wildcards with zero: the lowest version the partial can denote.
    Version floor() const { return Version{major.value_or(0), minor.value_or(0), patch.value_or(0), prerelease, {}}; }
};

std::optional<Partial> parsePartial(std::string_view s, bool allowWildcards) {
    const std::size_t suffixStart = s.find_first_of("-+");
    const std::vector<std::string_view> parts = split(s.substr(0, suffixStart), '.');
    if (parts.size() > 3) return std::nullopt;

    std::array<std::optional<std::uint64_t>, 3> numbers;
    bool sawWildcard = false;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const std::string_view part = parts[i];
        if (part == "x" || part == "X" || part == "*") {
            if (!allowWildcards) return std::nullopt;
            sawWildcard = true;
            continue;
        }
        // "1.x.3" has no sensible meaning; npm rejects it too.
        if (sawWildcard) return std::nullopt;
        numbers[i] = parseNumber(part);
        if (!numbers[i]) return std::nullopt;
    }

    Partial partial{numbers[0], numbers[1], numbers[2], {}, {}};
    if (suffixStart == std::string_view::npos) return partial;

    // A prerelease or build only qualifies one exact release, so "1.2-beta"
    // or "1.x-beta" would be ambiguous.
    if (!partial.isFull()) return std::nullopt;

    std::string_view suffix = s.substr(suffixStart);
    const std::size_t buildStart = suffix.find('+');
    if (suffix.front() == '-') {
        if (!parseIdentifiers(suffix.substr(1, buildStart == std::string_view::npos ? buildStart : buildStart - 1),
                              true, partial.prerelease)) {
            return std::nullopt;
        }
    }
    if (buildStart != std::string_view::npos) {
        std::vector<std::string> buildIds;
        if (!parseIdentifiers(suffix.substr(buildStart + 1), false, buildIds)) return std::nullopt;
        partial.build = std::string(suffix.substr(buildStart + 1));
    }
    return partial;
}

enum class Level { Major = 0, Minor = 1, Patch = 2 };

// The first release above every version sharing the parts up to `level`,
// e.g. bump(1, 2, 3, Minor) == 1.3.0. On overflow the carry moves up a
// level; nullopt means there is no such version (the bound is infinite).
std::optional<Version> bump(std::uint64_t major, std::uint64_t minor, std::uint64_t patch, Level level) {
    std::array<std::uint64_t, 3> parts{major, minor, patch};
    for (int i = static_cast<int>(level); i >= 0; --i) {
        const auto index = static_cast<std::size_t>(i);
        if (parts[index] == kMaxNumber) continue;
        ++parts[index];
        for (std::size_t j = index + 1; j < parts.size(); ++j) parts[j] = 0;
        return Version{parts[0], parts[1], parts[2], {}, {}};
    }
    return std::nullopt;
}

int compareIdentifiers(const std::string& a, const std::string& b) {
    const bool aNumeric = isAllDigits(a);
    const bool bNumeric = isAllDigits(b);
    if (aNumeric && bNumeric) {
        // No leading zeros, so the longer number is the larger; this also
        // works for identifiers too long for any integer type.
        if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
        return a.compare(b);
    }
    if (aNumeric != bNumeric) return aNumeric ? -1 : 1;
    return a.compare(b);
}

}  // namespace

// ---------------------------------------------------------------- Version

Version Version::parse(std::string_view text) {
    const std::optional<Partial> partial = parsePartial(text, false);
    if (!partial || !partial->isFull()) throw versionError(text);
    return Version{*partial->major, *partial->minor, *partial->patch, partial->prerelease, partial->build};
}

std::string Version::toString() const {
    std::string out = std::to_string(major) + '.' + std::to_string(minor) + '.' + std::to_string(patch);
    for (std::size_t i = 0; i < prerelease.size(); ++i) {
        out += i == 0 ? '-' : '.';
        out += prerelease[i];
    }
    if (!build.empty()) out += '+' + build;
    return out;
}

std::strong_ordering Version::operator<=>(const Version& other) const {
    if (const auto c = major <=> other.major; c != 0) return c;
    if (const auto c = minor <=> other.minor; c != 0) return c;
    if (const auto c = patch <=> other.patch; c != 0) return c;
    // A release outranks any of its prereleases.
    if (prerelease.empty() || other.prerelease.empty()) return prerelease.empty() <=> other.prerelease.empty();
    const std::size_t common = std::min(prerelease.size(), other.prerelease.size());
    for (std::size_t i = 0; i < common; ++i) {
        if (const int c = compareIdentifiers(prerelease[i], other.prerelease[i]); c != 0) return c <=> 0;
    }
    return prerelease.size() <=> other.prerelease.size();
}

bool Version::operator==(const Version& other) const { return (*this <=> other) == 0; }

// ---------------------------------------------------------------- Range

// Desugars npm range syntax into plain comparators, following the rules of
// node-semver 7 (caret/tilde/x-range/hyphen), so manifests behave as their
// authors expect from npm. Every "<" upper bound gets a "-0" prerelease so
// that "<2.0.0-0" excludes 2.0.0-alpha as well as 2.0.0.
class RangeBuilder {
public:
    using Op = Range::Op;
    using Comparator = Range::Comparator;
    using ComparatorSet = Range::ComparatorSet;

    static bool parseAlternative(std::string_view text, ComparatorSet& out) {
        const std::vector<std::string_view> raw = splitWhitespace(text);
        if (std::find(raw.begin(), raw.end(), "-") != raw.end()) {
            return raw.size() == 3 && raw[1] == "-" && parseHyphen(raw[0], raw[2], out);
        }
        for (std::size_t i = 0; i < raw.size(); ++i) {
            // npm allows a space between operator and version (">= 1.2.3").
            if (isOperatorOnly(raw[i])) {
                if (i + 1 == raw.size()) return false;
                const std::string joined = std::string(raw[i]) + std::string(raw[i + 1]);
                if (!parseComparator(joined, out)) return false;
                ++i;
            } else if (!parseComparator(raw[i], out)) {
                return false;
            }
        }
        return true;
    }

private:
    static bool isOperatorOnly(std::string_view token) {
        return token == "<" || token == "<=" || token == ">" || token == ">=" || token == "=" || token == "~" ||
               token == "~>" || token == "^";
    }

    static std::optional<Partial> parseOperand(std::string_view s) {
        if (!s.empty() && s.front() == 'v') s.remove_prefix(1);
        return parsePartial(s, true);
    }

    static void add(ComparatorSet& out, Op op, Version version) { out.push_back(Comparator{op, std::move(version)}); }

    static void addNothing(ComparatorSet& out) { add(out, Op::Less, Version{0, 0, 0, {"0"}, {}}); }

    // `limit` nullopt means the range is unbounded above.
    static void addBelow(ComparatorSet& out, std::optional<Version> limit) {
        if (!limit) return;
        limit->prerelease = {"0"};
        add(out, Op::Less, std::move(*limit));
    }

    static Level lastFixed(const Partial& p) { return p.minor ? Level::Minor : Level::Major; }

    static bool parseHyphen(std::string_view fromText, std::string_view toText, ComparatorSet& out) {
        const std::optional<Partial> from = parseOperand(fromText);
        const std::optional<Partial> to = parseOperand(toText);
        if (!from || !to) return false;
        if (from->major) add(out, Op::GreaterEqual, from->floor());
        if (to->isFull()) {
            add(out, Op::LessEqual, to->floor());
        } else if (to->major) {
            // "1.0.0 - 2.3" means "up to any 2.3.x", not "up to 2.3.0".
            addBelow(out, bump(*to->major, to->minor.value_or(0), 0, lastFixed(*to)));
        }
        return true;
    }

    static bool parseComparator(std::string_view token, ComparatorSet& out) {
        static constexpr std::array<std::string_view, 8> kOperators{">=", "<=", "~>", ">", "<", "=", "~", "^"};
        std::string_view op;
        for (std::string_view candidate : kOperators) {
            if (token.substr(0, candidate.size()) == candidate) {
                op = candidate;
                break;
            }
        }
        const std::optional<Partial> operand = parseOperand(token.substr(op.size()));
        if (!operand) return false;
        if (op == "^") {
            addCaret(*operand, out);
        } else if (op == "~" || op == "~>") {
            addTilde(*operand, out);
        } else if (op.empty() || op == "=") {
            addXRange(*operand, out);
        } else {
            addRelational(op, *operand, out);
        }
        return true;
    }

    static void addXRange(const Partial& p, ComparatorSet& out) {
        if (!p.major) return;
        if (p.isFull()) {
            add(out, Op::Equal, p.floor());
            return;
        }
        add(out, Op::GreaterEqual, p.floor());
        addBelow(out, bump(*p.major, p.minor.value_or(0), 0, lastFixed(p)));
    }

    static void addRelational(std::string_view op, const Partial& p, ComparatorSet& out) {
        if (!p.major) {
            // Every version is >= and <= "*", none is strictly beyond it.
            if (op == ">" || op == "<") addNothing(out);
            return;
        }
        if (p.isFull()) {
            const Op relation = op == ">"    ? Op::Greater
                                : op == ">=" ? Op::GreaterEqual
                                : op == "<"  ? Op::Less
                                             : Op::LessEqual;
            add(out, relation, p.floor());
            return;
        }
        // A partial stands for the whole block of versions it matches, so
        // ">1.2" means above all of 1.2.x and "<=1.2" includes all of 1.2.x.
        const std::optional<Version> next = bump(*p.major, p.minor.value_or(0), 0, lastFixed(p));
        if (op == ">") {
            if (next) {
                add(out, Op::GreaterEqual, *next);
            } else {
                addNothing(out);
            }
        } else if (op == ">=") {
            add(out, Op::GreaterEqual, p.floor());
        } else if (op == "<") {
            addBelow(out, p.floor());
        } else {
            addBelow(out, next);
        }
    }

    static void addCaret(const Partial& p, ComparatorSet& out) {
        if (!p.major) return;
        add(out, Op::GreaterEqual, p.floor());
        // Below 1.0.0 every minor (and below 0.1.0 every patch) may break
        // compatibility, so the caret pins the first non-zero part.
        Level level = Level::Major;
        if (*p.major == 0 && p.minor) {
            level = (*p.minor == 0 && p.patch) ? Level::Patch : Level::Minor;
        }
        addBelow(out, bump(*p.major, p.minor.value_or(0), p.patch.value_or(0), level));
    }

    static void addTilde(const Partial& p, ComparatorSet& out) {
        if (!p.major) return;
        add(out, Op::GreaterEqual, p.floor());
        addBelow(out, bump(*p.major, p.minor.value_or(0), 0, lastFixed(p)));
    }
};

Range::Range(std::string text, std::vector<ComparatorSet> alternatives)
    : text_(std::move(text)), alternatives_(std::move(alternatives)) {}

Range Range::parse(std::string_view text) {
    std::vector<ComparatorSet> alternatives;
    if (trim(text).empty()) {
        alternatives.emplace_back();
        return Range(std::string(text), std::move(alternatives));
    }
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find("||", start);
        const std::string_view alternative =
            trim(text.substr(start, end == std::string_view::npos ? end : end - start));
        // npm reads "1.2.3 ||" as "anything"; for a dependency declaration a
        // dangling || is far more likely a typo than a deliberate wildcard.
        ComparatorSet set;
        if (alternative.empty() || !RangeBuilder::parseAlternative(alternative, set)) throw rangeError(text);
        alternatives.push_back(std::move(set));
        if (end == std::string_view::npos) break;
        start = end + 2;
    }
    return Range(std::string(text), std::move(alternatives));
}

bool Range::satisfies(const Version& version) const {
    return std::any_of(alternatives_.begin(), alternatives_.end(),
                       [&](const ComparatorSet& set) { return testSet(set, version); });
}

const std::string& Range::text() const { return text_; }

bool Range::Comparator::test(const Version& candidate) const {
    switch (op) {
        case Op::Less:
            return candidate < version;
        case Op::LessEqual:
            return candidate <= version;
        case Op::Greater:
            return candidate > version;
        case Op::GreaterEqual:
            return candidate >= version;
        case Op::Equal:
            return candidate == version;
    }
    return false;
}

bool Range::testSet(const ComparatorSet& set, const Version& version) {
    if (!std::all_of(set.begin(), set.end(), [&](const Comparator& c) { return c.test(version); })) return false;
    if (version.prerelease.empty()) return true;
    // Prereleases are opt-in per release: the author must have named this
    // exact MAJOR.MINOR.PATCH with a prerelease somewhere in the set.
    return std::any_of(set.begin(), set.end(), [&](const Comparator& c) {
        return !c.version.prerelease.empty() && c.version.major == version.major &&
               c.version.minor == version.minor && c.version.patch == version.patch;
    });
}

}  // namespace keel::kernel
