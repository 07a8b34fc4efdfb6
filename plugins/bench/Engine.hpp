#pragma once

// The load generator proper: runs a Plan on the kernel's loop (one thread, no other), and
// reports through Stats. Closed model: virtual users arrive by the plan's phases and each
// sends its next request when the last one completed. Open model: requests leave on the
// plan's schedule whatever the server does, and their latency counts from the scheduled time.
//
// Threading and lifetime: loop thread only. Every libuv callback goes through
// Context::makeCallback. The engine must outlive its handles: it reports `done` only after
// the last close callback, and must not be destroyed before that.

#include <keel/sdk.hpp>
#include <uv.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "Connection.hpp"
#include "Phases.hpp"
#include "Plan.hpp"
#include "Stats.hpp"
#include "Tls.hpp"

namespace keel::bench {

class VirtualUser;
class RatePool;

class Engine {
public:
    static constexpr std::size_t kReadBufferSize = 64 * 1024;

    /// How a run ended. `error` is set when it could not start (a host did not resolve).
    struct Outcome {
        std::string error;
        bool interrupted = false;
        double durationS = 0;
        std::uint64_t unfinished = 0;
    };
    using Done = std::function<void(const Outcome&)>;

    Engine(keel::Context ctx, const Plan& plan);
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine();

    /// Resolves the hosts, then runs. `done` runs once, from the loop, after every handle closed.
    void start(Done done);
    /// Ends the run now (Ctrl-C): what completed is reported, what is in flight is not.
    void stop();

    bool running() const { return started_ && !ending_; }
    double elapsedS() const;
    const Stats& stats() const { return stats_; }

    // --- for connections, virtual users and the pool ----------------------------------------
    const keel::Context& ctx() const { return ctx_; }
    uv_loop_t* loop() const { return loop_; }
    Stats& stats() { return stats_; }
    const Plan& plan() const { return plan_; }
    Endpoint& endpoint(std::size_t i) { return *endpoints_[i]; }
    const TlsContext* tls() const { return tls_.get(); }
    char* readBuffer() { return readBuffer_.get(); }
    char* plainBuffer() { return plainBuffer_.get(); }
    bool ending() const { return ending_; }
    bool arrivalsOver() const { return arrivalsOver_; }
    void handleOpened() { ++openHandles_; }
    void handleClosed();

    /// Records a response; false when the request expected another status (also an error).
    bool recordResponse(const InFlight& done, int status, std::uint64_t nowNs);
    void recordErrors(std::string_view error, std::size_t n);
    Connection* acquireConnection(ConnectionHandler* handler);
    /// Closes `c` (dropping what it still had in flight) and keeps it for reuse.
    void releaseConnection(Connection* c);
    void userFinished(VirtualUser* user, bool failed);
    /// Ends the run once nothing is left to do (arrivals over, users and pool idle).
    void checkDone();

private:
    void resolve();
    void onResolved(std::size_t endpoint, int status, addrinfo* result);
    void run();
    void onArrivals();
    void arrive(const ArrivalSchedule::Arrival& a, std::uint64_t nowNs);
    const Flow& pickFlow();
    void end(bool interrupted);
    void finishWhenClosed();

    keel::Context ctx_;
    uv_loop_t* loop_;
    Plan plan_;
    Stats stats_;
    std::vector<std::unique_ptr<Endpoint>> endpoints_;
    std::unique_ptr<TlsContext> tls_;
    std::unique_ptr<char[]> readBuffer_;
    std::unique_ptr<char[]> plainBuffer_;
    Done done_;

    struct Resolve {
        uv_getaddrinfo_t req{};
        Engine* engine = nullptr;
        std::size_t endpoint = 0;
        bool pending = false;
    };
    std::vector<std::unique_ptr<Resolve>> resolves_;
    std::size_t resolving_ = 0;
    std::string resolveError_;

    std::optional<ArrivalSchedule> schedule_;
    std::uint64_t startNs_ = 0;
    std::uint64_t endNs_ = 0;
    std::uint64_t deadlineNs_ = 0;  // 0: none
    std::uint64_t timeoutNs_ = 0;
    bool started_ = false;
    bool ending_ = false;
    bool interrupted_ = false;
    bool arrivalsOver_ = false;
    bool reported_ = false;
    std::uint64_t unfinished_ = 0;
    std::size_t openHandles_ = 0;

    std::vector<std::unique_ptr<Connection>> connections_;
    std::vector<Connection*> freeConnections_;
    std::vector<std::unique_ptr<VirtualUser>> users_;
    std::vector<VirtualUser*> idleUsers_;
    std::size_t activeUsers_ = 0;
    std::vector<double> flowCredit_;  // smooth weighted round robin over the flows
    std::unique_ptr<RatePool> pool_;

    keel::Timer arrivalTimer_;
    keel::Immediate arrivalImmediate_;
    keel::Timer deadlineTimer_;
    keel::Timer sweepTimer_;
    keel::Timer tickTimer_;
    keel::Immediate finishImmediate_;

public:
    /// Called every second of the run, after the second's figures were closed.
    std::function<void()> onSecond;
};

} // namespace keel::bench
