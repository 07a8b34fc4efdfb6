#include "VirtualUser.hpp"

#include <cmath>

#include "Engine.hpp"

namespace keel::bench {

VirtualUser::VirtualUser(Engine& engine) : engine_(engine) {}

void VirtualUser::begin() {
    active_ = true;
    connection_ = engine_.acquireConnection(this);
}

void VirtualUser::startFlow(const Flow& flow) {
    begin();
    repeat_ = nullptr;
    frames_.clear();
    frames_.push_back(Frame{&flow.steps, 0, std::nullopt, false});
    advance();
}

void VirtualUser::startRepeat(const RequestSpec& request, std::optional<std::uint64_t> count, std::uint32_t depth) {
    begin();
    frames_.clear();
    repeat_ = &request;
    left_ = count;
    depth_ = depth;
    pump(uv_hrtime());
}

void VirtualUser::pump(std::uint64_t nowNs) {
    while (!engine_.ending() && connection_->inFlight() < depth_ && (!left_ || *left_ > 0)) {
        if (left_) --*left_;
        connection_->send(*repeat_, nowNs, nowNs);
    }
    if (connection_->inFlight() == 0) finish(false);
}

void VirtualUser::advance() {
    while (active_) {
        if (engine_.ending() || frames_.empty()) {
            finish(false);
            return;
        }
        Frame& f = frames_.back();
        if (f.index >= f.steps->size()) {
            // A loop without a count runs until the phases are over, then lets its user finish.
            const bool again = f.loop && (f.left ? --*f.left > 0 : !engine_.arrivalsOver());
            if (again && !f.steps->empty()) {
                f.index = 0;
            } else {
                frames_.pop_back();
            }
            continue;
        }
        const Step& step = (*f.steps)[f.index++];
        switch (step.kind) {
        case Step::Kind::request: {
            const std::uint64_t now = uv_hrtime();
            connection_->send(engine_.plan().requests[step.request], now, now);
            return;
        }
        case Step::Kind::think: {
            const auto ms = static_cast<std::uint64_t>(std::llround(step.thinkS * 1000));
            think_ = engine_.ctx().setTimeout(ms, [this] { advance(); });
            return;
        }
        case Step::Kind::loop:
            if (step.count && *step.count == 0) continue;
            frames_.push_back(Frame{&step.steps, 0, step.count, true});  // f is dangling from here
            continue;
        }
    }
}

void VirtualUser::onResponse(Connection&, const InFlight& done, int status, std::uint64_t nowNs) {
    if (!active_) return;
    const bool ok = engine_.recordResponse(done, status, nowNs);
    if (!active_) return;  // that response ended the run
    if (!ok && engine_.plan().stopUserOnError) {
        finish(true);
        return;
    }
    if (repeat_ != nullptr) {
        pump(nowNs);
    } else {
        advance();
    }
}

void VirtualUser::onFailure(Connection&, std::string_view error, std::size_t lost, std::uint64_t nowNs) {
    if (!active_) return;
    engine_.recordErrors(error, lost);
    if (engine_.plan().stopUserOnError) {
        finish(true);
        return;
    }
    if (repeat_ != nullptr) {
        pump(nowNs);
    } else {
        advance();
    }
}

void VirtualUser::finish(bool failed) {
    if (!active_) return;
    active_ = false;
    think_.clear();
    frames_.clear();
    Connection* c = connection_;
    connection_ = nullptr;
    engine_.releaseConnection(c);
    engine_.userFinished(this, failed);
}

void VirtualUser::abort() {
    if (!active_) return;
    active_ = false;
    think_.clear();
    frames_.clear();
    connection_ = nullptr;  // the engine closes every connection itself
}

} // namespace keel::bench
