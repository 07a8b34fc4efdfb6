#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "Connection.hpp"

namespace keel::bench {

class Engine;

/// The open model's connections (wrk2): each scheduled request goes out on a connection with
/// room, or waits in the backlog with its scheduled time, so a stalled server shows up as
/// latency instead of as fewer requests (coordinated omission corrected).
class RatePool final : public ConnectionHandler {
public:
    RatePool(Engine& engine, std::uint32_t connections, std::uint32_t depth);
    RatePool(const RatePool&) = delete;
    RatePool& operator=(const RatePool&) = delete;
    ~RatePool() = default;

    /// A request scheduled at `scheduledNs` (absolute, uv_hrtime) is due.
    void arrive(std::uint64_t scheduledNs, std::uint64_t nowNs);
    std::size_t backlog() const { return backlog_.size(); }
    bool idle() const { return backlog_.empty() && inFlight_ == 0; }

    // ConnectionHandler
    void onResponse(Connection& connection, const InFlight& done, int status, std::uint64_t nowNs) override;
    void onFailure(Connection& connection, std::string_view error, std::size_t lost, std::uint64_t nowNs) override;

private:
    void next(Connection& connection, std::uint64_t nowNs);

    Engine& engine_;
    std::vector<Connection*> free_;  // one entry per free slot (a connection x pipelining depth)
    std::deque<std::uint64_t> backlog_;
    std::uint64_t inFlight_ = 0;
};

} // namespace keel::bench
