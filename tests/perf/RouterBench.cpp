// Micro-benchmarks of the request router (Google Benchmark): match() on a 50-route table shaped
// like a small site's (static pages, REST resources with params, static-file prefixes, a
// catch-all), one benchmark per outcome, so a regression points at the path that slowed down.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "Router.hpp"

using keel::kernel::Router;

namespace {

Router siteRouter() {
    Router router;
    int id = 0;
    for (const char* page :
         {"/", "/about", "/contact", "/pricing", "/blog", "/login", "/logout", "/signup"}) {
        router.add(page, {"GET"}, id++);
    }
    for (const char* resource :
         {"users", "orders", "products", "invoices", "teams", "projects", "tickets"}) {
        const std::string base = std::string("/api/v1/") + resource;
        router.add(base, {"GET", "POST"}, id++);
        router.add(base + "/:id", {"GET", "PUT", "DELETE"}, id++);
        router.add(base + "/:id/comments", {"GET", "POST"}, id++);
        router.add(base + "/:id/comments/:comment", {"GET", "DELETE"}, id++);
    }
    router.add("/api/v1/users/me", {"GET"}, id++);
    router.add("/blog/:year/:slug", {"GET"}, id++);
    router.add("/static/", {"GET"}, id++);
    router.add("/assets/*", {"GET"}, id++);
    router.add("/files/:bucket/*", {"GET", "PUT"}, id++);
    router.add("/healthz", {}, id++);
    router.add("/app/*", {"GET"}, id++); // a single-page app's client-side routes
    for (; id < 50; ++id) router.add("/legacy/page" + std::to_string(id), {"GET"}, id);
    router.compile();
    return router;
}

void run(benchmark::State& state, const char* method, const char* path,
         Router::Match::Result expected) {
    const Router router = siteRouter();
    if (router.match(method, path).result != expected) {
        state.SkipWithError("unexpected match result");
        return;
    }
    for (auto _ : state) {
        Router::Match m = router.match(method, path);
        benchmark::DoNotOptimize(m);
    }
    state.SetItemsProcessed(state.iterations());
}

using Result = Router::Match::Result;

void BM_RouterStatic(benchmark::State& s) { run(s, "GET", "/pricing", Result::found); }
void BM_RouterTwoParams(benchmark::State& s) {
    run(s, "GET", "/api/v1/tickets/8812/comments/31", Result::found);
}
void BM_RouterPrefix(benchmark::State& s) {
    run(s, "GET", "/static/css/site/main.css", Result::found);
}
// DELETE /api/v1/users/me: the static "me" refuses DELETE, so the match backs up to ":id".
void BM_RouterBacktrack(benchmark::State& s) {
    run(s, "DELETE", "/api/v1/users/me", Result::found);
}
// Tries the static "/app" child's exact routes, then falls to its wildcard.
void BM_RouterFallback(benchmark::State& s) {
    run(s, "GET", "/app/settings/profile", Result::found);
}
void BM_RouterNotFound(benchmark::State& s) { run(s, "GET", "/api/v2/users", Result::notFound); }
void BM_RouterMethodNotAllowed(benchmark::State& s) {
    run(s, "PATCH", "/api/v1/orders", Result::methodNotAllowed);
}

} // namespace

BENCHMARK(BM_RouterStatic);
BENCHMARK(BM_RouterTwoParams);
BENCHMARK(BM_RouterPrefix);
BENCHMARK(BM_RouterBacktrack);
BENCHMARK(BM_RouterFallback);
BENCHMARK(BM_RouterNotFound);
BENCHMARK(BM_RouterMethodNotAllowed);

BENCHMARK_MAIN();
