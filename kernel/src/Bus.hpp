#pragma once

#include <keel/abi.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "Owner.hpp"

namespace keel::kernel {

class Loop;

using TopicId = std::uint32_t;
using SubscriptionId = std::uint64_t;
/// A subscriber. The payload is borrowed for the call.
using Handler = std::function<void(TopicId, const keel_payload&)>;

/// The in-process event bus. Topics are interned once to small ids, so publishing costs an
/// index and a count check when nobody listens. Loop thread only.
///
/// Dispatch rules: subscribers of a topic run synchronously in priority order (higher first,
/// equal priorities in subscription order). A subscriber that throws is logged and the
/// others still run. Unsubscribing is safe at any time: a subscriber removed during a
/// dispatch is not called again, not even later in that dispatch; one added during a
/// dispatch first hears the next publish.
class Bus {
public:
    explicit Bus(Loop& loop);
    ~Bus();
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;

    /// Interns `name` (idempotent). Ids start at 1.
    TopicId topic(std::string_view name);
    std::string_view topicName(TopicId id) const;

    SubscriptionId subscribe(TopicId topic, std::int32_t priority, Handler handler,
                             const Owner* owner = nullptr);
    /// Like subscribe, removed before its first call.
    SubscriptionId once(TopicId topic, std::int32_t priority, Handler handler, const Owner* owner = nullptr);
    bool unsubscribe(SubscriptionId id);
    /// Removes every subscription `owner` holds (a plugin instance stopping).
    void unsubscribeOwner(const Owner* owner);

    bool hasSubscribers(TopicId topic) const {
        return topic < topics_.size() && topics_[topic].live != 0;
    }
    std::size_t subscriberCount(TopicId topic) const { return topic < topics_.size() ? topics_[topic].live : 0; }

    /// Delivers synchronously. The no-subscriber case is an inline check.
    void publish(TopicId topic, const keel_payload& payload) {
        if (topic < topics_.size() && topics_[topic].live != 0) dispatch(topic, payload);
    }
    /// Copies the payload and publishes it from the check phase of a later loop iteration.
    void post(TopicId topic, const keel_payload& payload);

    /// Convenience for the kernel's own events.
    void publishJson(TopicId topic, std::string_view json);

private:
    struct Subscriber {
        SubscriptionId id;
        std::int32_t priority;
        bool once;
        bool alive;
        Handler handler;
        const Owner* owner;
    };
    struct Topic {
        std::string name;
        std::vector<Subscriber> subscribers;
        std::vector<Subscriber> added; // subscribed during a dispatch; merged after it
        std::size_t live = 0;
        int dispatching = 0;
        bool dirty = false;
    };
    struct Posted {
        TopicId topic;
        std::string type;
        std::string bytes;
    };

    SubscriptionId add(TopicId topic, std::int32_t priority, Handler handler, const Owner* owner, bool once);
    void dispatch(TopicId topic, const keel_payload& payload);
    void settle(Topic& topic);
    static void insertOrdered(std::vector<Subscriber>& list, Subscriber sub);
    void deliverPosted();

    Loop& loop_;
    std::vector<Topic> topics_; // index 0 unused: 0 is never a topic
    /// Looks names up as string_views (no temporary std::string per lookup).
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, TopicId, NameHash, std::equal_to<>> ids_;
    std::uint64_t nextSerial_ = 1;
    std::deque<Posted> posted_;
    bool postScheduled_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace keel::kernel
