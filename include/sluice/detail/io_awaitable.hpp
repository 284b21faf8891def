#pragma once
// The one awaitable every kernel operation goes through: it holds an io_request (what to do), the
// loop's backend runs it and completes it from its result. Cancellable like every sluice wait: a
// cancel asks the backend to stop the op (io_uring: IORING_OP_ASYNC_CANCEL; epoll: the op leaves
// its descriptor's waiters, or is withdrawn from the worker pool) and the waiter resumes only
// after the op's own completion, when the kernel has let go of its buffers.
// A transient -EINTR/-EAGAIN (nothing was done) is resubmitted, not reported. Every op passes
// through the test hook of detail/io_faults.hpp, whatever the backend.

#include <cerrno>
#include <coroutine>
#include <cstddef>
#include <system_error>
#include <type_traits>
#include <utility>

#include "cancellation.hpp"
#include "event_loop.hpp"
#include "io_faults.hpp"

namespace sluice::detail {

/// How an op reacts to interruptions.
enum class io_kind : unsigned char {
    /// A cancellation point; -EINTR/-EAGAIN without a cancel request mean "nothing happened" and
    /// the op is submitted again (reads, writes, accept, open, fsync, rename, ...).
    retryable,
    /// Not a cancellation point (a pending request waits for the next one) and never resubmitted:
    /// close(2) releases the descriptor even when it reports -EINTR, so neither a retry nor a
    /// "cancelled, close it ourselves" may follow (see close_fd).
    uninterruptible,
};

/// Result of a kernel op: its non-negative result; a negative one is thrown as std::system_error
/// with that errno and `what` naming the operation.
class io_awaitable final : public cancellation_point, public io_operation {
public:
    io_awaitable(const char* what, const io_request& request, io_kind kind = io_kind::retryable) noexcept
        : what_(what), kind_(kind) {
        this->request = request;
    }
    /// Only before it is awaited (wait_for and the combinators move awaitables into their frames).
    io_awaitable(io_awaitable&& other) noexcept
        : cancellation_point(), io_operation(), what_(other.what_), kind_(other.kind_) {
        request = other.request;
    }

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        if (kind_ == io_kind::retryable) {
            if (!enter(waiter)) return false;
        } else {
            waiter_ = waiter;  // not registered: a cancel request stays pending
        }
        loop_ = &event_loop::current();
        if (io_faults != nullptr) {
            if (const int fault = io_faults->before_submit(what_, kind_ == io_kind::retryable); fault < 0) {
                complete(fault);  // schedules the waiter (or resubmits), as a completion would
                return true;
            }
            if (is_transfer() && request.size > 1) request.size = io_faults->transfer_length(what_, request.size);
        }
        try {
            loop_->io().submit(*this);  // may throw (nothing was started): we are not in the ring then
        } catch (...) {
            // TRICKY: do not leave the cancel context pointing at this awaiter, which dies with the
            // exception (issue 9, defect 6). The registration is what the exception undoes: a
            // submission cannot happen before it, since a pending cancel must prevent it.
            finish_completed();
            throw;
        }
        return true;
    }
    int await_resume() const {
        throw_if_cancelled();
        if (result_ < 0) throw std::system_error(-result_, std::system_category(), what_);
        return result_;
    }

    void complete(int result) noexcept override {
        if (io_faults != nullptr) result = io_faults->on_complete(what_, result);
        // Nothing happened (the kernel, or the fault injector, refused before doing anything): do it
        // again, unless a cancel asked us to stop (then -EINTR is the cancel's doing, below). The
        // injector sees the resubmission too, so it can refuse several times in a row.
        while (!cancel_requested_ && kind_ == io_kind::retryable && (result == -EINTR || result == -EAGAIN)) {
            if (io_faults != nullptr) result = io_faults->before_submit(what_, true);
            if (io_faults == nullptr || result >= 0) {
                loop_->io().resubmit(*this);
                return;
            }
        }
        result_ = result;
        // After our request, -ECANCELED means the wait was cancelled; so do -EINTR and the kernel's
        // -ERESTART* codes (512-516), which an op blocked in an io-wq worker (an open of a FIFO, a
        // hung NFS file) completes with when the cancel interrupts it. Any other result, even one
        // that won the race against the cancel, is delivered, and the request stays pending.
        if (cancel_requested_ && interrupted_by_cancel(result)) {
            finish_cancelled();
        } else {
            finish_completed();
        }
        loop_->schedule(waiter_);
    }
    void cancel_wait() noexcept override {
        cancel_requested_ = true;
        try {
            loop_->io().cancel(*this);
        } catch (...) {
            // The backend could not ask for the cancel (io_uring: the SQ could not be flushed): the
            // op then simply runs to completion; the request stays pending for the next suspension.
        }
    }

private:
    static constexpr bool interrupted_by_cancel(int result) noexcept {
        return result == -ECANCELED || result == -EINTR || (result <= -512 && result >= -516);
    }
    /// A read or write of bytes, which the fault injector may shorten.
    [[nodiscard]] bool is_transfer() const noexcept {
        switch (request.code) {
            case io_code::read:
            case io_code::write:
            case io_code::recv:
            case io_code::send:
            case io_code::read_at:
            case io_code::write_at:
                return true;
            default:
                return false;
        }
    }

    const char* what_;
    event_loop* loop_ = nullptr;
    int result_ = 0;
    io_kind kind_;
    bool cancel_requested_ = false;
};

/// `co_await make_io_awaitable("sluice: recv", request)` yields the op's non-negative result.
inline io_awaitable make_io_awaitable(const char* what, const io_request& request,
                                      io_kind kind = io_kind::retryable) noexcept {
    return io_awaitable(what, request, kind);
}

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
