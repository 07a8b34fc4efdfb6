#include "Router.hpp"

#include "Text.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <numeric>

namespace keel::kernel {

namespace {

constexpr std::size_t kMaxMethods = 64; // one bit each in a route's method mask

constexpr std::string_view kStartExpectation =
    "a route path starts with \"/\" (or is \"*\", for every path)";
constexpr std::string_view kSegmentExpectation =
    "use letters, digits, -._~!$&'()+,;=:@ or %XX escapes";
constexpr std::string_view kParamExpectation =
    "a parameter is \":\" followed by a letter or \"_\", then letters, digits or \"_\"";
constexpr std::string_view kMethodExpectation =
    "a method is an upper-case token such as \"GET\" (A-Z, then A-Z, 0-9, \"-\" or \"_\")";

RouteError patternError(std::string_view pattern, std::string_view reason) {
    return RouteError("invalid route path " + quoteForMessage(pattern) + ": " + std::string(reason));
}

bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

int hexValue(char c) {
    if (isDigit(c)) return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 3986 pchar without pct-encoded (handled by the caller) and without "*", which is
// reserved for the wildcard segment.
bool isSegmentChar(char c) {
    static constexpr std::string_view kOther = "-._~!$&'()+,;=:@";
    return isAlpha(c) || isDigit(c) || kOther.find(c) != std::string_view::npos;
}

bool isParamName(std::string_view name) {
    if (name.empty() || !(isAlpha(name[0]) || name[0] == '_')) return false;
    return std::all_of(name.begin() + 1, name.end(),
                       [](char c) { return isAlpha(c) || isDigit(c) || c == '_'; });
}

bool isMethod(std::string_view method) {
    if (method.empty() || !(method[0] >= 'A' && method[0] <= 'Z')) return false;
    return std::all_of(method.begin() + 1, method.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || isDigit(c) || c == '-' || c == '_';
    });
}

struct Segment {
    enum class Kind { literal, param, wildcard } kind;
    std::string text; // the decoded literal, or the parameter name
};

std::string decodeLiteral(std::string_view pattern, std::string_view segment) {
    std::string out;
    out.reserve(segment.size());
    for (std::size_t i = 0; i < segment.size(); ++i) {
        const char c = segment[i];
        if (c == '%') {
            const int high = i + 1 < segment.size() ? hexValue(segment[i + 1]) : -1;
            const int low = i + 2 < segment.size() ? hexValue(segment[i + 2]) : -1;
            if (high < 0 || low < 0)
                throw patternError(pattern, "\"%\" must be followed by two hex digits");
            const char decoded = static_cast<char>(high * 16 + low);
            if (decoded == '/') {
                throw patternError(pattern,
                                   "\"" + std::string(segment.substr(i, 3)) +
                                       "\" can never match: the request path is split on \"/\" "
                                       "after decoding");
            }
            if (decoded == '\0') {
                throw patternError(pattern,
                                   "\"%00\" can never match: requests containing it are refused");
            }
            out += decoded;
            i += 2;
        } else if (c == '*') {
            throw patternError(pattern,
                               "\"*\" may only be a whole segment (the last one); write %2A for a "
                               "literal \"*\"");
        } else if (isSegmentChar(c)) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            std::string what;
            if (byte >= 0x20 && byte < 0x7f) {
                what = "character \"" + std::string(1, c) + "\"";
            } else {
                static constexpr char kHex[] = "0123456789ABCDEF";
                what = std::string("byte 0x") + kHex[byte >> 4] + kHex[byte & 0xf];
            }
            throw patternError(pattern, what + " is not allowed in a segment; " +
                                            std::string(kSegmentExpectation));
        }
    }
    return out;
}

std::vector<Segment> parsePattern(std::string_view pattern) {
    if (pattern == "*") return {Segment{Segment::Kind::wildcard, "*"}};
    if (pattern.empty() || pattern[0] != '/') throw patternError(pattern, kStartExpectation);
    std::string_view body = pattern.substr(1);
    // "/" is the one pattern whose only segment is empty; the request path "/" splits the same way.
    if (body.empty()) return {Segment{Segment::Kind::literal, ""}};
    const bool prefix = body.back() == '/';
    if (prefix) body.remove_suffix(1);

    std::vector<Segment> segments;
    std::size_t captures = 0;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = body.find('/', start);
        const bool last = slash == std::string_view::npos;
        const std::string_view raw =
            body.substr(start, last ? std::string_view::npos : slash - start);
        if (raw.empty())
            throw patternError(pattern, "empty segment; segments are separated by a single \"/\"");
        if (raw == "*") {
            if (!last || prefix) throw patternError(pattern, "\"*\" may only be the last segment");
            segments.push_back({Segment::Kind::wildcard, "*"});
            ++captures;
        } else if (raw[0] == ':') {
            const std::string_view name = raw.substr(1);
            if (!isParamName(name)) {
                throw patternError(pattern, "bad parameter name " + quoteForMessage(raw) + "; " +
                                                std::string(kParamExpectation));
            }
            for (const Segment& s : segments) {
                if (s.kind == Segment::Kind::param && s.text == name) {
                    throw patternError(pattern, "duplicate parameter name " + quoteForMessage(raw));
                }
            }
            segments.push_back({Segment::Kind::param, std::string(name)});
            ++captures;
        } else {
            segments.push_back({Segment::Kind::literal, decodeLiteral(pattern, raw)});
        }
        if (last) break;
        start = slash + 1;
    }
    if (prefix) {
        segments.push_back({Segment::Kind::wildcard, "*"});
        ++captures;
    }
    if (captures > Router::kMaxParams) {
        throw patternError(pattern,
                           std::to_string(captures) + " captures; a route may capture at most " +
                               std::to_string(Router::kMaxParams) + " (parameters and \"*\")");
    }
    return segments;
}

} // namespace

// The state of one match(): captures live on the stack, so matching never allocates.
struct Router::Search {
    std::string_view path;
    std::uint64_t requestMask;
    std::array<std::string_view, kMaxParams> captures{};
    std::uint64_t matchedMask = 0; // methods of routes whose path matched but refused the method
    const Route* winner = nullptr;
    std::size_t captureCount = 0;
};

std::uint64_t Router::methodMask(std::string_view pattern,
                                 const std::vector<std::string>& methods) {
    // Validate everything before interning anything, so a refused route leaves no trace.
    std::vector<std::string> fresh;
    for (const std::string& m : methods) {
        if (!isMethod(m)) {
            throw RouteError("invalid method " + quoteForMessage(m) + " for route " + quoteForMessage(pattern) + ": " +
                             std::string(kMethodExpectation));
        }
    }
    auto wanted = methods;
    if (std::find(wanted.begin(), wanted.end(), "GET") != wanted.end()) wanted.emplace_back("HEAD");
    for (const std::string& m : wanted) {
        if (std::find(methodNames_.begin(), methodNames_.end(), m) == methodNames_.end() &&
            std::find(fresh.begin(), fresh.end(), m) == fresh.end()) {
            fresh.push_back(m);
        }
    }
    if (methodNames_.size() + fresh.size() > kMaxMethods) {
        throw RouteError("route " + quoteForMessage(pattern) +
                         ": too many distinct methods; a router accepts at most " +
                         std::to_string(kMaxMethods));
    }
    methodNames_.insert(methodNames_.end(), fresh.begin(), fresh.end());
    std::uint64_t mask = 0;
    for (const std::string& m : wanted) {
        const auto bit =
            std::find(methodNames_.begin(), methodNames_.end(), m) - methodNames_.begin();
        mask |= std::uint64_t{1} << bit;
    }
    return mask;
}

void Router::add(std::string_view pattern, const std::vector<std::string>& methods, int id) {
    const std::vector<Segment> segments = parsePattern(pattern);
    const std::uint64_t mask = methodMask(pattern, methods);

    Route route{id, methods.empty(), mask, {}};
    std::uint32_t node = 0;
    bool wildcard = false;
    for (const Segment& segment : segments) {
        switch (segment.kind) {
        case Segment::Kind::literal: {
            auto found = build_[node].statics.find(segment.text);
            if (found == build_[node].statics.end()) {
                const auto child = static_cast<std::uint32_t>(build_.size());
                build_.emplace_back(); // invalidates references into build_, hence the indices
                found = build_[node].statics.emplace(segment.text, child).first;
            }
            node = found->second;
            break;
        }
        case Segment::Kind::param:
            if (build_[node].param < 0) {
                const auto child = static_cast<std::int32_t>(build_.size());
                build_.emplace_back();
                build_[node].param = child;
            }
            node = static_cast<std::uint32_t>(build_[node].param);
            route.paramNames.push_back(segment.text);
            break;
        case Segment::Kind::wildcard:
            wildcard = true;
            route.paramNames.push_back("*");
            break;
        }
    }
    const auto index = static_cast<std::uint32_t>(routes_.size());
    routes_.push_back(std::move(route));
    (wildcard ? build_[node].wild : build_[node].exact).push_back(index);
    compiled_ = false;
}

void Router::compile() {
    nodes_.clear();
    edges_.clear();
    labels_.clear();
    refs_.clear();
    nodes_.reserve(build_.size());
    for (const BuildNode& b : build_) {
        Node n{};
        n.edgeBegin = static_cast<std::uint32_t>(edges_.size());
        for (const auto& [text, child] :
             b.statics) { // std::map: already sorted for the binary search
            edges_.push_back(Edge{static_cast<std::uint32_t>(labels_.size()),
                                  static_cast<std::uint32_t>(text.size()), child});
            labels_ += text;
        }
        n.edgeEnd = static_cast<std::uint32_t>(edges_.size());
        n.param = b.param;
        n.exactBegin = static_cast<std::uint32_t>(refs_.size());
        refs_.insert(refs_.end(), b.exact.begin(), b.exact.end());
        n.exactEnd = n.wildBegin = static_cast<std::uint32_t>(refs_.size());
        refs_.insert(refs_.end(), b.wild.begin(), b.wild.end());
        n.wildEnd = static_cast<std::uint32_t>(refs_.size());
        nodes_.push_back(n);
    }
    // Depth-first over the static edges from the root: a node's path is its parent's, a
    // slash and the edge's label, as visit() splits a request path.
    std::vector<std::pair<std::uint32_t, std::string>> found;
    std::vector<std::pair<std::uint32_t, std::string>> pending{{0u, std::string()}};
    while (!pending.empty()) {
        auto [index, path] = std::move(pending.back());
        pending.pop_back();
        const Node& node = nodes_[index];
        for (std::uint32_t e = node.edgeBegin; e < node.edgeEnd; ++e)
            pending.emplace_back(edges_[e].child, path + "/" + std::string(label(edges_[e])));
        if (index != 0 && node.exactBegin != node.exactEnd) found.emplace_back(index, std::move(path));
    }
    staticPaths_.clear();
    staticText_.clear();
    if (!found.empty()) {
        std::size_t slots = 2;
        while (slots < found.size() * 2) slots *= 2;
        staticPaths_.assign(slots, StaticPath{});
        for (const auto& [index, path] : found) {
            const std::uint64_t hash = pathHash(path);
            std::size_t i = hash & (slots - 1);
            while (staticPaths_[i].node != 0) i = (i + 1) & (slots - 1);
            staticPaths_[i] = StaticPath{hash, index, static_cast<std::uint32_t>(staticText_.size()),
                                         static_cast<std::uint32_t>(path.size())};
            staticText_ += path;
        }
    }
    allowOrder_.resize(methodNames_.size());
    std::iota(allowOrder_.begin(), allowOrder_.end(), std::uint8_t{0});
    std::sort(allowOrder_.begin(), allowOrder_.end(),
              [this](std::uint8_t a, std::uint8_t b) { return methodNames_[a] < methodNames_[b]; });
    compiled_ = true;
}

bool Router::accept(Search& search, std::uint32_t begin, std::uint32_t end,
                    std::size_t captures) const {
    for (std::uint32_t i = begin; i < end; ++i) {
        const Route& route = routes_[refs_[i]];
        if (route.anyMethod || (route.methods & search.requestMask) != 0) {
            search.winner = &route;
            search.captureCount = captures;
            return true;
        }
        search.matchedMask |= route.methods;
    }
    return false;
}

// Depth-first in priority order. Each trie node is reached by one sequence of segments, so a
// match visits every node at most once however much it backtracks; and the depth is bounded
// by the longest pattern, not by the request path.
bool Router::visit(Search& search, std::uint32_t nodeIndex, std::size_t pos,
                   std::size_t captures) const {
    const Node& node = nodes_[nodeIndex];
    const std::string_view path = search.path;
    std::size_t end = path.find('/', pos);
    const bool last = end == std::string_view::npos;
    if (last) end = path.size();
    const std::string_view segment = path.substr(pos, end - pos);

    const auto edgesBegin = edges_.begin() + node.edgeBegin;
    const auto edgesEnd = edges_.begin() + node.edgeEnd;
    const auto edge =
        std::lower_bound(edgesBegin, edgesEnd, segment,
                         [this](const Edge& e, std::string_view s) { return label(e) < s; });
    if (edge != edgesEnd && label(*edge) == segment) {
        const Node& child = nodes_[edge->child];
        if (last ? accept(search, child.exactBegin, child.exactEnd, captures)
                 : visit(search, edge->child, end + 1, captures)) {
            return true;
        }
    }
    if (node.param >= 0 && !segment.empty()) {
        // Every node lies on some route's path, and add() capped a route's captures.
        assert(captures < kMaxParams);
        search.captures[captures] = segment;
        const auto childIndex = static_cast<std::uint32_t>(node.param);
        const Node& child = nodes_[childIndex];
        if (last ? accept(search, child.exactBegin, child.exactEnd, captures + 1)
                 : visit(search, childIndex, end + 1, captures + 1)) {
            return true;
        }
    }
    if (node.wildBegin != node.wildEnd) {
        assert(captures < kMaxParams);
        search.captures[captures] = path.substr(pos);
        if (accept(search, node.wildBegin, node.wildEnd, captures + 1)) return true;
    }
    return false;
}

std::uint64_t Router::pathHash(std::string_view path) {
    constexpr std::uint64_t kMul = 0x9E3779B97F4A7C15ull;
    std::uint64_t h = path.size() * kMul;
    std::size_t i = 0;
    for (; i + 8 <= path.size(); i += 8) {
        std::uint64_t word;
        std::memcpy(&word, path.data() + i, 8);
        h = std::rotl((h ^ word) * kMul, 29);
    }
    if (i < path.size()) {
        std::uint64_t word = 0;
        std::memcpy(&word, path.data() + i, path.size() - i);
        h = std::rotl((h ^ word) * kMul, 29);
    }
    return h ^ (h >> 32);
}

std::uint32_t Router::staticNode(std::string_view path) const {
    if (staticPaths_.empty()) return 0;
    const std::uint64_t hash = pathHash(path);
    const std::size_t mask = staticPaths_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
        const StaticPath& slot = staticPaths_[i];
        if (slot.node == 0) return 0;
        if (slot.hash == hash && slot.textSize == path.size() &&
            std::memcmp(staticText_.data() + slot.textOffset, path.data(), path.size()) == 0)
            return slot.node;
    }
}

Router::Match Router::match(std::string_view method, std::string_view path) const {
    if (!compiled_) throw std::logic_error("Router::match() before compile()");
    Match result;
    if (path.empty() || path[0] != '/') return result;

    std::uint64_t requestMask = 0;
    for (std::size_t i = 0; i < methodNames_.size(); ++i) {
        if (methodNames_[i] == method) {
            requestMask = std::uint64_t{1} << i;
            break;
        }
    }
    if (const std::uint32_t fixed = staticNode(path); fixed != 0) {
        const Node& node = nodes_[fixed];
        for (std::uint32_t i = node.exactBegin; i < node.exactEnd; ++i) {
            const Route& route = routes_[refs_[i]];
            if (route.anyMethod || (route.methods & requestMask) != 0) {
                result.result = Match::Result::found;
                result.id = route.id;
                return result;
            }
        }
    }
    Search search{path, requestMask};
    if (visit(search, 0, 1, 0)) {
        result.result = Match::Result::found;
        result.id = search.winner->id;
        result.paramCount = search.captureCount;
        for (std::size_t i = 0; i < search.captureCount; ++i) {
            result.params[i] = Param{search.winner->paramNames[i], search.captures[i]};
        }
    } else if (search.matchedMask != 0) {
        result.result = Match::Result::methodNotAllowed;
        for (const std::uint8_t bit : allowOrder_) {
            if ((search.matchedMask & (std::uint64_t{1} << bit)) == 0) continue;
            if (!result.allow.empty()) result.allow += ", ";
            result.allow += methodNames_[bit];
        }
    }
    return result;
}

std::vector<Router::Shadow> Router::shadows() const {
    struct Found {
        std::uint32_t earlier, later;
        bool complete;
    };
    std::vector<Found> found;
    const auto scan = [&](const std::vector<std::uint32_t>& sameShape) {
        for (std::size_t j = 1; j < sameShape.size(); ++j) {
            const Route& later = routes_[sameShape[j]];
            for (std::size_t i = 0; i < j; ++i) {
                const Route& earlier = routes_[sameShape[i]];
                const bool complete = earlier.anyMethod ||
                                      (!later.anyMethod && (later.methods & ~earlier.methods) == 0);
                if (complete || later.anyMethod || (earlier.methods & later.methods) != 0) {
                    found.push_back({sameShape[i], sameShape[j], complete});
                }
            }
        }
    };
    for (const BuildNode& node : build_) {
        scan(node.exact);
        scan(node.wild);
    }
    std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
        return a.later != b.later ? a.later < b.later : a.earlier < b.earlier;
    });
    std::vector<Shadow> out;
    out.reserve(found.size());
    for (const Found& f : found)
        out.push_back({routes_[f.earlier].id, routes_[f.later].id, f.complete});
    return out;
}

} // namespace keel::kernel
