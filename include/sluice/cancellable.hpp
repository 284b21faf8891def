#pragma once
/// sluice/cancellable.hpp: your own awaitables, cancellable like sluice's.
///
/// - `cancellable_wait<T>`: derive, say how the wait starts (`start`) and how it stops early
///   (`on_cancel`), and end it with `complete(value)`, `fail(error)` or `cancelled()`. A
///   `co_await` of it is a cancellation point like `sleep_for` or a socket read: a cancel request
///   made before it suspends is delivered at once (start() is not called); one made while it waits
///   calls on_cancel(); one made after it ended stays pending for the next suspension, so a value
///   that arrived is never thrown away. The waiter is resumed by the loop, never inside complete().
///   (Boost.Cobalt's `op<Args...>` and cppcoro's `cancellation_registration` play this part there.)
/// - `read_some(fd, buffer)`, `write_some(fd, bytes)`: one read(2)/write(2) on a descriptor you own
///   (a pipe, an eventfd, a terminal, a socket), through the loop's backend like sluice's streams:
///   the loop is never blocked, and a cancel stops the kernel operation (the task resumes once the
///   kernel has let go of the buffer). Keep the buffer and the descriptor open until the op ends.
///   Before you close(2) such a descriptor yourself, or hand its number elsewhere, call
///   `forget_descriptor(fd)`: the epoll backend remembers what it registered (and has made the
///   descriptor O_NONBLOCK); io_uring keeps nothing.
///
/// Bad inputs: a `cancellable_wait` awaited a second time, or outside a loop (`run`), throws
/// std::logic_error from that `co_await` (start() is not called); complete()/fail()/cancelled()
/// called while nothing waits (before start, or after the wait already ended) do nothing and
/// return false; called on another thread than the waiting task's loop, they throw
/// std::logic_error (post to the loop with `loop_handle::post` instead). read_some/write_some on a
/// bad descriptor throw std::system_error (EBADF), named "read" or "write"; an empty buffer
/// transfers 0 bytes.

#include <coroutine>
#include <cstddef>
#include <exception>
#include <span>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "detail/cancellation.hpp"
#include "detail/descriptor.hpp"
#include "detail/event_loop.hpp"
#include "detail/io_awaitable.hpp"
#include "detail/outcome.hpp"

namespace sluice {

/// Base of a hand-written awaitable whose wait a cancellation can interrupt; `co_await` yields T
/// (void: nothing), or throws what fail() or cancelled() put in its place.
///
/// The derived class implements `start()` and, unless stopping at once is right, `on_cancel()`.
/// All calls happen on the waiting task's loop thread. An object is awaited once; it may be moved
/// (the derived class's move constructor) only before that, e.g. into `wait_for`.
///
/// TRICKY (lifetime): the awaitable lives in the awaiting coroutine's frame, which may go away as
/// soon as the loop has resumed it after the wait ended. A callback that may still fire later
/// (a timer of another library, a thread's result) must check with the owner of that callback,
/// not with this object, whether the wait is still on.
template <class T = void>
class cancellable_wait : private detail::cancellation_point {
public:
    /// Always suspends (a value ready at once is delivered by calling complete() inside start()).
    [[nodiscard]] bool await_ready() const noexcept { return false; }

    /// Registers with the task's cancellation and calls start(). Returns false (the task goes on at
    /// once) when a cancel was pending, or when start() already ended the wait.
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        if (state_ != state::idle) throw std::logic_error("sluice: a cancellable_wait was awaited twice");
        loop_ = &detail::event_loop::current();  // std::logic_error outside a loop
        if (!enter(waiter)) {
            state_ = state::ended;
            return false;
        }
        state_ = state::starting;
        try {
            start();
        } catch (...) {
            // Nothing is left waiting: unregister, so a later cancel does not reach a dead awaiter.
            finish_completed();
            state_ = state::ended;
            throw;
        }
        if (state_ == state::ended) return false;  // ended inside start(): nothing was scheduled
        state_ = state::waiting;
        return true;
    }

    /// The value given to complete(); rethrows fail()'s exception; cancelled_error after cancelled()
    /// or a cancel that was pending when the wait began.
    T await_resume() {
        throw_if_cancelled();
        return outcome_.take();
    }

protected:
    cancellable_wait() noexcept = default;
    /// Only before the wait was awaited: the moved-to object starts afresh.
    cancellable_wait(cancellable_wait&&) noexcept : detail::cancellation_point() {}
    cancellable_wait& operator=(cancellable_wait&&) = delete;
    ~cancellable_wait() = default;

    /// Begins the wait; the waiting task is suspended (unless this ends the wait at once). May throw:
    /// the `co_await` then throws it, and nothing waits.
    virtual void start() = 0;

    /// The waiting task was asked to stop while waiting here. Stop what the wait depends on and
    /// call cancelled(), now or once that is done. If a value arrives first, complete() it instead:
    /// the request then stays pending for the task's next suspension. By default: cancelled() at once.
    virtual void on_cancel() noexcept { (void)cancelled(); }

    /// Ends the wait with a value (no argument for void); false if no wait was in progress.
    template <class... Args>
    bool complete(Args&&... args) {
        if (!ending()) return false;
        outcome_.set_value(std::forward<Args>(args)...);
        finish_completed();
        end();
        return true;
    }
    /// Ends the wait with an exception, rethrown by the `co_await`; false if no wait was in progress.
    bool fail(std::exception_ptr error) {
        if (!ending()) return false;
        outcome_.set_error(std::move(error));
        finish_completed();
        end();
        return true;
    }
    /// Ends the wait because it was cancelled: the `co_await` throws cancelled_error. False if no
    /// wait was in progress.
    bool cancelled() {
        if (!ending()) return false;
        finish_cancelled();
        end();
        return true;
    }

    /// True from start() until the wait ended.
    [[nodiscard]] bool waiting() const noexcept { return state_ == state::starting || state_ == state::waiting; }

private:
    enum class state : unsigned char { idle, starting, waiting, ended };

    void cancel_wait() noexcept final { on_cancel(); }

    /// Whether a wait is in progress to be ended, checked from the right thread. Reserves the ready
    /// queue's slot first, so that the rest of the ending cannot fail.
    bool ending() {
        if (loop_ != nullptr && detail::event_loop::current_or_null() != loop_) {
            throw std::logic_error("sluice: a cancellable_wait was ended from another thread than its loop's");
        }
        if (!waiting()) return false;
        if (state_ == state::waiting) loop_->reserve_schedule();
        return true;
    }
    /// Inside start(), await_suspend returns false instead (the task has not suspended yet).
    void end() noexcept {
        const bool suspended = state_ == state::waiting;
        state_ = state::ended;
        if (suspended) loop_->schedule_reserved(waiter_);
    }

    detail::outcome<T> outcome_;
    detail::event_loop* loop_ = nullptr;
    state state_ = state::idle;
};

/// One read(2) of at most `buffer.size()` bytes from `fd`; `co_await` yields the number read (0 at
/// end of file, or for an empty buffer). A cancellation point; errors are std::system_error "read".
/// @see read(2), io_uring_prep_read(3)
[[nodiscard]] inline auto read_some(int fd, std::span<std::byte> buffer) noexcept {
    return detail::make_io_size_awaitable("read", {.code = detail::io_code::read,
                                                    .fd = fd,
                                                    .size = detail::io_chunk(buffer.size()),
                                                    .data = buffer.data()});
}

/// One write(2) of at most `bytes.size()` bytes to `fd`; `co_await` yields the number written. A
/// cancellation point; errors are std::system_error "write" (EPIPE for a pipe without reader: sluice
/// does not change SIGPIPE's disposition, so ignore SIGPIPE to get it).
/// @see write(2), io_uring_prep_write(3)
[[nodiscard]] inline auto write_some(int fd, std::span<const std::byte> bytes) noexcept {
    return detail::make_io_size_awaitable("write", {.code = detail::io_code::write,
                                                     .fd = fd,
                                                     .size = detail::io_chunk(bytes.size()),
                                                     .data = const_cast<std::byte*>(bytes.data())});
}

/// Tells the running loop that `fd`, used with read_some/write_some, is about to be closed or handed
/// over, and returns it (`::close(sluice::forget_descriptor(fd))`). Outside a loop: does nothing.
inline int forget_descriptor(int fd) noexcept { return detail::forget_descriptor(fd); }

}  // namespace sluice
