#pragma once

// TLS for the engine through OpenSSL memory BIOs: the socket stays a libuv handle on the loop,
// OpenSSL only turns ciphertext into plaintext and back. No OpenSSL type leaks out of here.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct ssl_ctx_st;
struct ssl_st;
struct ssl_session_st;

namespace keel::bench {

/// The last session a host gave us, so reconnections resume instead of doing a full
/// handshake (as browsers and Node's agent do). One per endpoint.
class TlsSessionCache {
public:
    TlsSessionCache() = default;
    TlsSessionCache(const TlsSessionCache&) = delete;
    TlsSessionCache& operator=(const TlsSessionCache&) = delete;
    ~TlsSessionCache();
    void store(ssl_session_st* session);  // takes the reference
    ssl_session_st* get() const { return session_; }

private:
    ssl_session_st* session_ = nullptr;
};

/// One SSL_CTX per run. Throws std::runtime_error when OpenSSL cannot set it up.
class TlsContext {
public:
    explicit TlsContext(bool verify);
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;
    ~TlsContext();
    ssl_ctx_st* get() const { return ctx_; }
    bool verify() const { return verify_; }

private:
    ssl_ctx_st* ctx_ = nullptr;
    bool verify_ = true;
};

class TlsSession {
public:
    enum class Status { done, wantIo, failed };

    /// `host` is sent as SNI and checked against the certificate (unless the context does
    /// not verify). `cache` outlives the session.
    TlsSession(const TlsContext& context, const std::string& host, TlsSessionCache& cache);
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;
    ~TlsSession();

    /// Ciphertext that arrived from the socket.
    void feed(const char* data, std::size_t size);
    /// Advances the handshake; call after start and after each feed until done.
    Status handshake();
    /// Decrypted bytes into `buf`: > 0 bytes, 0 when more ciphertext is needed, -1 when the
    /// peer closed the TLS session, -2 on an error.
    long read(char* buf, std::size_t capacity);
    /// Encrypts `plain` for sending (drain() collects it). False on an error.
    bool write(std::string_view plain);
    /// Appends the ciphertext waiting to be sent to `out`.
    void drain(std::string& out);
    /// After a failure: Node's names for certificate problems (DEPTH_ZERO_SELF_SIGNED_CERT,
    /// CERT_HAS_EXPIRED, ERR_TLS_CERT_ALTNAME_INVALID, ...), else EPROTO.
    std::string errorClass() const;

private:
    ssl_st* ssl_ = nullptr;
    void* out_ = nullptr;  // the BIO OpenSSL writes ciphertext to (owned by ssl_)
    void* in_ = nullptr;   // the BIO we write received ciphertext to (owned by ssl_)
};

} // namespace keel::bench
