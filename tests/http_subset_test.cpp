// The HTTP/1.1 subset the examples share (examples/support/http.hpp): parsing fed in pieces,
// Content-Length, chunked, close-delimited bodies, malformed input, URLs.

#include "../examples/support/http.hpp"

#include <string>

#include "support/catch.hpp"

namespace {

http::message parse_in_pieces(http::parser::kind kind, const std::string& text, std::size_t piece) {
    http::parser p(kind);
    bool done = false;
    for (std::size_t i = 0; i < text.size() && !done; i += piece) done = p.feed(std::string_view(text).substr(i, piece));
    REQUIRE(done);
    return std::move(p.get());
}

}  // namespace

TEST_CASE("a request is parsed whatever the pieces it arrives in", "[http]") {
    const std::string text = "GET /flags/br/br.gif HTTP/1.1\r\nHost: localhost\r\nX-Empty:\r\n\r\n";
    for (std::size_t piece : {1u, 2u, 7u, 1000u}) {
        const http::message m = parse_in_pieces(http::parser::kind::request, text, piece);
        CHECK(m.method == "GET");
        CHECK(m.target == "/flags/br/br.gif");
        CHECK(m.find("host") == "localhost");
        CHECK(m.find("X-EMPTY") == "");
        CHECK_FALSE(m.find("Content-Length"));
        CHECK(m.body.empty());
    }
}

TEST_CASE("a response body framed by Content-Length stops at that length", "[http]") {
    const std::string text = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA";
    const http::message m = parse_in_pieces(http::parser::kind::response, text, 3);
    CHECK(m.status == 200);
    CHECK(m.reason == "OK");
    CHECK(m.body == "hello");
}

TEST_CASE("a chunked body is decoded, extensions and trailers ignored", "[http]") {
    const std::string text =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
        "0\r\nTrailer: x\r\n\r\n";
    for (std::size_t piece : {1u, 5u, 1000u}) {
        CHECK(parse_in_pieces(http::parser::kind::response, text, piece).body == "Wikipedia in\r\n\r\nchunks.");
    }
}

TEST_CASE("a response without length runs to the connection's close", "[http]") {
    http::parser p(http::parser::kind::response);
    CHECK_FALSE(p.feed("HTTP/1.0 200 OK\r\n\r\nall of "));
    CHECK_FALSE(p.feed("this"));
    CHECK(p.finish());
    CHECK(p.get().body == "all of this");
}

TEST_CASE("a 404 with an empty body is complete at once", "[http]") {
    http::parser p(http::parser::kind::response);
    CHECK(p.feed("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"));
    CHECK(p.get().status == 404);
}

TEST_CASE("a connection closed mid-message is an error", "[http]") {
    http::parser p(http::parser::kind::response);
    CHECK_FALSE(p.feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"));
    CHECK_THROWS_AS(p.finish(), http::error);
}

TEST_CASE("malformed messages throw http::error", "[http]") {
    CHECK_THROWS_AS(http::parser(http::parser::kind::response).feed("FTP/1.1 200 OK\r\n\r\n"), http::error);
    CHECK_THROWS_AS(http::parser(http::parser::kind::response).feed("HTTP/1.1 abc OK\r\n\r\n"), http::error);
    CHECK_THROWS_AS(http::parser(http::parser::kind::request).feed("GET\r\n\r\n"), http::error);
    CHECK_THROWS_AS(http::parser(http::parser::kind::request).feed("GET / HTTP/1.1\r\nno colon\r\n\r\n"), http::error);
    CHECK_THROWS_AS(http::parser(http::parser::kind::response).feed("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"),
                    http::error);
    CHECK_THROWS_AS(
        http::parser(http::parser::kind::response).feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        http::error);
}

TEST_CASE("format_response round-trips through the parser", "[http]") {
    const std::string wire = http::format_response(200, "OK", "image/gif", std::string("GIF89a\0\1", 8));
    const http::message m = parse_in_pieces(http::parser::kind::response, wire, 4);
    CHECK(m.find("Content-Type") == "image/gif");
    CHECK(m.body == std::string("GIF89a\0\1", 8));
}

TEST_CASE("URLs give host, port and target, and only http is accepted", "[http]") {
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
