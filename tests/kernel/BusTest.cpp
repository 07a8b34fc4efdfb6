#include <cppunit/extensions/HelperMacros.h>

#include <stdexcept>

#include "Bus.hpp"
#include "LoopTestSupport.hpp"

using namespace keel::kernel;
using keel::kernel::test::LogCapture;
using keel::kernel::test::runWithDeadline;

namespace {

keel_payload text(std::string_view s) {
    static constexpr std::string_view kType = "text/plain";
    return keel_payload{{kType.data(), kType.size()}, s.data(), s.size()};
}

std::string bytes(const keel_payload& p) { return std::string(static_cast<const char*>(p.data), p.size); }

} // namespace

class BusTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(BusTest);
    CPPUNIT_TEST(testTopicsAreInterned);
    CPPUNIT_TEST(testPublishWithoutSubscribersIsANoop);
    CPPUNIT_TEST(testPriorityOrderThenSubscriptionOrder);
    CPPUNIT_TEST(testPayloadTypeAndBytesArrive);
    CPPUNIT_TEST(testOnceFiresOnce);
    CPPUNIT_TEST(testUnsubscribeSelfDuringDispatch);
    CPPUNIT_TEST(testUnsubscribeLaterSubscriberDuringDispatch);
    CPPUNIT_TEST(testSubscribeDuringDispatchHearsNextPublish);
    CPPUNIT_TEST(testNestedPublishOfSameTopic);
    CPPUNIT_TEST(testThrowingSubscriberIsLoggedOthersRun);
    CPPUNIT_TEST(testPostDeliversOnLaterTickWithCopiedPayload);
    CPPUNIT_TEST(testUnsubscribeOwner);
    CPPUNIT_TEST(testUnknownIds);
    CPPUNIT_TEST_SUITE_END();

public:
    void testTopicsAreInterned() {
        Loop loop;
        Bus bus(loop);
        const TopicId a = bus.topic("http.request");
        CPPUNIT_ASSERT(a != 0);
        CPPUNIT_ASSERT_EQUAL(a, bus.topic("http.request"));
        CPPUNIT_ASSERT(a != bus.topic("http.close"));
        CPPUNIT_ASSERT_EQUAL(std::string("http.request"), std::string(bus.topicName(a)));
    }

    void testPublishWithoutSubscribersIsANoop() {
        Loop loop;
        Bus bus(loop);
        const TopicId t = bus.topic("nobody.listens");
        CPPUNIT_ASSERT(!bus.hasSubscribers(t));
        bus.publish(t, text("x"));
        const SubscriptionId s = bus.subscribe(t, 0, [](TopicId, const keel_payload&) {});
        CPPUNIT_ASSERT(bus.hasSubscribers(t));
        CPPUNIT_ASSERT(bus.unsubscribe(s));
        CPPUNIT_ASSERT(!bus.hasSubscribers(t));
    }

    void testPriorityOrderThenSubscriptionOrder() {
        Loop loop;
        Bus bus(loop);
        const TopicId t = bus.topic("order");
        std::string out;
        bus.subscribe(t, 0, [&](TopicId, const keel_payload&) { out += "low1 "; });
        bus.subscribe(t, 10, [&](TopicId, const keel_payload&) { out += "high "; });
        bus.subscribe(t, 0, [&](TopicId, const keel_payload&) { out += "low2 "; });
        bus.subscribe(t, -5, [&](TopicId, const keel_payload&) { out += "last "; });
        bus.subscribe(t, 10, [&](TopicId, const keel_payload&) { out += "high2 "; });
        bus.publish(t, text("x"));
        CPPUNIT_ASSERT_EQUAL(std::string("high high2 low1 low2 last "), out);
    }

    void testPayloadTypeAndBytesArrive() {
        Loop loop;
        Bus bus(loop);
        const TopicId t = bus.topic("fs.changed");
        std::string type, body;
        TopicId seen = 0;
        bus.subscribe(t, 0, [&](TopicId topic, const keel_payload& p) {
            seen = topic;
            type.assign(p.type.ptr, p.type.len);
            body = bytes(p);
        });
        bus.publishJson(t, R"({"path":"/a","event":"change"})");
        CPPUNIT_ASSERT_EQUAL(t, seen);
        CPPUNIT_ASSERT_EQUAL(std::string("application/json"), type);
        CPPUNIT_ASSERT_EQUAL(std::string(R"({"path":"/a","event":"change"})"), body);
    }

    void testOnceFiresOnce() {
        Loop loop;
        Bus bus(loop);
        const TopicId t = bus.topic("once");
        int calls = 0;
        bus.once(t, 0, [&](TopicId, const keel_payload&) {
            ++calls;
            bus.publish(t, text("again")); // re-entrant publish must not call it twice
        });
        bus.publish(t, text("x"));
        bus.publish(t, text("y"));
        CPPUNIT_ASSERT_EQUAL(1, calls);
        CPPUNIT_ASSERT(!bus.hasSubscribers(t));
    }

    void testUnsubscribeSelfDuringDispatch() {
        Loop loop;
        Bus bus(loop);
        const TopicId t = bus.topic("self");
        int calls = 0, others = 0;
        SubscriptionId self = 0;
        // The handler captures state by value too, to catch a handler destroyed mid-call.
        auto token = std::make_shared<int>(7);
        self = bus.subscribe(t, 1, [&, token](TopicId, const keel_payload&) {
            ++calls;
            CPPUNIT_ASSERT(bus.unsubscribe(self));
            CPPUNIT_ASSERT_EQUAL(7, *token);
        });
        bus.subscribe(t, 0, [&](TopicId, const keel_payload&) { ++others; });
        token.reset();
        bus.publish(t, text("x"));
        bus.publish(t, text("x"));
        CPPUNIT_ASSERT_EQUAL(1, calls);
        CPPUNIT_ASSERT_EQUAL(2, others);
        CPPUNIT_ASSERT(!bus.unsubscribe(self));
    }

    void testUnsubscribeLaterSubscriberDuringDispatch() {
        Loop loop;
        Bus bus(loop);
        const TopicId t = bus.topic("later");
        SubscriptionId victim = 0;
        bool victimCalled = false;
        bus.subscribe(t, 1, [&](TopicId, const keel_payload&) { bus.unsubscribe(victim); });
        victim = bus.subscribe(t, 0, [&](TopicId, const keel_payload&) { victimCalled = true; });
        bus.publish(t, text("x"));
        CPPUNIT_ASSERT(!victimCalled);
        CPPUNIT_ASSERT_EQUAL(std::size_t(1), bus.subscriberCount(t));
    }

    void testSubscribeDuringDispatchHearsNextPublish() {
        Loop loop;
        Bus bus(loop);
        const TopicId t = bus.topic("grow");
        int lateCalls = 0;
        bool added = false;
        bus.subscribe(t, 0, [&](TopicId, const keel_payload&) {
            if (!added) {
                added = true;
                // Higher priority, would sort before us: must not run in this dispatch.
                bus.subscribe(t, 100, [&](TopicId, const keel_payload&) { ++lateCalls; });
                // Many, to force a reallocation if the list were modified in place.
                for (int i = 0; i < 64; ++i) bus.subscribe(t, 50, [](TopicId, const keel_payload&) {});
            }
        });
        bus.publish(t, text("x"));
        CPPUNIT_ASSERT_EQUAL(0, lateCalls);
        bus.publish(t, text("x"));
        CPPUNIT_ASSERT_EQUAL(1, lateCalls);
        CPPUNIT_ASSERT_EQUAL(std::size_t(66), bus.subscriberCount(t));
    }

    void testNestedPublishOfSameTopic() {
        Loop loop;
        Bus bus(loop);
        const TopicId t = bus.topic("nested");
        std::string out;
        bus.subscribe(t, 1, [&](TopicId, const keel_payload& p) {
            out += "a:" + bytes(p) + " ";
            if (bytes(p) == "1") bus.publish(t, text("2"));
        });
        bus.subscribe(t, 0, [&](TopicId, const keel_payload& p) { out += "b:" + bytes(p) + " "; });
        bus.publish(t, text("1"));
        CPPUNIT_ASSERT_EQUAL(std::string("a:1 a:2 b:2 b:1 "), out);
    }

    void testThrowingSubscriberIsLoggedOthersRun() {
        LogCapture logs;
        Loop loop;
        Bus bus(loop);
        Owner bad{"bad-plugin"};
        const TopicId t = bus.topic("job.finished");
        int good = 0;
        bus.subscribe(t, 1, [](TopicId, const keel_payload&) { throw std::runtime_error("kaput"); }, &bad);
        bus.subscribe(t, 0, [&](TopicId, const keel_payload&) { ++good; });
        bus.publish(t, text("x"));
        CPPUNIT_ASSERT_EQUAL(1, good);
        CPPUNIT_ASSERT(logs.contains("subscriber of 'job.finished' in plugin 'bad-plugin' threw: kaput"));
    }

    void testPostDeliversOnLaterTickWithCopiedPayload() {
        Loop loop;
        Bus bus(loop);
        const TopicId t = bus.topic("later.tick");
        std::vector<std::string> got;
        bus.subscribe(t, 0, [&](TopicId, const keel_payload& p) {
            got.push_back(bytes(p));
            if (bytes(p) == "first") bus.post(t, text("from-subscriber"));
        });
        loop.runMain([&] {
            std::string transient = "first";
            bus.post(t, text(transient));
            transient.assign("XXXXX"); // the bus must have copied it
            bus.post(t, text("second"));
            CPPUNIT_ASSERT(got.empty());
        });
        CPPUNIT_ASSERT(got.empty());
        CPPUNIT_ASSERT(runWithDeadline(loop));
        CPPUNIT_ASSERT((got == std::vector<std::string>{"first", "second", "from-subscriber"}));
    }

    void testUnsubscribeOwner() {
        Loop loop;
        Bus bus(loop);
        Owner a{"a"};
        const TopicId t1 = bus.topic("t1");
        const TopicId t2 = bus.topic("t2");
        int calls = 0;
        bus.subscribe(t1, 0, [&](TopicId, const keel_payload&) { ++calls; }, &a);
        bus.subscribe(t2, 0, [&](TopicId, const keel_payload&) { ++calls; }, &a);
        bus.subscribe(t2, 0, [&](TopicId, const keel_payload&) { calls += 10; });
        bus.unsubscribeOwner(&a);
        bus.publish(t1, text("x"));
        bus.publish(t2, text("x"));
        CPPUNIT_ASSERT_EQUAL(10, calls);
    }

    void testUnknownIds() {
        Loop loop;
        Bus bus(loop);
        CPPUNIT_ASSERT(!bus.unsubscribe(0));
        CPPUNIT_ASSERT(!bus.unsubscribe(0xFFFFFFFFFFFFULL));
        CPPUNIT_ASSERT_EQUAL(SubscriptionId(0), bus.subscribe(999, 0, [](TopicId, const keel_payload&) {}));
        bus.publish(999, text("x"));
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(BusTest);
