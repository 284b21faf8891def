// The HTTP/1.1 subset the examples share (examples/support/http.hpp): messages read from a
// buffered_stream over an in-memory stream that delivers them in pieces of any size;
// Content-Length, chunked and close-delimited bodies, malformed input, URLs.

#include "../examples/support/http.hpp"

#include <sluice/buffered_stream.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "support/co_check.hpp"
#include "support/co_test.hpp"

namespace {

/// Reads hand out `text` `piece` bytes at a time, then end of stream.
struct pieces_stream {
    std::string text;
    std::size_t piece = 1;

    sluice::task<std::size_t> read_some(std::span<std::byte> buffer) {
        const std::size_t n = std::min({buffer.size(), piece, text.size()});
        std::memcpy(buffer.data(), text.data(), n);
        text.erase(0, n);
        co_return n;
    }
    sluice::task<std::size_t> write_some(std::span<const std::byte> data) { co_return data.size(); }
};

sluice::task<http::message> parse_in_pieces(http::kind kind, std::string text, std::size_t piece) {
    sluice::buffered_stream in(pieces_stream{std::move(text), piece});
    std::optional<http::message> m = co_await http::read_message(in, kind);
    REQUIRE(m);
    co_return std::move(*m);
}

/// Whether reading `text` as a `kind` message throws http::error.
sluice::task<bool> rejected(http::kind kind, std::string text) {
    co_return co_await throws<http::error>(parse_in_pieces(kind, std::move(text), 1000));
}

}  // namespace

SLUICE_TEST_CASE("a request is parsed whatever the pieces it arrives in", "[http]") {
    const std::string text = "GET /flags/br/br.gif HTTP/1.1\r\nHost: localhost\r\nX-Empty:\r\n\r\n";
    for (std::size_t piece : {1u, 2u, 7u, 1000u}) {
        const http::message m = co_await parse_in_pieces(http::kind::request, text, piece);
        CHECK(m.method == "GET");
        CHECK(m.target == "/flags/br/br.gif");
        CHECK(m.find("host") == "localhost");
        CHECK(m.find("X-EMPTY") == "");
        CHECK_FALSE(m.find("Content-Length"));
        CHECK(m.body.empty());
    }
}

SLUICE_TEST_CASE("a response body framed by Content-Length stops at that length", "[http]") {
    const http::message m =
        co_await parse_in_pieces(http::kind::response, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA", 3);
    CHECK(m.status == 200);
    CHECK(m.reason == "OK");
    CHECK(m.body == "hello");
}

SLUICE_TEST_CASE("a chunked body is decoded with extensions and trailers ignored", "[http]") {
    const std::string text =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
        "0\r\nTrailer: x\r\n\r\n";
    for (std::size_t piece : {1u, 5u, 1000u}) {
        const http::message m = co_await parse_in_pieces(http::kind::response, text, piece);
        CHECK(m.body == "Wikipedia in\r\n\r\nchunks.");
    }
}

SLUICE_TEST_CASE("a response without length runs to the connection's close", "[http]") {
    const http::message m = co_await parse_in_pieces(http::kind::response, "HTTP/1.0 200 OK\r\n\r\nall of this", 4);
    CHECK(m.body == "all of this");
}

SLUICE_TEST_CASE("a 404 with an empty body is complete at once and the stream ending first is no message", "[http]") {
    sluice::buffered_stream in(pieces_stream{"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 1000});
    const std::optional<http::message> m = co_await http::read_message(in, http::kind::response);
    REQUIRE(m);
    CHECK(m->status == 404);
    const std::optional<http::message> none = co_await http::read_message(in, http::kind::response);
    CHECK_FALSE(none);
}

SLUICE_TEST_CASE("a connection closed mid-message is an error", "[http]") {
    bool bad = co_await rejected(http::kind::response, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort");
    CHECK(bad);
    bad = co_await rejected(http::kind::response, "HTTP/1.1 200 OK\r\nContent-Le");
    CHECK(bad);
    bad = co_await rejected(http::kind::response, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWi");
    CHECK(bad);
}

SLUICE_TEST_CASE("malformed messages throw http::error", "[http]") {
    for (const char* text : {"FTP/1.1 200 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
        const bool bad = co_await rejected(http::kind::response, text);
        CHECK(bad);
    }
    for (const char* text : {"GET\r\n\r\n", "GET / HTTP/1.1\r\nno colon\r\n\r\n"}) {
        const bool bad = co_await rejected(http::kind::request, text);
        CHECK(bad);
    }
    const bool too_long = co_await rejected(http::kind::request, "GET /" + std::string(10000, 'a') + " HTTP/1.1\r\n\r\n");
    CHECK(too_long);
}

SLUICE_TEST_CASE("format_response round-trips through read_message", "[http]") {
    const std::string wire = http::format_response(200, "OK", "image/gif", std::string("GIF89a\0\1", 8));
    const http::message m = co_await parse_in_pieces(http::kind::response, wire, 4);
    CHECK(m.find("Content-Type") == "image/gif");
    CHECK(m.body == std::string("GIF89a\0\1", 8));
}

TEST_CASE("URLs give host and port and target and only http is accepted", "[http]") {
    const http::url a = http::parse_url("http://127.0.0.1:8001/flags/ar/ar.gif");
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 8001);
    CHECK(a.target == "/flags/ar/ar.gif");
    const http::url b = http::parse_url("http://localhost");
    CHECK(b.port == 80);
    CHECK(b.target == "/");
    CHECK_THROWS_AS(http::parse_url("https://example.org/"), http::error);
    CHECK_THROWS_AS(http::parse_url("http://host:0/"), http::error);
    CHECK_THROWS_AS(http::parse_url("http:///path"), http::error);
}
