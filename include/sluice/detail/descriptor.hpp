#pragma once
// Shared by sluice/net.hpp and sluice/file.hpp: an owned file descriptor, and the awaitable that
// turns one io_uring op's CQE into a byte count (or nothing).

#include <unistd.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#include "io_awaitable.hpp"

namespace sluice::detail {

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
    [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }
    /// Closes now (close(2)); its error is ignored: the descriptor is gone either way (see close(2),
    /// "dealing with error returns from close()").
    void reset() noexcept {
        if (fd_ >= 0) ::close(std::exchange(fd_, -1));
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
template <class Prepare, class Result>
class io_result_awaitable {
public:
    io_result_awaitable(const char* what, Prepare prepare, io_kind kind = io_kind::retryable) noexcept
        : op_(what, std::move(prepare), kind) {}

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
    io_awaitable<Prepare> op_;
};

/// `co_await` yields the op's non-negative result as a byte count.
template <class Prepare>
io_result_awaitable<Prepare, std::size_t> make_io_size_awaitable(const char* what, Prepare prepare) noexcept {
    return io_result_awaitable<Prepare, std::size_t>(what, std::move(prepare));
}

/// `co_await` yields nothing (the op's result is only checked for an error).
template <class Prepare>
io_result_awaitable<Prepare, void> make_io_void_awaitable(const char* what, Prepare prepare,
                                                          io_kind kind = io_kind::retryable) noexcept {
    return io_result_awaitable<Prepare, void>(what, std::move(prepare), kind);
}

}  // namespace sluice::detail
