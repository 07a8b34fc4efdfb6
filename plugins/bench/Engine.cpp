#include "Engine.hpp"

#include <algorithm>
#include <cstring>

#include "RatePool.hpp"
#include "VirtualUser.hpp"

namespace keel::bench {

namespace {

constexpr std::uint64_t kMs = 1000000;
constexpr std::size_t kArrivalBatch = 256;

} // namespace

Engine::Engine(keel::Context ctx, const Plan& plan)
    : ctx_(ctx),
      loop_(static_cast<uv_loop_t*>(ctx.uvLoop())),
      plan_(plan),
      readBuffer_(std::make_unique_for_overwrite<char[]>(kReadBufferSize)),
      plainBuffer_(std::make_unique_for_overwrite<char[]>(kReadBufferSize)) {
    timeoutNs_ = static_cast<std::uint64_t>(plan_.timeoutS * 1e9);
    // One endpoint per scheme, host and port: connections are reused per endpoint.
    for (auto& r : plan_.requests) {
        std::size_t i = 0;
        for (; i < endpoints_.size(); ++i)
            if (endpoints_[i]->host == r.url.host && endpoints_[i]->port == r.url.port && endpoints_[i]->tls == r.url.tls) break;
        if (i == endpoints_.size()) {
            auto ep = std::make_unique<Endpoint>();
            ep->host = r.url.host;
            ep->port = r.url.port;
            ep->tls = r.url.tls;
            endpoints_.push_back(std::move(ep));
        }
        r.endpoint = i;
    }
    flowCredit_.assign(plan_.flows.size(), 0.0);
}

Engine::~Engine() = default;

double Engine::elapsedS() const {
    if (!started_) return 0;
    const std::uint64_t end = ending_ ? endNs_ : uv_hrtime();
    return static_cast<double>(end - startNs_) / 1e9;
}

// --- starting ---------------------------------------------------------------------------------

void Engine::start(Done done) {
    done_ = std::move(done);
    for (const auto& ep : endpoints_) {
        if (ep->tls && !tls_) {
            try {
                tls_ = std::make_unique<TlsContext>(!plan_.insecure);
            } catch (const std::exception& e) {
                resolveError_ = e.what();
                ending_ = true;
                finishWhenClosed();
                return;
            }
        }
    }
    resolve();
}

void Engine::resolve() {
    for (std::size_t i = 0; i < endpoints_.size(); ++i) {
        auto r = std::make_unique<Resolve>();
        r->engine = this;
        r->endpoint = i;
        r->req.data = r.get();
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        const std::string port = std::to_string(endpoints_[i]->port);
        const int rc = uv_getaddrinfo(
            loop_, &r->req,
            [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
                auto* self = static_cast<Resolve*>(req->data);
                self->pending = false;
                Engine* engine = self->engine;
                engine->ctx_.makeCallback("getaddrinfo", [&] { engine->onResolved(self->endpoint, status, res); });
            },
            endpoints_[i]->host.c_str(), port.c_str(), &hints);
        if (rc < 0) {
            resolveError_ = "cannot resolve '" + endpoints_[i]->host + "': " + uv_strerror(rc);
            continue;
        }
        r->pending = true;
        ++resolving_;
        resolves_.push_back(std::move(r));
    }
    if (resolving_ == 0) {
        ending_ = true;
        finishWhenClosed();
    }
}

void Engine::onResolved(std::size_t endpoint, int status, addrinfo* result) {
    --resolving_;
    Endpoint& ep = *endpoints_[endpoint];
    if (status < 0) {
        if (status != UV_EAI_CANCELED && resolveError_.empty())
            resolveError_ = "cannot resolve '" + ep.host + "': " + uv_strerror(status);
    } else {
        for (addrinfo* a = result; a != nullptr; a = a->ai_next) {
            if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
            sockaddr_storage s{};
            std::memcpy(&s, a->ai_addr, a->ai_addrlen);
            ep.addresses.push_back(s);
        }
        if (ep.addresses.empty() && resolveError_.empty()) resolveError_ = "'" + ep.host + "' has no IPv4 or IPv6 address";
    }
    uv_freeaddrinfo(result);
    if (resolving_ > 0) return;
    if (!resolveError_.empty() || ending_) {
        ending_ = true;
        finishWhenClosed();
        return;
    }
    run();
}

void Engine::run() {
    started_ = true;
    startNs_ = uv_hrtime();
    schedule_.emplace(plan_.phases);
    if (plan_.model == Plan::Model::open) pool_ = std::make_unique<RatePool>(*this, plan_.connections, plan_.pipelining);
    // Timeouts are checked by one sweep rather than a timer per request: a tenth of the
    // timeout's precision is plenty and the hot path stays free of timer churn.
    const std::uint64_t sweepMs = std::clamp<std::uint64_t>(timeoutNs_ / kMs / 10, 1, 100);
    sweepTimer_ = ctx_.setInterval(sweepMs, [this] {
        const std::uint64_t now = uv_hrtime();
        for (auto& c : connections_) c->checkTimeout(now, timeoutNs_);
    });
    tickTimer_ = ctx_.setInterval(1000, [this] {
        stats_.closeSecond(elapsedS());
        if (onSecond) onSecond();
    });
    if (plan_.durationS) {
        deadlineNs_ = startNs_ + static_cast<std::uint64_t>(*plan_.durationS * 1e9);
        deadlineTimer_ = ctx_.setTimeout(static_cast<std::uint64_t>(*plan_.durationS * 1000), [this] { end(false); });
    }
    onArrivals();
}

// --- arrivals ---------------------------------------------------------------------------------

void Engine::onArrivals() {
    if (ending_) return;
    const std::uint64_t now = uv_hrtime();
    const std::uint64_t elapsed = now - startNs_;
    // The open model sends what falls due within the timer's millisecond now (its latency
    // counts from the actual send then), so the timer's coarseness does not show up as
    // latency; users arrive on the millisecond after theirs, which no figure depends on.
    const std::uint64_t horizon = elapsed + (plan_.model == Plan::Model::open ? kMs : 0);
    std::size_t batch = 0;
    while (auto a = schedule_->peek()) {
        if (a->atNs > horizon) break;
        // Thousands of users at once (-c 5000) start in slices, so the loop reads responses
        // and fires timers in between instead of blocking on a burst of connects.
        if (++batch > kArrivalBatch) {
            arrivalImmediate_ = ctx_.setImmediate([this] { onArrivals(); });
            return;
        }
        schedule_->pop();
        arrive(*a, now);
        if (ending_) return;
    }
    if (auto next = schedule_->peek()) {
        const std::uint64_t wait = next->atNs - elapsed;
        const std::uint64_t ms = plan_.model == Plan::Model::open ? wait / kMs : (wait + kMs - 1) / kMs;
        arrivalTimer_ = ctx_.setTimeout(std::max<std::uint64_t>(ms, 1), [this] { onArrivals(); });
    } else {
        arrivalsOver_ = true;
        checkDone();
    }
}

void Engine::arrive(const ArrivalSchedule::Arrival& a, std::uint64_t nowNs) {
    if (pool_) {
        pool_->arrive(startNs_ + a.atNs, nowNs);
        return;
    }
    const Phase& phase = plan_.phases[a.phase];
    if (phase.maxVusers && activeUsers_ >= *phase.maxVusers) {
        stats_.userSkipped();
        return;
    }
    VirtualUser* user;
    if (idleUsers_.empty()) {
        users_.push_back(std::make_unique<VirtualUser>(*this));
        user = users_.back().get();
    } else {
        user = idleUsers_.back();
        idleUsers_.pop_back();
    }
    ++activeUsers_;
    stats_.userCreated();
    if (plan_.repeat) {
        user->startRepeat(plan_.requests[0], plan_.perUser, plan_.pipelining);
    } else {
        user->startFlow(pickFlow());
    }
}

const Flow& Engine::pickFlow() {
    // nginx's smooth weighted round robin: the mix follows the weights at every scale, and
    // two runs of one file send the same sequence.
    double total = 0;
    std::size_t best = 0;
    for (std::size_t i = 0; i < plan_.flows.size(); ++i) {
        flowCredit_[i] += plan_.flows[i].weight;
        total += plan_.flows[i].weight;
        if (flowCredit_[i] > flowCredit_[best]) best = i;
    }
    flowCredit_[best] -= total;
    return plan_.flows[best];
}

// --- what users and the pool call ---------------------------------------------------------------

bool Engine::recordResponse(const InFlight& done, int status, std::uint64_t nowNs) {
    const std::uint64_t latencyNs = nowNs > done.startNs ? nowNs - done.startNs : 0;
    stats_.recordResponse((latencyNs + 500) / 1000, status);
    // Under a flood of ready sockets libuv polls many times before it runs timers again, so
    // the deadline is also checked here, where the clock is read anyway.
    if (deadlineNs_ != 0 && nowNs >= deadlineNs_) end(false);
    if (done.request->expects(status)) return true;
    stats_.recordError("expect.statusCode");
    return false;
}

void Engine::recordErrors(std::string_view error, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) stats_.recordError(error);
}

Connection* Engine::acquireConnection(ConnectionHandler* handler) {
    Connection* c;
    if (freeConnections_.empty()) {
        connections_.push_back(std::make_unique<Connection>(*this));
        c = connections_.back().get();
    } else {
        c = freeConnections_.back();
        freeConnections_.pop_back();
    }
    c->setHandler(handler);
    return c;
}

void Engine::releaseConnection(Connection* c) {
    c->close();
    c->setHandler(nullptr);
    freeConnections_.push_back(c);
}

void Engine::userFinished(VirtualUser* user, bool failed) {
    if (failed) {
        stats_.userFailed();
    } else {
        stats_.userCompleted();
    }
    --activeUsers_;
    idleUsers_.push_back(user);
    checkDone();
}

void Engine::checkDone() {
    if (ending_ || !started_ || !arrivalsOver_ || activeUsers_ > 0) return;
    if (pool_ && !pool_->idle()) return;
    end(false);
}

// --- ending -----------------------------------------------------------------------------------

void Engine::stop() {
    if (ending_) return;
    if (!started_) {
        // Still resolving: cancel, and report once the resolver calls back.
        interrupted_ = true;
        ending_ = true;
        for (auto& r : resolves_)
            if (r->pending) uv_cancel(reinterpret_cast<uv_req_t*>(&r->req));
        finishWhenClosed();
        return;
    }
    end(true);
}

void Engine::end(bool interrupted) {
    if (ending_) return;
    ending_ = true;
    interrupted_ = interrupted;
    endNs_ = uv_hrtime();
    arrivalTimer_.clear();
    arrivalImmediate_.clear();
    deadlineTimer_.clear();
    sweepTimer_.clear();
    tickTimer_.clear();
    // The last, partial second of the series (a sliver under 50 ms would only add noise).
    const double elapsed = elapsedS();
    const double last = stats_.series().empty() ? 0 : stats_.series().back().endS;
    if (elapsed - last > 0.05 || stats_.series().empty()) stats_.closeSecond(elapsed);
    if (pool_) unfinished_ += pool_->backlog();
    for (auto& u : users_) u->abort();
    for (auto& c : connections_) unfinished_ += c->close();
    finishWhenClosed();
}

void Engine::handleClosed() {
    --openHandles_;
    if (ending_) finishWhenClosed();
}

void Engine::finishWhenClosed() {
    if (reported_ || openHandles_ > 0 || resolving_ > 0) return;
    reported_ = true;
    // From a fresh loop callback: the caller may be deep inside a connection's callback.
    finishImmediate_ = ctx_.setImmediate([this] {
        Outcome o;
        o.error = resolveError_;
        o.interrupted = interrupted_;
        o.durationS = started_ ? static_cast<double>(endNs_ - startNs_) / 1e9 : 0;
        o.unfinished = unfinished_;
        if (done_) done_(o);
    });
}

} // namespace keel::bench
