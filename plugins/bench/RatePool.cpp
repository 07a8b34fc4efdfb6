#include "RatePool.hpp"

#include <algorithm>

#include "Engine.hpp"

namespace keel::bench {

RatePool::RatePool(Engine& engine, std::uint32_t connections, std::uint32_t depth) : engine_(engine) {
    std::vector<Connection*> conns;
    for (std::uint32_t i = 0; i < connections; ++i) conns.push_back(engine.acquireConnection(this));
    // Slots are taken from the back: the first connection's first, so a light load stays on
    // few connections and a heavy one spreads over all of them.
    for (std::uint32_t d = 0; d < depth; ++d)
        for (auto it = conns.rbegin(); it != conns.rend(); ++it) free_.push_back(*it);
}

void RatePool::arrive(std::uint64_t scheduledNs, std::uint64_t nowNs) {
    if (free_.empty()) {
        backlog_.push_back(scheduledNs);
        return;
    }
    Connection* c = free_.back();
    free_.pop_back();
    ++inFlight_;
    // Sent early within the timer's millisecond: the latency counts from the actual send.
    c->send(engine_.plan().requests[0], std::min(scheduledNs, nowNs), nowNs);
}

void RatePool::next(Connection& connection, std::uint64_t nowNs) {
    if (backlog_.empty() || engine_.ending()) {
        free_.push_back(&connection);
        return;
    }
    const std::uint64_t scheduled = backlog_.front();
    backlog_.pop_front();
    ++inFlight_;
    connection.send(engine_.plan().requests[0], std::min(scheduled, nowNs), nowNs);
}

void RatePool::onResponse(Connection& connection, const InFlight& done, int status, std::uint64_t nowNs) {
    --inFlight_;
    engine_.recordResponse(done, status, nowNs);
    next(connection, nowNs);
    if (idle()) engine_.checkDone();
}

void RatePool::onFailure(Connection& connection, std::string_view error, std::size_t lost, std::uint64_t nowNs) {
    inFlight_ -= std::min<std::uint64_t>(inFlight_, lost);
    engine_.recordErrors(error, lost);
    for (std::size_t i = 0; i < lost; ++i) next(connection, nowNs);
    if (idle()) engine_.checkDone();
}

} // namespace keel::bench
