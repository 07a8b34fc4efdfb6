#pragma once

// One client connection on the kernel's loop: TCP (and TLS through memory BIOs), requests
// queued and written in order, responses parsed by llhttp. It reconnects by itself when it is
// handed a request while closed; it never decides what to send next, its handler does.

#include <llhttp.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "Request.hpp"
#include "Tls.hpp"

namespace keel::bench {

class Engine;
class Connection;

/// A host:port:scheme the run talks to, resolved once before the run starts.
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    bool tls = false;
    std::vector<sockaddr_storage> addresses;
    std::size_t preferred = 0;  // the address connections use
    bool reached = false;       // once one connection succeeded, failures are errors, not fallbacks
    TlsSessionCache sessions;
};

/// A request on a connection, waiting for its response.
struct InFlight {
    const RequestSpec* request = nullptr;
    std::uint64_t startNs = 0;  // the latency clock: scheduled (open model) or issued (closed)
    std::uint64_t sentNs = 0;   // handed to this connection: the timeout clock
};

/// Who decides what a connection sends next: a virtual user, or the open model's pool.
/// Called on the loop thread, from inside the connection's own callbacks.
class ConnectionHandler {
public:
    /// A response completed; its request is no longer in flight.
    virtual void onResponse(Connection& connection, const InFlight& done, int status, std::uint64_t nowNs) = 0;
    /// The connection failed (it is closing); `lost` requests failed with `error`.
    virtual void onFailure(Connection& connection, std::string_view error, std::size_t lost, std::uint64_t nowNs) = 0;

protected:
    ~ConnectionHandler() = default;
};

class Connection {
public:
    explicit Connection(Engine& engine);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    /// Only once closed() (the engine waits for every close callback before it goes).
    ~Connection() = default;

    void setHandler(ConnectionHandler* handler) { handler_ = handler; }

    /// Queues `request`, connecting first when needed. Requests on one connection are
    /// answered in order (HTTP/1.1), so several in flight is pipelining.
    void send(const RequestSpec& request, std::uint64_t startNs, std::uint64_t nowNs);
    std::size_t inFlight() const { return inflight_.size() - head_; }

    /// Closes the connection and drops what is in flight, not counted as failed; returns how
    /// many requests that was. Safe from inside this connection's callbacks.
    std::size_t close();
    /// Fails the connection with ETIMEDOUT when its oldest request (or its connect) has
    /// waited longer than `timeoutNs`.
    void checkTimeout(std::uint64_t nowNs, std::uint64_t timeoutNs);
    /// No libuv handle left open.
    bool closed() const { return state_ == State::closed; }

private:
    enum class State { closed, connecting, handshaking, open, closing };

    static void onConnectCb(uv_connect_t* req, int status);
    static void onReadCb(uv_stream_t* stream, ssize_t n, const uv_buf_t* buf);
    static void onWriteCb(uv_write_t* req, int status);
    static void onCloseCb(uv_handle_t* handle);
    static int onHeadersComplete(llhttp_t* parser);
    static int onMessageComplete(llhttp_t* parser);
    static const llhttp_settings_t* settings();

    void connect();
    void onConnect(int status);
    void stepHandshake();
    void ready();
    void onRead(ssize_t n, const char* data);
    void parse(const char* data, std::size_t n);
    void afterParse(llhttp_errno_t err);
    void handleEof();
    void writeUnsent();
    void flush();
    void onWrite(int status);
    void fail(std::string_view error);
    void closeHandle();
    void onClosed();
    void popFront();

    Engine& engine_;
    ConnectionHandler* handler_ = nullptr;
    uv_tcp_t tcp_{};
    uv_connect_t connectReq_{};
    uv_write_t writeReq_{};
    llhttp_t parser_{};
    State state_ = State::closed;
    std::size_t endpoint_ = 0;
    std::vector<InFlight> inflight_;  // [head_, size) are in flight, oldest first
    std::size_t head_ = 0;
    std::size_t unsent_ = 0;          // how many of the newest are not written yet
    std::string out_;                 // bytes for the socket, gathered while a read is handled
    std::string writing_;             // bytes a pending uv_write owns until its callback
    bool writePending_ = false;
    bool inRead_ = false;
    bool closeAfterRead_ = false;
    bool serverClosing_ = false;      // the last response said Connection: close
    int status_ = 0;
    std::uint64_t answered_ = 0;      // responses completed, ever
    std::uint64_t connectStartNs_ = 0;
    std::unique_ptr<TlsSession> tls_;
};

} // namespace keel::bench
