#pragma once

// An HTTP/1.1 (and HTTPS) server for the bench tests, on a libuv loop of the test process,
// bound to 127.0.0.1 port 0. A policy decides, per request, whether to answer at once, after
// a delay (a timer, never a sleep), never, with garbage, or by hanging up. It records what it
// received and when it answered, so tests can compare the bench's figures with the truth.

#include <llhttp.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <uv.h>

#include <cppunit/extensions/HelperMacros.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace keel::bench::test {

struct Reply {
    enum class Kind { respond, silent, hangUp, garbage };
    Kind kind = Kind::respond;
    std::uint64_t delayMs = 0;
    int status = 200;
    bool close = false;  // HTTP/1.0 style: no length, the body ends with the connection
};

struct Received {
    std::string method;
    std::string url;
    std::string body;
    std::uint64_t arrivalNs = 0;  // the request's last byte parsed
    std::uint64_t writtenNs = 0;  // its response handed to the socket (0: never)
    std::uint64_t connection = 0;
    std::uint64_t acceptedNs = 0;  // when its connection was accepted
    std::size_t queued = 0;       // responses still owed on its connection when it arrived
};

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

/// A TLS server context with a fresh self-signed certificate for 127.0.0.1 and localhost.
inline SslCtxPtr makeSelfSignedContext() {
    SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()), &SSL_CTX_free);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_set_pubkey(cert, key);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_use_certificate(ctx.get(), cert);
    SSL_CTX_use_PrivateKey(ctx.get(), key);
    X509_free(cert);
    EVP_PKEY_free(key);
    return ctx;
}

class TestServer {
public:
    /// `index` counts requests from 0 across connections; `arrivalNs` is uv_hrtime().
    using Policy = std::function<Reply(std::uint64_t index, std::uint64_t arrivalNs)>;

    TestServer(uv_loop_t* loop, Policy policy, SSL_CTX* tls = nullptr) : loop_(loop), policy_(std::move(policy)), tls_(tls) {
        uv_tcp_init(loop_, &listener_);
        listener_.data = this;
        ++open_;
        sockaddr_in addr{};
        uv_ip4_addr("127.0.0.1", 0, &addr);
        CPPUNIT_ASSERT_EQUAL(0, uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0));
        CPPUNIT_ASSERT_EQUAL(0, uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 512, &TestServer::onConnection));
        sockaddr_storage bound{};
        int len = sizeof bound;
        uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
        port_ = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }

    ~TestServer() {
        for (auto& [id, t] : timers_)
            if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&t->timer)))
                uv_close(reinterpret_cast<uv_handle_t*>(&t->timer), &TestServer::onTimerClosed);
        for (auto& [id, c] : conns_) closeConn(*c);
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), [](uv_handle_t* h) { --static_cast<TestServer*>(h->data)->open_; });
        while (open_ > 0) uv_run(loop_, UV_RUN_NOWAIT);
    }

    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url(const std::string& path = "/") const {
        return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
    }
    const std::vector<Received>& received() const { return received_; }
    std::size_t requests() const { return received_.size(); }
    std::size_t connections() const { return accepted_; }
    /// TLS connections that resumed an earlier session instead of a full handshake.
    std::size_t resumed() const { return resumed_; }

private:
    struct Pending {
        std::size_t index;
        bool ready;
        std::string bytes;
        bool garbage;
        bool close;
    };

    struct Conn {
        TestServer* server;
        std::uint64_t id;
        uv_tcp_t tcp{};
        llhttp_t parser{};
        llhttp_settings_t settings{};
        std::string method, url, body;
        std::deque<Pending> queue;
        bool closing = false;
        bool hangUp = false;
        std::uint64_t acceptedNs = 0;
        SSL* ssl = nullptr;
        BIO* in = nullptr;
        BIO* out = nullptr;
        bool handshook = false;
        ~Conn() {
            if (ssl != nullptr) SSL_free(ssl);
        }
    };

    struct Timer {
        uv_timer_t timer{};
        TestServer* server;
        std::uint64_t id;
        std::uint64_t conn;
        std::size_t index;
    };

    struct Write {
        uv_write_t req{};
        std::string data;
    };

    static void onConnection(uv_stream_t* listener, int status) {
        auto* self = static_cast<TestServer*>(listener->data);
        if (status < 0) return;
        auto conn = std::make_unique<Conn>();
        conn->server = self;
        conn->id = ++self->nextConn_;
        uv_tcp_init(self->loop_, &conn->tcp);
        conn->tcp.data = conn.get();
        ++self->open_;
        if (uv_accept(listener, reinterpret_cast<uv_stream_t*>(&conn->tcp)) != 0) {
            self->closeConn(*conn);
            self->conns_[conn->id] = std::move(conn);
            return;
        }
        ++self->accepted_;
        conn->acceptedNs = uv_hrtime();
        uv_tcp_nodelay(&conn->tcp, 1);
        llhttp_settings_init(&conn->settings);
        conn->settings.on_method = [](llhttp_t* p, const char* at, std::size_t n) {
            static_cast<Conn*>(p->data)->method.append(at, n);
            return 0;
        };
        conn->settings.on_url = [](llhttp_t* p, const char* at, std::size_t n) {
            static_cast<Conn*>(p->data)->url.append(at, n);
            return 0;
        };
        conn->settings.on_body = [](llhttp_t* p, const char* at, std::size_t n) {
            static_cast<Conn*>(p->data)->body.append(at, n);
            return 0;
        };
        conn->settings.on_message_complete = [](llhttp_t* p) {
            auto* c = static_cast<Conn*>(p->data);
            c->server->onRequest(*c);
            return c->hangUp ? static_cast<int>(HPE_PAUSED) : 0;
        };
        llhttp_init(&conn->parser, HTTP_REQUEST, &conn->settings);
        conn->parser.data = conn.get();
        if (self->tls_ != nullptr) {
            conn->ssl = SSL_new(self->tls_);
            conn->in = BIO_new(BIO_s_mem());
            conn->out = BIO_new(BIO_s_mem());
            BIO_set_mem_eof_return(conn->in, -1);
            SSL_set_bio(conn->ssl, conn->in, conn->out);
            SSL_set_accept_state(conn->ssl);
        }
        uv_read_start(
            reinterpret_cast<uv_stream_t*>(&conn->tcp),
            [](uv_handle_t* h, std::size_t, uv_buf_t* buf) {
                auto* c = static_cast<Conn*>(h->data);
                *buf = uv_buf_init(c->server->buffer_, sizeof c->server->buffer_);
            },
            [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
                auto* c = static_cast<Conn*>(s->data);
                if (n > 0) {
                    c->server->onData(*c, buf->base, static_cast<std::size_t>(n));
                } else if (n < 0) {
                    c->server->closeConn(*c);
                }
            });
        self->conns_[conn->id] = std::move(conn);
    }

    void onData(Conn& c, const char* data, std::size_t n) {
        if (c.ssl == nullptr) {
            parse(c, data, n);
            return;
        }
        BIO_write(c.in, data, static_cast<int>(n));
        if (!c.handshook) {
            const int rc = SSL_do_handshake(c.ssl);
            sendTls(c);
            if (rc != 1) {
                const int err = SSL_get_error(c.ssl, rc);
                if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) closeConn(c);
                return;
            }
            c.handshook = true;
            if (SSL_session_reused(c.ssl)) ++resumed_;
        }
        char plain[16384];
        while (!c.closing) {
            const int got = SSL_read(c.ssl, plain, sizeof plain);
            if (got <= 0) {
                const int err = SSL_get_error(c.ssl, got);
                if (err != SSL_ERROR_WANT_READ) closeConn(c);
                break;
            }
            parse(c, plain, static_cast<std::size_t>(got));
        }
        if (!c.closing) sendTls(c);
    }

    void parse(Conn& c, const char* data, std::size_t n) {
        if (c.closing) return;
        const llhttp_errno_t err = llhttp_execute(&c.parser, data, n);
        if (c.hangUp || (err != HPE_OK && err != HPE_PAUSED)) closeConn(c);
    }

    void onRequest(Conn& c) {
        const std::size_t index = received_.size();
        Received r;
        r.method = c.method;
        r.url = c.url;
        r.body = c.body;
        r.arrivalNs = uv_hrtime();
        r.connection = c.id;
        r.acceptedNs = c.acceptedNs;
        r.queued = c.queue.size();
        received_.push_back(r);
        c.method.clear();
        c.url.clear();
        c.body.clear();
        const Reply reply = policy_(index, r.arrivalNs);
        switch (reply.kind) {
        case Reply::Kind::hangUp:
            c.hangUp = true;
            return;
        case Reply::Kind::silent:
            c.queue.push_back(Pending{index, false, {}, false, false});
            return;
        case Reply::Kind::garbage:
            c.queue.push_back(Pending{index, true, "SPDY/9 who knows\r\n\r\n", true, false});
            break;
        case Reply::Kind::respond: {
            // A HEAD response announces the body it leaves out.
            std::string bytes = "HTTP/1.1 " + std::to_string(reply.status) + " Test\r\n" +
                                (reply.close ? "Connection: close\r\n\r\n" : "Content-Length: 2\r\n\r\n");
            if (r.method != "HEAD") bytes += "ok";
            c.queue.push_back(Pending{index, reply.delayMs == 0, std::move(bytes), false, reply.close});
            if (reply.delayMs > 0) {
                auto t = std::make_unique<Timer>();
                t->server = this;
                t->id = ++nextTimer_;
                t->conn = c.id;
                t->index = index;
                uv_timer_init(loop_, &t->timer);
                t->timer.data = t.get();
                ++open_;
                uv_timer_start(&t->timer, &TestServer::onTimer, reply.delayMs, 0);
                timers_[t->id] = std::move(t);
            }
            break;
        }
        }
        flushReady(c);
    }

    static void onTimer(uv_timer_t* handle) {
        auto* t = static_cast<Timer*>(handle->data);
        TestServer* self = t->server;
        auto it = self->conns_.find(t->conn);
        if (it != self->conns_.end() && !it->second->closing) {
            for (auto& p : it->second->queue)
                if (p.index == t->index) p.ready = true;
            self->flushReady(*it->second);
        }
        uv_close(reinterpret_cast<uv_handle_t*>(handle), &TestServer::onTimerClosed);
        // Erased in the close callback: the handle's memory is the Timer.
    }

    static void onTimerClosed(uv_handle_t* handle) {
        auto* t = static_cast<Timer*>(handle->data);
        TestServer* self = t->server;
        --self->open_;
        self->timers_.erase(t->id);
    }

    /// Responses leave in request order (HTTP/1.1): a delayed one holds back those after it.
    void flushReady(Conn& c) {
        std::string out;
        bool close = false;
        while (!close && !c.queue.empty() && c.queue.front().ready) {
            Pending& p = c.queue.front();
            received_[p.index].writtenNs = uv_hrtime();
            if (c.ssl != nullptr) {
                SSL_write(c.ssl, p.bytes.data(), static_cast<int>(p.bytes.size()));
            } else {
                out += p.bytes;
            }
            close = p.close;
            c.queue.pop_front();
        }
        if (c.ssl != nullptr) {
            sendTls(c);
        } else if (!out.empty()) {
            write(c, std::move(out));
        }
        // Closed after the write: libuv finishes queued writes before closing a stream only
        // with uv_shutdown, so shut down first.
        if (close) shutdownConn(c);
    }

    void sendTls(Conn& c) {
        char* data = nullptr;
        const long n = BIO_get_mem_data(c.out, &data);
        if (n <= 0) return;
        std::string bytes(data, static_cast<std::size_t>(n));
        (void)BIO_reset(c.out);
        write(c, std::move(bytes));
    }

    void write(Conn& c, std::string bytes) {
        if (c.closing) return;
        auto w = std::make_unique<Write>();
        w->data = std::move(bytes);
        uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
        // The write owns its bytes until its callback, which takes the Write back.
        const int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c.tcp), &b, 1,
                                [](uv_write_t* req, int) { std::unique_ptr<Write>(reinterpret_cast<Write*>(req)); });
        if (rc == 0) (void)w.release();
    }

    void shutdownConn(Conn& c) {
        if (c.closing) return;
        auto req = std::make_unique<uv_shutdown_t>();
        req->data = &c;
        // The callback takes the request back; it runs before the close callback frees c.
        const int rc = uv_shutdown(req.get(), reinterpret_cast<uv_stream_t*>(&c.tcp), [](uv_shutdown_t* r, int) {
            std::unique_ptr<uv_shutdown_t> owned(r);
            auto* conn = static_cast<Conn*>(owned->data);
            conn->server->closeConn(*conn);
        });
        if (rc == 0) {
            (void)req.release();
        } else {
            closeConn(c);
        }
    }

    void closeConn(Conn& c) {
        if (c.closing) return;
        c.closing = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), [](uv_handle_t* h) {
            auto* conn = static_cast<Conn*>(h->data);
            TestServer* self = conn->server;
            --self->open_;
            self->conns_.erase(conn->id);
        });
    }

    uv_loop_t* loop_;
    Policy policy_;
    SSL_CTX* tls_;
    uv_tcp_t listener_{};
    std::uint16_t port_ = 0;
    int open_ = 0;
    std::uint64_t nextConn_ = 0;
    std::uint64_t nextTimer_ = 0;
    std::size_t accepted_ = 0;
    std::size_t resumed_ = 0;
    std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;
    std::map<std::uint64_t, std::unique_ptr<Timer>> timers_;
    std::vector<Received> received_;
    char buffer_[65536];
};

} // namespace keel::bench::test
