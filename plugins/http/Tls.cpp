#include "Tls.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "Config.hpp"

namespace keel::http {

namespace {

// Mozilla's "intermediate" TLS 1.2 suites without finite-field DHE; TLS 1.3 keeps OpenSSL's
// defaults (AES-GCM and ChaCha20-Poly1305).
constexpr const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr unsigned char kSessionContext[] = "keel-http";

int resolverIndex() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int onServerName(SSL* ssl, int*, void*) {
    const auto* resolver = static_cast<const SniResolver*>(SSL_get_ex_data(ssl, resolverIndex()));
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (resolver == nullptr || name == nullptr || !*resolver) return SSL_TLSEXT_ERR_OK;
    if (SSL_CTX* ctx = (*resolver)(name); ctx != nullptr && ctx != SSL_get_SSL_CTX(ssl))
        SSL_set_SSL_CTX(ssl, ctx);
    return SSL_TLSEXT_ERR_OK;
}

int onAlpn(SSL*, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
           unsigned inLength, void*) {
    static const unsigned char kOurs[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outLength, kOurs, sizeof kOurs, in, inLength) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    // A client offering only h2 still gets HTTP/1.1, without ALPN (as before ALPN existed).
    return SSL_TLSEXT_ERR_NOACK;
}

std::string fileProblem(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return std::strerror(errno);
    if (!S_ISREG(st.st_mode)) return "not a regular file";
    return "";
}

} // namespace

std::string openSslErrors() {
    std::string text;
    while (const unsigned long e = ERR_get_error()) {
        char line[256];
        ERR_error_string_n(e, line, sizeof line);
        text += (text.empty() ? "" : "; ") + std::string(line);
    }
    return text.empty() ? "unknown OpenSSL error" : text;
}

TlsContext::TlsContext(const std::string& certFile, const std::string& keyFile)
    : certFile_(certFile), keyFile_(keyFile) {
    ERR_clear_error();
    if (auto why = fileProblem(certFile); !why.empty())
        throw ConfigError("cannot read the TLS certificate \"" + certFile + "\": " + why);
    if (auto why = fileProblem(keyFile); !why.empty())
        throw ConfigError("cannot read the TLS key \"" + keyFile + "\": " + why);
    ctx_ = SSL_CTX_new(TLS_server_method());
    if (ctx_ == nullptr) throw ConfigError("cannot create a TLS context: " + openSslErrors());
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx_, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    // No SSL_MODE_RELEASE_BUFFERS: it frees and allocates the 16 KiB record buffers around
    // every record (7% of the CPU a small keep-alive request costs); idle connections give
    // them back through TlsSession::trim() instead.
    if (SSL_CTX_set_cipher_list(ctx_, kCiphers12) != 1) {
        SSL_CTX_free(ctx_);
        throw ConfigError("cannot set the TLS 1.2 ciphers: " + openSslErrors());
    }
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_session_id_context(ctx_, kSessionContext, sizeof kSessionContext - 1);
    SSL_CTX_set_tlsext_servername_callback(ctx_, &onServerName);
    SSL_CTX_set_alpn_select_cb(ctx_, &onAlpn, nullptr);
    auto refuse = [&](const std::string& what) {
        const std::string detail = openSslErrors();
        SSL_CTX_free(ctx_);
        ctx_ = nullptr;
        throw ConfigError(what + ": " + detail);
    };
    if (SSL_CTX_use_certificate_chain_file(ctx_, certFile.c_str()) != 1)
        refuse("cannot load the TLS certificate \"" + certFile +
               "\" (a PEM certificate chain is expected)");
    // The key is read apart from the context, so that a valid key for another certificate
    // says so rather than "key values mismatch".
    EVP_PKEY* key = nullptr;
    if (BIO* bio = BIO_new_file(keyFile.c_str(), "r")) {
        key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
    }
    if (key == nullptr)
        refuse("cannot load the TLS key \"" + keyFile +
               "\" (an unencrypted PEM private key is expected)");
    if (X509_check_private_key(SSL_CTX_get0_certificate(ctx_), key) != 1) {
        EVP_PKEY_free(key);
        ERR_clear_error();
        SSL_CTX_free(ctx_);
        ctx_ = nullptr;
        throw ConfigError("the TLS key \"" + keyFile + "\" does not match the certificate \"" +
                          certFile + "\"");
    }
    const int used = SSL_CTX_use_PrivateKey(ctx_, key);
    EVP_PKEY_free(key);
    if (used != 1) refuse("cannot use the TLS key \"" + keyFile + "\"");
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);
}

BIO_METHOD* TlsSession::bioMethod() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "keel-http");
        BIO_meth_set_read(m, &TlsSession::bioRead);
        BIO_meth_set_write(m, &TlsSession::bioWrite);
        BIO_meth_set_ctrl(m, &TlsSession::bioCtrl);
        BIO_meth_set_create(m, [](BIO* bio) {
            BIO_set_init(bio, 1);
            return 1;
        });
        return m;
    }();
    return method;
}

int TlsSession::bioRead(BIO* bio, char* data, int length) {
    auto* self = static_cast<TlsSession*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    const auto want = static_cast<std::size_t>(length);
    std::size_t n = 0;
    if (!self->in_.empty()) {
        n = std::min(want, self->in_.size());
        std::memcpy(data, self->in_.data(), n);
        self->in_.consume(n);
    } else if (self->viewLength_ > 0) {
        n = std::min(want, self->viewLength_);
        std::memcpy(data, self->view_, n);
        self->view_ += n;
        self->viewLength_ -= n;
    }
    if (n == 0) {
        BIO_set_retry_read(bio);
        return -1;
    }
    return static_cast<int>(n);
}

int TlsSession::bioWrite(BIO* bio, const char* data, int length) {
    auto* self = static_cast<TlsSession*>(BIO_get_data(bio));
    BIO_clear_retry_flags(bio);
    self->out_.append(data, static_cast<std::size_t>(length));
    return length;
}

long TlsSession::bioCtrl(BIO* bio, int command, long, void*) {
    auto* self = static_cast<TlsSession*>(BIO_get_data(bio));
    switch (command) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return static_cast<long>(self->in_.size() + self->viewLength_);
    case BIO_CTRL_WPENDING: return static_cast<long>(self->out_.size());
    default: return 0;
    }
}

TlsSession::TlsSession(SSL_CTX* ctx, const SniResolver* resolver) {
    ssl_ = SSL_new(ctx);
    BIO* in = BIO_new(bioMethod());
    BIO* out = BIO_new(bioMethod());
    BIO_set_data(in, this);
    BIO_set_data(out, this);
    SSL_set_bio(ssl_, in, out);
    SSL_set_ex_data(ssl_, resolverIndex(), const_cast<SniResolver*>(resolver));
    SSL_set_accept_state(ssl_);
}

TlsSession::~TlsSession() {
    SSL_free(ssl_);
}

namespace {

// Another library on this thread may have left errors in OpenSSL's queue, which would make
// SSL_get_error misread a "wait for more" as a failure; clearing costs more than looking.
void clearStaleErrors() {
    if (ERR_peek_error() != 0) ERR_clear_error();
}

} // namespace

int TlsSession::read(char* buffer, int capacity) {
    if (failed_) return -1;
    clearStaleErrors();
    const int n = SSL_read(ssl_, buffer, capacity);
    if (n > 0) return n;
    switch (SSL_get_error(ssl_, n)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return 0;
    case SSL_ERROR_ZERO_RETURN: return -1; // close_notify
    default: fail(); return -1;
    }
}

bool TlsSession::write(const void* data, std::size_t length) {
    if (failed_) return false;
    if (length == 0) return true;
    clearStaleErrors();
    // Our BIO takes everything: SSL_write completes or fails, it never wants to wait.
    const int n = SSL_write(ssl_, data, static_cast<int>(length));
    if (n <= 0) {
        fail();
        return false;
    }
    return true;
}

void TlsSession::trim() {
    SSL_free_buffers(ssl_); // refused (harmlessly) while a record is half read or written
    if (in_.empty()) in_.release();
    if (out_.empty()) out_.release();
}

void TlsSession::shutdown() {
    if (!failed_ && handshakeDone()) SSL_shutdown(ssl_);
}

void TlsSession::fail() {
    failed_ = true;
    error_ = openSslErrors();
}

} // namespace keel::http
