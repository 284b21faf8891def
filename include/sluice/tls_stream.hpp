#pragma once
/// sluice/tls_stream.hpp: TLS over any sluice byte stream, with OpenSSL (part of the optional
/// `sluice::http` component; link that target, which brings OpenSSL).
///
/// - `tls_context::client()`: verifies the server's certificate against the system's CA store
///   (on by default), TLS 1.2 or later. `add_trusted(pem_file)` trusts one more CA or self-signed
///   certificate (tests, private CAs); `disable_verification()` is the explicit opt-out.
/// - `tls_context::server(certificate_chain_file, private_key_file)`.
/// - `tls_stream<S>(std::move(stream), context, host)`: S is a connected sluice stream (anything
///   with `read_some(std::span<std::byte>)` and `write_some(std::span<const std::byte>)`
///   awaitables yielding a byte count, e.g. `tcp_stream`). A client sends `host` as SNI and checks
///   the certificate against it (a numeric address is checked against the certificate's IP
///   entries and not sent as SNI); a verifying client without a host is std::invalid_argument.
/// - `co_await handshake()`, then `read_some`, `read_exact`, `write_some`, `write_all` as on
///   `tcp_stream`; `co_await shutdown()` sends close_notify (the peer then reads end of stream);
///   `read_some` yields 0 once the peer sent close_notify.
///
/// OpenSSL never touches the socket: it reads and writes two memory BIOs, and this class moves the
/// bytes with S's own operations (so TLS runs on whatever backend S runs on).
///
/// Errors: `tls_error` for TLS failures — a rejected certificate ("certificate verify failed:
/// self-signed certificate", with `verify_result()`), a host name mismatch, a peer that closed the
/// connection without close_notify (a truncation an attacker could cause: a close-delimited body
/// must not be trusted then); S's errors (std::system_error) pass through.
///
/// Cancellation: every operation is cancellable at S's suspension points (cancelled_error). A TLS
/// record may then be half sent or half read, so a stream whose operation was cancelled or failed
/// is *broken*: every later operation throws tls_error; close it. One operation at a time (a second
/// one while the first is suspended is std::logic_error): the TLS state machine is not full-duplex.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "detail/http/tls.hpp"
#include "task.hpp"

namespace sluice {

/// Settings shared by many TLS streams (an SSL_CTX): role, trusted certificates, own certificate.
/// Cheap to copy (shared); streams keep what they were made with alive.
class tls_context {
public:
    /// A client context: peer verification on, against the system CA store; TLS 1.2 or later.
    [[nodiscard]] static tls_context client() {
        tls_context context(true);
        SSL_CTX_set_verify(context.native_handle(), SSL_VERIFY_PEER, nullptr);
        if (SSL_CTX_set_default_verify_paths(context.native_handle()) != 1) {
            detail::tls::throw_openssl("cannot load the system CA store");
        }
        return context;
    }

    /// A server context presenting the certificate chain and key in the PEM files; tls_error naming
    /// the file if one cannot be loaded or the key does not match the certificate.
    [[nodiscard]] static tls_context server(const std::string& certificate_chain_file, const std::string& private_key_file) {
        tls_context context(false);
        if (SSL_CTX_use_certificate_chain_file(context.native_handle(), certificate_chain_file.c_str()) != 1) {
            detail::tls::throw_openssl("cannot load certificate chain " + certificate_chain_file);
        }
        if (SSL_CTX_use_PrivateKey_file(context.native_handle(), private_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
            detail::tls::throw_openssl("cannot load private key " + private_key_file);
        }
        if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
            detail::tls::throw_openssl("private key " + private_key_file + " does not match " + certificate_chain_file);
        }
        return context;
    }

    /// Trusts the CA (or self-signed) certificates in a PEM file, besides the system store.
    void add_trusted(const std::string& pem_file) {
        if (SSL_CTX_load_verify_locations(native_handle(), pem_file.c_str(), nullptr) != 1) {
            detail::tls::throw_openssl("cannot load trusted certificates " + pem_file);
        }
    }

    /// Accepts any certificate and host name (an explicit, insecure opt-out; streams made afterwards).
    void disable_verification() noexcept {
        verify_ = false;
        SSL_CTX_set_verify(native_handle(), SSL_VERIFY_NONE, nullptr);
    }

    [[nodiscard]] bool is_client() const noexcept { return client_; }
    [[nodiscard]] bool verifies() const noexcept { return verify_; }
    /// The SSL_CTX, for settings this class does not cover (ciphers, ALPN, session cache, ...).
    [[nodiscard]] SSL_CTX* native_handle() const noexcept { return ctx_.get(); }

private:
    explicit tls_context(bool client) : client_(client), verify_(client) {
        ctx_.reset(SSL_CTX_new(client ? TLS_client_method() : TLS_server_method()), detail::tls::ssl_ctx_free{});
        if (!ctx_) detail::tls::throw_openssl("SSL_CTX_new");
        SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
        // The memory BIO takes whole records; a buffer that moves between SSL_write retries (our
        // std::string grows) must not be refused.
        SSL_CTX_set_mode(ctx_.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }

    std::shared_ptr<SSL_CTX> ctx_;
    bool client_;
    bool verify_;
};

/// TLS over the connected stream S (see the top of this file). Move-only; must not be moved while
/// an operation runs.
template <class S>
class tls_stream {
public:
    /// Wraps `next` (already connected). A client context sends SNI for `host` and verifies the
    /// certificate against it; a server context ignores `host`.
    tls_stream(S next, const tls_context& context, std::string host = {})
        : next_(std::move(next)),
          context_(context),
          host_(std::move(host)),
          session_(std::make_unique<detail::tls::session>(context.native_handle(), context.is_client(), host_,
                                                          context.verifies())) {}

    /// Runs the handshake. tls_error when the peer is refused or refuses (see the top of this file).
    [[nodiscard]] task<void> handshake() {
        operation op(*this);
        for (;;) {
            ERR_clear_error();
            const int r = SSL_do_handshake(ssl());
            const int error = r == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl(), r);
            // A refusing side still sends its alert: flush before throwing, but the failure is
            // what the caller needs to hear about, not a write error to a peer that hung up.
            bool flushed = true;
            try {
                co_await flush();
            } catch (const std::system_error&) {
                flushed = false;
                if (error == SSL_ERROR_NONE || error == SSL_ERROR_WANT_READ) throw;
            }
            if (error == SSL_ERROR_NONE) break;
            if (error == SSL_ERROR_WANT_READ && flushed) {
                if (!co_await fill()) throw tls_error("sluice: TLS handshake" + with_host() + ": the peer closed the connection");
                continue;
            }
            throw session_->handshake_failure(host_);
        }
        op.succeeded();
    }

    /// `co_await read_some(buf)`: the decrypted bytes read into `buf` (at least 1), or 0 once the
    /// peer sent close_notify. tls_error if the connection ends without it.
    [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> buffer) {
        operation op(*this);
        if (buffer.empty()) {
            op.succeeded();
            co_return 0;
        }
        for (;;) {
            ERR_clear_error();
            const int r = SSL_read(ssl(), buffer.data(), detail::tls::clamp(buffer.size()));
            const int error = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl(), r);
            co_await flush();  // a key update or session ticket answer may be waiting
            if (error == SSL_ERROR_NONE) {
                op.succeeded();
                co_return static_cast<std::size_t>(r);
            }
            if (error == SSL_ERROR_ZERO_RETURN) {
                op.succeeded();
                co_return 0;
            }
            if (error != SSL_ERROR_WANT_READ) detail::tls::throw_openssl("read" + with_host());
            if (!co_await fill()) {
                throw tls_error("sluice: TLS" + with_host() +
                                ": the peer closed the connection without close_notify (truncated stream)");
            }
        }
    }
    [[nodiscard]] task<std::size_t> read_some(std::span<char> buffer) { return read_some(std::as_writable_bytes(buffer)); }

    /// Reads until `buffer` is full; fewer bytes only at the end of the stream (close_notify).
    [[nodiscard]] task<std::size_t> read_exact(std::span<std::byte> buffer) {
        std::size_t done = 0;
        while (done < buffer.size()) {
            const std::size_t n = co_await read_some(buffer.subspan(done));
            if (n == 0) break;
            done += n;
        }
        co_return done;
    }

    /// `co_await write_some(bytes)`: encrypts and sends up to 64 KiB of `bytes`; yields how many.
    [[nodiscard]] task<std::size_t> write_some(std::span<const std::byte> data) {
        operation op(*this);
        if (data.empty()) {
            op.succeeded();
            co_return 0;
        }
        ERR_clear_error();
        const int r = SSL_write(ssl(), data.data(), detail::tls::clamp(std::min<std::size_t>(data.size(), 65536)));
        if (r <= 0) detail::tls::throw_openssl("write" + with_host());
        co_await flush();
        op.succeeded();
        co_return static_cast<std::size_t>(r);
    }
    [[nodiscard]] task<std::size_t> write_some(std::string_view data) { return write_some(std::as_bytes(std::span(data))); }

    /// Sends all of `data`.
    [[nodiscard]] task<void> write_all(std::span<const std::byte> data) {
        while (!data.empty()) data = data.subspan(co_await write_some(data));
    }
    [[nodiscard]] task<void> write_all(std::string_view data) { return write_all(std::as_bytes(std::span(data))); }

    /// Sends close_notify (the peer reads end of stream); does not wait for the peer's. Further
    /// writes fail; reads still see what the peer sends.
    [[nodiscard]] task<void> shutdown() {
        operation op(*this);
        ERR_clear_error();
        if (SSL_shutdown(ssl()) < 0) detail::tls::throw_openssl("shutdown" + with_host());
        co_await flush();
        op.succeeded();
    }

    /// False once an operation was cancelled or failed (every later one throws tls_error).
    [[nodiscard]] bool usable() const noexcept { return !broken_; }
    /// The host name given at construction ("" for a server).
    [[nodiscard]] const std::string& host() const noexcept { return host_; }
    /// The stream underneath (e.g. for `close()` or `native_handle()`); do not read or write it.
    [[nodiscard]] S& next_layer() noexcept { return next_; }
    [[nodiscard]] const S& next_layer() const noexcept { return next_; }
    /// The SSL object, for queries this class does not cover (negotiated version, peer certificate).
    [[nodiscard]] SSL* native_handle() const noexcept { return session_->ssl.get(); }

private:
    /// TRICKY: marks the stream broken for the duration of an operation; only `succeeded()` clears
    /// it. A cancelled_error (or any exception) unwinding through a suspension leaves OpenSSL and
    /// the socket possibly mid-record, so the broken mark must survive the unwinding: that is why
    /// it is set on entry, not in a catch block (a cancelled frame destroyed without resuming runs
    /// no catch at all).
    class operation {
    public:
        explicit operation(tls_stream& stream) : stream_(&stream) {
            if (stream.busy_) throw std::logic_error("sluice: tls_stream: another operation is in progress");
            if (stream.broken_) throw tls_error("sluice: TLS" + stream.with_host() + ": the stream is unusable after a cancelled or failed operation");
            stream.busy_ = true;
            stream.broken_ = true;
        }
        operation(const operation&) = delete;
        operation& operator=(const operation&) = delete;
        ~operation() { stream_->busy_ = false; }
        void succeeded() noexcept { stream_->broken_ = false; }

    private:
        tls_stream* stream_;
    };

    [[nodiscard]] SSL* ssl() const noexcept { return session_->ssl.get(); }
    [[nodiscard]] std::string with_host() const { return host_.empty() ? std::string() : " with " + host_; }

    /// Sends everything OpenSSL queued in the outgoing BIO.
    task<void> flush() {
        outgoing_.clear();
        if (!session_->take_outgoing(outgoing_)) co_return;
        std::span<const std::byte> rest = std::as_bytes(std::span(outgoing_));
        while (!rest.empty()) rest = rest.subspan(co_await next_.write_some(rest));
    }

    /// Reads once from S into the incoming BIO; false at end of stream.
    task<bool> fill() {
        if (incoming_.empty()) incoming_.resize(16 * 1024 + 512);  // one full TLS record
        const std::size_t n = co_await next_.read_some(std::span<std::byte>(incoming_));
        if (n == 0) co_return false;
        session_->received(std::span<const std::byte>(incoming_).first(n));
        co_return true;
    }

    S next_;
    tls_context context_;
    std::string host_;
    std::unique_ptr<detail::tls::session> session_;
    std::string outgoing_;
    std::vector<std::byte> incoming_;
    bool busy_ = false;
    bool broken_ = false;
};

}  // namespace sluice
