#include "Connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "Listener.hpp"
#include "Response.hpp"

namespace keel::http {

namespace {

// Output flow control: write_body asks the pipeline to wait above kHighWater bytes queued
// and request_drained tells it to go on below kLowWater.
constexpr std::size_t kHighWater = 64 * 1024;
constexpr std::size_t kLowWater = 16 * 1024;
// Body pieces at least this large are written from the caller's memory (writev with the
// head) instead of being copied into the output buffer first.
constexpr std::size_t kDirectWrite = 16 * 1024;
// Request body bytes read and dropped after an early response (a 404 to a POST) before the
// connection is closed instead: small uploads keep the connection, big ones do not cost us.
constexpr std::uint64_t kDiscardLimit = 64 * 1024;
// How long a closing connection reads (and drops) what the client still sends after our
// FIN, so that the kernel does not answer that data with an RST that could destroy the
// response in the client's receive buffer (nginx's lingering close).
constexpr std::uint64_t kLingerMs = 2000;
// A file body through the write queue: TLS encrypts it in pieces this big. Plain sockets
// use sendfile and queue only a small piece when the socket is full, to be told when it can
// take more: a slow reader costs that piece, not 64 KiB (1,000 slow downloads: 8 MiB).
constexpr std::size_t kFilePiece = 64 * 1024;
constexpr std::size_t kFileWakePiece = 8 * 1024;
// Pipelined bytes read (and held) while a response is being made.
constexpr std::size_t kPipelineHold = 64 * 1024;

struct WriteRequest {
    uv_write_t req;
    Buffer* buffer;
};

bool isBlank(char c) {
    return c == ' ' || c == '\t';
}

// RFC 3986 host (reg-name, IPv4, IP-literal) with an optional port: what may stand in a
// Host header. Anything else (a '/', '@', '\\', a space) is a request smuggling probe.
bool isHostText(std::string_view host) {
    return allIn(kChars.host, host);
}

// A request id a trusted proxy sends is echoed in responses and logs: visible ASCII only.
bool isRequestId(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (char ch : id) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f || ch == '"' || ch == '\\') return false;
    }
    return true;
}

bool parseIp(std::string_view text, int& family, unsigned char* bytes) {
    char buffer[64];
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
    if (text.empty() || text.size() >= sizeof buffer) return false;
    std::memcpy(buffer, text.data(), text.size());
    buffer[text.size()] = '\0';
    if (::inet_pton(AF_INET, buffer, bytes) == 1) {
        family = AF_INET;
        return true;
    }
    if (::inet_pton(AF_INET6, buffer, bytes) == 1) {
        family = AF_INET6;
        return true;
    }
    return false;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && isBlank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isBlank(s.back()))
        s.remove_suffix(1);
    return s;
}

} // namespace

struct Connection::File {
    int fd;
    std::uint64_t offset;
    std::uint64_t left;
    File(int f, std::uint64_t o, std::uint64_t l) : fd(f), offset(o), left(l) {}
    ~File() { ::close(fd); }
    File(const File&) = delete;
    File& operator=(const File&) = delete;
};

// --- the tables ------------------------------------------------------------------------------

const llhttp_settings_t Connection::kParserSettings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = [](llhttp_t* p) {
        return static_cast<Connection*>(p->data)->onMessageBegin();
    };
    s.on_url = [](llhttp_t* p, const char* at, size_t n) {
        return static_cast<Connection*>(p->data)->onUrl(at, n);
    };
    s.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
        return static_cast<Connection*>(p->data)->onHeaderField(at, n);
    };
    s.on_header_value = [](llhttp_t* p, const char* at, size_t n) {
        return static_cast<Connection*>(p->data)->onHeaderValue(at, n);
    };
    s.on_header_value_complete = [](llhttp_t* p) {
        return static_cast<Connection*>(p->data)->onHeaderValueComplete();
    };
    s.on_headers_complete = [](llhttp_t* p) {
        return static_cast<Connection*>(p->data)->onHeadersComplete();
    };
    s.on_body = [](llhttp_t* p, const char* at, size_t n) {
        return static_cast<Connection*>(p->data)->onBody(at, n);
    };
    s.on_message_complete = [](llhttp_t* p) {
        return static_cast<Connection*>(p->data)->onMessageComplete();
    };
    return s;
}();

const keel_transport_vtable Connection::kTransport = {
    sizeof(keel_transport_vtable),
    [](void* conn, keel_request* req, int status, const keel_header* headers, size_t count,
       int64_t length) {
        static_cast<Connection*>(conn)->writeHead(req, status, headers, count, length);
    },
    [](void* conn, keel_request*, const void* data, size_t length) {
        return static_cast<Connection*>(conn)->writeBody(data, length);
    },
    [](void* conn, keel_request*, int fd, uint64_t offset, uint64_t length) {
        return static_cast<Connection*>(conn)->sendFile(fd, offset, length);
    },
    [](void* conn, keel_request*) { static_cast<Connection*>(conn)->end(); },
    [](void* conn, keel_request*, int paused) {
        static_cast<Connection*>(conn)->pauseBody(paused != 0);
    },
    [](void* conn, keel_request* req) { static_cast<Connection*>(conn)->sendContinue(req); },
    [](void* conn, keel_request*) { static_cast<Connection*>(conn)->reset(); },
};

// --- life -----------------------------------------------------------------------------------

Connection::Connection(ListenerPtr listener) : listener_(std::move(listener)) {}

Connection::~Connection() {
    Server& server = Server::get();
    if (head_ != nullptr) server.giveHead(head_);
    server.buffers().give(out_);
    server.buffers().give(pending_);
}

keel_ctx* Connection::ctx() const {
    return listener_->ctx();
}

void Connection::accept(uv_stream_t* listening) {
    Server& server = Server::get();
    uv_tcp_init(server.loop(), &tcp_);
    tcp_.data = this;
    server.add(this);
    ++listener_->connections;
    counted_ = true;
    if (uv_accept(listening, reinterpret_cast<uv_stream_t*>(&tcp_)) != 0) {
        close();
        return;
    }
    start();
}

void Connection::adopt(int fd) {
    Server& server = Server::get();
    uv_tcp_init(server.loop(), &tcp_);
    tcp_.data = this;
    server.add(this);
    ++listener_->connections;
    counted_ = true;
    if (uv_tcp_open(&tcp_, fd) != 0) {
        close();
        return;
    }
    start();
}

void Connection::start() {
    Server& server = Server::get();
    // Over the cap: the connection is closed before it costs more than an accept.
    if (server.connections() > listener_->limits().maxConnections || server.stopping()) {
        close();
        return;
    }
    uv_tcp_nodelay(&tcp_, 1);
    sockaddr_storage peer{};
    int length = sizeof peer;
    if (uv_tcp_getpeername(&tcp_, reinterpret_cast<sockaddr*>(&peer), &length) == 0) {
        if (peer.ss_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&peer);
            peerFamily_ = AF_INET;
            std::memcpy(peer_, &in->sin_addr, 4);
        } else if (peer.ss_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&peer);
            peerFamily_ = AF_INET6;
            std::memcpy(peer_, &in6->sin6_addr, 16);
            // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: show them as IPv4.
            static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
            if (std::memcmp(peer_, kMapped, 12) == 0) {
                peerFamily_ = AF_INET;
                std::memmove(peer_, peer_ + 12, 4);
            }
        }
        if (peerFamily_ != 0 &&
            ::inet_ntop(peerFamily_, peer_, peerText_, sizeof peerText_) != nullptr)
            peerTextLength_ = static_cast<std::uint8_t>(std::strlen(peerText_));
    }
    llhttp_init(&parser_, HTTP_REQUEST, &kParserSettings);
    parser_.data = this;
    if (listener_->tls()) {
        SSL_CTX* tls = listener_->defaultTls();
        if (tls == nullptr) {
            close();
            return;
        }
        tls_ = std::make_unique<TlsSession>(tls, listener_->sni());
    }
    // The first request's head (and a TLS handshake) must arrive within the headers timeout
    // from the accept: a client that connects and says nothing is a slowloris too.
    setDeadline(Deadline::headers, listener_->limits().headersTimeoutMs);
    startReading();
    if (server.wants(ctx(), Server::Topic::connection)) {
        std::string json = "{\"listener\":";
        appendJsonString(json, listener_->address());
        json += ",\"remote\":";
        appendJsonString(json, std::string_view(peerText_, peerTextLength_));
        json += ",\"tls\":";
        json += tls_ ? "true}" : "false}";
        server.publish(ctx(), Server::Topic::connection, json);
    }
}

void Connection::setDeadline(Deadline kind, std::uint64_t ms) {
    deadline_ = kind;
    deadlineAt_ = kind == Deadline::none ? 0 : Server::get().now() + ms;
}

void Connection::checkDeadline(std::uint64_t now) {
    // An idle TLS connection keeps no record buffers (a busy one keeps them: allocating them
    // per record costs more than the whole request).
    if (tls_ && phase_ == Phase::idle && writesInFlight_ == 0) tls_->trim();
    if (deadline_ == Deadline::none || now < deadlineAt_ || phase_ == Phase::closed) return;
    const Deadline kind = deadline_;
    setDeadline(Deadline::none, 0);
    ++busy_;
    switch (kind) {
    case Deadline::headers:
        // Part of a head came, not all of it in time: 408 (slowloris). Nothing came: close.
        if (phase_ == Phase::head && !responseStarted_)
            respondDirect(408, "REQUEST_TIMEOUT", "the request head took too long");
        else
            close();
        break;
    case Deadline::bodyIdle:
        // The client stopped sending its body: the pipeline is told, the client gets 408 if
        // nothing of the response left yet.
        abortRequest();
        if (!responseStarted_)
            respondDirect(408, "REQUEST_TIMEOUT", "the request body stopped arriving");
        else
            close();
        break;
    case Deadline::keepAlive:
    case Deadline::writeStall:
    case Deadline::linger:
    case Deadline::none: close(); break;
    }
    --busy_;
    settle();
}

void Connection::drain() {
    draining_ = true;
    if (phase_ == Phase::closed || phase_ == Phase::closing) return;
    // Idle (between requests, nothing being written): close at once.
    if (phase_ == Phase::idle && req_ == nullptr && writesInFlight_ == 0 &&
        (out_ == nullptr || out_->empty())) {
        close();
        return;
    }
    // In flight: its response says Connection: close (writeHead checks draining_), and the
    // connection closes after it.
    if (!responseStarted_) closeAfter_ = true;
    settle();
}

void Connection::closeNow() {
    busy_ = 0;
    close();
}

void Connection::runDeferred() {
    settle();
}

// --- input ----------------------------------------------------------------------------------

void Connection::startReading() {
    if (reading_ || phase_ == Phase::closed || peerDone_) return;
    if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::onAlloc,
                      &Connection::onRead) == 0)
        reading_ = true;
}

void Connection::stopReading() {
    if (!reading_) return;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
}

void Connection::onAlloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    // Shared memory: each read is parsed (or what must wait is copied) before the read
    // callback returns, or, when it waits for the batch, before the batch ends.
    *buf = Server::get().readSpace(static_cast<Connection*>(handle->data)->batchable());
}

void Connection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Connection*>(stream->data);
    if (nread == 0) return;
    // A small read waits for the batch (see the header), where it was read.
    if (nread > 0 && Server::get().batchRead(c, buf->base, static_cast<std::size_t>(nread),
                                             c->batchOffset_, c->batchLength_))
        return;
    invoke(c->ctx(), "read", [&] {
        // What the batch holds comes first (on POLLHUP, libuv reports the end of file in the
        // same event as the partial read before it).
        if (c->batchedRead) {
            c->batchedRead = false;
            c->receivedBatch();
        }
        if (nread > 0)
            c->received(buf->base, static_cast<std::size_t>(nread));
        else
            c->receivedEnd(static_cast<int>(nread));
    });
}

bool Connection::batchable() const {
    return phase_ != Phase::closing && phase_ != Phase::closed && !shutdownSent_;
}

void Connection::answerBatch() {
    invoke(ctx(), "read", [this] { receivedBatch(); });
}

void Connection::receivedBatch() {
    received(Server::get().batchBytes(batchOffset_), batchLength_);
}

void Connection::writeBatch() {
    flush();
    if (broken_) Server::get().defer(this);
}

void Connection::received(const char* data, std::size_t length) {
    if (phase_ == Phase::closed) return;
    if (shutdownSent_) return; // lingering: what comes now is dropped
    if (tls_) {
        tls_->input(data, length);
        pumpTls();
        return;
    }
    ++busy_;
    feed(data, length);
    --busy_;
    settle();
}

void Connection::pumpTls() {
    ++busy_;
    char* plain = Server::get().plainBuffer();
    while (phase_ != Phase::closed && !holding()) {
        const int n = tls_->read(plain, static_cast<int>(Server::kPlainBufferSize));
        if (n > 0) {
            feed(plain, static_cast<std::size_t>(n));
            // Another SSL_read only when there is something for it (a wasted one costs a
            // pass through OpenSSL's record layer).
            if (tls_->readable()) continue;
            break;
        }
        if (n < 0) {
            if (tls_->failed()) {
                Server::get().log(ctx(), KEEL_LOG_DEBUG,
                                  "TLS error from " + std::string(peerText_, peerTextLength_) +
                                      ": " + tls_->error());
                flushCipher(); // the alert
                close();
            } else {
                receivedEnd(UV_EOF); // close_notify
            }
        }
        break;
    }
    tls_->endInput(); // what OpenSSL did not read yet is kept; the read buffer is reused
    if (phase_ != Phase::closed) flushCipher(); // handshake messages, tickets
    --busy_;
    settle();
}

void Connection::receivedEnd(int status) {
    if (phase_ == Phase::closed) return;
    peerDone_ = true;
    stopReading();
    if (status != UV_EOF || shutdownSent_) {
        close();
        return;
    }
    // The client half-closed. A request it finished sending still gets its response;
    // anything else (between requests, halfway through a request) ends here.
    if (phase_ == Phase::waiting || (phase_ == Phase::closing && writesInFlight_ > 0)) {
        closeAfter_ = true;
        settle();
        return;
    }
    close();
}

bool Connection::holding() const {
    switch (phase_) {
    case Phase::closing:
    case Phase::closed:
    case Phase::waiting: return true;
    case Phase::body: return bodyPaused_ || (responseEnded_ && closeAfter_);
    case Phase::head:
    case Phase::idle: return responseEnded_ && closeAfter_;
    }
    return true;
}

void Connection::hold(const char* data, std::size_t length) {
    if (length == 0) return;
    if (pending_ == nullptr) pending_ = Server::get().buffers().take();
    pending_->append(data, length);
}

void Connection::feed(const char* data, std::size_t length) {
    while (length > 0 && phase_ != Phase::closed) {
        if (holding()) {
            // Parsing waits (the response to this request, or the pipeline's body buffer):
            // the bytes wait too, and reading stops until settle() resumes it.
            if (phase_ != Phase::closing) hold(data, length);
            return;
        }
        if (!execute(data, length)) return;
    }
}

void Connection::kick() {
    // The parser paused exactly at the end of the input it had: what it still has to do
    // without input (the message's end after a body that ended with the piece) runs now.
    parserPaused_ = false;
    static const char kNothing[1] = {0};
    const char* data = kNothing;
    std::size_t length = 0;
    execute(data, length);
}

bool Connection::execute(const char*& data, std::size_t& length) {
    chunkBegin_ = data;
    const llhttp_errno_t error = llhttp_execute(&parser_, data, length);
    std::size_t used = length;
    if (error != HPE_OK) {
        const char* at = llhttp_get_error_pos(&parser_);
        used = at != nullptr && at >= data && at <= data + length
                   ? static_cast<std::size_t>(at - data)
                   : length;
    }
    // Remember whether the input so far ends in a line feed and blanks: a header value that
    // starts the next piece after them is a folded line (see onHeaderValue).
    for (std::size_t i = used; i-- > 0;) {
        if (isBlank(data[i])) continue;
        tailFold_ = data[i] == '\n';
        break;
    }
    // A head that goes on past this piece is gathered before the piece's memory is reused.
    if (head_ != nullptr && head_->inPiece) spillHead();
    data += used;
    length -= used;
    switch (error) {
    case HPE_OK: return true;
    case HPE_PAUSED:
        llhttp_resume(&parser_);
        if (length == 0) parserPaused_ = true;
        return true;
    case HPE_PAUSED_UPGRADE:
        // We do not switch protocols: the request was answered as plain HTTP and the
        // connection closes after it (closeAfter_ was set at its head).
        llhttp_resume_after_upgrade(&parser_);
        return true;
    default: parserError(error); return false;
    }
}

void Connection::resumeInput() {
    if (pending_ != nullptr) {
        Buffer* input = pending_;
        pending_ = nullptr;
        feed(input->data(), input->size());
        Server::get().buffers().give(input);
    }
}

// --- llhttp callbacks ---------------------------------------------------------------------

int Connection::onMessageBegin() {
    phase_ = Phase::head;
    refuseStatus_ = 0;
    if (head_ == nullptr) head_ = Server::get().takeHead();
    head_->clear();
    headBytes_ = 0;
    lastWasValue_ = false;
    startedAt_ = Server::get().now();
    // The first request's clock started at accept; a later one's starts at its first byte.
    if (deadline_ != Deadline::headers)
        setDeadline(Deadline::headers, listener_->limits().headersTimeoutMs);
    return 0;
}

bool Connection::headCountsAgainst(std::size_t bytes) {
    headBytes_ += static_cast<std::uint32_t>(std::min<std::size_t>(bytes, 1u << 30));
    return headBytes_ <= listener_->limits().headerBytes;
}

std::uint32_t Connection::keepHeadPiece(const char* at, std::size_t length) {
    if (head_->inPiece) return static_cast<std::uint32_t>(at - chunkBegin_);
    const auto offset = static_cast<std::uint32_t>(head_->bytes.size());
    head_->bytes.append(at, length);
    return offset;
}

void Connection::spillHead() {
    HeadScratch& head = *head_;
    head.inPiece = false;
    head.bytes.clear();
    // In the order the pieces came, so that the one still open is last and its next piece,
    // appended, continues it.
    auto gather = [&head, this](std::uint32_t& offset, std::uint32_t length) {
        const auto at = static_cast<std::uint32_t>(head.bytes.size());
        head.bytes.append(chunkBegin_ + offset, length);
        offset = at;
    };
    gather(head.urlOffset, head.urlLength);
    for (HeadScratch::Span& span : head.headers) {
        gather(span.nameOffset, span.nameLength);
        gather(span.valueOffset, span.valueLength);
    }
}

int Connection::onUrl(const char* at, std::size_t length) {
    if (head_ == nullptr) return 0;
    if (head_->urlLength + length > listener_->limits().urlBytes)
        return refuse(414, "URI_TOO_LONG", "the request target is longer than this server accepts");
    if (!headCountsAgainst(length))
        return refuse(431, "REQUEST_HEADER_FIELDS_TOO_LARGE",
                      "the request head is larger than this server accepts");
    const std::uint32_t offset = keepHeadPiece(at, length);
    if (head_->urlLength == 0) head_->urlOffset = offset;
    head_->urlLength += static_cast<std::uint32_t>(length);
    return 0;
}

int Connection::onHeaderField(const char* at, std::size_t length) {
    if (!allIn(kChars.token, std::string_view(at, length)))
        return refuse(400, "BAD_REQUEST", "invalid character in a header name");
    const bool fresh = lastWasValue_ || (head_ != nullptr && head_->headers.empty());
    if (!headCountsAgainst(length + (fresh ? 4 : 0)))
        return refuse(431, "REQUEST_HEADER_FIELDS_TOO_LARGE",
                      "the request head is larger than this server accepts");
    if (phase_ != Phase::head || head_ == nullptr) {
        lastWasValue_ = false; // a trailer: counted, not kept
        return 0;
    }
    if (fresh) {
        if (head_->headers.size() >= listener_->limits().headerCount)
            return refuse(431, "REQUEST_HEADER_FIELDS_TOO_LARGE",
                          "the request has more header fields than this server accepts");
        head_->headers.push_back(HeadScratch::Span{0, 0, 0, 0});
        lastWasValue_ = false;
    }
    const std::uint32_t offset = keepHeadPiece(at, length);
    HeadScratch::Span& span = head_->headers.back();
    if (span.nameLength == 0) span.nameOffset = offset;
    span.nameLength += static_cast<std::uint32_t>(length);
    return 0;
}

int Connection::onHeaderValue(const char* at, std::size_t length) {
    if (length > 0) {
        // obs-fold (a value continued on a line starting with a blank) is refused: llhttp
        // 8 accepts it, and proxies disagree about what it means. The continuation is the
        // only value piece preceded, past any blanks, by a line feed.
        const char* p = at;
        while (p > chunkBegin_ && isBlank(p[-1]))
            --p;
        const bool folded = p > chunkBegin_ ? p[-1] == '\n' : tailFold_;
        if (folded) return refuse(400, "BAD_REQUEST", "obsolete line folding in a header value");
    }
    if (!headCountsAgainst(length))
        return refuse(431, "REQUEST_HEADER_FIELDS_TOO_LARGE",
                      "the request head is larger than this server accepts");
    if (phase_ != Phase::head || head_ == nullptr || head_->headers.empty()) return 0;
    lastWasValue_ = true;
    const std::uint32_t offset = keepHeadPiece(at, length);
    HeadScratch::Span& span = head_->headers.back();
    if (span.valueLength == 0) span.valueOffset = offset;
    span.valueLength += static_cast<std::uint32_t>(length);
    return 0;
}

int Connection::onHeaderValueComplete() {
    lastWasValue_ = true;
    if (phase_ != Phase::head || head_ == nullptr || head_->headers.empty()) return 0;
    // llhttp drops leading blanks; trailing ones are ours to drop (RFC 9110 OWS).
    HeadScratch::Span& span = head_->headers.back();
    const char* bytes = headBase();
    while (span.valueLength > 0 && isBlank(bytes[span.valueOffset + span.valueLength - 1]))
        --span.valueLength;
    return 0;
}

int Connection::onHeadersComplete() {
    if (phase_ != Phase::head || head_ == nullptr) return 0;
    if (!beginRequest()) return HPE_USER;
    return holding() ? HPE_PAUSED : 0;
}

int Connection::onBody(const char* at, std::size_t length) {
    // llhttp reports empty spans (after a pause); to the kernel, an empty piece means "end".
    if (length == 0) return 0;
    if (settings_) setDeadline(Deadline::bodyIdle, settings_->config.limits.bodyIdleTimeoutMs);
    if (req_ != nullptr && !responseEnded_) {
        ++busy_;
        Server::get().transport()->request_body(req_, at, length);
        --busy_;
        if (responseEnded_) releaseRequest();
    } else {
        discarded_ += length;
        if (discarded_ > kDiscardLimit) {
            // Too much to drop: close once the response is out (it says so, or is complete).
            closeAfter_ = true;
            if (responseEnded_) phase_ = Phase::closing;
        }
    }
    return holding() ? HPE_PAUSED : 0;
}

int Connection::onMessageComplete() {
    messageComplete_ = true;
    if (req_ != nullptr && !responseEnded_) {
        ++busy_;
        Server::get().transport()->request_body(req_, nullptr, 0);
        --busy_;
        if (responseEnded_) releaseRequest();
    }
    if (phase_ == Phase::closing || phase_ == Phase::closed) return HPE_PAUSED;
    phase_ = Phase::waiting;
    if (deadline_ == Deadline::bodyIdle || deadline_ == Deadline::headers)
        setDeadline(Deadline::none, 0);
    if (exchangeDone()) finishExchange();
    return holding() ? HPE_PAUSED : 0;
}

int Connection::refuse(int status, std::string_view code, std::string_view message) {
    refuseStatus_ = static_cast<std::uint16_t>(status);
    refuseCode_ = code.data(); // static strings
    refuseMessage_ = message.data();
    return HPE_USER;
}

void Connection::parserError(llhttp_errno_t error) {
    int status = 400;
    std::string_view code = "BAD_REQUEST";
    std::string_view message;
    // A callback's own refusal (llhttp reports it as HPE_USER, or as HPE_CB_HEADERS_COMPLETE
    // when on_headers_complete refused).
    if (refuseStatus_ != 0) {
        status = refuseStatus_;
        code = refuseCode_;
        message = refuseMessage_;
    } else {
        switch (error) {
        case HPE_INVALID_METHOD: message = "unknown request method"; break;
        case HPE_INVALID_URL: message = "invalid request target"; break;
        case HPE_INVALID_VERSION: message = "invalid HTTP version"; break;
        case HPE_INVALID_HEADER_TOKEN: message = "invalid character in a header"; break;
        case HPE_INVALID_CONTENT_LENGTH: message = "invalid Content-Length"; break;
        case HPE_UNEXPECTED_CONTENT_LENGTH:
            message = "conflicting Content-Length or Transfer-Encoding";
            break;
        case HPE_INVALID_TRANSFER_ENCODING: message = "invalid Transfer-Encoding"; break;
        case HPE_INVALID_CHUNK_SIZE: message = "invalid chunk size"; break;
        case HPE_CR_EXPECTED:
        case HPE_LF_EXPECTED:
        case HPE_STRICT: message = "malformed line ending"; break;
        default: message = "malformed request"; break;
        }
    }
    Server::get().log(ctx(), KEEL_LOG_DEBUG,
                      "refused a request from " + std::string(peerText_, peerTextLength_) + ": " +
                          std::to_string(status) + " " + std::string(message) + " (" +
                          llhttp_errno_name(error) + ")");
    // The pipeline holding a request whose body turned out malformed is told it is gone.
    abortRequest();
    if (!responseStarted_)
        respondDirect(status, code, message);
    else {
        closeAfter_ = true;
        phase_ = Phase::closing;
    }
}

// --- requests --------------------------------------------------------------------------------

bool Connection::beginRequest() {
    Server& server = Server::get();
    const keel_transport_api* transport = server.transport();
    if (parser_.http_major != 1) {
        refuse(505, "HTTP_VERSION_NOT_SUPPORTED", "only HTTP/1.0 and HTTP/1.1 are served");
        return false;
    }
    versionMinor_ = parser_.http_minor == 0 ? 0 : 1;
    const char* bytes = headBase();
    const std::string_view target(bytes + head_->urlOffset, head_->urlLength);

    // The headers the transport itself reads.
    std::string_view host;
    std::string_view expect;
    std::string_view forwardedFor;
    std::string_view requestId;
    int hosts = 0;
    int expects = 0;
    head_->view.clear();
    head_->view.reserve(head_->headers.size());
    for (const auto& span : head_->headers) {
        const std::string_view name(bytes + span.nameOffset, span.nameLength);
        const std::string_view value(bytes + span.valueOffset, span.valueLength);
        head_->view.push_back(
            keel_header{{name.data(), name.size()}, {value.data(), value.size()}});
        switch (name.size()) {
        case 4:
            if (equalsIgnoreCase(name, "host")) {
                host = value;
                ++hosts;
            }
            break;
        case 6:
            if (equalsIgnoreCase(name, "expect")) {
                expect = value;
                ++expects;
            }
            break;
        case 12:
            if (equalsIgnoreCase(name, "x-request-id")) requestId = value;
            break;
        case 15:
            if (equalsIgnoreCase(name, "x-forwarded-for")) forwardedFor = value;
            break;
        default: break;
        }
    }
    if (hosts > 1) {
        refuse(400, "BAD_REQUEST", "more than one Host header");
        return false;
    }
    if (hosts == 0 && versionMinor_ == 1) {
        refuse(400, "BAD_REQUEST", "an HTTP/1.1 request needs a Host header");
        return false;
    }
    // Absolute form ("http://example.com/p"): its authority names the host (RFC 9112 3.2.2).
    if (!target.empty() && target.front() != '/' && !absoluteFormHost(target, host)) return false;
    if (!isHostText(host)) {
        refuse(400, "BAD_REQUEST", "invalid Host");
        return false;
    }
    keepAlive_ = llhttp_should_keep_alive(&parser_) != 0;
    headRequest_ = parser_.method == HTTP_HEAD;
    const bool chunked = (parser_.flags & F_CHUNKED) != 0;
    const bool hasLength = (parser_.flags & F_CONTENT_LENGTH) != 0;
    // A request's Transfer-Encoding must end in chunked (RFC 9112 6.3): llhttp refuses
    // the others only once the body starts, after the pipeline would have run.
    if ((parser_.flags & F_TRANSFER_ENCODING) != 0 && !chunked) {
        refuse(400, "BAD_REQUEST", "a request's Transfer-Encoding must end with chunked");
        return false;
    }
    const std::int64_t contentLength =
        chunked ? -1 : (hasLength ? static_cast<std::int64_t>(parser_.content_length) : 0);
    expectsBody_ = chunked || contentLength > 0;
    // HTTP/1.0 clients' Expect is ignored (RFC 9110 10.1.1); 1.1 ones get 417 for anything
    // but 100-continue.
    if (expects > 0 && versionMinor_ == 1 && !acceptExpect(expect, expects)) return false;
    // An Upgrade or CONNECT is answered as plain HTTP; what the client sends after it may
    // not be HTTP, so the connection ends with that response.
    if (parser_.upgrade) closeAfter_ = true;

    // The site: the Host named exactly, else the address's default unless its site asks
    // for 421 or 404 on unknown names.
    keel_site* site = nullptr;
    if (!listener_->cachedSite(host, server.generation(), site, settings_) &&
        (site = lookUpSite(host)) == nullptr)
        return false;
    const Config& config = settings_->config;

    // Behind a trusted proxy, the client is the nearest untrusted address it forwarded for,
    // and the proxy's request id is kept.
    std::string_view client(peerText_, peerTextLength_);
    char forwarded[64];
    if (!config.trustedProxies.empty() && config.trusts(peerFamily_, peer_))
        behindProxy(config, forwardedFor, forwarded, client, requestId);
    else
        requestId = {};
    // Ours, not the kernel's: formatting them here is cheaper than its snprintf.
    if (requestId.empty()) requestId = server.nextRequestId();

    const char* method = llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
    const std::string_view methodView(method);
    const keel_request_info info{sizeof(keel_request_info),
                                 {method, methodView.size()},
                                 {target.data(), target.size()},
                                 head_->view.data(),
                                 head_->view.size(),
                                 {client.data(), client.size()},
                                 {requestId.data(), requestId.size()},
                                 contentLength,
                                 expectContinue_ ? 1 : 0};
    const bool wantsRequest = server.wants(ctx(), Server::Topic::request);
    const bool wantsContinue = expectContinue_ && server.wants(ctx(), Server::Topic::checkContinue);
    if (wantsRequest || wantsContinue)
        publishRequest(site, methodView, target, client, wantsRequest, wantsContinue);

    phase_ = Phase::body;
    headBytes_ = 0; // trailers count afresh
    if (expectsBody_)
        setDeadline(Deadline::bodyIdle, config.limits.bodyIdleTimeoutMs);
    else
        setDeadline(Deadline::none, 0);
    ++busy_;
    keel_request* req = transport->request_begin(ctx(), site, &info, &kTransport, this);
    --busy_;
    req_ = req;
    // The kernel copied what it keeps: the head's memory goes back to the pool.
    server.giveHead(head_);
    head_ = nullptr;
    if (responseEnded_) releaseRequest();
    return true;
}

// The rare parts of a request head, out of beginRequest's way (cold: laid out apart from
// the path every request takes).

bool Connection::absoluteFormHost(std::string_view target, std::string_view& host) {
    if (target == "*") return true;
    const auto scheme = target.find("://");
    if (scheme == std::string_view::npos) {
        refuse(400, "BAD_REQUEST", "the request target is neither a path nor an absolute URI");
        return false;
    }
    std::string_view authority = target.substr(scheme + 3);
    authority = authority.substr(0, authority.find_first_of("/?#"));
    if (authority.find('@') != std::string_view::npos) {
        refuse(400, "BAD_REQUEST", "user information in the request target");
        return false;
    }
    host = authority;
    return true;
}

bool Connection::acceptExpect(std::string_view expect, int expects) {
    if (expects > 1 || !equalsIgnoreCase(trim(expect), "100-continue")) {
        refuse(417, "EXPECTATION_FAILED", "only Expect: 100-continue is understood");
        return false;
    }
    expectContinue_ = expectsBody_;
    return true;
}

keel_site* Connection::lookUpSite(std::string_view host) {
    Server& server = Server::get();
    const keel_transport_api* transport = server.transport();
    const keel_str address{listener_->address().data(), listener_->address().size()};
    const keel_str hostStr{host.data(), host.size()};
    if (keel_site* site = transport->site_for(ctx(), address, hostStr, 1); site != nullptr) {
        const keel_str name = transport->site_name(site);
        settings_ = server.settingsFor(std::string_view(name.ptr, name.len));
        if (!settings_) settings_ = listener_->defaults();
        listener_->rememberSite(host, server.generation(), site, settings_);
        return site;
    }
    keel_site* fallback = transport->site_for(ctx(), address, hostStr, 0);
    SiteSettingsPtr fallbackSettings;
    if (fallback != nullptr) {
        const keel_str name = transport->site_name(fallback);
        fallbackSettings = server.settingsFor(std::string_view(name.ptr, name.len));
    }
    const UnknownHost policy =
        (fallbackSettings ? fallbackSettings : listener_->defaults())->config.unknownHost;
    if (fallback == nullptr || policy == UnknownHost::misdirected) {
        refuse(421, "MISDIRECTED_REQUEST", "no site here answers for this host");
        return nullptr;
    }
    if (policy == UnknownHost::notFound) {
        refuse(404, "NOT_FOUND", "no site here answers for this host");
        return nullptr;
    }
    settings_ = fallbackSettings ? fallbackSettings : listener_->defaults();
    return fallback;
}

void Connection::behindProxy(const Config& config, std::string_view forwardedFor,
                             char (&forwarded)[64], std::string_view& client,
                             std::string_view& requestId) {
    std::string_view rest = forwardedFor;
    while (!rest.empty()) {
        const auto comma = rest.rfind(',');
        const std::string_view item =
            trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        int family = 0;
        unsigned char ip[16];
        if (!parseIp(item, family, ip)) break; // garbage: stop at the last good hop
        if (::inet_ntop(family, ip, forwarded, sizeof forwarded) != nullptr) client = forwarded;
        if (!config.trusts(family, ip)) break;
    }
    requestId = trim(requestId);
    if (!isRequestId(requestId)) requestId = {};
}

void Connection::publishRequest(keel_site* site, std::string_view method, std::string_view target,
                                std::string_view client, bool request, bool checkContinue) {
    Server& server = Server::get();
    const keel_str siteName = server.transport()->site_name(site);
    std::string json = "{\"site\":";
    appendJsonString(json, std::string_view(siteName.ptr, siteName.len));
    json += ",\"method\":";
    appendJsonString(json, method);
    json += ",\"target\":";
    appendJsonString(json, target);
    json += ",\"remote\":";
    appendJsonString(json, client);
    json += "}";
    if (checkContinue) server.publish(ctx(), Server::Topic::checkContinue, json);
    if (request) server.publish(ctx(), Server::Topic::request, json);
}

void Connection::respondDirect(int status, std::string_view code, std::string_view message) {
    Server& server = Server::get();
    formatError(out(), status, code, message, server.clock().dateLine(server.now()));
    responseStarted_ = true;
    responseEnded_ = true;
    closeAfter_ = true;
    status_ = status;
    phase_ = Phase::closing;
}

void Connection::releaseRequest() {
    if (req_ == nullptr) return;
    keel_request* req = req_;
    req_ = nullptr;
    Server& server = Server::get();
    if (settings_ && settings_->accessLog) {
        const keel_request_api* api = server.host()->request;
        auto header = [&](const char* name) {
            keel_str value{nullptr, 0};
            return api->header(req, keel_str{name, std::strlen(name)}, 0, &value) == 0
                       ? std::string_view(value.ptr, value.len)
                       : std::string_view();
        };
        const auto view = [](keel_str s) { return std::string_view(s.ptr, s.len); };
        AccessEntry entry;
        entry.remote = view(api->client_address(req));
        entry.method = view(api->method(req));
        entry.target = view(api->target(req));
        entry.versionMinor = versionMinor_;
        // 499 (nginx's word): the client went away before a response could start.
        entry.status = responseStarted_ ? status_ : 499;
        entry.bytes = bodyBytesSent_;
        entry.referer = header("referer");
        entry.userAgent = header("user-agent");
        entry.requestId = view(api->id(req));
        entry.site = settings_->site;
        entry.durationMs = server.now() - startedAt_;
        AccessLog& log = *settings_->accessLog;
        const std::uint64_t now = server.now();
        log.write(entry, log.format() == AccessLogConfig::Format::json
                             ? server.clock().isoTime(now)
                             : server.clock().logTime(now));
        if (log.pending()) server.logsPending();
    }
    server.transport()->request_release(req);
}

void Connection::abortRequest() {
    if (req_ == nullptr) return;
    if (!responseEnded_) {
        ++busy_;
        Server::get().transport()->request_abort(req_);
        --busy_;
    }
    releaseRequest();
}

bool Connection::exchangeDone() const {
    return phase_ == Phase::waiting && responseEnded_ && req_ == nullptr && !file_;
}

void Connection::finishExchange() {
    const std::uint64_t keepAliveMs = settings_ ? settings_->config.limits.keepaliveTimeoutMs
                                                : listener_->limits().keepaliveTimeoutMs;
    settings_.reset();
    firstRequest_ = false;
    messageComplete_ = false;
    responseStarted_ = false;
    responseEnded_ = false;
    chunked_ = false;
    bodyAllowed_ = true;
    knownLength_ = false;
    headRequest_ = false;
    expectsBody_ = false;
    expectContinue_ = false;
    continueSent_ = false;
    bodyPaused_ = false;
    waitingDrain_ = false;
    discarded_ = 0;
    bodyBytesSent_ = 0;
    contentLeft_ = 0;
    status_ = 0;
    if (closeAfter_ || draining_ || peerDone_ || Server::get().stopping() || keepAliveMs == 0) {
        phase_ = Phase::closing;
        return;
    }
    phase_ = Phase::idle;
    setDeadline(Deadline::keepAlive, keepAliveMs);
}

void Connection::settle() {
    if (busy_ > 0 || phase_ == Phase::closed) return;
    ++busy_;
    for (int round = 0; round < 1024 && phase_ != Phase::closed; ++round) {
        if (broken_) {
            close();
            break;
        }
        if (req_ != nullptr && responseEnded_) releaseRequest();
        if (responseEnded_ && closeAfter_ && !file_ && phase_ != Phase::closing) {
            abortRequest();
            phase_ = Phase::closing;
        }
        if (exchangeDone()) finishExchange();
        if (phase_ == Phase::closing || holding()) {
            // Output may finish a file body, which may finish the exchange: look again.
            const bool hadFile = file_ != nullptr;
            flush();
            if (hadFile && !file_ && phase_ != Phase::closed) continue;
            break;
        }
        if (pending_ != nullptr) {
            resumeInput();
            continue;
        }
        if (parserPaused_) {
            kick();
            continue;
        }
        if (tls_ && tls_->readable()) {
            // Records OpenSSL decrypted but parsing was not ready for.
            char* plain = Server::get().plainBuffer();
            const int n = tls_->read(plain, static_cast<int>(Server::kPlainBufferSize));
            if (n > 0) {
                feed(plain, static_cast<std::size_t>(n));
                continue;
            }
        }
        break;
    }
    if (phase_ != Phase::closed) {
        // In the batch's answering pass, an answer (not a file) waits for the write pass.
        const bool waits = out_ != nullptr && !out_->empty() && !file_ &&
                           phase_ != Phase::closing && Server::get().batchWrite(this);
        if (!waits) flush();
        if (phase_ == Phase::closing) {
            if (!file_) beginClose();
        } else if (wantsInput()) {
            startReading();
        } else {
            stopReading();
        }
    }
    --busy_;
}

bool Connection::wantsInput() const {
    switch (phase_) {
    case Phase::idle:
    case Phase::head: return true;
    case Phase::body:
        // The pipeline's body buffer is full: the client waits (TCP backpressure).
        return !bodyPaused_;
    case Phase::waiting: {
        // While the response is made, reading goes on so that a client going away is seen
        // (and the step holding its request told); what it pipelines meanwhile waits, up to
        // a bound.
        std::size_t held = pending_ != nullptr ? pending_->size() : 0;
        if (tls_) held += tls_->buffered();
        return !peerDone_ && held < kPipelineHold;
    }
    case Phase::closing:
    case Phase::closed: return false;
    }
    return false;
}

// --- the pipeline's side (keel_transport_vtable) -------------------------------------------

void Connection::writeHead(keel_request* req, int status, const keel_header* headers,
                           std::size_t count, std::int64_t length) {
    if (req_ == nullptr) req_ = req;
    if (phase_ == Phase::closed || responseStarted_) return;
    Server& server = Server::get();
    bool close = closeAfter_ || !keepAlive_ || draining_ || server.stopping();
    if (expectsBody_ && !messageComplete_) {
        // Answered before the body arrived: a client still waiting for 100 may not send it
        // at all, and a large remainder is not worth reading to keep the connection.
        if (expectContinue_ && !continueSent_)
            close = true;
        else if ((parser_.flags & F_CHUNKED) == 0 && parser_.content_length > kDiscardLimit)
            close = true;
    }
    HeadSpec spec;
    spec.status = status;
    spec.versionMinor = versionMinor_;
    spec.contentLength = length;
    spec.head = headRequest_;
    spec.close = close;
    if (settings_ && settings_->config.echoRequestId) {
        const keel_str id = server.host()->request->id(req);
        spec.requestId = std::string_view(id.ptr, id.len);
    }
    const HeadResult result =
        formatHead(out(), spec, headers, count, server.clock().dateLine(server.now()));
    responseStarted_ = true;
    status_ = status;
    bodyAllowed_ = result.bodyAllowed;
    chunked_ = result.chunked && result.bodyAllowed;
    closeAfter_ = result.close;
    knownLength_ = result.bodyAllowed && !result.chunked && length >= 0;
    contentLeft_ = knownLength_ ? static_cast<std::uint64_t>(length) : 0;
    if (result.dropped > 0)
        server.log(ctx(), KEEL_LOG_WARN,
                   "dropped " + std::to_string(result.dropped) +
                       " response header(s) whose name or value could split the response (status " +
                       std::to_string(status) + ")");
}

int Connection::writeBody(const void* data, std::size_t length) {
    if (phase_ == Phase::closed || broken_ || !bodyAllowed_ || length == 0) return 0;
    if (knownLength_) {
        // More than the announced length would be read as the next response: cut it.
        if (length > contentLeft_) {
            length = static_cast<std::size_t>(contentLeft_);
            closeAfter_ = true;
            if (length == 0) return 0;
        }
        contentLeft_ -= length;
    }
    bodyBytesSent_ += length;
    Buffer& o = out();
    if (chunked_) formatChunkHeader(o, length);
    if (length >= kDirectWrite) {
        if (tls_) {
            tls_->write(o.data(), o.size());
            o.clear();
            tls_->write(data, length);
            if (chunked_) tls_->write("\r\n", 2);
            flushCipher();
        } else {
            uv_buf_t bufs[3] = {uv_buf_init(o.data(), static_cast<unsigned>(o.size())),
                                uv_buf_init(const_cast<char*>(static_cast<const char*>(data)),
                                            static_cast<unsigned>(length)),
                                uv_buf_init(const_cast<char*>("\r\n"), 2)};
            writeRaw(bufs, chunked_ ? 3 : 2);
            o.clear();
        }
    } else {
        o.append(data, length);
        if (chunked_) o.append("\r\n", 2);
        // Inside our own processing the flush comes at its end; from a handler's own
        // callback (streaming later) it is now.
        if (busy_ == 0 || o.size() >= kHighWater) flush();
    }
    if (broken_ && busy_ == 0) Server::get().defer(this);
    if (queued() > kHighWater) {
        waitingDrain_ = true;
        return 1;
    }
    return 0;
}

int Connection::sendFile(int fd, std::uint64_t offset, std::uint64_t length) {
    if (phase_ == Phase::closed || broken_ || !bodyAllowed_ || length == 0) {
        ::close(fd);
        return phase_ == Phase::closed || broken_ ? -ECANCELED : 0;
    }
    if (knownLength_) {
        if (length > contentLeft_) length = contentLeft_;
        contentLeft_ -= length;
    }
    bodyBytesSent_ += length;
    if (chunked_) formatChunkHeader(out(), static_cast<std::size_t>(length));
    file_ = std::make_unique<File>(fd, offset, length);
    return 0;
}

void Connection::end() {
    if (phase_ == Phase::closed || responseEnded_) return;
    if (file_ && chunked_) {
        // The chunk's end follows the file (pumpFile appends it).
    } else if (chunked_) {
        out().append("0\r\n\r\n", 5);
    }
    // A body shorter than its Content-Length would leave the client waiting for the rest.
    if (knownLength_ && contentLeft_ > 0) closeAfter_ = true;
    responseEnded_ = true;
    if (busy_ == 0) {
        // Answered later, from a handler's callback: out now, the rest outside the kernel.
        flush();
        Server::get().defer(this);
    }
}

void Connection::pauseBody(bool paused) {
    if (bodyPaused_ == paused) return;
    bodyPaused_ = paused;
    if (busy_ > 0) return; // the parser sees the flag when the kernel call returns
    if (paused)
        stopReading();
    else
        Server::get().defer(this);
}

void Connection::sendContinue(keel_request* req) {
    if (continueSent_ || responseStarted_ || phase_ == Phase::closed || !expectContinue_) return;
    // The kernel asks as soon as a step reads the body, even when the announced length is
    // over the route's limit: no 100 then (a client that sends anyway gets the kernel's 413).
    if (Server::get().transport()->request_wants_body(req) == 0) return;
    continueSent_ = true;
    out().append("HTTP/1.1 100 Continue\r\n\r\n");
    flush(); // the client is waiting for it
    if (settings_) setDeadline(Deadline::bodyIdle, settings_->config.limits.bodyIdleTimeoutMs);
}

void Connection::reset() {
    if (phase_ == Phase::closed) return;
    // The response cannot be completed: what was sent goes out, then the connection closes
    // without the final chunk, so the client sees a truncated response.
    responseEnded_ = true;
    closeAfter_ = true;
    file_.reset();
    if (busy_ == 0) {
        flush();
        Server::get().defer(this);
    }
}

// --- output -------------------------------------------------------------------------------

Buffer& Connection::out() {
    if (out_ == nullptr) out_ = Server::get().buffers().take();
    return *out_;
}

std::size_t Connection::queued() const {
    return tcp_.write_queue_size + (out_ != nullptr ? out_->size() : 0);
}

void Connection::flush() {
    if (phase_ == Phase::closed) return;
    if (file_ && !tls_ && !corked_) cork(true);
    if (out_ != nullptr && !out_->empty() && !broken_) {
        if (tls_) {
            tls_->write(out_->data(), out_->size());
            out_->clear();
            flushCipher();
        } else {
            uv_buf_t buf = uv_buf_init(out_->data(), static_cast<unsigned>(out_->size()));
            writeRaw(&buf, 1);
            out_->clear();
        }
    }
    if (out_ != nullptr && out_->empty()) {
        Server::get().buffers().give(out_);
        out_ = nullptr;
    }
    if (file_) pumpFile();
}

void Connection::flushCipher() {
    if (!tls_ || phase_ == Phase::closed) return;
    const std::string_view cipher = tls_->cipher();
    if (cipher.empty()) return;
    uv_buf_t buf =
        uv_buf_init(const_cast<char*>(cipher.data()), static_cast<unsigned>(cipher.size()));
    writeRaw(&buf, 1);
    tls_->clearCipher();
}

void Connection::writeRaw(const uv_buf_t* bufs, unsigned count) {
    if (broken_ || phase_ == Phase::closed) return;
    std::size_t total = 0;
    for (unsigned i = 0; i < count; ++i)
        total += bufs[i].len;
    if (total == 0) return;
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    // Straight to the socket when it takes it (the common case: one writev per response);
    // libuv refuses (EAGAIN) while earlier writes are queued, which keeps the order.
    int written = uv_try_write(stream, bufs, count);
    if (written == UV_EAGAIN || written == UV_ENOSYS) written = 0;
    if (written < 0) {
        broken_ = true;
        return;
    }
    if (static_cast<std::size_t>(written) == total) return;
    // The rest is copied (the caller's memory is only borrowed) and queued.
    auto* request = new WriteRequest;
    request->buffer = Server::get().buffers().take();
    std::size_t skip = static_cast<std::size_t>(written);
    for (unsigned i = 0; i < count; ++i) {
        if (skip >= bufs[i].len) {
            skip -= bufs[i].len;
            continue;
        }
        request->buffer->append(bufs[i].base + skip, bufs[i].len - skip);
        skip = 0;
    }
    request->req.data = this;
    uv_buf_t rest =
        uv_buf_init(request->buffer->data(), static_cast<unsigned>(request->buffer->size()));
    if (uv_write(&request->req, stream, &rest, 1, &Connection::onWrite) != 0) {
        Server::get().buffers().give(request->buffer);
        delete request;
        broken_ = true;
        return;
    }
    ++writesInFlight_;
    if (deadline_ == Deadline::none || deadline_ == Deadline::keepAlive) {
        const std::uint64_t ms = settings_ ? settings_->config.limits.bodyIdleTimeoutMs
                                           : listener_->limits().bodyIdleTimeoutMs;
        setDeadline(Deadline::writeStall, ms);
    }
}

void Connection::onWrite(uv_write_t* req, int status) {
    auto* request = reinterpret_cast<WriteRequest*>(req);
    auto* c = static_cast<Connection*>(req->data);
    Server::get().buffers().give(request->buffer);
    delete request;
    --c->writesInFlight_;
    if (c->phase_ == Phase::closed) return; // cancelled by the close
    invoke(c->ctx(), "write", [&] { c->written(status); });
}

void Connection::written(int status) {
    if (status < 0) {
        broken_ = true;
        settle();
        return;
    }
    if (deadline_ == Deadline::writeStall) {
        if (writesInFlight_ == 0) {
            if (phase_ == Phase::idle) {
                const std::uint64_t ms = listener_->limits().keepaliveTimeoutMs;
                setDeadline(Deadline::keepAlive, ms);
            } else {
                setDeadline(Deadline::none, 0);
            }
        } else {
            // Progress: the stall clock starts again.
            const std::uint64_t ms = settings_ ? settings_->config.limits.bodyIdleTimeoutMs
                                               : listener_->limits().bodyIdleTimeoutMs;
            setDeadline(Deadline::writeStall, ms);
        }
    }
    ++busy_;
    if (waitingDrain_ && queued() <= kLowWater && req_ != nullptr && !responseEnded_) {
        waitingDrain_ = false;
        Server::get().transport()->request_drained(req_);
    }
    if (file_) pumpFile();
    --busy_;
    settle();
}

void Connection::pumpFile() {
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    while (file_ && file_->left > 0) {
        if (broken_ || phase_ == Phase::closed) {
            finishFile(false);
            return;
        }
        if (writesInFlight_ > 0) return; // onWrite comes back here
        if (out_ != nullptr && !out_->empty()) {
            uv_buf_t buf = uv_buf_init(out_->data(), static_cast<unsigned>(out_->size()));
            writeRaw(&buf, 1);
            out_->clear();
            continue;
        }
        const std::size_t piece = static_cast<std::size_t>(
            std::min<std::uint64_t>(file_->left, tls_ ? 16 * 1024 : 1 << 20));
        if (!tls_) {
            int fd = -1;
            uv_fileno(reinterpret_cast<uv_handle_t*>(stream), &fd);
            off_t offset = static_cast<off_t>(file_->offset);
            const ssize_t n = ::sendfile(fd, file_->fd, &offset, piece);
            if (n > 0) {
                file_->offset += static_cast<std::uint64_t>(n);
                file_->left -= static_cast<std::uint64_t>(n);
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno != EAGAIN) {
                finishFile(false);
                return;
            }
            if (n == 0) { // the file is shorter than promised
                finishFile(false);
                return;
            }
        }
        // TLS, or a full socket: one piece through the write queue (its completion says the
        // socket can take more, and brings us back here).
        const std::size_t size = std::min(piece, tls_ ? kFilePiece : kFileWakePiece);
        Buffer* buffer = Server::get().buffers().take();
        char* to = buffer->reserve(size);
        const ssize_t n = ::pread(file_->fd, to, size, static_cast<off_t>(file_->offset));
        if (n <= 0) {
            Server::get().buffers().give(buffer);
            finishFile(false);
            return;
        }
        buffer->commit(static_cast<std::size_t>(n));
        file_->offset += static_cast<std::uint64_t>(n);
        file_->left -= static_cast<std::uint64_t>(n);
        if (tls_) {
            tls_->write(buffer->data(), buffer->size());
            Server::get().buffers().give(buffer);
            flushCipher();
            if (queued() > kHighWater) return;
        } else {
            uv_buf_t buf = uv_buf_init(buffer->data(), static_cast<unsigned>(buffer->size()));
            writeRaw(&buf, 1);
            Server::get().buffers().give(buffer);
        }
    }
    if (file_) finishFile(true);
}

void Connection::cork(bool on) {
    // Head and file body leave in full segments (nginx's tcp_nopush): uncorked, the head
    // goes out alone and the body's segments follow it misaligned, which costs the client.
    // Uncorking sends what is held at once.
    int fd = -1;
    const int value = on ? 1 : 0;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) == 0 &&
        ::setsockopt(fd, IPPROTO_TCP, TCP_CORK, &value, sizeof value) == 0)
        corked_ = on;
}

void Connection::finishFile(bool complete) {
    const bool chunked = chunked_;
    file_.reset();
    if (corked_) cork(false);
    if (!complete) {
        closeAfter_ = true;
        return;
    }
    if (chunked) {
        out().append("\r\n0\r\n\r\n", 7);
        flush();
    }
}

// --- closing --------------------------------------------------------------------------------

void Connection::beginClose() {
    if (shutdownSent_ || phase_ == Phase::closed) return;
    if (broken_) {
        close();
        return;
    }
    abortRequest();
    shutdownSent_ = true;
    stopReading();
    if (tls_) {
        tls_->shutdown(); // close_notify
        flushCipher();
    }
    auto* request = new uv_shutdown_t;
    request->data = this;
    // libuv sends the FIN once the queued writes are out.
    if (uv_shutdown(request, reinterpret_cast<uv_stream_t*>(&tcp_), &Connection::onShutdown) != 0) {
        delete request;
        close();
    }
}

void Connection::onShutdown(uv_shutdown_t* req, int status) {
    auto* c = static_cast<Connection*>(req->data);
    delete req;
    if (c->phase_ == Phase::closed) return;
    invoke(c->ctx(), "shutdown", [&] {
        if (status < 0 || c->peerDone_) {
            c->close();
            return;
        }
        // Lingering close: read and drop until the client closes, for a short while.
        c->setDeadline(Deadline::linger, kLingerMs);
        c->startReading();
    });
}

void Connection::close() {
    if (phase_ == Phase::closed) return;
    ++busy_;
    abortRequest();
    --busy_;
    phase_ = Phase::closed;
    file_.reset();
    reading_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::onClose);
}

void Connection::onClose(uv_handle_t* handle) {
    auto* c = static_cast<Connection*>(handle->data);
    Server& server = Server::get();
    server.remove(c);
    ListenerPtr listener = c->listener_;
    const bool counted = c->counted_;
    delete c;
    if (counted && --listener->connections == 0) server.listenerDrained(*listener);
}

} // namespace keel::http
