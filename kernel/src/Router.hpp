#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keel::kernel {

// Derives from std::invalid_argument so the site loader can report every bad manifest input
// the same way; the message names the pattern and says what is accepted.
class RouteError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// A site's request router: (method, path) -> the caller's route index. Built once per site at
/// load (add()... then compile()), then matched per request; match() is const and touches no
/// shared mutable state, so a compiled router may be read from several threads.
///
/// Patterns: "/" matches only "/". Segments are split on "/"; ":name" matches one non-empty
/// segment and captures it; a final "*" captures the rest of the path after the "/" before
/// it (zero or more segments, so "/static/*" matches "/static/" but not "/static"); a
/// trailing "/" is a prefix ("/static/" == "/static/*"); "*" alone == "/*". Everything else is
/// exact and trailing-slash sensitive. %XX escapes in static segments are decoded, because
/// request paths arrive decoded: "/caf%C3%A9" matches the path "/café", "%2A" is a literal "*".
///
/// Priority: static > param > wildcard, decided segment by segment with backtracking; routes of
/// the same shape (param names ignored) in the order added. The winner is the first route in
/// that order whose path matches and whose methods accept the request.
class Router {
public:
    /// Captures (parameters plus "*") a route may have. add() refuses more, so that match()
    /// never allocates for params.
    static constexpr std::size_t kMaxParams = 8;

    /// Adds a route; `id` is the caller's route index. `methods` are upper-case tokens
    /// ("GET", "M-SEARCH"); empty accepts any method; GET implies HEAD. Throws RouteError.
    /// An add() after compile() needs another compile() before the next match().
    void add(std::string_view pattern, const std::vector<std::string>& methods, int id);
    /// Call once after all add()s: lays the routes out for match().
    void compile();

    struct Param {
        std::string_view name;  // points into the router: valid while it lives unmodified
        std::string_view value; // points into the matched path
    };
    struct Match {
        enum class Result { found, methodNotAllowed, notFound } result = Result::notFound;
        int id = -1;
        std::array<Param, kMaxParams> params;
        std::size_t paramCount = 0;
        /// For methodNotAllowed: the union of the methods of every route whose path matches,
        /// sorted, comma-separated ("GET, HEAD, POST"), for the Allow header.
        std::string allow;
    };
    /// `path` is the decoded path without query (the pipeline has refused %00 and bad escapes);
    /// one that does not start with "/" (asterisk-form "*", empty) is notFound. Allocates only
    /// for an Allow value longer than std::string's inline capacity. Throws std::logic_error if
    /// compile() has not run since the last add().
    Match match(std::string_view method, std::string_view path) const;

    /// For `keel check`: `later` has the same shape as `earlier` (params normalized) and some
    /// method in common, so it loses those methods to it. `complete`: earlier accepts every
    /// method later does (any-method covers all), so later can never match. Ordered by later,
    /// then earlier, in add order. Routes of different shapes never shadow one another
    /// completely: a param or wildcard always matches some path the other shapes do not.
    struct Shadow {
        int earlier;
        int later;
        bool complete;
    };
    std::vector<Shadow> shadows() const;

private:
    struct Route {
        int id;
        bool anyMethod;
        std::uint64_t methods;               // bits index methodNames_
        std::vector<std::string> paramNames; // in capture order, "*" last for a wildcard
    };
    // The trie as add() grows it. compile() flattens it into nodes_/edges_/refs_, so that a
    // match walks a few contiguous arrays instead of maps.
    struct BuildNode {
        std::map<std::string, std::uint32_t, std::less<>> statics;
        std::int32_t param = -1;
        std::vector<std::uint32_t> exact; // routes ending here, in add order
        std::vector<std::uint32_t> wild;  // routes with a final "*" here, in add order
    };
    struct Node {
        std::uint32_t edgeBegin, edgeEnd; // edges_, sorted by label
        std::int32_t param;
        std::uint32_t exactBegin, exactEnd; // refs_
        std::uint32_t wildBegin, wildEnd;   // refs_
    };
    struct Edge {
        std::uint32_t labelOffset, labelSize; // into labels_
        std::uint32_t child;
    };
    struct Search;

    std::uint64_t methodMask(std::string_view pattern, const std::vector<std::string>& methods);
    bool visit(Search& search, std::uint32_t node, std::size_t pos, std::size_t captures) const;
    bool accept(Search& search, std::uint32_t begin, std::uint32_t end, std::size_t captures) const;
    std::string_view label(const Edge& edge) const {
        return std::string_view(labels_).substr(edge.labelOffset, edge.labelSize);
    }

    std::vector<Route> routes_;
    std::vector<BuildNode> build_{BuildNode{}}; // [0] is the root, before the first segment
    std::vector<std::string> methodNames_;      // bit i of a method mask
    bool compiled_ = false;

    std::vector<Node> nodes_;
    std::vector<Edge> edges_;
    std::string labels_;
    std::vector<std::uint32_t> refs_;      // route indices
    std::vector<std::uint8_t> allowOrder_; // method bits by name, for Allow

    // Paths reached through static segments only ("/plain", "/api/health"), to the node whose
    // exact routes they are: static beats param beats wildcard, so one of those taking the
    // method wins without a walk. Otherwise the walk decides (a param route may take it).
    // An open-addressed table (a power of two, at most half full) built once in compile():
    // a lookup hashes the path eight bytes at a time and mostly compares one slot, with no
    // division and no node to chase.
    struct StaticPath {
        std::uint64_t hash = 0;
        std::uint32_t node = 0;                  // 0: an empty slot (the root is never one)
        std::uint32_t textOffset = 0, textSize = 0; // into staticText_
    };
    static std::uint64_t pathHash(std::string_view path);
    std::uint32_t staticNode(std::string_view path) const;
    std::vector<StaticPath> staticPaths_;
    std::string staticText_;
};

} // namespace keel::kernel
