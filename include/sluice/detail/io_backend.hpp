#pragma once
// The one interface between the loop and the kernel. An `io_operation` (an object in a suspended
// coroutine frame) describes what it wants as an `io_request` and is completed from a result (a
// non-negative value or -errno); a backend submits it, reaps completions with a timeout, and
// cancels. Two backends implement it: detail/uring_backend.hpp (io_uring) and
// detail/epoll_backend.hpp (epoll readiness + non-blocking syscalls, files on the worker pool);
// detail/backends.hpp chooses one. Nothing above this file sees either kernel interface.
//
// The promise every backend keeps: complete() is called exactly once per submit,
// never from inside a coroutine's resumption (it only schedules), and only after the kernel (or a
// worker thread) has let go of the request's buffers and addresses, also when the op is cancelled.

#include <sys/socket.h>
#include <sys/types.h>

#include <cstdint>

#include "../backend.hpp"
#include "intrusive_list.hpp"
#include "std_chrono.hpp"

namespace sluice::detail {

/// What an operation asks for; each maps to one system call (named beside it).
enum class io_code : unsigned char {
    read,      ///< read(2) on a pollable descriptor (pipe, eventfd, signalfd): `data`, `size`
    write,     ///< write(2) on a pollable descriptor
    recv,      ///< recv(2) with `flags`
    send,      ///< send(2) with `flags` (sluice always adds MSG_NOSIGNAL)
    recvmsg,   ///< recvmsg(2): `data` is the msghdr*, with `flags`
    sendmsg,   ///< sendmsg(2): `data` is the msghdr*, with `flags`
    accept,    ///< accept4(2) with `flags` (SOCK_CLOEXEC ...), no peer address
    connect,   ///< connect(2) to `address`/`address_size`
    read_at,   ///< pread(2) at `offset` (a regular file)
    write_at,  ///< pwrite(2) at `offset`
    openat,    ///< openat(2) of `path` relative to the working directory, `flags`, `mode`
    fsync,     ///< fsync(2), or fdatasync(2) when `flags` is 1
    close,     ///< close(2)
    renameat,  ///< renameat(2) from `path` to `path2`, both relative to the working directory
};

/// An operation's arguments. Every pointer must stay valid until the op completes (it lives in the
/// awaiting coroutine's frame).
struct io_request {
    io_code code = io_code::read;
    int fd = -1;
    int flags = 0;
    unsigned size = 0;
    void* data = nullptr;
    std::uint64_t offset = 0;
    const sockaddr* address = nullptr;
    socklen_t address_size = 0;
    mode_t mode = 0;
    const char* path = nullptr;
    const char* path2 = nullptr;

    /// True for the codes the epoll backend runs on the worker pool (regular-file I/O).
    [[nodiscard]] constexpr bool is_file_op() const noexcept { return code >= io_code::read_at; }
};

class io_backend;
class event_loop;

/// An asynchronous kernel operation living in a suspended coroutine frame.
class io_operation {
public:
    /// What to do; filled before the op is submitted, read by the backend (possibly on a worker).
    io_request request;

    /// The op finished with `result` (>= 0, or -errno; -ECANCELED after a cancel that took
    /// effect). Record it and schedule the waiter; never resume inline (the backend is reaping).
    virtual void complete(int result) noexcept = 0;

protected:
    io_operation() = default;
    io_operation(const io_operation&) = delete;
    io_operation& operator=(const io_operation&) = delete;
    ~io_operation() = default;

private:
    friend class uring_backend;
    friend class epoll_backend;
    // Backend bookkeeping: an intrusive list (the ring's slot queue, an epoll descriptor's waiters)
    // and a backend-defined state.
    list_links<io_operation> links_;
    void* backend_data_ = nullptr;
    unsigned char backend_state_ = 0;
};

/// "Wait for at least one completion, however long it takes" for `io_backend::submit_and_reap`.
inline constexpr std::chrono::nanoseconds wait_forever{-1};

/// A loop's way to the kernel. One per loop; loop thread only.
class io_backend {
public:
    io_backend() = default;
    io_backend(const io_backend&) = delete;
    io_backend& operator=(const io_backend&) = delete;
    virtual ~io_backend() = default;

    /// The loop that owns this backend is constructed (called once, from its constructor).
    virtual void attach(event_loop& /*loop*/) {}

    /// Which one this is (never `automatic`).
    [[nodiscard]] virtual backend kind() const noexcept = 0;
    /// No op submitted and not yet completed, not counting `background` (may be null): the loop's
    /// wake-up read (detail/remote_inbox.hpp) when nobody outside the loop can complete it.
    [[nodiscard]] virtual bool idle(const io_operation* background) const noexcept = 0;
    /// Something to submit or to reap, not counting `background` (may be null; the loop's wake-up
    /// read, whose arrivals the loop sees without the backend): busy turns skip the backend
    /// otherwise.
    [[nodiscard]] virtual bool has_work(const io_operation* background) const noexcept = 0;

    /// Starts `op` (it may complete, i.e. be scheduled, before this returns). Throws only if
    /// nothing was started.
    virtual void submit(io_operation& op) = 0;
    /// Submits `op` again from inside its own complete() (a transient -EINTR/-EAGAIN): it is issued
    /// at the next submit_and_reap, so nothing here can fail or complete it re-entrantly.
    virtual void resubmit(io_operation& op) noexcept = 0;
    /// Asks the backend to stop `target` early. The target still completes exactly once, with
    /// -ECANCELED or with its real result if it won the race, and only after the kernel has let go
    /// of its buffers; it may complete before this returns.
    virtual void cancel(io_operation& target) = 0;
    /// Submits what is prepared and reaps completions: `timeout` zero does not wait, negative
    /// (`wait_forever`) waits for at least one, positive waits at most that long. Completions only
    /// schedule their waiters.
    virtual void submit_and_reap(std::chrono::nanoseconds timeout) = 0;
    /// `fd` is about to be closed or handed over: drop what the backend remembers about it (ops
    /// still waiting on it complete with -EBADF).
    virtual void forget(int /*fd*/) noexcept {}
};

}  // namespace sluice::detail
