#pragma once
// One HTTP/1.1 connection of sluice::http, plain or TLS, and the two things done on it: feeding the
// bytes read from it to a Boost.Beast parser (parser.put / put_eof; no Asio stream, no io_context)
// and sending a message produced by Beast's serializer. The parsing and serialising are Beast's;
// this file only moves bytes.

#include <boost/beast/core/buffers_range.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../../net.hpp"
#include "../../task.hpp"
#include "../../tls_stream.hpp"

namespace sluice::detail::http {

namespace beast_http = boost::beast::http;

/// A connected stream, plain or TLS, with the bytes read from it and not parsed yet.
class connection {
public:
    explicit connection(tcp_stream plain) : plain_(std::move(plain)) {}
    explicit connection(std::unique_ptr<tls_stream<tcp_stream>> secure) : secure_(std::move(secure)) {}

    [[nodiscard]] task<void> write_all(std::string_view data) {
        if (secure_) return secure_->write_all(data);
        return plain_.write_all(data);
    }

    /// Reads once more, appending to the unparsed bytes; 0 at end of stream.
    [[nodiscard]] task<std::size_t> read_more() {
        if (begin_ > 0 && begin_ == end_) begin_ = end_ = 0;
        if (end_ == buffer_.size()) {
            if (begin_ > 0) {  // compact: the parser needs what is left contiguous
                std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_), buffer_.begin() + static_cast<std::ptrdiff_t>(end_), buffer_.begin());
                end_ -= begin_;
                begin_ = 0;
            }
            if (end_ == buffer_.size()) buffer_.resize(buffer_.empty() ? 16384 : buffer_.size() * 2);
        }
        const std::span<char> free = std::span<char>(buffer_).subspan(end_);
        const std::size_t n = secure_ ? co_await secure_->read_some(free) : co_await plain_.read_some(free);
        end_ += n;
        co_return n;
    }

    [[nodiscard]] std::string_view unparsed() const noexcept { return {buffer_.data() + begin_, end_ - begin_}; }
    void consume(std::size_t n) noexcept { begin_ += n; }
    /// True when bytes arrived that no message claimed (a server talking out of turn).
    [[nodiscard]] bool has_unparsed() const noexcept { return end_ > begin_; }

    /// Closes at once (synchronously: no close_notify, which would need an await).
    void close() noexcept {
        if (secure_) secure_->next_layer().close();
        plain_.close();
    }

private:
    tcp_stream plain_;
    std::unique_ptr<tls_stream<tcp_stream>> secure_;  // stable address: its tasks point into it
    std::vector<char> buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

/// Why reading a message failed; the caller turns it into its own error.
struct read_failure {
    enum kind { closed_early, header_too_large, body_too_large, malformed } what;
    std::string detail;
    std::size_t bytes_seen;  // bytes of this message received before the failure
};

/// Feeds `parser` from `conn` until it has a whole message. Returns nullopt on success, else why
/// not. I/O errors (and cancellation) propagate as exceptions.
template <class Parser>
task<std::optional<read_failure>> read_message(connection& conn, Parser& parser) {
    std::size_t seen = conn.unparsed().size();  // bytes received for this message
    for (;;) {
        while (conn.has_unparsed() && !parser.is_done()) {
            boost::beast::error_code ec;
            const std::string_view bytes = conn.unparsed();
            const std::size_t used = parser.put(boost::asio::const_buffer(bytes.data(), bytes.size()), ec);
            conn.consume(used);
            if (ec == beast_http::error::need_more) break;
            if (ec == beast_http::error::header_limit) co_return read_failure{read_failure::header_too_large, ec.message(), seen};
            if (ec == beast_http::error::body_limit) co_return read_failure{read_failure::body_too_large, ec.message(), seen};
            if (ec) co_return read_failure{read_failure::malformed, ec.message(), seen};
        }
        if (parser.is_done()) co_return std::nullopt;
        const std::size_t n = co_await conn.read_more();
        seen += n;
        if (n == 0) {
            if (!parser.got_some()) co_return read_failure{read_failure::closed_early, "no response", seen};
            boost::beast::error_code ec;
            parser.put_eof(ec);
            if (ec || !parser.is_done()) {
                co_return read_failure{read_failure::closed_early, seen == 0 ? "no response" : "partial message", seen};
            }
            co_return std::nullopt;
        }
    }
}

/// The wire form of `message` (Beast's serializer; prepare_payload() must have been called).
template <bool IsRequest>
std::string serialize(beast_http::message<IsRequest, beast_http::string_body>& message) {
    beast_http::serializer<IsRequest, beast_http::string_body> serializer(message);
    std::string out;
    boost::beast::error_code ec;
    do {
        serializer.next(ec, [&](boost::beast::error_code& error, const auto& buffers) {
            error = {};
            std::size_t n = 0;
            for (const auto buffer : boost::beast::buffers_range_ref(buffers)) {
                out.append(static_cast<const char*>(buffer.data()), buffer.size());
                n += buffer.size();
            }
            serializer.consume(n);
        });
        if (ec) throw std::runtime_error("sluice::http: cannot serialise a message: " + ec.message());
    } while (!serializer.is_done());
    return out;
}

}  // namespace sluice::detail::http
