#pragma once
// The one awaitable every kernel operation goes through: it holds an io_request (what to do), the
// loop's backend runs it and completes it from its result. Cancellable like every sluice wait: a
// cancel asks the backend to stop the op (io_uring: IORING_OP_ASYNC_CANCEL; epoll: the op leaves
// its descriptor's waiters, or is withdrawn from the worker pool) and the waiter resumes only
// after the op's own completion, when the kernel has let go of its buffers.

#include <cerrno>
#include <coroutine>
#include <system_error>
#include <utility>

#include "cancellation.hpp"
#include "event_loop.hpp"

namespace sluice::detail {

/// Result of a kernel op: its non-negative result; a negative one is thrown as std::system_error
/// with that errno and `what` naming the operation.
class io_awaitable final : public cancellation_point, public io_operation {
public:
    io_awaitable(const char* what, const io_request& request) noexcept : what_(what) { this->request = request; }
    /// Only before it is awaited (wait_for and the combinators move awaitables into their frames).
    io_awaitable(io_awaitable&& other) noexcept : cancellation_point(), io_operation(), what_(other.what_) {
        request = other.request;
    }

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        if (!enter(waiter)) return false;
        loop_ = &event_loop::current();
        loop_->io().submit(*this);
        return true;
    }
    int await_resume() const {
        throw_if_cancelled();
        if (result_ < 0) throw std::system_error(-result_, std::system_category(), what_);
        return result_;
    }

    void complete(int result) noexcept override {
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

    const char* what_;
    event_loop* loop_ = nullptr;
    int result_ = 0;
    bool cancel_requested_ = false;
};

/// `co_await make_io_awaitable("sluice: recv", request)` yields the op's non-negative result.
inline io_awaitable make_io_awaitable(const char* what, const io_request& request) noexcept {
    return io_awaitable(what, request);
}

}  // namespace sluice::detail
