#pragma once
// A small, tested subset of HTTP/1.1 shared by the examples that speak it (flags, crawl): enough
// for a local file server and a client over plain TCP, not a general-purpose HTTP library.
//
// - Messages: a start line, headers (case-insensitive names), and a body framed by Content-Length
//   or by chunked transfer coding (decoded), or, for a response without either, by connection close.
// - `parser`: feed it bytes as they arrive (`feed`), it says when a whole message is there.
//   Malformed input throws `http::error` with what was wrong.
// - `format_request` / `format_response`: serialize what the examples send.
// - `parse_url`: http://host[:port]/path only (no TLS).
// Pure code: no I/O, so the examples' sockets and the unit test drive it alike.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace http {

struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct header {
    std::string name;
    std::string value;
};

struct message {
    // Request: method, target. Response: status, reason.
    std::string method;
    std::string target;
    int status = 0;
    std::string reason;
    std::vector<header> headers;
    std::string body;

    /// The first header named `name` (ASCII case-insensitive), if any.
    [[nodiscard]] std::optional<std::string_view> find(std::string_view name) const {
        for (const header& h : headers) {
            if (std::equal(h.name.begin(), h.name.end(), name.begin(), name.end(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                })) {
                return h.value;
            }
        }
        return std::nullopt;
    }
};

inline std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
    return text;
}

inline std::size_t parse_size(std::string_view text, int base, const char* what) {
    std::size_t value = 0;
    text = trim(text);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
        throw error(std::string("http: bad ") + what + ": '" + std::string(text) + "'");
    }
    return value;
}

/// Incremental parser for one request or one response.
class parser {
public:
    enum class kind { request, response };
    explicit parser(kind k) : kind_(k) {}

    /// Appends `bytes`; true once a whole message has been parsed (see `get`).
    bool feed(std::string_view bytes) {
        buffer_.append(bytes);
        return advance();
    }
    /// The peer closed the connection: completes a response whose body runs to the close.
    bool finish() {
        if (state_ == state::body_until_close) {
            message_.body = std::move(buffer_);
            buffer_.clear();
            state_ = state::done;
        }
        if (state_ != state::done) throw error("http: connection closed before the message was complete");
        return true;
    }
    [[nodiscard]] bool done() const noexcept { return state_ == state::done; }
    message& get() noexcept { return message_; }

private:
    enum class state { head, body_length, body_chunk_size, body_chunk_data, body_chunk_trailer, body_until_close, done };

    bool advance() {
        for (;;) {
            switch (state_) {
                case state::head: {
                    const std::size_t end = buffer_.find("\r\n\r\n");
                    if (end == std::string::npos) {
                        if (buffer_.size() > 64 * 1024) throw error("http: header section larger than 64 KiB");
                        return false;
                    }
                    parse_head(std::string_view(buffer_).substr(0, end));
                    buffer_.erase(0, end + 4);
                    break;
                }
                case state::body_length:
                    if (buffer_.size() < remaining_) return false;
                    message_.body = buffer_.substr(0, remaining_);
                    buffer_.erase(0, remaining_);
                    state_ = state::done;
                    break;
                case state::body_chunk_size: {
                    const std::size_t end = buffer_.find("\r\n");
                    if (end == std::string::npos) return false;
                    std::string_view line = std::string_view(buffer_).substr(0, end);
                    line = line.substr(0, line.find(';'));  // chunk extensions are ignored
                    remaining_ = parse_size(line, 16, "chunk size");
                    buffer_.erase(0, end + 2);
                    state_ = remaining_ == 0 ? state::body_chunk_trailer : state::body_chunk_data;
                    break;
                }
                case state::body_chunk_data:
                    if (buffer_.size() < remaining_ + 2) return false;
                    if (buffer_.compare(remaining_, 2, "\r\n") != 0) throw error("http: chunk not followed by CRLF");
                    message_.body.append(buffer_, 0, remaining_);
                    buffer_.erase(0, remaining_ + 2);
                    state_ = state::body_chunk_size;
                    break;
                case state::body_chunk_trailer: {
                    const std::size_t end = buffer_.find("\r\n");
                    if (end == std::string::npos) return false;
                    buffer_.erase(0, end + 2);
                    if (end == 0) state_ = state::done;  // empty line ends the trailer section
                    break;
                }
                case state::body_until_close:
                    return false;
                case state::done:
                    return true;
            }
        }
    }

    void parse_head(std::string_view head) {
        std::size_t line_end = head.find("\r\n");
        const std::string_view start = head.substr(0, line_end);
        parse_start_line(start);
        while (line_end != std::string_view::npos) {
            head.remove_prefix(line_end + 2);
            line_end = head.find("\r\n");
            const std::string_view line = head.substr(0, line_end);
            const std::size_t colon = line.find(':');
            if (colon == std::string_view::npos || colon == 0) {
                throw error("http: malformed header line: '" + std::string(line) + "'");
            }
            message_.headers.push_back({std::string(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1)))});
        }
        const auto encoding = message_.find("Transfer-Encoding");
        const auto length = message_.find("Content-Length");
        if (encoding && encoding->find("chunked") != std::string_view::npos) {
            state_ = state::body_chunk_size;
        } else if (length) {
            remaining_ = parse_size(*length, 10, "Content-Length");
            state_ = state::body_length;
        } else if (kind_ == kind::response && message_.status >= 200 && message_.status != 204 && message_.status != 304) {
            state_ = state::body_until_close;
        } else {
            state_ = state::done;
        }
    }

    void parse_start_line(std::string_view line) {
        const std::size_t first = line.find(' ');
        const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
        if (first == std::string_view::npos) throw error("http: malformed start line: '" + std::string(line) + "'");
        if (kind_ == kind::request) {
            if (second == std::string_view::npos || line.substr(second + 1).substr(0, 5) != "HTTP/") {
                throw error("http: malformed request line: '" + std::string(line) + "'");
            }
            message_.method = std::string(line.substr(0, first));
            message_.target = std::string(line.substr(first + 1, second - first - 1));
        } else {
            if (line.substr(0, 5) != "HTTP/") throw error("http: malformed status line: '" + std::string(line) + "'");
            const std::string_view code = line.substr(first + 1, second == std::string_view::npos ? second : second - first - 1);
            message_.status = static_cast<int>(parse_size(code, 10, "status code"));
            if (message_.status < 100 || message_.status > 999) throw error("http: bad status code");
            message_.reason = second == std::string_view::npos ? "" : std::string(line.substr(second + 1));
        }
    }

    kind kind_;
    state state_ = state::head;
    std::size_t remaining_ = 0;
    std::string buffer_;
    message message_;
};

inline std::string format_request(std::string_view method, std::string_view host, std::string_view target) {
    std::string out;
    out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host);
    out.append("\r\nUser-Agent: sluice-example\r\nConnection: close\r\n\r\n");
    return out;
}

inline std::string format_response(int status, std::string_view reason, std::string_view content_type,
                                   std::string_view body) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
    out.append(reason).append("\r\nContent-Type: ").append(content_type);
    out.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\nConnection: close\r\n\r\n");
    out.append(body);
    return out;
}

struct url {
    std::string host;
    unsigned short port = 80;
    std::string target = "/";
};

/// http://host[:port][/path]; anything else throws http::error.
inline url parse_url(std::string_view text) {
    constexpr std::string_view scheme = "http://";
    if (text.substr(0, scheme.size()) != scheme) throw error("http: only http:// URLs are supported: '" + std::string(text) + "'");
    text.remove_prefix(scheme.size());
    url out;
    const std::size_t slash = text.find('/');
    std::string_view authority = text.substr(0, slash);
    if (slash != std::string_view::npos) out.target = std::string(text.substr(slash));
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
        const std::size_t port = parse_size(authority.substr(colon + 1), 10, "port");
        if (port == 0 || port > 65535) throw error("http: bad port");
        out.port = static_cast<unsigned short>(port);
        authority = authority.substr(0, colon);
    }
    if (authority.empty()) throw error("http: URL without a host");
    out.host = std::string(authority);
    return out;
}

}  // namespace http
