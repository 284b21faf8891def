#pragma once
// A small, tested subset of HTTP/1.1 shared by the examples that speak it (flags, crawl): enough
// for a local file server and a client over plain TCP, not a general-purpose HTTP library.
//
// - Messages: a start line, headers (case-insensitive names), and a body framed by Content-Length
//   or by chunked transfer coding (decoded), or, for a response without either, by connection close.
// - `co_await read_message(stream, kind)` reads one from a sluice::buffered_stream (the framing is
//   buffered_stream's read_line/read_exact); `co_await get(stream, host, target)` is one GET.
//   Malformed input, or a connection closed inside a message, throws `http::error`.
// - `format_request` / `format_response`: serialize what the examples send.
// - `parse_url`: http://host[:port]/path only (no TLS).

#include <sluice/buffered_stream.hpp>
#include <sluice/task.hpp>

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

enum class kind { request, response };

/// Fills the start line's fields of `m`: "GET /path HTTP/1.1" or "HTTP/1.1 200 OK".
inline void parse_start_line(message& m, kind k, std::string_view line) {
    const std::size_t first = line.find(' ');
    const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (first == std::string_view::npos) throw error("http: malformed start line: '" + std::string(line) + "'");
    if (k == kind::request) {
        if (second == std::string_view::npos || line.substr(second + 1).substr(0, 5) != "HTTP/") {
            throw error("http: malformed request line: '" + std::string(line) + "'");
        }
        m.method = std::string(line.substr(0, first));
        m.target = std::string(line.substr(first + 1, second - first - 1));
        return;
    }
    if (line.substr(0, 5) != "HTTP/") throw error("http: malformed status line: '" + std::string(line) + "'");
    m.status = static_cast<int>(parse_size(line.substr(first + 1, second == std::string_view::npos ? second : second - first - 1), 10, "status code"));
    if (m.status < 100 || m.status > 999) throw error("http: bad status code");
    m.reason = second == std::string_view::npos ? "" : std::string(line.substr(second + 1));
}

inline constexpr std::size_t max_line = 8 * 1024;    // one start, header or chunk-size line
inline constexpr std::size_t max_headers = 100;

/// The next line of a message that must go on (end of stream here is an error).
template <class Stream>
sluice::task<std::string> next_line(sluice::buffered_stream<Stream>& in) {
    std::optional<std::string> line = co_await in.read_line(max_line);
    if (!line) throw error("http: connection closed before the message was complete");
    co_return std::move(*line);
}

/// The next `n` bytes of a message that must go on.
template <class Stream>
sluice::task<std::string> next_bytes(sluice::buffered_stream<Stream>& in, std::size_t n) {
    std::optional<std::string> bytes = co_await in.read_exact(n);
    if (!bytes) throw error("http: connection closed before the message was complete");
    co_return std::move(*bytes);
}

/// Reads a message's headers and body into `m` (its start line is read).
template <class Stream>
sluice::task<void> read_rest(sluice::buffered_stream<Stream>& in, kind k, message& m) {
    for (std::string line = co_await next_line(in); !line.empty(); line = co_await next_line(in)) {
        const std::size_t colon = line.find(':');
        if (colon == std::string::npos || colon == 0 || m.headers.size() == max_headers) {
            throw error("http: malformed header line: '" + line + "'");
        }
        m.headers.push_back({std::string(trim(std::string_view(line).substr(0, colon))),
                             std::string(trim(std::string_view(line).substr(colon + 1)))});
    }
    const auto encoding = m.find("Transfer-Encoding");
    const auto length = m.find("Content-Length");
    if (encoding && encoding->find("chunked") != std::string_view::npos) {
        for (;;) {
            const std::string size_line = co_await next_line(in);
            const std::size_t size = parse_size(std::string_view(size_line).substr(0, size_line.find(';')), 16, "chunk size");
            if (size == 0) break;
            m.body += co_await next_bytes(in, size);
            const std::string end = co_await next_line(in);
            if (!end.empty()) throw error("http: chunk not followed by CRLF");
        }
        for (std::string trailer = co_await next_line(in); !trailer.empty(); trailer = co_await next_line(in)) {
        }  // trailer fields, ignored
    } else if (length) {
        const std::size_t size = parse_size(*length, 10, "Content-Length");
        m.body = co_await next_bytes(in, size);
    } else if (k == kind::response && m.status >= 200 && m.status != 204 && m.status != 304) {
        while (co_await in.fill() != 0) {  // the body runs to the connection's close
        }
        m.body = std::string(in.buffered());
        in.consume(in.buffered().size());
    }
}

/// Reads one request or response from `in`; nullopt if the stream ended before it began.
template <class Stream>
sluice::task<std::optional<message>> read_message(sluice::buffered_stream<Stream>& in, kind k) {
    try {
        std::optional<std::string> start = co_await in.read_line(max_line);
        if (!start) co_return std::nullopt;
        message m;
        parse_start_line(m, k, *start);
        co_await read_rest(in, k, m);
        co_return m;
    } catch (const sluice::incomplete_read_error&) {
        throw error("http: connection closed before the message was complete");
    } catch (const sluice::frame_too_long_error& e) {
        throw error(std::string("http: line too long: ") + e.what());
    }
}

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

/// GETs `target` from `host` (the Host header) over `stream`, which is connected to it.
template <class Stream>
sluice::task<message> get(sluice::buffered_stream<Stream>& stream, std::string_view host, std::string_view target) {
    co_await stream.write_all(format_request("GET", host, target));
    std::optional<message> response = co_await read_message(stream, kind::response);
    if (!response) throw error("http: connection closed before the response");
    co_return std::move(*response);
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
