#include "Bus.hpp"

#include <algorithm>
#include <exception>

#include "Log.hpp"
#include "Loop.hpp"

namespace keel::kernel {

namespace {

// A subscription id carries its topic so that unsubscribe goes straight to the right list.
constexpr int kSerialBits = 40;

TopicId topicOf(SubscriptionId id) { return static_cast<TopicId>(id >> kSerialBits); }

} // namespace

Bus::Bus(Loop& loop) : loop_(loop) { topics_.emplace_back(); }

Bus::~Bus() { *alive_ = false; }

TopicId Bus::topic(std::string_view name) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    const auto id = static_cast<TopicId>(topics_.size());
    topics_.emplace_back();
    topics_.back().name = std::string(name);
    ids_.emplace(std::string(name), id);
    return id;
}

std::string_view Bus::topicName(TopicId id) const {
    return id != 0 && id < topics_.size() ? std::string_view(topics_[id].name) : std::string_view();
}

SubscriptionId Bus::subscribe(TopicId topic, std::int32_t priority, Handler handler, const Owner* owner) {
    return add(topic, priority, std::move(handler), owner, false);
}

SubscriptionId Bus::once(TopicId topic, std::int32_t priority, Handler handler, const Owner* owner) {
    return add(topic, priority, std::move(handler), owner, true);
}

void Bus::insertOrdered(std::vector<Subscriber>& list, Subscriber sub) {
    auto pos = std::upper_bound(list.begin(), list.end(), sub.priority,
                                [](std::int32_t p, const Subscriber& s) { return p > s.priority; });
    list.insert(pos, std::move(sub));
}

SubscriptionId Bus::add(TopicId topic, std::int32_t priority, Handler handler, const Owner* owner, bool once) {
    if (topic == 0 || topic >= topics_.size()) return 0;
    Topic& t = topics_[topic];
    const SubscriptionId id = (static_cast<SubscriptionId>(topic) << kSerialBits) | nextSerial_++;
    Subscriber sub{id, priority, once, true, std::move(handler), owner};
    if (t.dispatching != 0) {
        // Inserting now would move the subscribers the running dispatch is walking.
        t.added.push_back(std::move(sub));
        t.dirty = true;
    } else {
        insertOrdered(t.subscribers, std::move(sub));
        ++t.live;
    }
    return id;
}

bool Bus::unsubscribe(SubscriptionId id) {
    const TopicId topic = topicOf(id);
    if (topic == 0 || topic >= topics_.size()) return false;
    Topic& t = topics_[topic];
    for (auto& sub : t.subscribers) {
        if (sub.id == id && sub.alive) {
            sub.alive = false;
            --t.live;
            t.dirty = true;
            settle(t);
            return true;
        }
    }
    for (auto it = t.added.begin(); it != t.added.end(); ++it) {
        if (it->id == id) {
            t.added.erase(it);
            return true;
        }
    }
    return false;
}

void Bus::unsubscribeOwner(const Owner* owner) {
    for (Topic& t : topics_) {
        for (auto& sub : t.subscribers) {
            if (sub.owner == owner && sub.alive) {
                sub.alive = false;
                --t.live;
                t.dirty = true;
            }
        }
        std::erase_if(t.added, [owner](const Subscriber& s) { return s.owner == owner; });
        settle(t);
    }
}

void Bus::settle(Topic& t) {
    if (t.dispatching != 0 || !t.dirty) return;
    // Handlers (and the user data they hold) are released here, never during their own call.
    std::erase_if(t.subscribers, [](const Subscriber& s) { return !s.alive; });
    for (auto& sub : t.added) {
        insertOrdered(t.subscribers, std::move(sub));
        ++t.live;
    }
    t.added.clear();
    t.dirty = false;
}

void Bus::dispatch(TopicId topic, const keel_payload& payload) {
    ++topics_[topic].dispatching;
    // Index, not iterator or reference: a handler may intern a new topic, which can move
    // topics_; subscribers of this topic do not move while it dispatches.
    const std::size_t n = topics_[topic].subscribers.size();
    for (std::size_t i = 0; i < n; ++i) {
        Subscriber& sub = topics_[topic].subscribers[i];
        if (!sub.alive) continue;
        if (sub.once) {
            sub.alive = false;
            --topics_[topic].live;
            topics_[topic].dirty = true;
        }
        try {
            sub.handler(topic, payload);
        } catch (const std::exception& e) {
            logError("bus", "subscriber of '" + topics_[topic].name + "' in plugin '" +
                                (sub.owner ? sub.owner->name : std::string("kernel")) + "' threw: " + e.what());
        } catch (...) {
            logError("bus", "subscriber of '" + topics_[topic].name + "' in plugin '" +
                                (sub.owner ? sub.owner->name : std::string("kernel")) +
                                "' threw a non-standard exception");
        }
    }
    --topics_[topic].dispatching;
    settle(topics_[topic]);
}

void Bus::post(TopicId topic, const keel_payload& payload) {
    if (topic == 0 || topic >= topics_.size()) return;
    posted_.push_back(Posted{topic, std::string(payload.type.ptr, payload.type.len),
                             std::string(static_cast<const char*>(payload.data), payload.size)});
    if (!postScheduled_) {
        postScheduled_ = true;
        std::weak_ptr<bool> alive = alive_;
        loop_.setImmediate([this, alive] {
            if (!alive.expired()) deliverPosted();
        });
    }
}

void Bus::deliverPosted() {
    postScheduled_ = false;
    // Deliver what was posted before this point; what subscribers post now goes next tick.
    std::deque<Posted> batch;
    batch.swap(posted_);
    for (const Posted& p : batch) {
        keel_payload payload{{p.type.data(), p.type.size()}, p.bytes.data(), p.bytes.size()};
        publish(p.topic, payload);
    }
}

void Bus::publishJson(TopicId topic, std::string_view json) {
    if (!hasSubscribers(topic)) return;
    static constexpr std::string_view kJson = "application/json";
    keel_payload payload{{kJson.data(), kJson.size()}, json.data(), json.size()};
    dispatch(topic, payload);
}

} // namespace keel::kernel
