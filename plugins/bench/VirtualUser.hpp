#pragma once

#include <keel/sdk.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "Connection.hpp"
#include "Flow.hpp"

namespace keel::bench {

class Engine;

/// One virtual user of the closed model: walks its flow on its own keep-alive connection,
/// sending each request when the previous response has arrived (artillery's VU). In the
/// repeat mode of `quick`, it sends one request again and again, keeping up to `pipelining`
/// of them in flight (a wrk/autocannon connection). Reused from a pool once finished.
class VirtualUser final : public ConnectionHandler {
public:
    explicit VirtualUser(Engine& engine);
    VirtualUser(const VirtualUser&) = delete;
    VirtualUser& operator=(const VirtualUser&) = delete;
    ~VirtualUser() = default;

    void startFlow(const Flow& flow);
    void startRepeat(const RequestSpec& request, std::optional<std::uint64_t> count, std::uint32_t depth);
    /// The run ended: stop without reporting to the engine.
    void abort();
    bool active() const { return active_; }

    // ConnectionHandler
    void onResponse(Connection& connection, const InFlight& done, int status, std::uint64_t nowNs) override;
    void onFailure(Connection& connection, std::string_view error, std::size_t lost, std::uint64_t nowNs) override;

private:
    struct Frame {
        const std::vector<Step>* steps;
        std::size_t index;
        std::optional<std::uint64_t> left;  // loop iterations left, this one included
        bool loop;
    };

    void begin();
    void advance();
    void pump(std::uint64_t nowNs);
    void finish(bool failed);

    Engine& engine_;
    Connection* connection_ = nullptr;
    bool active_ = false;
    std::vector<Frame> frames_;
    const RequestSpec* repeat_ = nullptr;
    std::optional<std::uint64_t> left_;
    std::uint32_t depth_ = 1;
    keel::Timer think_;
};

} // namespace keel::bench
