#pragma once
// Shared by sluice/net.hpp, sluice/file.hpp and sluice/signal.hpp: an owned file descriptor, which
// the running loop's backend is told about before it is closed or handed over.

#include <unistd.h>

#include <utility>

#include "event_loop.hpp"

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

}  // namespace sluice::detail
