#pragma once

// One client connection: HTTP/1.x parsed by llhttp, requests fed to the kernel's site
// pipelines (keel_transport_api), responses written back through the transport vtable.
//
// One exchange at a time: once a request has been read, parsing stops until its response
// has ended, so pipelined responses leave in request order and an unread request costs
// nothing but its bytes. A request's head is collected into a pooled buffer that goes back
// to the pool once the kernel has copied it; responses are formatted into a pooled output
// buffer flushed with one try-write (head and body together) once the read is answered, or
// at once when a handler answers later. Bodies stream into the pipeline; when it pauses
// them, reading stops. Deadlines (headers, keep-alive, body idle, write stall) are checked
// by the server's one sweep timer, so an idle connection holds no timer and no buffer.
//
// The read batch: a small read (TLS records too) is not parsed in libuv's read callback
// but left where it was read, in the server's batch arena, and the connection queued.
// Right after the poll phase, in the check phase, the server answers every queued
// connection (one kernel callback each) and then writes all their answers. A loop iteration
// thus makes its reads, its parsing and pipelines, and its writes in three runs instead of
// alternating, and each run's code stays in the caches.
//
// Lifetime: owned by the server's list from accept until its handle's close callback. Calls
// into the kernel (request_begin, request_body, request_abort, request_release) are made
// only from this object's own processing, never from inside a vtable callback; work a
// callback makes necessary runs from runDeferred(). Loop thread only.

#include <keel/abi.h>
#include <llhttp.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string_view>

#include "Server.hpp"
#include "Tls.hpp"

namespace keel::http {

class Listener;

class Connection {
public:
    explicit Connection(ListenerPtr listener);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Accepts the pending connection of `listening`. On failure the object closes itself.
    void accept(uv_stream_t* listening);
    /// Serves a connected stream socket it takes over (the fuzz target's socketpair).
    void adopt(int fd);

    /// The sweep timer's check: a passed deadline closes or answers 408.
    void checkDeadline(std::uint64_t now);
    /// Graceful stop: close now when idle, else after the response in flight (which says
    /// Connection: close).
    void drain();
    /// The process is going down: close now, telling the pipeline a request it holds is gone.
    void closeNow();
    /// Work a vtable callback asked for, run outside of it.
    void runDeferred();

    Listener& listener() const { return *listener_; }

    // The server's intrusive list.
    Connection* prev = nullptr;
    Connection* next = nullptr;
    bool deferred = false;
    // The server's read batch.
    bool batchedRead = false;  // input held for the batch's answering pass
    bool batchedWrite = false; // output held for the batch's write pass
    /// The batch's answering pass: the held read is parsed and answered.
    void answerBatch();
    /// The batch's write pass: the answer goes out.
    void writeBatch();

    static const keel_transport_vtable kTransport;

private:
    enum class Phase : std::uint8_t {
        idle,    // between requests (keep-alive) or before the first
        head,    // reading a request head
        body,    // reading a request body
        waiting, // request read; its response is not finished
        closing, // no more requests: finishing writes, then closing
        closed   // the handle is closing
    };
    enum class Deadline : std::uint8_t { none, headers, keepAlive, bodyIdle, writeStall, linger };

    void start();

    // --- input -------------------------------------------------------------------------
    static void onAlloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
    static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    /// Whether a read may wait for the server's batch.
    bool batchable() const;
    void received(const char* data, std::size_t length);
    /// The read held for the batch.
    void receivedBatch();
    void receivedEnd(int status);
    void pumpTls();
    void feed(const char* data, std::size_t length);
    /// One llhttp_execute over the input; advances it. False when parsing stopped for good.
    bool execute(const char*& data, std::size_t& length);
    void kick();
    bool holding() const;
    /// Whether to keep reading the socket now.
    bool wantsInput() const;
    void hold(const char* data, std::size_t length);
    void resumeInput();
    void startReading();
    void stopReading();

    // --- llhttp ------------------------------------------------------------------------
    static const llhttp_settings_t kParserSettings;
    int onMessageBegin();
    /// Where a piece of the request head is: its offset in the input piece while the head is
    /// all there, else in the head's bytes, where it is copied.
    std::uint32_t keepHeadPiece(const char* at, std::size_t length);
    /// The head goes on past the input piece: what it has so far is copied into its bytes.
    void spillHead();
    const char* headBase() const { return head_->inPiece ? chunkBegin_ : head_->bytes.data(); }
    int onUrl(const char* at, std::size_t length);
    int onHeaderField(const char* at, std::size_t length);
    int onHeaderValue(const char* at, std::size_t length);
    int onHeaderValueComplete();
    int onHeadersComplete();
    int onBody(const char* at, std::size_t length);
    int onMessageComplete();
    /// Refuses the request with `status` (the parser stops; the connection closes after).
    [[gnu::cold]] int refuse(int status, std::string_view code, std::string_view message);
    void parserError(llhttp_errno_t error);

    // --- requests ----------------------------------------------------------------------
    bool beginRequest();
    [[gnu::cold]] bool absoluteFormHost(std::string_view target, std::string_view& host);
    [[gnu::cold]] bool acceptExpect(std::string_view expect, int expects);
    /// The site for a Host the listener has not cached (or the refusal); sets settings_.
    [[gnu::cold]] keel_site* lookUpSite(std::string_view host);
    /// Behind a trusted proxy: the client it forwarded for, and its request id if valid.
    [[gnu::cold]] void behindProxy(const Config& config, std::string_view forwardedFor,
                                   char (&forwarded)[64], std::string_view& client,
                                   std::string_view& requestId);
    [[gnu::cold]] void publishRequest(keel_site* site, std::string_view method,
                                      std::string_view target, std::string_view client,
                                      bool request, bool checkContinue);
    bool headCountsAgainst(std::size_t bytes);
    void respondDirect(int status, std::string_view code, std::string_view message);
    void releaseRequest();
    void abortRequest();
    void finishExchange();
    void settle();
    bool exchangeDone() const;

    // --- vtable side -------------------------------------------------------------------
    void writeHead(keel_request* req, int status, const keel_header* headers, std::size_t count,
                   std::int64_t length);
    int writeBody(const void* data, std::size_t length);
    int sendFile(int fd, std::uint64_t offset, std::uint64_t length);
    void end();
    void pauseBody(bool paused);
    void sendContinue(keel_request* req);
    void reset();

    // --- output ------------------------------------------------------------------------
    Buffer& out();
    void flush();
    void writeRaw(const uv_buf_t* bufs, unsigned count);
    void flushCipher();
    std::size_t queued() const;
    static void onWrite(uv_write_t* req, int status);
    void written(int status);
    void pumpFile();
    void cork(bool on);
    void finishFile(bool complete);

    // --- closing -----------------------------------------------------------------------
    void closeAfterResponse();
    void beginClose();
    static void onShutdown(uv_shutdown_t* req, int status);
    void close();
    static void onClose(uv_handle_t* handle);
    void setDeadline(Deadline kind, std::uint64_t ms);
    keel_ctx* ctx() const;

    uv_tcp_t tcp_{};
    ListenerPtr listener_;
    llhttp_t parser_{};
    std::unique_ptr<TlsSession> tls_;
    HeadScratch* head_ = nullptr; // while a head is read
    Buffer* out_ = nullptr;       // while output waits
    Buffer* pending_ = nullptr;   // input held back while parsing waits
    keel_request* req_ = nullptr;
    SiteSettingsPtr settings_; // the current request's site
    struct File;
    std::unique_ptr<File> file_; // a send_file body being sent

    std::uint64_t deadlineAt_ = 0;
    std::uint64_t startedAt_ = 0; // the request's first byte, for the access log
    std::uint64_t bodyBytesSent_ = 0;
    std::uint64_t contentLeft_ = 0; // Content-Length bytes still owed by the response
    std::uint64_t discarded_ = 0;   // request body bytes read after the response ended
    std::uint32_t headBytes_ = 0;
    std::uint32_t writesInFlight_ = 0;
    int status_ = 0;

    Phase phase_ = Phase::idle;
    Deadline deadline_ = Deadline::none;
    std::uint8_t versionMinor_ = 1;
    std::uint8_t busy_ = 0; // inside our own processing (calls into the kernel)
    bool firstRequest_ : 1 = true;
    bool keepAlive_ : 1 = true;
    bool headRequest_ : 1 = false;
    bool expectsBody_ : 1 = false;
    bool expectContinue_ : 1 = false;
    bool continueSent_ : 1 = false;
    bool messageComplete_ : 1 = false;
    bool responseStarted_ : 1 = false;
    bool responseEnded_ : 1 = false;
    bool chunked_ : 1 = false;
    bool bodyAllowed_ : 1 = true;
    bool knownLength_ : 1 = false;
    bool closeAfter_ : 1 = false;
    bool bodyPaused_ : 1 = false;
    bool reading_ : 1 = false;
    bool peerDone_ : 1 = false; // end of file from the client
    bool corked_ = false; // TCP_CORK held while a file body is sent
    bool broken_ : 1 = false;   // a write failed: the client is gone
    bool waitingDrain_ : 1 = false;
    bool lastWasValue_ : 1 = false;
    bool tailFold_ : 1 = false;     // the input so far ends with LF and blanks (obs-fold check)
    bool parserPaused_ : 1 = false; // paused at the end of its input: kick() it on resume
    bool upgrade_ : 1 = false;
    bool shutdownSent_ : 1 = false;
    bool draining_ : 1 = false;
    bool counted_ : 1 = false;

    std::uint32_t batchOffset_ = 0; // the batched read, in the server's arena
    std::uint32_t batchLength_ = 0;

    // The error a parser callback found (refuse()).
    std::uint16_t refuseStatus_ = 0;
    const char* refuseCode_ = nullptr;
    const char* refuseMessage_ = nullptr;
    const char* chunkBegin_ = nullptr; // the input piece being parsed (obs-fold; head offsets)

    // The peer, as bytes (trusted-proxy checks) and as text (the request's client address).
    std::uint8_t peerFamily_ = 0;
    std::uint8_t peerTextLength_ = 0;
    unsigned char peer_[16] = {};
    char peerText_[46] = {};
};

} // namespace keel::http
