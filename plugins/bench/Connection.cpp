#include "Connection.hpp"

#include "Engine.hpp"

#include <algorithm>

namespace keel::bench {

Connection::Connection(Engine& engine) : engine_(engine) {}

const llhttp_settings_t* Connection::settings() {
    static const llhttp_settings_t s = [] {
        llhttp_settings_t v;
        llhttp_settings_init(&v);
        v.on_headers_complete = &Connection::onHeadersComplete;
        v.on_message_complete = &Connection::onMessageComplete;
        return v;
    }();
    return &s;
}

// --- sending ----------------------------------------------------------------------------------

void Connection::send(const RequestSpec& request, std::uint64_t startNs, std::uint64_t nowNs) {
    // A virtual user whose flow moves to another host reconnects; requests in flight always
    // share one endpoint because users wait for each response.
    if (state_ != State::closed && state_ != State::closing && request.endpoint != endpoint_ && inFlight() == 0) closeHandle();
    inflight_.push_back(InFlight{&request, startNs, nowNs});
    ++unsent_;
    switch (state_) {
    case State::closed:
        endpoint_ = request.endpoint;
        connect();
        break;
    case State::open:
        writeUnsent();
        break;
    default:
        break;  // written once connected, or once the closing handle is reopened
    }
}

void Connection::writeUnsent() {
    if (unsent_ == 0) return;
    const std::size_t first = inflight_.size() - unsent_;
    // The common case, one request and an idle socket: straight from the request's own bytes.
    if (!tls_ && unsent_ == 1 && out_.empty() && !writePending_ && !inRead_) {
        unsent_ = 0;
        const std::string& wire = inflight_[first].request->wire;
        uv_buf_t b = uv_buf_init(const_cast<char*>(wire.data()), static_cast<unsigned>(wire.size()));
        const int r = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
        if (r == static_cast<int>(wire.size())) return;
        if (r < 0 && r != UV_EAGAIN) {
            fail(uv_err_name(r));
            return;
        }
        out_.assign(wire, r > 0 ? static_cast<std::size_t>(r) : 0);
        flush();
        return;
    }
    for (std::size_t i = first; i < inflight_.size(); ++i) {
        const std::string& wire = inflight_[i].request->wire;
        if (tls_) {
            if (!tls_->write(wire)) {
                unsent_ = 0;
                fail("EPROTO");
                return;
            }
        } else {
            out_ += wire;
        }
    }
    unsent_ = 0;
    if (tls_) tls_->drain(out_);
    if (!inRead_) flush();
}

void Connection::flush() {
    if (writePending_ || out_.empty() || (state_ != State::open && state_ != State::handshaking)) return;
    uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
    const int r = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
    if (r == static_cast<int>(out_.size())) {
        out_.clear();
        return;
    }
    if (r < 0 && r != UV_EAGAIN) {
        fail(uv_err_name(r));
        return;
    }
    // The socket is full: the rest goes through a queued write that owns its bytes.
    writing_.assign(out_, r > 0 ? static_cast<std::size_t>(r) : 0);
    out_.clear();
    writePending_ = true;
    writeReq_.data = this;
    uv_buf_t wb = uv_buf_init(writing_.data(), static_cast<unsigned>(writing_.size()));
    const int rc = uv_write(&writeReq_, reinterpret_cast<uv_stream_t*>(&tcp_), &wb, 1, &Connection::onWriteCb);
    if (rc < 0) {
        writePending_ = false;
        fail(uv_err_name(rc));
    }
}

void Connection::onWriteCb(uv_write_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    self->engine_.ctx().makeCallback("write", [&] { self->onWrite(status); });
}

void Connection::onWrite(int status) {
    writePending_ = false;
    writing_.clear();
    if (status == UV_ECANCELED || state_ == State::closing || state_ == State::closed) return;
    if (status < 0) {
        fail(uv_err_name(status));
        return;
    }
    flush();
}

// --- connecting -------------------------------------------------------------------------------

void Connection::connect() {
    Endpoint& ep = engine_.endpoint(endpoint_);
    uv_tcp_init(engine_.loop(), &tcp_);
    tcp_.data = this;
    engine_.handleOpened();
    state_ = State::connecting;
    connectStartNs_ = uv_hrtime();
    serverClosing_ = false;
    closeAfterRead_ = false;
    llhttp_init(&parser_, HTTP_RESPONSE, settings());
    parser_.data = this;
    // Small requests must leave at once, not wait for Nagle.
    uv_tcp_nodelay(&tcp_, 1);
    connectReq_.data = this;
    const auto* addr = reinterpret_cast<const sockaddr*>(&ep.addresses[ep.preferred]);
    const int rc = uv_tcp_connect(&connectReq_, &tcp_, addr, &Connection::onConnectCb);
    if (rc < 0) fail(uv_err_name(rc));
}

void Connection::onConnectCb(uv_connect_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    self->engine_.ctx().makeCallback("connect", [&] { self->onConnect(status); });
}

void Connection::onConnect(int status) {
    if (status == UV_ECANCELED || state_ != State::connecting) return;
    Endpoint& ep = engine_.endpoint(endpoint_);
    if (status < 0) {
        // "localhost" may resolve to ::1 first while the server listens on 127.0.0.1 only:
        // until one connection got through, a refusal moves on to the next address.
        if (!ep.reached && ep.preferred + 1 < ep.addresses.size()) {
            ++ep.preferred;
            closeHandle();  // reopened from onClosed: the requests are still queued
            return;
        }
        fail(uv_err_name(status));
        return;
    }
    ep.reached = true;
    const int rc = uv_read_start(
        reinterpret_cast<uv_stream_t*>(&tcp_),
        [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
            auto* c = static_cast<Connection*>(h->data);
            *buf = uv_buf_init(c->engine_.readBuffer(), static_cast<unsigned>(Engine::kReadBufferSize));
        },
        &Connection::onReadCb);
    if (rc < 0) {
        fail(uv_err_name(rc));
        return;
    }
    if (ep.tls) {
        try {
            tls_ = std::make_unique<TlsSession>(*engine_.tls(), ep.host, ep.sessions);
        } catch (const std::exception&) {
            fail("EPROTO");
            return;
        }
        state_ = State::handshaking;
        stepHandshake();
    } else {
        ready();
    }
}

void Connection::stepHandshake() {
    const TlsSession::Status s = tls_->handshake();
    tls_->drain(out_);
    if (s == TlsSession::Status::failed) {
        fail(tls_->errorClass());
        return;
    }
    flush();
    if (s == TlsSession::Status::done && state_ == State::handshaking) ready();
}

void Connection::ready() {
    state_ = State::open;
    writeUnsent();
}

// --- receiving --------------------------------------------------------------------------------

void Connection::onReadCb(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
    if (n == 0) return;  // EAGAIN: nothing happened
    auto* self = static_cast<Connection*>(stream->data);
    self->engine_.ctx().makeCallback("read", [&] { self->onRead(n, buf->base); });
}

void Connection::onRead(ssize_t n, const char* data) {
    if (state_ == State::closing || state_ == State::closed) return;
    if (n < 0) {
        if (n == UV_EOF) {
            handleEof();
        } else if (inFlight() > 0) {
            fail(uv_err_name(static_cast<int>(n)));
        } else {
            closeHandle();  // an idle keep-alive connection went away: not a request's failure
        }
        return;
    }
    engine_.stats().addBytes(static_cast<std::uint64_t>(n));
    if (!tls_) {
        parse(data, static_cast<std::size_t>(n));
        return;
    }
    tls_->feed(data, static_cast<std::size_t>(n));
    if (state_ == State::handshaking) {
        stepHandshake();
        if (state_ != State::open) return;
    }
    char* plain = engine_.plainBuffer();
    while (state_ == State::open) {
        const long got = tls_->read(plain, Engine::kReadBufferSize);
        if (got > 0) {
            parse(plain, static_cast<std::size_t>(got));
        } else if (got == 0) {
            break;
        } else if (got == -1) {
            handleEof();
            return;
        } else {
            fail("EPROTO");
            return;
        }
    }
    // Reading can make TLS want to answer (key updates, session tickets).
    if (state_ == State::open && tls_) {
        tls_->drain(out_);
        flush();
    }
}

void Connection::parse(const char* data, std::size_t n) {
    inRead_ = true;
    const llhttp_errno_t err = llhttp_execute(&parser_, data, n);
    inRead_ = false;
    afterParse(err);
}

void Connection::afterParse(llhttp_errno_t err) {
    if (closeAfterRead_) {
        closeAfterRead_ = false;
        closeHandle();
        return;
    }
    if (state_ != State::open) return;  // failed from inside a callback
    if (err != HPE_OK && !(err == HPE_PAUSED && serverClosing_)) {
        fail(err == HPE_USER ? "EPROTO" : llhttp_errno_name(err));
        return;
    }
    if (serverClosing_) {
        // The server closes after this response: whatever else is queued (pipelined, or sent
        // by the handler just now) goes again on a new connection.
        unsent_ = inFlight();
        closeHandle();
        return;
    }
    if (unsent_ > 0) {
        writeUnsent();
    } else {
        flush();
    }
}

void Connection::handleEof() {
    // Requests on the wire now; those a handler queues while the last response completes
    // below are only in out_, and go again on a new connection.
    std::size_t owed = inFlight() - unsent_;
    if (llhttp_message_needs_eof(&parser_)) {
        // A response without a length ends with the connection (HTTP/1.0 style).
        const std::uint64_t answered = answered_;
        inRead_ = true;
        const llhttp_errno_t err = llhttp_finish(&parser_);
        inRead_ = false;
        owed -= std::min<std::size_t>(owed, answered_ - answered);
        if (closeAfterRead_) {
            closeAfterRead_ = false;
            closeHandle();
            return;
        }
        if (state_ != State::open) return;
        if (err != HPE_OK && err != HPE_PAUSED) {
            fail(llhttp_errno_name(err));
            return;
        }
    }
    if (owed > 0 && !serverClosing_) {
        // Sent and never answered: Node's "socket hang up".
        fail("ECONNRESET");
        return;
    }
    // Idle, or the last response said the server closes: whatever is queued (pipelined
    // requests included) goes again on a new connection.
    unsent_ = inFlight();
    closeHandle();  // reopened from onClosed when requests are queued
}

int Connection::onHeadersComplete(llhttp_t* parser) {
    auto* c = static_cast<Connection*>(parser->data);
    c->status_ = llhttp_get_status_code(parser);
    // A HEAD response announces a body it does not carry.
    if (c->inFlight() > 0 && c->inflight_[c->head_].request->head) return 1;
    return 0;
}

int Connection::onMessageComplete(llhttp_t* parser) {
    auto* c = static_cast<Connection*>(parser->data);
    if (c->closeAfterRead_) return HPE_PAUSED;
    const int status = c->status_;
    if (status >= 100 && status < 200 && status != 101) return 0;  // interim: the real one follows
    if (c->inFlight() == 0 || c->unsent_ >= c->inFlight()) {
        llhttp_set_error_reason(parser, "a response nobody asked for");
        return HPE_USER;
    }
    const InFlight done = c->inflight_[c->head_];
    c->popFront();
    ++c->answered_;
    if (!llhttp_should_keep_alive(parser)) c->serverClosing_ = true;
    if (c->handler_ != nullptr) c->handler_->onResponse(*c, done, status, uv_hrtime());
    return (c->closeAfterRead_ || c->serverClosing_) ? HPE_PAUSED : 0;
}

void Connection::popFront() {
    ++head_;
    if (head_ == inflight_.size()) {
        inflight_.clear();
        head_ = 0;
    } else if (head_ >= 64 && head_ * 2 >= inflight_.size()) {
        inflight_.erase(inflight_.begin(), inflight_.begin() + static_cast<std::ptrdiff_t>(head_));
        head_ = 0;
    }
}

// --- failing and closing ----------------------------------------------------------------------

void Connection::checkTimeout(std::uint64_t nowNs, std::uint64_t timeoutNs) {
    if (state_ == State::connecting || state_ == State::handshaking) {
        if (nowNs - connectStartNs_ > timeoutNs) fail("ETIMEDOUT");
    } else if (state_ == State::open && inFlight() > 0) {
        if (nowNs > inflight_[head_].sentNs && nowNs - inflight_[head_].sentNs > timeoutNs) fail("ETIMEDOUT");
    }
}

void Connection::fail(std::string_view error) {
    const std::size_t lost = inFlight();
    inflight_.clear();
    head_ = 0;
    unsent_ = 0;
    closeHandle();
    if (handler_ != nullptr && lost > 0) handler_->onFailure(*this, error, lost, uv_hrtime());
}

std::size_t Connection::close() {
    const std::size_t dropped = inFlight();
    inflight_.clear();
    head_ = 0;
    unsent_ = 0;
    if (inRead_) {
        closeAfterRead_ = true;  // llhttp is still walking our buffer
    } else {
        closeHandle();
    }
    return dropped;
}

void Connection::closeHandle() {
    if (state_ == State::closed || state_ == State::closing) return;
    state_ = State::closing;
    out_.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::onCloseCb);
}

void Connection::onCloseCb(uv_handle_t* handle) {
    auto* self = static_cast<Connection*>(handle->data);
    self->engine_.ctx().makeCallback("close", [&] { self->onClosed(); });
}

void Connection::onClosed() {
    state_ = State::closed;
    tls_.reset();
    writing_.clear();
    writePending_ = false;
    closeAfterRead_ = false;
    if (inFlight() > 0) {
        if (engine_.ending()) {
            inflight_.clear();
            head_ = 0;
            unsent_ = 0;
        } else {
            endpoint_ = inflight_[head_].request->endpoint;
            unsent_ = inFlight();
            connect();
        }
    }
    engine_.handleClosed();
}

} // namespace keel::bench
