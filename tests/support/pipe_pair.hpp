#pragma once
// Both ends of a pipe for tests that read or write through the loop (sluice::read_some/write_some):
// closed at scope exit after telling the loop (sluice::forget_descriptor), as a user must.

#include <sluice/cancellable.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include "catch.hpp"

namespace sluice_test {

/// Both ends of a pipe, closed at scope exit (and checked closed by the tests that care).
struct pipe_pair {
    int read_end = -1;
    int write_end = -1;
    pipe_pair() {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        read_end = fds[0];
        write_end = fds[1];
    }
    pipe_pair(const pipe_pair&) = delete;
    pipe_pair& operator=(const pipe_pair&) = delete;
    ~pipe_pair() { close_both(); }
    /// True when both ends closed without error.
    bool close_both() {
        bool ok = true;
        if (read_end >= 0) ok = ::close(sluice::forget_descriptor(std::exchange(read_end, -1))) == 0 && ok;
        if (write_end >= 0) ok = ::close(sluice::forget_descriptor(std::exchange(write_end, -1))) == 0 && ok;
        return ok;
    }
};

}  // namespace sluice_test
