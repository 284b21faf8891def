#pragma once
// Shared by sluice/net.hpp and sluice/file.hpp: an owned file descriptor, and the awaitable that
// turns one kernel op's result into a byte count (or nothing).

#include <unistd.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#include "io_awaitable.hpp"

namespace sluice::detail {

/// Tells the running loop's backend that `fd` is about to be closed or handed over, and returns it.
/// TRICKY: the epoll backend remembers which descriptors it registered; a closed descriptor leaves
/// the epoll set by itself, so a new one with the same number would otherwise be taken for
/// registered and never report readiness.
inline int forget_descriptor(int fd) noexcept {
    if (event_loop* loop = event_loop::current_or_null()) loop->io().forget(fd);
    return fd;
}

/// Owns one file descriptor; -1 means none. Move-only; the destructor closes synchronously.
class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    ~unique_fd() { reset(); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] explicit operator bool() const noexcept { return fd_ >= 0; }
    /// Gives the descriptor up without closing it.
    [[nodiscard]] int release() noexcept { return fd_ >= 0 ? forget_descriptor(std::exchange(fd_, -1)) : -1; }
    /// Closes now (close(2)); its error is ignored: the descriptor is gone either way (see close(2),
    /// "dealing with error returns from close()").
    void reset() noexcept {
        if (fd_ >= 0) ::close(forget_descriptor(std::exchange(fd_, -1)));
    }

private:
    int fd_ = -1;
};

/// Linux moves at most this many bytes in one read/write/send/recv (MAX_RW_COUNT); the SQE's length
/// field is 32 bits. Larger buffers are split by the looping operations.
inline constexpr std::size_t max_io_chunk = 0x7ffff000;

[[nodiscard]] constexpr unsigned io_chunk(std::size_t size) noexcept {
    return static_cast<unsigned>(size < max_io_chunk ? size : max_io_chunk);
}

/// An io_awaitable whose result is a byte count (`Result` = std::size_t) or nothing (void). Same
/// cancellation and error behaviour: it only converts what await_resume returns.
template <class Result>
class io_result_awaitable {
public:
    io_result_awaitable(const char* what, const io_request& request, io_kind kind = io_kind::retryable) noexcept
        : op_(what, request, kind) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        return op_.await_suspend(waiter);
    }
    Result await_resume() const {
        const int result = op_.await_resume();
        if constexpr (!std::is_void_v<Result>) return static_cast<Result>(result);
    }

private:
    io_awaitable op_;
};

/// `co_await` yields the op's non-negative result as a byte count.
inline io_result_awaitable<std::size_t> make_io_size_awaitable(const char* what, const io_request& request) noexcept {
    return io_result_awaitable<std::size_t>(what, request);
}

/// `co_await` yields nothing (the op's result is only checked for an error).
inline io_result_awaitable<void> make_io_void_awaitable(const char* what, const io_request& request,
                                                       io_kind kind = io_kind::retryable) noexcept {
    return io_result_awaitable<void>(what, request, kind);
}

}  // namespace sluice::detail
