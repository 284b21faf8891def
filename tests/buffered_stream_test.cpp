// Tests of sluice/buffered_stream.hpp: framing (read_until, read_line, read_exact), the three end of
// stream outcomes, the frame size limit, buffered and gathered writes, and cancellation losing or
// duplicating no byte; over a real socket (a socketpair, or TCP loopback) and over an in-memory
// stream whose every read and write the test controls.
//
// Reads that must be cut short block on a socket nobody writes to or a queue nobody fills, so a bug
// is a CTest TIMEOUT. No upper bound on time is asserted.

#include <sluice/buffered_stream.hpp>
#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/net.hpp>
#include <sluice/queue.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "support/co_test.hpp"
#include "support/co_check.hpp"

using namespace std::chrono_literals;
using sluice::buffered_stream;
using sluice::tcp_stream;

namespace {

/// Two connected stream sockets (AF_UNIX socketpair) as tcp_streams: recv/send work alike on them.
std::pair<tcp_stream, tcp_stream> socket_pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
    return {tcp_stream(fds[0]), tcp_stream(fds[1])};
}

/// An in-memory stream: reads take chunks the test puts into `incoming` (an empty chunk is end of
/// stream), at most `read_limit` bytes per read; writes take at most `write_limit` bytes each,
/// after waiting for one token of `write_tokens` when `gate_writes` is set.
struct fake_stream {
    sluice::queue<std::string>* incoming = nullptr;
    std::string* sent = nullptr;
    sluice::queue<int>* write_tokens = nullptr;
    std::size_t read_limit = 1 << 20;
    std::size_t write_limit = 1 << 20;
    std::string pending;
    bool ended = false;
    int reads = 0;
    int writes = 0;

    sluice::task<std::size_t> read_some(std::span<std::byte> buffer) {
        ++reads;
        if (pending.empty() && !ended) {
            pending = co_await incoming->get();
            ended = pending.empty();
        }
        const std::size_t n = std::min({buffer.size(), pending.size(), read_limit});
        std::memcpy(buffer.data(), pending.data(), n);
        pending.erase(0, n);
        co_return n;
    }
    sluice::task<std::size_t> write_some(std::span<const std::byte> data) {
        ++writes;
        if (write_tokens != nullptr) (void)co_await write_tokens->get();
        const std::size_t n = std::min(data.size(), write_limit);
        sent->append(reinterpret_cast<const char*>(data.data()), n);
        co_return n;
    }
};

fake_stream reading_from(sluice::queue<std::string>& incoming, std::size_t read_limit) {
    fake_stream fake;
    fake.incoming = &incoming;
    fake.read_limit = read_limit;
    return fake;
}

fake_stream writing_to(std::string& sent, std::size_t write_limit, sluice::queue<int>* tokens = nullptr) {
    fake_stream fake;
    fake.sent = &sent;
    fake.write_limit = write_limit;
    fake.write_tokens = tokens;
    return fake;
}

sluice::task<std::optional<std::string>> read_line_of(buffered_stream<tcp_stream>& in) { co_return co_await in.read_line(); }
sluice::task<std::optional<std::string>> read_line_of(buffered_stream<fake_stream>& in) { co_return co_await in.read_line(); }

}  // namespace

static_assert(sluice::gather_stream<tcp_stream>);
static_assert(sluice::byte_stream<fake_stream> && !sluice::gather_stream<fake_stream>);

// --- framing --------------------------------------------------------------------------------------

SLUICE_TEST_CASE("read_line and read_until frame lines that arrive split across writes", "[buffered_stream]") {
    auto [a, b] = socket_pair();
    buffered_stream in(std::move(b), {.read_chunk = 4});  // tiny reads: frames span several fills
    co_await a.write_all("first li");
    co_await a.write_all("ne\r\nsecond\nthird;;fourth;;");
    CO_CHECK_EQ(in.read_line(), "first line");  // "\r\n" stripped
    CO_CHECK_EQ(in.read_line(), "second");       // "\n" stripped
    CO_CHECK_EQ(in.read_until(";;"), "third;;");  // the delimiter kept
    CO_CHECK_EQ(in.read_until(";;"), "fourth;;");
    CHECK(in.buffered().empty());
}

SLUICE_TEST_CASE("read_exact yields exactly n bytes across several reads and keeps the rest buffered",
                 "[buffered_stream]") {
    auto [a, b] = socket_pair();
    buffered_stream in(std::move(b), {.read_chunk = 3});
    co_await a.write_all("0123456789abc");
    CO_CHECK_EQ(in.read_exact(10), "0123456789");
    CO_CHECK_EQ(in.read_exact(0), "");
    CHECK(in.buffered() == "ab");
    CO_CHECK_EQ(in.read_exact(3), "abc");
}

SLUICE_TEST_CASE("end of stream is an empty optional between frames and incomplete_read_error inside one",
                 "[buffered_stream][eof]") {
    {
        auto [a, b] = socket_pair();
        buffered_stream in(std::move(b));
        co_await a.write_all("whole\n");
        a.shutdown(sluice::shutdown_how::write);
        CO_CHECK_EQ(in.read_line(), "whole");
        CO_CHECK_EQ(in.read_line(), std::nullopt);
        CO_CHECK_EQ(in.read_exact(4), std::nullopt);
        CO_CHECK_EQ(in.read_until("x"), std::nullopt);
    }
    {
        auto [a, b] = socket_pair();
        buffered_stream in(std::move(b));
        co_await a.write_all("partial");
        a.shutdown(sluice::shutdown_how::write);
        try {
            (void)co_await in.read_line();
            FAIL("read_line returned at end of stream inside a line");
        } catch (const sluice::incomplete_read_error& e) {
            CHECK(e.buffered() == 7);
            CHECK(e.expected() == 0);
        }
        CHECK(in.buffered() == "partial");  // nothing dropped
        try {
            (void)co_await in.read_exact(10);
            FAIL("read_exact returned at end of stream inside a frame");
        } catch (const sluice::incomplete_read_error& e) {
            CHECK(e.buffered() == 7);
            CHECK(e.expected() == 10);
        }
        CO_CHECK_EQ(in.read_exact(7), "partial");
        CO_CHECK_EQ(in.read_exact(1), std::nullopt);
    }
}

SLUICE_TEST_CASE("a line longer than max_size throws frame_too_long_error and loses no buffered byte",
                 "[buffered_stream][limit]") {
    auto [a, b] = socket_pair();
    buffered_stream in(std::move(b), {.read_chunk = 5});
    co_await a.write_all("0123456789ABCDEF\nshort\n");
    try {
        (void)co_await in.read_line(10);
        FAIL("a 17-byte line passed a 10-byte limit");
    } catch (const sluice::frame_too_long_error& e) {
        CHECK(e.limit() == 10);
    }
    // Everything read so far is still there: the long line can be read with a larger limit.
    CHECK(in.buffered().substr(0, 10) == "0123456789");
    CO_CHECK_EQ(in.read_line(17), "0123456789ABCDEF");
    CO_CHECK_EQ(in.read_line(6), "short");  // exactly at the limit, terminator included
    // A delimiter found past the limit is too long as well.
    co_await a.write_all("abcdefgh;");
    bool too_long = co_await throws<sluice::frame_too_long_error>(in.read_until(";", 8));
    CHECK(too_long);
    CO_CHECK_EQ(in.read_until(";", 9), "abcdefgh;");
}

SLUICE_TEST_CASE("bad arguments are std::invalid_argument or std::out_of_range and change nothing",
                 "[buffered_stream][bad]") {
    auto [a, b] = socket_pair();
    CHECK_THROWS_AS(buffered_stream<tcp_stream>(tcp_stream(), {.read_chunk = 0}), std::invalid_argument);
    CHECK_THROWS_AS(buffered_stream<tcp_stream>(tcp_stream(), {.write_capacity = 0}), std::invalid_argument);
    buffered_stream in(std::move(b));
    bool bad = co_await throws<std::invalid_argument>(in.read_until(""));
    CHECK(bad);
    bad = co_await throws<std::invalid_argument>(in.read_until("ab", 1));
    CHECK(bad);
    CHECK_THROWS_AS(in.consume(1), std::out_of_range);
    co_await a.write_all("ok\n");
    CO_CHECK_EQ(in.read_line(), "ok");
}

// --- cancellation ---------------------------------------------------------------------------------

SLUICE_TEST_CASE("cancelling a read_line mid-line over a socket loses and duplicates no byte",
                 "[buffered_stream][cancel]") {
    tcp_stream client;
    tcp_stream accepted;
    {
        auto listener = sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0));
        client = co_await tcp_stream::connect(listener.local_endpoint());
        accepted = co_await listener.accept();
    }
    buffered_stream in(std::move(accepted));
    co_await client.write_all("hel");
    auto reader = sluice::spawn(read_line_of(in));
    while (in.buffered().empty()) co_await sluice::sleep_for(1ms);  // "hel" is buffered: mid-line
    CHECK_FALSE(reader.done());
    reader.cancel();
    const bool cancelled = co_await throws<sluice::cancelled_error>(reader);
    CHECK(cancelled);
    CHECK(in.buffered() == "hel");

    // wait_for's cancel too: the second half is not there yet, the read times out.
    co_await client.write_all("lo wor");
    const bool timed_out = co_await throws<sluice::timeout_error>(sluice::wait_for(in.read_line(), 20ms));
    CHECK(timed_out);
    co_await client.write_all("ld\nnext\n");
    CO_CHECK_EQ(in.read_line(), "hello world");
    CO_CHECK_EQ(in.read_line(), "next");
}

SLUICE_TEST_CASE("cancelling a read_line mid-line over an in-memory stream loses and duplicates no byte",
                 "[buffered_stream][cancel]") {
    sluice::queue<std::string> incoming;
    buffered_stream in(reading_from(incoming, 2));
    CHECK(incoming.try_put("abc"));
    auto reader = sluice::spawn(read_line_of(in));
    // Reads of 2 bytes: "ab", "c", then the third read waits on the empty queue.
    while (in.stream().reads < 3) co_await sluice::yield();
    CHECK(in.buffered() == "abc");
    reader.cancel();
    const bool cancelled = co_await throws<sluice::cancelled_error>(reader);
    CHECK(cancelled);
    CHECK(in.buffered() == "abc");
    CHECK(incoming.empty());

    // The cancelled queue get took nothing: the next chunk goes to the next read.
    CHECK(incoming.try_put("def\nghi\n"));
    CO_CHECK_EQ(in.read_line(), "abcdef");
    CO_CHECK_EQ(in.read_line(), "ghi");
    CHECK(incoming.try_put(""));
    CO_CHECK_EQ(in.read_line(), std::nullopt);
}

SLUICE_TEST_CASE("a cancelled flush keeps the unsent bytes pending and sends none twice",
                 "[buffered_stream][cancel]") {
    std::string sent;
    sluice::queue<int> tokens;
    buffered_stream out(writing_to(sent, 4, &tokens));
    co_await out.write("0123456789");
    CHECK(sent.empty());
    CHECK(out.pending() == 10);
    CHECK(tokens.try_put(1));  // one write of 4 bytes goes through, the next waits for a token
    auto flusher = sluice::spawn(out.flush());
    while (out.stream().writes < 2) co_await sluice::yield();
    flusher.cancel();
    const bool cancelled = co_await throws<sluice::cancelled_error>(flusher);
    CHECK(cancelled);
    CHECK(sent == "0123");
    CHECK(out.pending() == 6);
    for (int i = 0; i < 2; ++i) CHECK(tokens.try_put(1));
    co_await out.flush();
    CHECK(sent == "0123456789");
    CHECK(out.pending() == 0);
}

// --- writing --------------------------------------------------------------------------------------

SLUICE_TEST_CASE("buffered writes are sent by flush or when the buffer fills and not before", "[buffered_stream][write]") {
    auto [a, b] = socket_pair();
    buffered_stream out(std::move(a), {.write_capacity = 8});
    co_await out.write("abc");
    co_await out.write("def");
    CHECK(out.pending() == 6);
    char probe[16];
    CHECK(::recv(b.native_handle(), probe, sizeof probe, MSG_DONTWAIT) == -1);  // nothing sent yet
    CHECK(errno == EAGAIN);
    co_await out.flush();
    CHECK(out.pending() == 0);
    CO_CHECK_EQ(b.read_exact(std::span(probe).first(6)), 6);
    CHECK(std::string_view(probe, 6) == "abcdef");
    co_await out.write("12345");
    co_await out.write("67890");  // 10 > 8: both go out together
    CHECK(out.pending() == 0);
    CO_CHECK_EQ(b.read_exact(std::span(probe).first(10)), 10);
    CHECK(std::string_view(probe, 10) == "1234567890");
}

SLUICE_TEST_CASE("write_all gathers the buffer and several large buffers byte-exact over TCP", "[buffered_stream][write]") {
    auto listener = sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0));
    tcp_stream client = co_await tcp_stream::connect(listener.local_endpoint());
    tcp_stream server = co_await listener.accept();
    buffered_stream out(std::move(client));
    std::string parts[3];
    for (int i = 0; i < 3; ++i) {
        parts[i].resize(1 << 20);
        for (std::size_t j = 0; j < parts[i].size(); ++j) parts[i][j] = static_cast<char>('a' + (j * 7 + i) % 26);
    }
    co_await out.write("head:");
    // The kernel takes less than 3 MiB at once, so the gathered sends continue mid-buffer.
    auto writer = sluice::spawn(out.write_all(parts[0], parts[1], "", parts[2]));
    buffered_stream in(std::move(server));
    CO_CHECK_EQ(in.read_exact(5), "head:");
    for (const std::string& part : parts) CO_CHECK_EQ(in.read_exact(part.size()), part);
    co_await writer;
    CHECK(out.pending() == 0);
}

SLUICE_TEST_CASE("write_all over a stream without gathered writes sends short writes in order",
                 "[buffered_stream][write]") {
    std::string sent;
    buffered_stream out(writing_to(sent, 3));
    co_await out.write("<");
    co_await out.write_all("first", "", "second", ">");
    CHECK(sent == "<firstsecond>");
    CHECK(out.pending() == 0);
    CHECK(out.stream().writes == 6);  // 1, 3+2, 3+3, 1 bytes: one write per short piece
}

SLUICE_TEST_CASE("read_some serves buffered bytes first so a buffered_stream is itself a stream",
                 "[buffered_stream]") {
    auto [a, b] = socket_pair();
    buffered_stream in(std::move(b));
    co_await a.write_all("line\nrest");
    CO_CHECK_EQ(in.read_line(), "line");
    std::array<std::byte, 16> buffer{};
    const std::span<std::byte> into(buffer);
    const std::size_t n = co_await in.read_some(into);
    CHECK(std::string_view(reinterpret_cast<const char*>(buffer.data()), n) == "rest");
    a.close();
    CO_CHECK_EQ(in.read_some(std::span(buffer)), 0);
}
