#pragma once
/// sluice/backend.hpp: which kernel interface a loop does its I/O through, and the options of the
/// loop `sluice::run` creates.
///
/// - `backend::io_uring` (the default where it works), `backend::epoll` (readiness plus
///   non-blocking system calls; regular-file I/O on the worker pool, as libuv does), or
///   `backend::automatic`: io_uring, and epoll when io_uring_setup is refused with EPERM, ENOSYS
///   or EACCES (container seccomp profiles, kernel.io_uring_disabled), silently.
/// - With `automatic`, the environment variable `SLUICE_BACKEND=io_uring|epoll` forces one (for
///   deployments and for running a test suite on both); another value is a std::invalid_argument
///   from `run`. An explicit `event_loop_options::backend` wins over the environment. Forcing
///   io_uring where it is blocked throws the std::system_error that names the cause and remedy.
/// - `sluice::current_backend()` (sluice/event_loop.hpp) tells which one the running loop uses.
///
/// Every public behaviour (cancellation, wait_for, EOF as a value, errors as std::system_error
/// with the errno, no SIGPIPE) is the same on both.
///
/// This header does no I/O and includes neither <liburing.h> nor <sys/epoll.h>.

#include <string_view>

namespace sluice {

/// The kernel interface of a loop's I/O.
enum class backend : unsigned char {
    automatic,  ///< io_uring, or epoll where io_uring is blocked (and SLUICE_BACKEND may force one)
    io_uring,   ///< io_uring(7): one ring per loop
    epoll,      ///< epoll(7) readiness + non-blocking syscalls; files on the worker pool
};

/// "automatic", "io_uring" or "epoll".
[[nodiscard]] constexpr std::string_view to_string(backend which) noexcept {
    switch (which) {
        case backend::io_uring:
            return "io_uring";
        case backend::epoll:
            return "epoll";
        case backend::automatic:
            break;
    }
    return "automatic";
}

/// How the io_uring backend creates its ring; the defaults were chosen by measurement (see
/// benchmarks/README.md). Ignored by the epoll backend.
struct ring_options {
    /// Submission queue entries: at least 1 (0 is `std::invalid_argument` from `run`).
    unsigned submission_entries = 256;
    /// Bounds the ops in the kernel at once (half of it: see the budget in detail/uring_backend.hpp).
    /// Raised to at least 8 and to `submission_entries`, so at least one op besides the loop's
    /// wake-up read (one more, always in flight) can be in the kernel.
    unsigned completion_entries = 16384;
    /// Try IORING_SETUP_DEFER_TASKRUN (with SINGLE_ISSUER); falls back when the kernel refuses.
    bool defer_taskrun = false;
};

/// The options of the loop `sluice::run` creates: the backend, the ring's options (io_uring
/// only) and the worker pool's size, as separate things.
struct event_loop_options {
    /// Which backend to use; `automatic` (the default) also honours SLUICE_BACKEND.
    sluice::backend backend = sluice::backend::automatic;
    /// The io_uring backend's ring.
    ring_options ring{};
    /// Threads of the loop's default `to_thread` pool (also the epoll backend's file I/O), created
    /// on first use; 0 means std::thread::hardware_concurrency() (at least 1).
    unsigned worker_threads = 0;
};

}  // namespace sluice
