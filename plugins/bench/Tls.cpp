#include "Tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <stdexcept>

namespace keel::bench {

namespace {

int gCacheIndex = -1;

int onNewSession(SSL* ssl, SSL_SESSION* session) {
    auto* cache = static_cast<TlsSessionCache*>(SSL_get_ex_data(ssl, gCacheIndex));
    if (cache == nullptr) return 0;
    cache->store(session);
    return 1;  // we keep the reference
}

bool isIpLiteral(const std::string& host) {
    unsigned char buf[16];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

} // namespace

TlsSessionCache::~TlsSessionCache() {
    if (session_ != nullptr) SSL_SESSION_free(session_);
}

void TlsSessionCache::store(ssl_session_st* session) {
    if (session_ != nullptr) SSL_SESSION_free(session_);
    session_ = session;
}

TlsContext::TlsContext(bool verify) : verify_(verify) {
    if (gCacheIndex < 0) gCacheIndex = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    ctx_ = SSL_CTX_new(TLS_client_method());
    if (ctx_ == nullptr) throw std::runtime_error("TLS: cannot create a context");
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx_, &onNewSession);
    static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof kAlpn);
    if (verify) {
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
        if (SSL_CTX_set_default_verify_paths(ctx_) != 1) throw std::runtime_error("TLS: cannot load the system's CA certificates");
    } else {
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);
    }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

TlsSession::TlsSession(const TlsContext& context, const std::string& host, TlsSessionCache& cache) {
    ssl_ = SSL_new(context.get());
    if (ssl_ == nullptr) throw std::runtime_error("TLS: cannot create a session");
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    // An empty memory BIO means "try again later", not end of file.
    BIO_set_mem_eof_return(in, -1);
    BIO_set_mem_eof_return(out, -1);
    SSL_set_bio(ssl_, in, out);
    in_ = in;
    out_ = out;
    SSL_set_ex_data(ssl_, gCacheIndex, &cache);
    SSL_set_connect_state(ssl_);
    const bool ip = isIpLiteral(host);
    if (!ip) SSL_set_tlsext_host_name(ssl_, host.c_str());
    if (context.verify()) {
        if (ip) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str());
        } else {
            SSL_set1_host(ssl_, host.c_str());
        }
    }
    if (cache.get() != nullptr) SSL_set_session(ssl_, cache.get());
}

TlsSession::~TlsSession() {
    // Freed without a close_notify, OpenSSL would mark the session not resumable; after a
    // completed handshake it is still good for the next connection.
    if (SSL_is_init_finished(ssl_)) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl_);
}

void TlsSession::feed(const char* data, std::size_t size) { BIO_write(static_cast<BIO*>(in_), data, static_cast<int>(size)); }

TlsSession::Status TlsSession::handshake() {
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_);
    if (rc == 1) return Status::done;
    const int err = SSL_get_error(ssl_, rc);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return Status::wantIo;
    return Status::failed;
}

long TlsSession::read(char* buf, std::size_t capacity) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buf, static_cast<int>(capacity));
    if (n > 0) return n;
    const int err = SSL_get_error(ssl_, n);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return 0;
    if (err == SSL_ERROR_ZERO_RETURN) return -1;
    return -2;
}

bool TlsSession::write(std::string_view plain) {
    ERR_clear_error();
    // Memory BIOs grow as needed, so a write is all or nothing.
    return plain.empty() || SSL_write(ssl_, plain.data(), static_cast<int>(plain.size())) == static_cast<int>(plain.size());
}

void TlsSession::drain(std::string& out) {
    auto* bio = static_cast<BIO*>(out_);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n <= 0) return;
    out.append(data, static_cast<std::size_t>(n));
    (void)BIO_reset(bio);
}

std::string TlsSession::errorClass() const {
    const long v = SSL_get_verify_result(ssl_);
    switch (v) {
    case X509_V_OK: break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT: return "DEPTH_ZERO_SELF_SIGNED_CERT";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN: return "SELF_SIGNED_CERT_IN_CHAIN";
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: return "UNABLE_TO_GET_ISSUER_CERT_LOCALLY";
    case X509_V_ERR_CERT_HAS_EXPIRED: return "CERT_HAS_EXPIRED";
    case X509_V_ERR_CERT_NOT_YET_VALID: return "CERT_NOT_YET_VALID";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: return "ERR_TLS_CERT_ALTNAME_INVALID";
    default: return "CERT_INVALID";
    }
    return "EPROTO";
}

} // namespace keel::bench
