#pragma once
/// sluice/buffered_stream.hpp: framing over a byte stream (asyncio StreamReader/StreamWriter,
/// Rust's BufReader/BufWriter).
///
/// `buffered_stream<S>` owns a stream `S` with `co_await read_some(std::span<std::byte>)` and
/// `co_await write_some(std::span<const std::byte>)` (`tcp_stream`, `unix_stream`, a TLS adapter, a
/// test double) and adds a read buffer and a write buffer:
/// - reading frames: `read_until(delim)`, `read_line()`, `read_exact(n)`; or, for a parser of your
///   own, `fill()` + `buffered()` + `consume(n)`;
/// - writing: `write(bytes)` appends to the write buffer (sent when it is full), `flush()` sends it,
///   `write_all(a, b, ...)` sends the buffer and several more buffers in one gathered system call
///   when `S` has `write_some(std::span<const iovec>)` (tcp_stream and unix_stream: sendmsg(2)).
///
/// End of stream has three documented outcomes:
/// - between frames (nothing buffered): the frame readers return an empty `std::optional`;
/// - inside a frame (some bytes buffered, the frame not complete): `incomplete_read_error`. The
///   bytes stay buffered (`buffered()`), nothing is dropped;
/// - `fill()` and `read_some` return 0, as `S::read_some` does.
/// A frame longer than its maximum (`read_until`/`read_line`'s `max_size`) throws
/// `frame_too_long_error` and also leaves every buffered byte in place.
///
/// Cancellation: each operation is a cancellation point of `S`'s operations and nothing more. The
/// buffers change only after one of `S`'s operations has completed, so a cancelled read leaves
/// every byte received so far in the read buffer for the next read (none lost, none read twice),
/// and a cancelled `flush`/`write`/`write_all` has removed from the write buffer exactly the bytes
/// the kernel took (like `tcp_stream::write_all`, part of the data may have been sent).
///
/// Concurrency: one read and one write may run at the same time (from two tasks: the two buffers
/// are separate), but not two reads nor two writes. The buffered_stream must not be moved while an
/// operation runs on it. Frames are returned as `std::string` copies (the buffer is reused).

#include <sys/uio.h>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "task.hpp"

namespace sluice {

/// The stream ended inside a frame: `buffered()` bytes of it had arrived (they stay in the read
/// buffer), `expected()` were needed (0 when the frame's end is a delimiter, unknown in advance).
class incomplete_read_error : public std::runtime_error {
public:
    incomplete_read_error(std::size_t buffered, std::size_t expected)
        : std::runtime_error("sluice: end of stream inside a frame (" + std::to_string(buffered) + " bytes buffered" +
                             (expected != 0 ? ", " + std::to_string(expected) + " expected)" : ", no delimiter)")),
          buffered_(buffered),
          expected_(expected) {}
    /// Bytes of the partial frame, still in the stream's read buffer.
    [[nodiscard]] std::size_t buffered() const noexcept { return buffered_; }
    /// The frame's size for `read_exact`; 0 for `read_until`/`read_line`.
    [[nodiscard]] std::size_t expected() const noexcept { return expected_; }

private:
    std::size_t buffered_;
    std::size_t expected_;
};

/// No delimiter within the first `limit()` bytes: the frame is longer than allowed. Every byte stays
/// in the read buffer: the caller may answer an error and close, or skip with `consume`.
class frame_too_long_error : public std::length_error {
public:
    explicit frame_too_long_error(std::size_t limit)
        : std::length_error("sluice: frame longer than " + std::to_string(limit) + " bytes"), limit_(limit) {}
    /// The `max_size` that was exceeded.
    [[nodiscard]] std::size_t limit() const noexcept { return limit_; }

private:
    std::size_t limit_;
};

/// Sizes of a buffered_stream's buffers.
struct buffered_stream_options {
    /// Bytes asked of `S::read_some` per read (the read buffer grows past it only for a longer frame).
    std::size_t read_chunk = 16 * 1024;
    /// `write` sends once this many bytes are pending.
    std::size_t write_capacity = 16 * 1024;
};

/// The default `max_size` of read_until/read_line: 64 KiB, as asyncio's StreamReader limit.
inline constexpr std::size_t default_max_frame = 64 * 1024;

/// A stream with `co_await s.read_some(std::span<std::byte>)` yielding a byte count (0 at end).
template <class S>
concept byte_stream = requires(S& s, std::span<std::byte> in, std::span<const std::byte> out) {
    s.read_some(in);
    s.write_some(out);
};

/// A stream that also sends several buffers in one call: `co_await s.write_some(std::span<const iovec>)`.
template <class S>
concept gather_stream = byte_stream<S> && requires(S& s, std::span<const iovec> buffers) { s.write_some(buffers); };

/// A read buffer and a write buffer around a stream `S` (see the top of this file).
template <byte_stream S>
class buffered_stream {
public:
    /// Takes `stream` (moved in). std::invalid_argument if an option is 0.
    explicit buffered_stream(S stream, buffered_stream_options options = {})
        : stream_(std::move(stream)), options_(options) {
        if (options_.read_chunk == 0 || options_.write_capacity == 0) {
            throw std::invalid_argument("sluice: buffered_stream: read_chunk and write_capacity must be > 0");
        }
    }

    /// The underlying stream (e.g. to shut it down or close it).
    [[nodiscard]] S& stream() noexcept { return stream_; }
    [[nodiscard]] const S& stream() const noexcept { return stream_; }

    // --- reading ---------------------------------------------------------------------------------

    /// The bytes read from the stream and not consumed yet.
    [[nodiscard]] std::string_view buffered() const noexcept { return {read_.data() + begin_, end_ - begin_}; }

    /// Drops the first `n` buffered bytes (std::out_of_range if fewer are buffered).
    void consume(std::size_t n) {
        if (n > end_ - begin_) throw std::out_of_range("sluice: buffered_stream::consume: more than is buffered");
        begin_ += n;
        if (begin_ == end_) begin_ = end_ = 0;
    }

    /// `co_await fill()` reads once from the stream into the read buffer and yields how many bytes
    /// arrived: 0 at end of stream. The buffer grows as needed (bound it with your own check on
    /// `buffered().size()`). @see S::read_some
    [[nodiscard]] task<std::size_t> fill() {
        if (read_.size() - end_ < options_.read_chunk) make_room();
        const std::size_t n = co_await stream_.read_some(std::as_writable_bytes(std::span(read_).subspan(end_)));
        end_ += n;  // only now: a cancelled read_some changed nothing
        co_return n;
    }

    /// `co_await read_some(buf)`: buffered bytes first, else one read of the stream; 0 at end of
    /// stream, as S::read_some (so a buffered_stream is itself a stream).
    [[nodiscard]] task<std::size_t> read_some(std::span<std::byte> buffer) {
        if (buffer.empty()) co_return 0;
        if (begin_ == end_ && co_await fill() == 0) co_return 0;
        const std::size_t n = std::min(buffer.size(), end_ - begin_);
        std::memcpy(buffer.data(), read_.data() + begin_, n);
        consume(n);
        co_return n;
    }

    /// `co_await read_until(delim, max_size)` yields the next frame up to and including `delim`.
    /// Empty optional at end of stream with nothing buffered; incomplete_read_error at end of stream
    /// inside a frame; frame_too_long_error if no `delim` ends within `max_size` bytes (delimiter
    /// included). std::invalid_argument for an empty delimiter or a max_size smaller than it.
    [[nodiscard]] task<std::optional<std::string>> read_until(std::string delim, std::size_t max_size = default_max_frame) {
        const std::size_t size = co_await frame_until(delim, max_size);
        if (size == 0) co_return std::nullopt;
        std::string frame(read_.data() + begin_, size);
        consume(size);
        co_return frame;
    }

    /// `co_await read_line(max_size)` yields the next line without its "\n" or "\r\n"; as
    /// read_until("\n", max_size) otherwise (max_size counts the terminator).
    [[nodiscard]] task<std::optional<std::string>> read_line(std::size_t max_size = default_max_frame) {
        const std::size_t size = co_await frame_until("\n", max_size);
        if (size == 0) co_return std::nullopt;
        std::size_t length = size - 1;
        if (length > 0 && read_[begin_ + length - 1] == '\r') --length;
        std::string line(read_.data() + begin_, length);
        consume(size);
        co_return line;
    }

    /// `co_await read_exact(n)` yields the next `n` bytes. Empty optional at end of stream with
    /// nothing buffered; incomplete_read_error at end of stream after fewer than `n`.
    [[nodiscard]] task<std::optional<std::string>> read_exact(std::size_t n) {
        while (end_ - begin_ < n) {
            if (co_await fill() == 0) {
                if (begin_ == end_) co_return std::nullopt;
                throw incomplete_read_error(end_ - begin_, n);
            }
        }
        std::string frame(read_.data() + begin_, n);
        consume(n);
        co_return frame;
    }

    // --- writing ---------------------------------------------------------------------------------

    /// Bytes written with `write` and not sent yet.
    [[nodiscard]] std::size_t pending() const noexcept { return write_.size(); }

    /// `co_await write(bytes)` appends `bytes` to the write buffer; when that would pass
    /// `write_capacity` it sends the buffer and `bytes` together (as write_all) instead.
    [[nodiscard]] task<void> write(std::string_view bytes) {
        if (write_.size() + bytes.size() <= options_.write_capacity) {
            write_.append(bytes);
            co_return;
        }
        co_await send(std::vector<iovec>(1, as_iovec(bytes)));  // (not a braced list: GCC 12 coroutine bug)
    }
    [[nodiscard]] task<void> write(std::span<const std::byte> bytes) {
        return write(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }

    /// `co_await flush()` sends everything `write` buffered. @see S::write_some
    [[nodiscard]] task<void> flush() { return send({}); }

    /// `co_await write_all(a, b, ...)` sends the write buffer, then `a`, `b`, ... (anything that
    /// converts to std::string_view) in order, gathered into as few system calls as the kernel
    /// allows: one, unless it takes less than everything. The views are taken at the call; the
    /// bytes they show must stay valid until it completes.
    template <class... Buffers>
        requires(std::convertible_to<const Buffers&, std::string_view> && ...)
    [[nodiscard]] task<void> write_all(const Buffers&... buffers) {
        std::vector<iovec> gathered;
        gathered.reserve(sizeof...(buffers));
        (gathered.push_back(as_iovec(std::string_view(buffers))), ...);
        return send(std::move(gathered));
    }
    /// write_all of a list of buffers whose length is known only at run time.
    [[nodiscard]] task<void> write_all(std::span<const std::string_view> buffers) {
        std::vector<iovec> gathered;
        gathered.reserve(buffers.size());
        for (std::string_view b : buffers) gathered.push_back(as_iovec(b));
        return send(std::move(gathered));
    }

private:
    static iovec as_iovec(std::string_view bytes) noexcept {
        return {const_cast<char*>(bytes.data()), bytes.size()};  // iovec is not const-correct; only read
    }

    /// Makes at least read_chunk bytes of room after end_: moves the unread bytes to the front,
    /// growing the buffer when they take more than half of it (so a long frame costs O(n) copies).
    void make_room() {
        const std::size_t unread = end_ - begin_;
        if (unread + options_.read_chunk > read_.size() || unread > read_.size() / 2) {
            std::string grown(std::max(read_.size() * 2, unread + options_.read_chunk), '\0');
            std::memcpy(grown.data(), read_.data() + begin_, unread);
            read_ = std::move(grown);
        } else if (begin_ != 0) {
            std::memmove(read_.data(), read_.data() + begin_, unread);
        }
        begin_ = 0;
        end_ = unread;
    }

    /// The size of the next frame ending with `delim` (delimiter included), reading as needed; 0 at
    /// end of stream with nothing buffered.
    task<std::size_t> frame_until(std::string_view delim, std::size_t max_size) {
        if (delim.empty() || max_size < delim.size()) {
            throw std::invalid_argument("sluice: read_until: empty delimiter or max_size smaller than it");
        }
        std::size_t searched = 0;  // offsets below this cannot start the delimiter: no rescans
        for (;;) {
            const std::string_view unread = buffered();
            const std::size_t found = unread.find(delim, searched);
            if (found != std::string_view::npos && found + delim.size() <= max_size) co_return found + delim.size();
            if (found != std::string_view::npos || unread.size() >= max_size) throw frame_too_long_error(max_size);
            searched = unread.size() >= delim.size() ? unread.size() - delim.size() + 1 : 0;
            if (co_await fill() == 0) {
                if (begin_ == end_) co_return 0;
                throw incomplete_read_error(end_ - begin_, 0);
            }
        }
    }

    /// Sends the write buffer then `extra`, continuing short writes. TRICKY: the write buffer
    /// loses exactly the bytes each completed write_some took, so after a cancel the rest is still
    /// pending and nothing is sent twice. Nothing is appended to it meanwhile (one writer at a time).
    task<void> send(std::vector<iovec> extra) {
        std::size_t next = 0;  // the first buffer of `extra` not completely sent
        for (;;) {
            while (next < extra.size() && extra[next].iov_len == 0) ++next;
            if (write_.empty() && next == extra.size()) co_return;
            std::size_t n = 0;
            const std::size_t buffers = (write_.empty() ? 0 : 1) + (extra.size() - next);
            if (buffers == 1 || !gather_stream<S>) {  // one buffer: a plain send, cheaper than sendmsg
                const iovec first = write_.empty() ? extra[next] : as_iovec(write_);
                n = co_await stream_.write_some(
                    std::span<const std::byte>(static_cast<const std::byte*>(first.iov_base), first.iov_len));
            } else if constexpr (gather_stream<S>) {
                std::vector<iovec> batch;
                batch.reserve(extra.size() - next + 1);
                if (!write_.empty()) batch.push_back(as_iovec(write_));
                batch.insert(batch.end(), extra.begin() + static_cast<std::ptrdiff_t>(next), extra.end());
                n = co_await stream_.write_some(std::span<const iovec>(batch));
            }
            const std::size_t from_buffer = std::min(n, write_.size());
            write_.erase(0, from_buffer);
            for (n -= from_buffer; n > 0; ++next) {
                const std::size_t taken = std::min(n, extra[next].iov_len);
                extra[next].iov_base = static_cast<char*>(extra[next].iov_base) + taken;
                extra[next].iov_len -= taken;
                n -= taken;
                if (extra[next].iov_len != 0) break;
            }
        }
    }

    S stream_;
    buffered_stream_options options_;
    std::string read_;            // [begin_, end_) unread; the rest is room for the next read
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
    std::string write_;           // written, not sent yet
};

}  // namespace sluice
