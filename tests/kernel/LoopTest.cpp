#include <cppunit/extensions/HelperMacros.h>

#include <csignal>
#include <future>
#include <stdexcept>
#include <thread>

#include "LoopTestSupport.hpp"
#include "Signals.hpp"

using namespace keel::kernel;
using keel::kernel::test::LogCapture;
using keel::kernel::test::runWithDeadline;

class LoopTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LoopTest);
    CPPUNIT_TEST(testEventLoopRaceFromMain);
    CPPUNIT_TEST(testEventLoopRaceFromIoCallback);
    CPPUNIT_TEST(testTicksDrainBeforeMicrotasksRepeatedly);
    CPPUNIT_TEST(testTimersFireInDeadlineOrder);
    CPPUNIT_TEST(testIntervalRepeatsUntilCleared);
    CPPUNIT_TEST(testClearTimeoutPreventsFiring);
    CPPUNIT_TEST(testImmediateQueuedByImmediateWaitsForNextIteration);
    CPPUNIT_TEST(testClearImmediateInSameBatch);
    CPPUNIT_TEST(testOffloadRunsWorkOnPoolAndDoneOnLoop);
    CPPUNIT_TEST(testOffloadWorkThatThrows);
    CPPUNIT_TEST(testWhenOffloadsDoneWaitsForTheOwnersWork);
    CPPUNIT_TEST(testHeavyCpuBlockingDelaysTimerAndIsReported);
    CPPUNIT_TEST(testLagSamplerRestsWhileTheLoopIsIdle);
    CPPUNIT_TEST(testThrowingCallbackIsLoggedAndLoopGoesOn);
    CPPUNIT_TEST(testClearOwnerEndsItsCallbacks);
    CPPUNIT_TEST(testSignalsStopGracefullyThenForce);
    CPPUNIT_TEST(testSighupCallsReload);
    CPPUNIT_TEST_SUITE_END();

public:
    // The seed's "Event Loop Race", scheduled from the main module.
    void testEventLoopRaceFromMain() {
        Loop loop;
        std::vector<std::string> out;
        loop.runMain([&] {
            out.push_back("Start");
            loop.setTimeout(0, [&] { out.push_back("Timeout 1"); });
            loop.queueMicrotask([&] { out.push_back("Promise 1"); });
            loop.setImmediate([&] { out.push_back("Immediate 1"); });
            loop.nextTick([&] { out.push_back("Next Tick 1"); });
            out.push_back("End");
        });
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT_EQUAL(std::size_t(6), out.size());
        CPPUNIT_ASSERT_EQUAL(std::string("Start"), out[0]);
        CPPUNIT_ASSERT_EQUAL(std::string("End"), out[1]);
        CPPUNIT_ASSERT_EQUAL(std::string("Next Tick 1"), out[2]);
        CPPUNIT_ASSERT_EQUAL(std::string("Promise 1"), out[3]);
        // From the main module Node leaves Timeout/Immediate order to process timing; both run.
        CPPUNIT_ASSERT((out[4] == "Timeout 1" && out[5] == "Immediate 1") ||
                       (out[4] == "Immediate 1" && out[5] == "Timeout 1"));
    }

    // Inside an I/O callback the check phase comes before the next timers phase, so the
    // immediate always wins (Node's documented guarantee).
    void testEventLoopRaceFromIoCallback() {
        for (int round = 0; round < 20; ++round) {
            Loop loop;
            std::vector<std::string> out;
            struct Req {
                uv_fs_t fs{};
                Loop* loop;
                std::vector<std::string>* out;
            } req{{}, &loop, &out};
            req.fs.data = &req;
            uv_fs_stat(loop.uv(), &req.fs, "/", [](uv_fs_t* fs) {
                auto* r = static_cast<Req*>(fs->data);
                uv_fs_req_cleanup(fs);
                Loop& l = *r->loop;
                auto& o = *r->out;
                l.invoke(nullptr, "fs", [&] {
                    o.push_back("Start");
                    l.setTimeout(0, [&] { o.push_back("Timeout 1"); });
                    l.queueMicrotask([&] { o.push_back("Promise 1"); });
                    l.setImmediate([&] { o.push_back("Immediate 1"); });
                    l.nextTick([&] { o.push_back("Next Tick 1"); });
                    o.push_back("End");
                });
            });
            CPPUNIT_ASSERT(runWithDeadline(loop));
            const std::vector<std::string> expected{"Start", "End", "Next Tick 1", "Promise 1", "Immediate 1", "Timeout 1"};
            CPPUNIT_ASSERT(expected == out);
        }
    }

    void testTicksDrainBeforeMicrotasksRepeatedly() {
        Loop loop;
        std::string out;
        loop.runMain([&] {
            loop.queueMicrotask([&] {
                out += "m1 ";
                loop.nextTick([&] { out += "t3 "; });
                loop.queueMicrotask([&] { out += "m2 "; });
            });
            loop.nextTick([&] {
                out += "t1 ";
                loop.nextTick([&] { out += "t2 "; });
            });
            out += "main ";
        });
        // Ticks queued by ticks run before any microtask; microtasks queued by microtasks run
        // before the ticks they queued; then the tick queue is drained again.
        CPPUNIT_ASSERT_EQUAL(std::string("main t1 t2 m1 m2 t3 "), out);
    }

    void testTimersFireInDeadlineOrder() {
        Loop loop;
        std::string out;
        loop.setTimeout(30, [&] { out += "30 "; });
        loop.setTimeout(10, [&] { out += "10a "; });
        loop.setTimeout(10, [&] { out += "10b "; });
        loop.setTimeout(0, [&] { out += "0 "; });
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT_EQUAL(std::string("0 10a 10b 30 "), out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), loop.pendingTimers());
    }

    void testIntervalRepeatsUntilCleared() {
        Loop loop;
        int calls = 0;
        TimerId id = 0;
        id = loop.setInterval(2, [&] {
            if (++calls == 3) CPPUNIT_ASSERT(loop.clearTimer(id));
        });
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT_EQUAL(3, calls);
        CPPUNIT_ASSERT(!loop.clearTimer(id));
    }

    void testClearTimeoutPreventsFiring() {
        Loop loop;
        bool fired = false;
        bool clearedInside = true;
        TimerId self = 0;
        const TimerId victim = loop.setTimeout(5, [&] { fired = true; });
        loop.setTimeout(1, [&] { CPPUNIT_ASSERT(loop.clearTimer(victim)); });
        self = loop.setTimeout(2, [&] { clearedInside = loop.clearTimer(self); });
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT(!fired);
        CPPUNIT_ASSERT(!clearedInside); // a timeout is over once it fires
    }

    void testImmediateQueuedByImmediateWaitsForNextIteration() {
        Loop loop;
        std::string out;
        loop.setImmediate([&] {
            out += "a ";
            loop.setImmediate([&] { out += "c "; });
            // A 1 ms timer queued now is due before the next check phase only if the loop
            // goes round once more; "c" must not run within this batch either way.
        });
        loop.setImmediate([&] { out += "b "; });
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT_EQUAL(std::string("a b c "), out);

        // A check-phase batch ends before a prepare/poll: count loop iterations between a and c.
        Loop loop2;
        int iterations = 0;
        uv_prepare_t prepare{};
        uv_prepare_init(loop2.uv(), &prepare);
        prepare.data = &iterations;
        uv_prepare_start(&prepare, [](uv_prepare_t* p) { ++*static_cast<int*>(p->data); });
        int atA = -1, atC = -1;
        loop2.setImmediate([&] {
            atA = iterations;
            loop2.setImmediate([&] {
                atC = iterations;
                uv_prepare_stop(&prepare);
            });
        });
        CPPUNIT_ASSERT(runWithDeadline(loop2));
        CPPUNIT_ASSERT(atA >= 0);
        CPPUNIT_ASSERT_EQUAL(atA + 1, atC);
    }

    void testClearImmediateInSameBatch() {
        Loop loop;
        std::string out;
        ImmediateId second = 0;
        loop.setImmediate([&] {
            out += "a ";
            CPPUNIT_ASSERT(loop.clearImmediate(second));
        });
        second = loop.setImmediate([&] { out += "b "; });
        loop.setImmediate([&] { out += "c "; });
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT_EQUAL(std::string("a c "), out);
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), loop.pendingImmediates());
    }

    void testOffloadRunsWorkOnPoolAndDoneOnLoop() {
        Loop loop;
        const auto loopThread = std::this_thread::get_id();
        std::thread::id workThread;
        std::thread::id doneThread;
        int status = 99;
        std::string order;
        CPPUNIT_ASSERT_EQUAL(0, loop.offload([&] { workThread = std::this_thread::get_id(); },
                                             [&](int s) {
                                                 doneThread = std::this_thread::get_id();
                                                 status = s;
                                                 order += "done ";
                                                 loop.nextTick([&] { order += "tick "; });
                                             }));
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT(workThread != loopThread);
        CPPUNIT_ASSERT(doneThread == loopThread);
        CPPUNIT_ASSERT_EQUAL(0, status);
        CPPUNIT_ASSERT_EQUAL(std::string("done tick "), order);
    }

    void testOffloadWorkThatThrows() {
        LogCapture logs;
        Loop loop;
        Owner owner{"hasher"};
        int status = 0;
        loop.offload([] { throw std::runtime_error("out of memory for hash"); }, [&](int s) { status = s; }, &owner);
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT_EQUAL(-1, status);
        CPPUNIT_ASSERT(logs.contains("plugin 'hasher' threw: out of memory for hash"));
    }

    // A plugin's stop waits this way for the work it offloaded: the waiter runs after the
    // last `done` of its owner, not after another owner's work, and clearOwner drops it.
    void testWhenOffloadsDoneWaitsForTheOwnersWork() {
        Loop loop;
        Owner mine{"mine"}, other{"other"}, dropped{"dropped"};
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        std::string order;
        bool ranAtOnce = false;
        loop.whenOffloadsDone(&mine, [&] { ranAtOnce = true; });
        CPPUNIT_ASSERT(ranAtOnce); // nothing in flight: at once
        // The blocked ones go on once both quick ones came back, so the waiter is seen to
        // wait past "mine2" for "mine1".
        int quick = 0;
        auto quickDone = [&](const char* name) {
            order += name;
            if (++quick == 2) release.set_value();
        };
        loop.offload([released] { released.wait(); }, [&](int) { order += "mine1 "; }, &mine);
        loop.offload([] {}, [&](int) { quickDone("mine2 "); }, &mine);
        loop.offload([] {}, [&](int) { quickDone("other "); }, &other);
        loop.offload([released] { released.wait(); }, [&](int) { order += "dropped "; }, &dropped);
        CPPUNIT_ASSERT_EQUAL(std::size_t(2), loop.offloadsInFlight(&mine));
        CPPUNIT_ASSERT_EQUAL(std::size_t(4), loop.offloadsInFlight());
        loop.whenOffloadsDone(&mine, [&] { order += "waiter "; });
        loop.whenOffloadsDone(&dropped, [&] { order += "never "; });
        loop.clearOwner(&dropped);
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), loop.offloadsInFlight(&mine));
        CPPUNIT_ASSERT_EQUAL(std::size_t(0), loop.offloadsInFlight());
        CPPUNIT_ASSERT(order.find("never") == std::string::npos);
        CPPUNIT_ASSERT(order.find("mine1 waiter ") != std::string::npos);
        CPPUNIT_ASSERT(order.find("waiter") > order.find("mine2"));
    }

    // The seed's "Heavy CPU blocking": a 200 ms busy callback delays a 50 ms timer, and the
    // lag monitor both samples the delay and names the plugin that blocked.
    void testHeavyCpuBlockingDelaysTimerAndIsReported() {
        LogCapture logs;
        Loop loop;
        loop.lag().setBlockThresholdMs(100);
        loop.lag().start(loop.uv(), 10);
        Owner hog{"cpu-hog"};
        const std::uint64_t startNs = uv_hrtime();
        std::uint64_t firedAfterMs = 0;
        loop.setTimeout(50, [&] { firedAfterMs = (uv_hrtime() - startNs) / 1000000; });
        // Keep the loop alive long enough for the sampler to see the stall.
        loop.setTimeout(80, [] {});
        loop.setImmediate(
            [] {
                const std::uint64_t until = uv_hrtime() + 200000000ULL;
                while (uv_hrtime() < until) {
                }
            },
            &hog);
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT(firedAfterMs >= 200);
        CPPUNIT_ASSERT_EQUAL(std::uint64_t(1), loop.lag().blockCount());
        CPPUNIT_ASSERT_EQUAL(std::string("cpu-hog"), loop.lag().lastBlock()->owner);
        CPPUNIT_ASSERT(loop.lag().lastBlock()->durationNs >= 200000000ULL);
        CPPUNIT_ASSERT(logs.contains("blocked for"));
        CPPUNIT_ASSERT(logs.contains("plugin 'cpu-hog'"));
        CPPUNIT_ASSERT(loop.lag().delays().count() >= 1);
        CPPUNIT_ASSERT(loop.lag().delays().max() >= 150000000ULL);
        CPPUNIT_ASSERT(loop.lag().summary().find("p99") != std::string::npos);
    }

    // An idle loop is not woken to sample its delay: the sampler (here every millisecond)
    // stops after a period with no callback, and the next callback arms it again.
    void testLagSamplerRestsWhileTheLoopIsIdle() {
        Loop loop;
        loop.lag().start(loop.uv(), 1);
        CPPUNIT_ASSERT(loop.lag().sampling());
        bool restingAt60 = false;
        bool sampledAfterIt = false;
        bool restingAt120 = false;
        loop.setTimeout(60, [&] {
            restingAt60 = !loop.lag().sampling();
            // Ticks run once the callback finished, which woke the sampler.
            loop.nextTick([&] { sampledAfterIt = loop.lag().sampling(); });
        });
        loop.setTimeout(120, [&] { restingAt120 = !loop.lag().sampling(); });
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT(restingAt60);
        CPPUNIT_ASSERT(sampledAfterIt);
        CPPUNIT_ASSERT(restingAt120);
        // A sampler that never rested would have taken about 120 samples.
        CPPUNIT_ASSERT(loop.lag().delays().count() >= 2);
        CPPUNIT_ASSERT(loop.lag().delays().count() < 20);
        loop.lag().stop();
        CPPUNIT_ASSERT(!loop.lag().sampling());
    }

    void testThrowingCallbackIsLoggedAndLoopGoesOn() {
        LogCapture logs;
        Loop loop;
        Owner owner{"flaky"};
        bool after = false;
        bool tickRan = false;
        loop.setTimeout(1, [&] {
            loop.nextTick([&] { tickRan = true; });
            throw std::runtime_error("boom");
        }, &owner);
        loop.setTimeout(2, [&] { after = true; });
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT(after);
        CPPUNIT_ASSERT(tickRan);
        CPPUNIT_ASSERT(logs.contains("timer callback of plugin 'flaky': boom"));
    }

    void testClearOwnerEndsItsCallbacks() {
        Loop loop;
        Owner a{"a"};
        Owner b{"b"};
        std::string out;
        loop.setTimeout(1, [&] { out += "a-timer "; }, &a);
        loop.setInterval(1, [&] { out += "a-interval "; }, &a);
        loop.setImmediate([&] { out += "a-immediate "; }, &a);
        loop.setTimeout(1, [&] { out += "b-timer "; }, &b);
        loop.clearOwner(&a);
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT_EQUAL(std::string("b-timer "), out);
    }

    void testSignalsStopGracefullyThenForce() {
        LogCapture logs;
        Loop loop;
        std::vector<std::string> calls;
        Signals signals(loop,
                        Signals::Hooks{[&](int) {
                                           calls.push_back("stop");
                                           ::raise(SIGTERM); // the impatient operator
                                       },
                                       [&](int) {
                                           calls.push_back("force");
                                           loop.stop();
                                       },
                                       nullptr},
                        60000);
        // Something that keeps the loop running until the force.
        const TimerId keepAlive = loop.setInterval(1000, [] {});
        ::raise(SIGINT);
        CPPUNIT_ASSERT(runWithDeadline(loop));
        loop.clearTimer(keepAlive);
        CPPUNIT_ASSERT(signals.stopping());
        CPPUNIT_ASSERT(calls == (std::vector<std::string>{"stop", "force"}));
        CPPUNIT_ASSERT(logs.contains("stopping now"));
    }

    void testSighupCallsReload() {
        Loop loop;
        int reloads = 0;
        Signals signals(loop, Signals::Hooks{nullptr, nullptr, [&] {
                                                 ++reloads;
                                                 loop.stop();
                                             }},
                        1000);
        const TimerId keepAlive = loop.setInterval(1000, [] {});
        ::raise(SIGHUP);
        CPPUNIT_ASSERT(runWithDeadline(loop));
        loop.clearTimer(keepAlive);
        CPPUNIT_ASSERT_EQUAL(1, reloads);
        CPPUNIT_ASSERT(!signals.stopping());
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LoopTest);
