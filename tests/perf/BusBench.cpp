// Micro-benchmarks of the event bus and the loop's scheduling primitives (Google Benchmark).
//
// Every benchmark uses real (wall-clock) time, as the Node peer (bus-peer.js) does. Where one
// iteration does several operations (N subscriber calls, a batch of 1000 immediates) the
// benchmark reports items_per_second and a counter `ns_per_<operation>`: nanoseconds of real
// time per single operation. tests/perf/bus.sh runs this and the Node peer side by side.
#include <benchmark/benchmark.h>

#include <keel/abi.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "Bus.hpp"
#include "Loop.hpp"
#include "Manifest.hpp"
#include "PluginInstance.hpp"
#include "PluginLibrary.hpp"
#include "Services.hpp"

using namespace keel::kernel;

namespace {

constexpr int kBatch = 1000; // immediates, ticks and timers per iteration in the batch benchmarks

keel_payload textPayload() {
    static constexpr std::string_view kType = "text/plain";
    static constexpr std::string_view kBody = "hello";
    return keel_payload{{kType.data(), kType.size()}, kBody.data(), kBody.size()};
}

using Clock = std::chrono::steady_clock;

/// For a benchmark doing `perIteration` items per iteration whose timed loop took `elapsed`
/// (measured around the loop): reports items_per_second, and `name` = nanoseconds of real
/// time per item, a plain number so that it reads as ns whatever the time unit.
void reportPerItem(benchmark::State& state, const char* name, std::int64_t perIteration, Clock::duration elapsed) {
    const double ns = std::chrono::duration<double, std::nano>(elapsed).count();
    const auto items = state.iterations() * perIteration;
    state.SetItemsProcessed(items);
    state.counters[name] = items > 0 ? ns / static_cast<double>(items) : 0.0;
}

/// Every benchmark: real time, and besides mean/median/stddev a "min" aggregate when run
/// with --benchmark_repetitions (bus.sh reports the best repetition: on a shared machine the
/// least disturbed one is the most reproducible).
void configure(benchmark::internal::Benchmark* b) {
    b->UseRealTime();
    b->ComputeStatistics("min", [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); });
}

/// What the kernel owns for a running set of plugins: the loop, the bus, the services.
struct Kernel {
    Loop loop;
    Bus bus{loop};
    std::shared_ptr<Services> services = std::make_shared<Services>();
    Runtime runtime{loop, bus, *services};
};

// --- an in-process plugin -----------------------------------------------------------------
// A real keel_plugin_desc, loaded into a real PluginInstance the way PluginSet does it, only
// without dlopen: its create() receives the keel_ctx and the keel_host_api table exactly as a
// plugin's would, and the benchmarks call the bus through that table.

struct BenchPlugin {
    keel_ctx* ctx;
    const keel_host_api* host;
};

BenchPlugin* lastCreated = nullptr;

void* benchCreate(keel_ctx* ctx, const keel_host_api* host) {
    lastCreated = new BenchPlugin{ctx, host};
    return lastCreated;
}
int benchStart(void*) { return 0; }
void benchDestroy(void* instance) { delete static_cast<BenchPlugin*>(instance); }

constexpr std::string_view kManifest =
    R"({"name": "bench", "version": "1.0.0", "description": "in-process micro-benchmark plugin", "sdk": "^1.0.0"})";

// Filled member by member, so that members a later ABI minor appends stay zero.
const keel_plugin_desc* benchDesc() {
    static const keel_plugin_desc desc = [] {
        keel_plugin_desc d{};
        d.size = sizeof(keel_plugin_desc);
        d.abi_major = KEEL_ABI_MAJOR;
        d.abi_minor = KEEL_ABI_MINOR;
        d.manifest = keel_str{kManifest.data(), kManifest.size()};
        d.create = &benchCreate;
        d.start = &benchStart;
        d.destroy = &benchDestroy;
        return d;
    }();
    return &desc;
}

/// A started instance of the in-process plugin. Destroy it before the Kernel.
struct AbiPlugin {
    explicit AbiPlugin(Kernel& kernel)
        : instance(kernel.runtime,
                   std::make_shared<const PluginLibrary>("<in-process>", nullptr, benchDesc(),
                                                         Manifest::parse(kManifest, "<in-process>")),
                   "bench", "{}", kernel.services) {
        instance.create();
        plugin = lastCreated;
        instance.start();
    }

    PluginInstance instance;
    BenchPlugin* plugin = nullptr;
};

// What the trivial subscribers count: static and on its own cache line, like the Kernel
// being on the heap, so that fewer addresses change with ASLR from one run to the next (the
// fan-out benchmarks were seen to flip between two speeds, ~1.7x apart, from one process to
// the next, and to stay in the slow one with ASLR off: a memory-layout effect).
struct alignas(64) CallCounter {
    std::uint64_t value = 0;
};
CallCounter subscriberCalls;

void countEvent(void* user, keel_topic, const keel_payload*) { ++*static_cast<std::uint64_t*>(user); }

// --- the bus ------------------------------------------------------------------------------

void BM_PublishNoSubscriber(benchmark::State& state) {
    const auto kernel = std::make_unique<Kernel>();
    Kernel& k = *kernel;
    TopicId topic = k.bus.topic("bench.nobody");
    const keel_payload payload = textPayload();
    for (auto _ : state) {
        benchmark::DoNotOptimize(topic);
        k.bus.publish(topic, payload);
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_PublishNoSubscriber)->Apply(configure);

void BM_PublishNoSubscriberViaAbi(benchmark::State& state) {
    const auto kernel = std::make_unique<Kernel>();
    Kernel& k = *kernel;
    {
        AbiPlugin p(k);
        keel_ctx* ctx = p.plugin->ctx;
        const keel_host_api* host = p.plugin->host;
        static constexpr std::string_view kName = "bench.nobody";
        keel_topic topic = host->topic(ctx, keel_str{kName.data(), kName.size()});
        const keel_payload payload = textPayload();
        for (auto _ : state) {
            benchmark::DoNotOptimize(host);
            benchmark::DoNotOptimize(topic);
            host->publish(ctx, topic, &payload);
            benchmark::ClobberMemory();
        }
    }
}
BENCHMARK(BM_PublishNoSubscriberViaAbi)->Apply(configure);

void BM_PublishSubscribers(benchmark::State& state) {
    const auto n = state.range(0);
    const auto kernel = std::make_unique<Kernel>();
    Kernel& k = *kernel;
    const TopicId topic = k.bus.topic("bench.fanout");
    std::uint64_t& calls = subscriberCalls.value;
    calls = 0;
    for (std::int64_t i = 0; i < n; ++i) k.bus.subscribe(topic, 0, [&calls](TopicId, const keel_payload&) { ++calls; });
    const keel_payload payload = textPayload();
    const auto start = Clock::now();
    for (auto _ : state) {
        k.bus.publish(topic, payload);
    }
    const auto elapsed = Clock::now() - start;
    benchmark::DoNotOptimize(calls);
    if (calls != static_cast<std::uint64_t>(state.iterations() * n)) state.SkipWithError("subscriber calls lost");
    reportPerItem(state, "ns_per_subscriber", n, elapsed);
}
BENCHMARK(BM_PublishSubscribers)->Arg(1)->Arg(8)->Arg(64)->Apply(configure);

// Subscribers registered and events published through the C ABI, as plugins do: each call
// goes through the Handler (std::function) wrapping the plugin's keel_event_fn and user data.
void BM_PublishSubscribersViaAbi(benchmark::State& state) {
    const auto n = state.range(0);
    const auto kernel = std::make_unique<Kernel>();
    Kernel& k = *kernel;
    std::uint64_t& calls = subscriberCalls.value;
    calls = 0;
    Clock::duration elapsed{};
    {
        AbiPlugin p(k);
        keel_ctx* ctx = p.plugin->ctx;
        const keel_host_api* host = p.plugin->host;
        static constexpr std::string_view kName = "bench.fanout";
        const keel_topic topic = host->topic(ctx, keel_str{kName.data(), kName.size()});
        for (std::int64_t i = 0; i < n; ++i) host->subscribe(ctx, topic, 0, 0, &countEvent, &calls, nullptr);
        const keel_payload payload = textPayload();
        const auto start = Clock::now();
        for (auto _ : state) {
            host->publish(ctx, topic, &payload);
        }
        elapsed = Clock::now() - start;
    }
    benchmark::DoNotOptimize(calls);
    if (calls != static_cast<std::uint64_t>(state.iterations() * n)) state.SkipWithError("subscriber calls lost");
    reportPerItem(state, "ns_per_subscriber", n, elapsed);
}
BENCHMARK(BM_PublishSubscribersViaAbi)->Arg(1)->Arg(8)->Arg(64)->Apply(configure);

// Looking up an already interned topic by name, among 64 others. Names up to 15 bytes fit
// libstdc++'s small-string buffer; longer ones show what Bus::topic's std::string key costs.
void BM_Intern(benchmark::State& state, std::string_view name) {
    const auto kernel = std::make_unique<Kernel>();
    Kernel& k = *kernel;
    for (int i = 0; i < 64; ++i) k.bus.topic("bench.topic." + std::to_string(i));
    const TopicId expected = k.bus.topic(name);
    TopicId found = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(name);
        found = k.bus.topic(name);
        benchmark::DoNotOptimize(found);
    }
    if (found != expected) state.SkipWithError("topic ids differ");
}
BENCHMARK_CAPTURE(BM_Intern, short, std::string_view("http.request"))->Apply(configure);
BENCHMARK_CAPTURE(BM_Intern, long, std::string_view("http.server.request.finished"))->Apply(configure);

// --- the loop -----------------------------------------------------------------------------

// One nextTick queued from a main-module callback, drained when that callback returns:
// runMain's own invocation is included.
void BM_NextTickDrain(benchmark::State& state) {
    const auto kernel = std::make_unique<Kernel>();
    Kernel& k = *kernel;
    std::uint64_t ran = 0;
    for (auto _ : state) {
        k.loop.runMain([&k, &ran] { k.loop.nextTick([&ran] { ++ran; }); });
    }
    benchmark::DoNotOptimize(ran);
    if (ran != static_cast<std::uint64_t>(state.iterations())) state.SkipWithError("ticks lost");
}
BENCHMARK(BM_NextTickDrain)->Apply(configure);

// 1000 nextTicks queued from one callback and drained after it: the per-task cost, which is
// what the Node peer can measure (it cannot drain synchronously).
void BM_NextTickBatch(benchmark::State& state) {
    const auto kernel = std::make_unique<Kernel>();
    Kernel& k = *kernel;
    std::uint64_t ran = 0;
    const auto start = Clock::now();
    for (auto _ : state) {
        k.loop.runMain([&k, &ran] {
            for (int i = 0; i < kBatch; ++i) k.loop.nextTick([&ran] { ++ran; });
        });
    }
    const auto elapsed = Clock::now() - start;
    benchmark::DoNotOptimize(ran);
    if (ran != static_cast<std::uint64_t>(state.iterations() * kBatch)) state.SkipWithError("ticks lost");
    reportPerItem(state, "ns_per_tick", kBatch, elapsed);
}
BENCHMARK(BM_NextTickBatch)->Apply(configure);

// 1000 setImmediate, then the loop runs them (one check phase) and exits.
void BM_SetImmediate(benchmark::State& state) {
    const auto kernel = std::make_unique<Kernel>();
    Kernel& k = *kernel;
    std::uint64_t ran = 0;
    const auto start = Clock::now();
    for (auto _ : state) {
        for (int i = 0; i < kBatch; ++i) k.loop.setImmediate([&ran] { ++ran; });
        k.loop.run();
    }
    const auto elapsed = Clock::now() - start;
    benchmark::DoNotOptimize(ran);
    if (ran != static_cast<std::uint64_t>(state.iterations() * kBatch)) state.SkipWithError("immediates lost");
    reportPerItem(state, "ns_per_immediate", kBatch, elapsed);
}
BENCHMARK(BM_SetImmediate)->Apply(configure);

// setTimeout(1 ms) + clearTimeout, 1000 pairs, then one loop run that closes the cleared
// handles (a cleared Timer is freed by its uv_close callback): create, clear and free.
void BM_TimerCreateClear(benchmark::State& state) {
    const auto kernel = std::make_unique<Kernel>();
    Kernel& k = *kernel;
    std::uint64_t cleared = 0;
    const auto start = Clock::now();
    for (auto _ : state) {
        for (int i = 0; i < kBatch; ++i) {
            const TimerId id = k.loop.setTimeout(1, [] {});
            cleared += k.loop.clearTimer(id) ? 1 : 0;
        }
        k.loop.run();
    }
    const auto elapsed = Clock::now() - start;
    benchmark::DoNotOptimize(cleared);
    if (cleared != static_cast<std::uint64_t>(state.iterations() * kBatch) || k.loop.pendingTimers() != 0)
        state.SkipWithError("timers not cleared");
    reportPerItem(state, "ns_per_pair", kBatch, elapsed);
}
BENCHMARK(BM_TimerCreateClear)->Apply(configure);

// Reference: one uv_hrtime() read. Loop::invokeOne reads it twice around every callback it
// runs (timer, immediate, nextTick, microtask) to time it for the lag monitor.
void BM_CallbackClock(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::DoNotOptimize(uv_hrtime());
    }
}
BENCHMARK(BM_CallbackClock)->Apply(configure);

} // namespace

BENCHMARK_MAIN();
