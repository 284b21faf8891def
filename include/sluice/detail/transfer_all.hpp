#pragma once
// The looping transfers behind tcp_stream's read_exact/write_all and file's read_at/write_at: one
// implementation each, whatever moves the bytes (a recv, a pread, ...). A short transfer is
// continued; what ends the loop is decided here, once:
//  - a read that returns 0 is the end of the stream or file: the bytes read so far are the result;
//  - a write that returns 0 for a nonempty buffer made no progress, and retrying it could spin
//    forever: it is an error (EIO), for sockets and files alike.

#include <cerrno>
#include <cstddef>
#include <span>

#include "../task.hpp"
#include "system_error.hpp"

namespace sluice::detail {

/// Awaits `read_some(rest, done)` (some bytes into `rest`, the part of `buffer` still empty after
/// `done` bytes) until `buffer` is full or a read returns 0; the bytes read.
template <class ReadSome>
task<std::size_t> read_until_full(std::span<std::byte> buffer, ReadSome read_some) {
    std::size_t done = 0;
    while (done < buffer.size()) {
        const std::size_t n = co_await read_some(buffer.subspan(done), done);
        if (n == 0) break;
        done += n;
    }
    co_return done;
}

/// Awaits `write_some(rest, done)` until all of `data` is written; a write of nothing throws
/// std::system_error (EIO) naming `operation`.
template <class WriteSome>
task<void> write_until_done(std::span<const std::byte> data, WriteSome write_some, const char* operation) {
    std::size_t done = 0;
    while (done < data.size()) {
        const std::size_t n = co_await write_some(data.subspan(done), done);
        if (n == 0) throw os_error(EIO, operation, "(wrote nothing)");
        done += n;
    }
}

}  // namespace sluice::detail
