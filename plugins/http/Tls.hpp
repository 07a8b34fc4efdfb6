#pragma once

// TLS with OpenSSL 3 through memory BIOs, driven by the connection on the loop: ciphertext
// read from the socket goes into the SSL object, plaintext comes out for the parser, and the
// other way round for responses; the socket is never handed to OpenSSL. Policy: TLS 1.2 and
// 1.3 only, ECDHE with AEAD ciphers for 1.2 (Mozilla's "intermediate" without DHE), ALPN
// http/1.1, a server-side session cache and tickets for resumption, renegotiation off.
// Loop thread only.

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "Buffer.hpp"

namespace keel::http {

/// One certificate chain and key with Keel's TLS policy.
class TlsContext {
public:
    /// Loads and checks the pair. Throws ConfigError with a message that names the file and
    /// what is wrong: missing, unreadable, not PEM, or a key that does not match.
    TlsContext(const std::string& certFile, const std::string& keyFile);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    SSL_CTX* get() const { return ctx_; }
    const std::string& certFile() const { return certFile_; }
    const std::string& keyFile() const { return keyFile_; }

private:
    SSL_CTX* ctx_ = nullptr;
    std::string certFile_;
    std::string keyFile_;
};

using TlsContextPtr = std::shared_ptr<TlsContext>;

/// Picks the context for a client's SNI name (nullptr: keep the default). Set per listener.
using SniResolver = std::function<SSL_CTX*(std::string_view serverName)>;

/// One connection's TLS state: the SSL object reads ciphertext from, and writes it to, two
/// BIOs of our own over plain buffers (OpenSSL's memory BIO clears its whole buffer on each
/// reset). Ciphertext that arrives is read from the caller's memory where possible, and
/// only what OpenSSL leaves unread is copied.
class TlsSession {
public:
    /// `resolver` must outlive the session (the listener owns it).
    TlsSession(SSL_CTX* ctx, const SniResolver* resolver);
    ~TlsSession();
    TlsSession(const TlsSession&) = delete;
    TlsSession& operator=(const TlsSession&) = delete;

    /// Ciphertext from the socket, borrowed until endInput(): read() consumes it.
    void input(const char* data, std::size_t length) {
        view_ = data;
        viewLength_ = length;
    }
    /// Keeps what read() did not consume of the borrowed input.
    void endInput() {
        if (viewLength_ > 0) in_.append(view_, viewLength_);
        view_ = nullptr;
        viewLength_ = 0;
    }
    /// Decrypts into `buffer`: > 0 plaintext bytes; 0 when more ciphertext is needed; -1 when
    /// the peer closed (close_notify) or the session failed (failed() tells).
    int read(char* buffer, int capacity);
    /// Whether read() may return more without new input.
    bool readable() const { return SSL_pending(ssl_) > 0 || viewLength_ > 0 || !in_.empty(); }
    /// Encrypts plaintext into the pending ciphertext. False when the session failed.
    bool write(const void* data, std::size_t length);
    /// The ciphertext waiting for the socket (handshake messages, records, alerts).
    std::string_view cipher() const { return out_.view(); }
    /// Drops everything cipher() returned (it was written or copied).
    void clearCipher() { out_.clear(); }
    /// Queues a close_notify alert.
    void shutdown();
    /// Gives back the memory an idle session does not need (record and ciphertext buffers).
    void trim();

    bool failed() const { return failed_; }
    /// Ciphertext received and not yet decrypted.
    std::size_t buffered() const { return in_.size() + viewLength_; }
    bool handshakeDone() const { return SSL_is_init_finished(ssl_) == 1; }
    /// "TLSv1.3", for logs and tests.
    const char* version() const { return SSL_get_version(ssl_); }
    /// The last OpenSSL error as text (for debug logs).
    const std::string& error() const { return error_; }

private:
    static int bioRead(BIO* bio, char* data, int length);
    static int bioWrite(BIO* bio, const char* data, int length);
    static long bioCtrl(BIO* bio, int command, long number, void* pointer);
    static BIO_METHOD* bioMethod();
    void fail();

    SSL* ssl_ = nullptr;
    Buffer in_;                  // ciphertext kept between reads
    const char* view_ = nullptr; // ciphertext borrowed from the current read
    std::size_t viewLength_ = 0;
    Buffer out_; // ciphertext to send
    bool failed_ = false;
    std::string error_;
};

/// The text of OpenSSL's error queue (emptied), for messages.
std::string openSslErrors();

} // namespace keel::http
