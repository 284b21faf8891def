// Tests of sluice/tls_stream.hpp against Python's ssl module (tests/peers/tls_peer.py, run by
// /usr/bin/python3) and against itself, with certificates made at test time by `openssl req`:
// verification on by default, SNI, host name and IP checks, close_notify versus truncation,
// cancelled operations, and the errors of bad input.
//
// Anything cut short blocks on a peer that never answers, so a bug is a CTest TIMEOUT; no upper
// bound on time is asserted.

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/net.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>
#include <sluice/tls_stream.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/await_error.hpp"
#include "support/co_test.hpp"
#include "support/peer_process.hpp"

using namespace std::chrono_literals;
using sluice::endpoint;
using sluice::tcp_listener;
using sluice::tcp_stream;
using sluice::tls_context;
using sluice::tls_error;
using sluice::tls_stream;
using sluice_test::error_of;

namespace {

std::pair<std::string, std::string> certificate(const std::string& name = "server") {
    return sluice_test::test_certificate(SLUICE_TEST_OPENSSL, name);
}

/// tls_peer.py in `mode`, with the test certificate; its port.
struct python_tls_peer {
    sluice_test::peer_process process;
    std::uint16_t port;
    explicit python_tls_peer(const std::string& mode)
        : process({SLUICE_TEST_PYTHON, std::string(SLUICE_TEST_DIR) + "/peers/tls_peer.py", mode, certificate().first,
                   certificate().second}),
          port(static_cast<std::uint16_t>(std::stoi(process.read_line()))) {}
};

tls_context trusting_client() {
    tls_context context = tls_context::client();
    context.add_trusted(certificate().first);
    return context;
}

/// Reads until `delimiter` (inclusive), one read_some at a time.
template <class Stream>
sluice::task<std::string> read_until(Stream& stream, char delimiter) {
    std::string text;
    std::byte c{};
    while (text.empty() || text.back() != delimiter) {
        if (co_await stream.read_some(std::span<std::byte>(&c, 1)) == 0) break;
        text += static_cast<char>(c);
    }
    co_return text;
}

std::string pattern(std::size_t size) {
    std::string data(size, '\0');
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
    return data;
}

/// Writes `data` and reads back as much, concurrently (an echo peer's window is finite).
sluice::task<std::string> echo_through(tls_stream<tcp_stream>& stream, std::string data) {
    std::string back;
    std::vector<std::byte> buffer(65536);
    std::size_t sent = 0;
    // One operation at a time: alternate bounded writes and reads of what came back.
    while (back.size() < data.size()) {
        if (sent < data.size()) {
            const std::size_t n = std::min<std::size_t>(data.size() - sent, 16384);
            co_await stream.write_all(std::string_view(data).substr(sent, n));
            sent += n;
        }
        while (back.size() + 16384 * 2 < sent || (sent == data.size() && back.size() < data.size())) {
            const std::size_t n = co_await stream.read_some(std::span<std::byte>(buffer));
            REQUIRE(n > 0);
            back.append(reinterpret_cast<const char*>(buffer.data()), n);
        }
    }
    co_return back;
}

}  // namespace

SLUICE_TEST_CASE("tls_stream: verifies a trusted Python server, sends SNI, echoes 1 MiB, ends with close_notify",
                 "[tls]") {
    python_tls_peer peer("echo");
    tls_stream<tcp_stream> stream(co_await tcp_stream::connect(endpoint("127.0.0.1", peer.port)), trusting_client(),
                                  "localhost");
    co_await stream.handshake();
    const std::string sni = co_await read_until(stream, '\n');
    CHECK(sni == "sni=localhost\n");
    const std::string data = pattern(1 << 20);
    const std::string back = co_await echo_through(stream, data);
    CHECK(back == data);
    co_await stream.shutdown();
    std::byte b{};
    const std::size_t end = co_await stream.read_some(std::span<std::byte>(&b, 1));
    CHECK(end == 0);  // the peer's close_notify
}

SLUICE_TEST_CASE("tls_stream: an IP address is checked against the certificate's IP entry and not sent as SNI",
                 "[tls]") {
    python_tls_peer peer("echo");
    tls_stream<tcp_stream> stream(co_await tcp_stream::connect(endpoint("127.0.0.1", peer.port)), trusting_client(),
                                  "127.0.0.1");
    co_await stream.handshake();
    const std::string sni = co_await read_until(stream, '\n');
    CHECK(sni == "sni=None\n");
}

SLUICE_TEST_CASE("tls_stream: the default context rejects a self-signed certificate with a clear error", "[tls]") {
    python_tls_peer peer("echo");
    tls_stream<tcp_stream> stream(co_await tcp_stream::connect(endpoint("127.0.0.1", peer.port)), tls_context::client(),
                                  "localhost");
    std::string message;
    long verify = X509_V_OK;
    try {
        co_await stream.handshake();
    } catch (const tls_error& e) {
        message = e.what();
        verify = e.verify_result();
    }
    INFO(message);
    CHECK(message.find("TLS handshake with localhost: certificate verify failed: self-signed certificate") != std::string::npos);
    CHECK(verify == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    CHECK_FALSE(stream.usable());
    const std::string again = co_await error_of<tls_error>(stream.read_some(std::span<char>()));
    CHECK(again.find("unusable") != std::string::npos);
}

SLUICE_TEST_CASE("tls_stream: a trusted certificate for another host name is rejected", "[tls]") {
    python_tls_peer peer("echo");
    tls_stream<tcp_stream> stream(co_await tcp_stream::connect(endpoint("127.0.0.1", peer.port)), trusting_client(),
                                  "example.com");
    std::string message;
    try {
        co_await stream.handshake();
    } catch (const tls_error& e) {
        message = e.what();
        CHECK(e.verify_result() == X509_V_ERR_HOSTNAME_MISMATCH);
    }
    INFO(message);
    CHECK(message.find("with example.com: certificate verify failed: hostname mismatch") != std::string::npos);
}

SLUICE_TEST_CASE("tls_stream: a peer closing without close_notify is a truncation error, not end of stream", "[tls]") {
    python_tls_peer peer("truncate");
    tls_stream<tcp_stream> stream(co_await tcp_stream::connect(endpoint("127.0.0.1", peer.port)), trusting_client(),
                                  "localhost");
    co_await stream.handshake();
    std::string received;
    std::string message;
    try {
        for (;;) {
            char buffer[64];
            const std::size_t n = co_await stream.read_some(std::span<char>(buffer));
            if (n == 0) break;
            received.append(buffer, n);
        }
    } catch (const tls_error& e) {
        message = e.what();
    }
    CHECK(received == "partial");
    CHECK(message.find("without close_notify (truncated stream)") != std::string::npos);
}

SLUICE_TEST_CASE("tls_stream: our client and our server exchange 1 MiB each way and close with close_notify", "[tls]") {
    auto [cert, key] = certificate();
    const tls_context server_context = tls_context::server(cert, key);
    tcp_listener listener = tcp_listener::bind(endpoint("127.0.0.1", 0));
    auto server = sluice::spawn([](tcp_listener& listener, tls_context context) -> sluice::task<std::size_t> {
        tls_stream<tcp_stream> peer(co_await listener.accept(), context);
        co_await peer.handshake();
        std::vector<std::byte> buffer(32768);
        std::size_t echoed = 0;
        for (;;) {
            const std::size_t n = co_await peer.read_some(std::span<std::byte>(buffer));
            if (n == 0) break;
            co_await peer.write_all(std::span<const std::byte>(buffer).first(n));
            echoed += n;
        }
        co_await peer.shutdown();
        co_return echoed;
    }(listener, server_context));
    tls_stream<tcp_stream> client(co_await tcp_stream::connect(listener.local_endpoint()), trusting_client(), "localhost");
    co_await client.handshake();
    const std::string data = pattern(1 << 20);
    const std::string back = co_await echo_through(client, data);
    CHECK(back == data);
    co_await client.shutdown();
    std::byte b{};
    const std::size_t end = co_await client.read_some(std::span<std::byte>(&b, 1));
    CHECK(end == 0);
    const std::size_t echoed = co_await std::move(server);
    CHECK(echoed == data.size());
}

SLUICE_TEST_CASE("tls_stream: a cancelled handshake (silent peer) leaves the stream unusable", "[tls][cancel]") {
    tcp_listener listener = tcp_listener::bind(endpoint("127.0.0.1", 0));
    tls_stream<tcp_stream> stream(co_await tcp_stream::connect(listener.local_endpoint()), trusting_client(), "localhost");
    tcp_stream silent = co_await listener.accept();  // accepts, never answers the ClientHello
    const std::string timed_out = co_await error_of<sluice::timeout_error>(sluice::wait_for(stream.handshake(), 20ms));
    CHECK(timed_out == "sluice: timed out");
    CHECK_FALSE(stream.usable());
    const std::string message = co_await error_of<tls_error>(stream.handshake());
    CHECK(message.find("unusable after a cancelled or failed operation") != std::string::npos);
}

SLUICE_TEST_CASE("tls_stream: a cancelled read leaves the stream unusable, and a second operation at once is a logic_error",
                 "[tls][cancel]") {
    python_tls_peer peer("echo");
    tls_stream<tcp_stream> stream(co_await tcp_stream::connect(endpoint("127.0.0.1", peer.port)), trusting_client(),
                                  "localhost");
    co_await stream.handshake();
    const std::string sni = co_await read_until(stream, '\n');
    CHECK(sni == "sni=localhost\n");
    auto reader = sluice::spawn([](tls_stream<tcp_stream>& s) -> sluice::task<std::size_t> {
        char buffer[16];
        co_return co_await s.read_some(std::span<char>(buffer));  // the echo peer has nothing to say
    }(stream));
    co_await sluice::sleep_for(5ms);
    const std::string busy = co_await error_of<std::logic_error>(stream.write_all("x"));
    CHECK(busy.find("another operation is in progress") != std::string::npos);
    reader.cancel();
    const std::string cancelled = co_await error_of<sluice::cancelled_error>(std::move(reader));
    CHECK(cancelled == "sluice: task cancelled");
    CHECK_FALSE(stream.usable());
    const std::string after = co_await error_of<tls_error>(stream.write_all("x"));
    CHECK(after.find("unusable") != std::string::npos);
}

TEST_CASE("tls_context: unreadable or mismatched files are errors naming the file, and a verifying client needs a host",
          "[tls]") {
    auto [cert, key] = certificate();
    auto [other_cert, other_key] = certificate("other");
    CHECK_THROWS_WITH(tls_context::server("/nonexistent/server.crt", key),
                      Catch::Contains("cannot load certificate chain /nonexistent/server.crt"));
    CHECK_THROWS_WITH(tls_context::server(cert, "/nonexistent/server.key"),
                      Catch::Contains("cannot load private key /nonexistent/server.key"));
    CHECK_THROWS_AS(tls_context::server(cert, other_key), tls_error);
    tls_context client = tls_context::client();
    CHECK(client.verifies());
    CHECK_THROWS_WITH(client.add_trusted("/nonexistent/ca.pem"), Catch::Contains("/nonexistent/ca.pem"));
    CHECK_THROWS_AS(tls_stream<tcp_stream>(tcp_stream(), client, ""), std::invalid_argument);
    client.disable_verification();
    CHECK_FALSE(client.verifies());
    CHECK_NOTHROW(tls_stream<tcp_stream>(tcp_stream(), client, ""));
}
