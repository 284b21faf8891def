#pragma once
/// sluice/http.hpp: an HTTP/1.1 client and a small server (the optional `sluice::http` component:
/// link that CMake target; it brings Boost's headers and OpenSSL). Messages are parsed and
/// serialised by Boost.Beast's `http::parser` / `http::serializer`, fed with bytes read and written
/// by sluice streams: no Asio I/O, no io_context.
///
///     sluice::http::client client;                         // pools keep-alive connections
///     sluice::http::response r = co_await client.get("https://example.org/");
///     r.status; r.body; r.url;                             // url: the final one, after redirects
///
/// Client (`http::client`, options in `client_options`):
/// - `get(url)`, `request(http::request)`: http:// and https:// (TLS through `tls_stream`,
///   verification on by default). Bodies delimited by Content-Length, chunked, or the connection's
///   end; a response body above `max_body_size` is an error (`error_kind::body_too_large`).
/// - Redirects (301, 302, 303, 307, 308) are followed up to `max_redirects`; 303, and 301/302 after
/// a POST, continue as GET without a body (as browsers and aiohttp do). `response::url` is the
///   final URL and `response::redirects` counts the hops. A redirect to another origin (scheme,
///   host or port differ) drops the credentials among the request's fields (Authorization, Cookie,
///   Proxy-Authorization) for that hop and the rest of the chain, as curl and requests do, so a
///   server cannot collect them by redirecting elsewhere.
/// - A keep-alive pool per origin (scheme, host, port): at most `max_connections_per_host` open at
///   once (further requests to that host wait their turn) and at most `max_idle_per_host` kept.
///   A connection goes back to the pool only after its response was read completely and both sides
///   agreed to keep it; anything else — an error, a timeout, a cancellation in the middle of a
///   response — closes it, so a pooled connection never holds half a response. A reused connection
///   that the server closed meanwhile (no byte of response received) is replaced once, transparently,
///   for idempotent methods.
/// - `timeout` bounds each `request()` as a whole (connect, TLS, redirects, body);
///   `error_kind::timeout` then. `request::timeout` overrides it for one request.
/// - Errors are `http::error`, whose message names the method and the URL (and `kind()` says what
///   happened); a response with status 404 or 500 is a response, not an error. Cancelling the
///   awaiting task throws `cancelled_error` as usual.
/// - The client must outlive the requests made with it; one loop thread.
///
/// Server (`http::server`): `server(listener, handler, options)`, then `co_await serve()` until
/// cancelled. Each request is passed to the coroutine `handler(http::request) -> task<response>`;
/// keep-alive as the client asks (HTTP/1.1 default), a connection idle for `idle_timeout` (before a
/// request's first byte, TLS handshake included) closed, requests above `max_header_size` answered 431
/// and above `max_body_size` 413, malformed ones 400 (then the connection is closed); a handler
/// that throws yields 500. Connections run in a task_group: cancelling serve() ends them all.
/// A program with an accept loop of its own (a graceful shutdown, a connection limit) builds the
/// server without a listener and hands each accepted stream to `serve_connection(stream)`.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cancellation.hpp"
#include "detail/http/connection.hpp"
#include "detail/http/url.hpp"
#include "net.hpp"
#include "semaphore.hpp"
#include "task.hpp"
#include "task_group.hpp"
#include "time.hpp"
#include "tls_stream.hpp"

namespace sluice::http {

/// Header fields in order: (name, value) pairs; names compare case-insensitively.
using fields = std::vector<std::pair<std::string, std::string>>;

/// The value of the first field called `name` (any case), or nullopt.
[[nodiscard]] inline std::optional<std::string_view> find_field(const fields& all, std::string_view name) {
    for (const auto& [key, value] : all) {
        if (detail::http::iequals(key, name)) return std::string_view(value);
    }
    return std::nullopt;
}

/// A request: for the client, `url` is an absolute http(s) URL; for a server's handler, `url` is
/// the request target ("/path?query") as received.
struct request {
    std::string method = "GET";
    std::string url;
    http::fields fields;  ///< extra fields (Host, Content-Length are set by the client)
    std::string body;
    std::optional<std::chrono::milliseconds> timeout;  ///< client: overrides client_options::timeout
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const { return find_field(fields, name); }
};

/// A response: for the client, what the server answered (after redirects); for a server's
/// handler, what to answer (Content-Length and Connection are set by the server).
struct response {
    unsigned status = 200;
    std::string reason;  ///< "" → the standard phrase
    http::fields fields;
    std::string body;
    std::string url;         ///< client: the final URL
    unsigned redirects = 0;  ///< client: how many redirects were followed
    [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const { return find_field(fields, name); }
};

/// What went wrong in a client request.
enum class error_kind {
    invalid_url,         ///< not an absolute http:// or https:// URL
    connect,             ///< name lookup or TCP connect failed
    tls,                 ///< TLS handshake (e.g. a certificate that does not verify) or record failure
    io,                  ///< the connection failed or closed before the whole response arrived
    timeout,             ///< client_options::timeout passed
    protocol,            ///< the response is not valid HTTP/1.1, or redirects to a non-http URL
    body_too_large,      ///< the body (or header) exceeds client_options::max_body_size (max_header_size)
    too_many_redirects,  ///< more than client_options::max_redirects
};

/// A failed client request; what() reads "sluice::http: GET <url>: <what happened>".
class error : public std::runtime_error {
public:
    error(error_kind kind, const std::string& method, std::string url, const std::string& detail)
        : std::runtime_error("sluice::http: " + method + " " + url + ": " + detail), kind_(kind), url_(std::move(url)) {}
    [[nodiscard]] error_kind kind() const noexcept { return kind_; }
    /// The URL that was requested (before redirects).
    [[nodiscard]] const std::string& url() const noexcept { return url_; }

private:
    error_kind kind_;
    std::string url_;
};

/// Settings of a `client`.
struct client_options {
    std::size_t max_connections_per_host = 100;       ///< open at once per origin (>= 1)
    std::size_t max_idle_per_host = 100;              ///< kept alive per origin when idle
    std::size_t max_body_size = 16 * 1024 * 1024;     ///< per response
    std::size_t max_header_size = 64 * 1024;          ///< per response
    unsigned max_redirects = 10;                      ///< 0: a redirect is returned as the response
    std::chrono::milliseconds timeout{30000};         ///< per request() as a whole; 0: none
    std::string user_agent = "sluice-http/0.1";
    std::optional<tls_context> tls;                   ///< for https://; default tls_context::client()
};

/// Counters of a `client`, for monitoring and tests.
struct client_stats {
    std::uint64_t requests = 0;             ///< exchanges sent (each redirect hop counts)
    std::uint64_t connections_opened = 0;   ///< TCP (and TLS) connections made
    std::uint64_t connections_reused = 0;   ///< exchanges on a pooled connection
};

/// An HTTP/1.1 client with a keep-alive pool per origin (see the top of this file).
class client {
public:
    /// std::invalid_argument if max_connections_per_host is 0.
    explicit client(client_options options = {}) : options_(std::move(options)) {
        if (options_.max_connections_per_host == 0) throw std::invalid_argument("sluice::http::client: max_connections_per_host must be >= 1");
    }
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// `co_await get(url)`: the response to a GET of `url` (after redirects).
    [[nodiscard]] task<response> get(std::string url) {
        http::request r;
        r.url = std::move(url);
        return request(std::move(r));
    }

    /// `co_await request(r)`: sends `r` (method, absolute URL, fields, body) and yields the response.
    [[nodiscard]] task<response> request(http::request r) {
        if (!detail::http::parse_url(r.url)) {
            throw error(error_kind::invalid_url, r.method, r.url, "not an absolute http:// or https:// URL");
        }
        const std::chrono::milliseconds timeout = r.timeout.value_or(options_.timeout);
        if (timeout.count() <= 0) co_return co_await follow(std::move(r));
        const std::string method = r.method;
        const std::string url = r.url;
        try {
            co_return co_await wait_for(follow(std::move(r)), timeout);
        } catch (const timeout_error&) {
        }
        throw error(error_kind::timeout, method, url, "timed out after " + std::to_string(timeout.count()) + " ms");
    }

    [[nodiscard]] const client_stats& stats() const noexcept { return stats_; }
    /// Idle pooled connections to all origins.
    [[nodiscard]] std::size_t idle_connections() const noexcept {
        std::size_t n = 0;
        for (const auto& [origin, pool] : pools_) n += pool->idle.size();
        return n;
    }
    /// Closes every idle pooled connection.
    void close_idle() noexcept {
        for (auto& [origin, pool] : pools_) pool->idle.clear();
    }

private:
    struct host_pool {
        explicit host_pool(std::size_t connections) : slots(static_cast<std::ptrdiff_t>(connections)) {}
        semaphore slots;
        std::vector<detail::http::connection> idle;
    };

    host_pool& pool_for(const detail::http::url_parts& url) {
        auto& pool = pools_[url.origin()];
        if (!pool) pool = std::make_unique<host_pool>(options_.max_connections_per_host);
        return *pool;
    }

    const tls_context& tls() {
        if (!options_.tls) options_.tls = tls_context::client();
        return *options_.tls;
    }

    task<response> follow(http::request r) {
        const std::string original = r.url;
        detail::http::url_parts url = *detail::http::parse_url(r.url);
        for (unsigned hop = 0;; ++hop) {
            response res = co_await exchange(r, url, original);
            res.url = url.text();
            res.redirects = hop;
            const bool redirect = res.status == 301 || res.status == 302 || res.status == 303 || res.status == 307 || res.status == 308;
            const auto location = res.header("Location");
            if (!redirect || !location || options_.max_redirects == 0) co_return res;
            if (hop == options_.max_redirects) {
                throw error(error_kind::too_many_redirects, r.method, original,
                            "more than " + std::to_string(options_.max_redirects) + " redirects (the last from " + url.text() + ")");
            }
            auto next = detail::http::resolve_location(url, *location);
            if (!next) throw error(error_kind::protocol, r.method, original, "redirected to an unsupported URL: " + std::string(*location));
            if (!detail::http::same_origin(url, *next)) {
                std::erase_if(r.fields, [](const auto& f) {
                    return detail::http::iequals(f.first, "Authorization") || detail::http::iequals(f.first, "Cookie") ||
                           detail::http::iequals(f.first, "Proxy-Authorization");
                });
            }
            if (res.status == 303 || ((res.status == 301 || res.status == 302) && r.method == "POST")) {
                if (r.method != "HEAD") r.method = "GET";
                r.body.clear();
                std::erase_if(r.fields, [](const auto& f) {
                    return detail::http::iequals(f.first, "Content-Type") || detail::http::iequals(f.first, "Content-Length");
                });
            }
            url = std::move(*next);
            r.url = url.text();
        }
    }

    task<detail::http::connection> open(const detail::http::url_parts& url) {
        tcp_stream stream = co_await tcp_stream::connect(url.host, url.port);
        if (!url.tls) co_return detail::http::connection(std::move(stream));
        auto secure = std::make_unique<tls_stream<tcp_stream>>(std::move(stream), tls(), url.host);
        co_await secure->handshake();
        co_return detail::http::connection(std::move(secure));
    }

    /// One request/response on a pooled or new connection to `url`'s origin.
    task<response> exchange(const http::request& r, const detail::http::url_parts& url, const std::string& original);

    client_options options_;
    client_stats stats_;
    std::map<std::string, std::unique_ptr<host_pool>> pools_;  // unique_ptr: semaphores never move
};

/// The request handler of a `server`.
using handler = std::function<task<response>(request)>;

/// Settings of a `server`.
struct server_options {
    std::size_t max_header_size = 16 * 1024;  ///< larger request heads are answered 431
    std::size_t max_body_size = 1024 * 1024;  ///< larger request bodies are answered 413
    /// A connection on which no byte of a next request arrives for this long (after a response
    /// or since it was accepted; the TLS handshake counts as idle too) is closed, so silent
    /// keep-alive clients cannot pin connections forever (nginx's and aiohttp's keepalive_timeout,
    /// 75 s by default there too). A request in progress or a slow handler is never cut. 0: never.
    std::chrono::milliseconds idle_timeout{75000};
    std::optional<tls_context> tls;           ///< serve https (a tls_context::server)
};

/// A small HTTP/1.1 server (see the top of this file).
class server {
public:
    /// A server that accepts on `listener` (serve()). std::invalid_argument without a handler or
    /// with a client tls_context.
    server(tcp_listener listener, http::handler handler, server_options options = {})
        : server(std::move(handler), std::move(options)) {
        listener_.emplace(std::move(listener));
    }

    /// A server without a listener: the caller accepts, and passes each stream to serve_connection().
    explicit server(http::handler handler, server_options options = {})
        : handler_(std::move(handler)), options_(std::move(options)) {
        if (!handler_) throw std::invalid_argument("sluice::http::server: no handler");
        if (options_.tls && options_.tls->is_client()) throw std::invalid_argument("sluice::http::server: a client tls_context");
    }

    /// The address the listener is bound to; std::logic_error for a server built without one.
    [[nodiscard]] endpoint local_endpoint() const {
        need_listener();
        return listener_->local_endpoint();
    }

    /// Accepts and serves connections until cancelled (then every connection is cancelled and
    /// awaited) or until accept fails. std::logic_error for a server built without a listener.
    [[nodiscard]] task<void> serve() {
        need_listener();
        co_await task_group::scope([this](task_group& group) -> task<void> {
            for (;;) group.spawn(serve_connection(co_await listener_->accept()));
        });
    }

    /// Serves the requests of one accepted connection until the client closes it, keep-alive ends,
    /// or it fails (a failure ends this connection only: the task completes normally). Cancelling
    /// the task closes the connection at once, a request in progress included.
    [[nodiscard]] task<void> serve_connection(tcp_stream stream);

    /// Connections accepted and requests answered so far.
    [[nodiscard]] std::uint64_t connections() const noexcept { return connections_; }
    [[nodiscard]] std::uint64_t requests() const noexcept { return requests_; }

private:
    void need_listener() const {
        if (!listener_) throw std::logic_error("sluice::http::server: built without a listener (use serve_connection)");
    }

    std::optional<tcp_listener> listener_;
    http::handler handler_;
    server_options options_;
    std::uint64_t connections_ = 0;
    std::uint64_t requests_ = 0;
};

}  // namespace sluice::http

#include "detail/http/client_server.hpp"
