#pragma once
// The bodies of http::client::exchange and http::server::serve_connection (sluice/http.hpp): the
// Beast messages built and read on a detail::http::connection.

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>

#include <optional>
#include <string>
#include <system_error>
#include <utility>

// sluice/http.hpp includes this file at its end; included alone, this brings the declarations.
#include "../../http.hpp"

namespace sluice::detail::http {

template <class Fields>
sluice::http::fields copy_fields(const Fields& from) {
    sluice::http::fields to;
    for (const auto& field : from) to.emplace_back(std::string(field.name_string()), std::string(field.value()));
    return to;
}

template <class Message>
void add_fields(Message& message, const sluice::http::fields& fields) {
    for (const auto& [name, value] : fields) message.insert(name, value);
}

[[nodiscard]] inline bool idempotent(std::string_view method) noexcept {
    return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

}  // namespace sluice::detail::http

namespace sluice::http {

inline task<response> client::exchange(const http::request& r, const detail::http::url_parts& url, const std::string& original) {
    namespace bh = detail::http::beast_http;
    host_pool& pool = pool_for(url);
    // TRICKY: the permit, the connection and the parser live in this frame. Whatever ends the
    // exchange early (an exception, a timeout's or a caller's cancellation) destroys the connection
    // with the frame, closing it; only the success path below hands it back to the pool, after the
    // whole response was parsed. So no pooled connection ever holds the rest of a response.
    semaphore::permit permit = co_await pool.slots.acquire();

    bh::request<bh::string_body> message;
    message.method_string(r.method);
    message.target(url.target);
    message.version(11);
    message.set(bh::field::host, url.authority());
    message.set(bh::field::user_agent, options_.user_agent);
    detail::http::add_fields(message, r.fields);
    message.body() = r.body;
    message.prepare_payload();
    const std::string wire = detail::http::serialize(message);

    for (int attempt = 0;; ++attempt) {
        std::optional<detail::http::connection> conn;
        const bool reused = attempt == 0 && !pool.idle.empty();
        std::string failed;  // set when connecting failed
        error_kind failed_kind = error_kind::connect;
        if (reused) {
            conn.emplace(std::move(pool.idle.back()));
            pool.idle.pop_back();
            ++stats_.connections_reused;
        } else {
            try {
                conn.emplace(co_await open(url));
                ++stats_.connections_opened;
            } catch (const tls_error& e) {
                failed_kind = error_kind::tls;
                failed = e.what();
            } catch (const std::system_error& e) {
                failed = "cannot connect to " + url.authority() + ": " + e.what();
            }
            if (!conn) throw error(failed_kind, r.method, original, failed);
        }
        ++stats_.requests;

        bh::response_parser<bh::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(options_.max_header_size, UINT32_MAX)));
        parser.body_limit(options_.max_body_size);
        parser.eager(true);
        if (r.method == "HEAD") parser.skip(true);

        std::optional<detail::http::read_failure> failure;
        std::string io_failure;
        error_kind io_kind = error_kind::io;
        try {
            co_await conn->write_all(wire);
            failure = co_await detail::http::read_message(*conn, parser);
        } catch (const tls_error& e) {
            io_kind = error_kind::tls;
            io_failure = e.what();
        } catch (const std::system_error& e) {
            io_failure = e.what();
        }
        const bool closed = !io_failure.empty() || (failure && failure->what == detail::http::read_failure::closed_early);
        const bool nothing_received = !parser.got_some() && !conn->has_unparsed();
        if (closed && reused && nothing_received && detail::http::idempotent(r.method)) {
            // The server closed the idle connection meanwhile (keep-alive timeout): once more on a
            // fresh connection. The other idle ones are as old: close them too.
            pool.idle.clear();
            continue;
        }
        if (!io_failure.empty()) throw error(io_kind, r.method, original, io_failure + " (from " + url.text() + ")");
        if (failure) {
            using rf = detail::http::read_failure;
            switch (failure->what) {
            case rf::body_too_large:
                throw error(error_kind::body_too_large, r.method, original,
                            "the response body from " + url.text() + " exceeds the limit of " + std::to_string(options_.max_body_size) + " bytes");
            case rf::header_too_large:
                throw error(error_kind::body_too_large, r.method, original,
                            "the response header from " + url.text() + " exceeds the limit of " + std::to_string(options_.max_header_size) + " bytes");
            case rf::malformed:
                throw error(error_kind::protocol, r.method, original, "bad HTTP response from " + url.text() + ": " + failure->detail);
            case rf::closed_early:
                throw error(error_kind::io, r.method, original,
                            "the connection to " + url.authority() + " closed before the end of the response (" + failure->detail + ")");
            }
        }

        auto& got = parser.get();
        response res;
        res.status = got.result_int();
        res.reason = std::string(got.reason());
        res.fields = detail::http::copy_fields(got);
        res.body = std::move(got.body());
        if (parser.keep_alive() && !conn->has_unparsed() && pool.idle.size() < options_.max_idle_per_host) {
            pool.idle.push_back(std::move(*conn));
        }
        co_return res;
    }
}

inline task<void> server::serve_connection(tcp_stream stream) {
    namespace bh = detail::http::beast_http;
    ++connections_;
    const auto idle = options_.idle_timeout;
    try {
        std::optional<detail::http::connection> conn;
        if (options_.tls) {
            auto secure = std::make_unique<tls_stream<tcp_stream>>(std::move(stream), *options_.tls);
            if (idle.count() > 0) {
                co_await wait_for(secure->handshake(), idle);
            } else {
                co_await secure->handshake();
            }
            conn.emplace(std::move(secure));
        } else {
            conn.emplace(std::move(stream));
        }
        for (;;) {
            if (idle.count() > 0 && !conn->has_unparsed()) {
                // Idle: wait for the next request's first bytes, at most `idle`. TRICKY: a timeout
                // cancels this read, which may leave a TLS stream broken; harmless, since the
                // connection is closed right after (with this frame).
                if (co_await wait_for(conn->read_more(), idle) == 0) co_return;  // the client closed
            }
            bh::request_parser<bh::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(options_.max_header_size, UINT32_MAX)));
            parser.body_limit(options_.max_body_size);
            parser.eager(true);
            const auto failure = co_await detail::http::read_message(*conn, parser);

            response res;
            bool keep_alive = false;
            bool head = false;
            if (failure) {
                using rf = detail::http::read_failure;
                if (failure->what == rf::closed_early) co_return;  // the client went away
                res.status = failure->what == rf::header_too_large ? 431 : failure->what == rf::body_too_large ? 413 : 400;
                res.body = failure->detail + "\n";
            } else {
                auto& got = parser.get();
                http::request req;
                req.method = std::string(got.method_string());
                req.url = std::string(got.target());
                req.fields = detail::http::copy_fields(got);
                req.body = std::move(got.body());
                keep_alive = parser.keep_alive();
                head = got.method() == bh::verb::head;
                ++requests_;
                bool failed = false;
                try {
                    res = co_await handler_(std::move(req));
                } catch (const cancelled_error&) {
                    throw;
                } catch (...) {
                    failed = true;  // the handler's bug is this request's 500, not the server's end
                }
                if (failed) {
                    res = response{};
                    res.status = 500;
                    keep_alive = false;
                }
            }

            bh::response<bh::string_body> message;
            message.result(res.status);
            message.version(11);
            if (!res.reason.empty()) message.reason(res.reason);
            detail::http::add_fields(message, res.fields);
            message.keep_alive(keep_alive);
            if (head) {
                message.content_length(res.body.size());
            } else {
                message.body() = std::move(res.body);
                message.prepare_payload();
            }
            co_await conn->write_all(detail::http::serialize(message));
            if (!keep_alive) co_return;
        }
    } catch (const cancelled_error&) {
        throw;
    } catch (...) {
        // One connection's failure (a reset, a TLS error, idle_timeout) is that connection's end,
        // not the server's.
    }
}

}  // namespace sluice::http
