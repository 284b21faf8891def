#pragma once
// OpenSSL plumbing for sluice/tls_stream.hpp: owning handles, the error queue turned into text, and
// the memory-BIO pump that moves TLS records between an SSL object and a sluice stream. Nothing here
// does socket I/O by itself: the pump's callers await the next layer's read_some/write_some.

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <climits>
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice {

/// A TLS failure: a handshake refused (bad certificate, wrong host name, no shared protocol), a
/// record that does not decrypt, a peer that closed without close_notify, or a stream used after a
/// cancelled or failed operation. `verify_result()` is the X509_V_* code of a rejected certificate
/// (X509_V_OK otherwise). Socket errors keep their own type (std::system_error).
class tls_error : public std::runtime_error {
public:
    explicit tls_error(const std::string& what, long verify_result = X509_V_OK)
        : std::runtime_error(what), verify_result_(verify_result) {}
    /// X509_V_OK, or why the peer's certificate was rejected (X509_V_ERR_*).
    [[nodiscard]] long verify_result() const noexcept { return verify_result_; }

private:
    long verify_result_;
};

}  // namespace sluice

namespace sluice::detail::tls {

struct ssl_ctx_free {
    void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};
struct ssl_free {
    void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};

/// The thread's OpenSSL error queue as "reason; reason", emptied ("" when it was empty).
[[nodiscard]] inline std::string drain_errors() {
    std::string text;
    while (const unsigned long code = ERR_get_error()) {
        char line[256];
        ERR_error_string_n(code, line, sizeof line);
        if (!text.empty()) text += "; ";
        text += line;
    }
    return text;
}

/// Throws tls_error("sluice: TLS: <what>: <OpenSSL's reasons>").
[[noreturn]] inline void throw_openssl(std::string_view what) {
    std::string reasons = drain_errors();
    std::string message = "sluice: TLS: ";
    message += what;
    if (!reasons.empty()) message += ": " + reasons;
    throw tls_error(message);
}

/// True for a numeric IPv4 or IPv6 address: checked against the certificate's IP entries, and
/// never sent as SNI (RFC 6066 §3 allows host names only).
[[nodiscard]] inline bool is_ip_literal(const std::string& host) {
    unsigned char buffer[sizeof(in6_addr)];
    return ::inet_pton(AF_INET, host.c_str(), buffer) == 1 || ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

/// The SSL object of one connection with its two memory BIOs: `incoming` receives the bytes read
/// from the socket, `outgoing` collects what OpenSSL wants sent. The SSL object owns both BIOs.
struct session {
    std::unique_ptr<SSL, ssl_free> ssl;
    BIO* incoming = nullptr;
    BIO* outgoing = nullptr;

    session(SSL_CTX* ctx, bool client, const std::string& host, bool verify) {
        ssl.reset(SSL_new(ctx));
        if (!ssl) throw_openssl("SSL_new");
        incoming = BIO_new(BIO_s_mem());
        outgoing = BIO_new(BIO_s_mem());
        if (incoming == nullptr || outgoing == nullptr) {
            BIO_free(incoming);
            BIO_free(outgoing);
            throw_openssl("BIO_new");
        }
        SSL_set_bio(ssl.get(), incoming, outgoing);
        if (!client) {
            SSL_set_accept_state(ssl.get());
            return;
        }
        SSL_set_connect_state(ssl.get());
        if (host.empty()) {
            if (verify) throw std::invalid_argument("sluice: tls_stream: a client needs the server's host name to verify its certificate");
            return;
        }
        if (is_ip_literal(host)) {
            if (verify && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str()) != 1) {
                throw_openssl("cannot check the certificate against " + host);
            }
            return;
        }
        if (SSL_set_tlsext_host_name(ssl.get(), host.c_str()) != 1) throw_openssl("cannot send SNI " + host);
        if (verify && SSL_set1_host(ssl.get(), host.c_str()) != 1) throw_openssl("cannot check the certificate against " + host);
    }

    /// Hands bytes read from the socket to OpenSSL (a memory BIO takes everything).
    void received(std::span<const std::byte> bytes) {
        if (BIO_write(incoming, bytes.data(), static_cast<int>(bytes.size())) != static_cast<int>(bytes.size())) {
            throw_openssl("BIO_write");
        }
    }

    /// Moves what OpenSSL wants sent into `out` (appended); false when there was nothing.
    bool take_outgoing(std::string& out) {
        const std::size_t pending = BIO_ctrl_pending(outgoing);
        if (pending == 0) return false;
        const std::size_t old = out.size();
        out.resize(old + pending);
        const int n = BIO_read(outgoing, out.data() + old, static_cast<int>(pending));
        out.resize(old + static_cast<std::size_t>(n > 0 ? n : 0));
        return n > 0;
    }

    /// Why a handshake failed, for the exception: the rejected certificate's reason first.
    [[nodiscard]] tls_error handshake_failure(const std::string& host) const {
        const long verify = SSL_get_verify_result(ssl.get());
        std::string where = host.empty() ? std::string("TLS handshake") : "TLS handshake with " + host;
        if (verify != X509_V_OK) {
            ERR_clear_error();
            return tls_error("sluice: " + where + ": certificate verify failed: " +
                                 X509_verify_cert_error_string(verify),
                             verify);
        }
        std::string reasons = drain_errors();
        return tls_error("sluice: " + where + " failed" + (reasons.empty() ? std::string() : ": " + reasons));
    }
};

/// Bytes per SSL_read/SSL_write call (OpenSSL takes an int).
[[nodiscard]] inline int clamp(std::size_t size) noexcept { return size > INT_MAX ? INT_MAX : static_cast<int>(size); }

}  // namespace sluice::detail::tls
