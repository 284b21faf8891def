#pragma once
// The one awaitable every io_uring operation goes through: `Prepare` fills the SQE (e.g.
// io_uring_prep_read), the ring completes it from the CQE. Cancellable like every sluice wait:
// a cancel submits IORING_OP_ASYNC_CANCEL and the waiter resumes only after the target's own CQE.

#include <cerrno>
#include <coroutine>
#include <system_error>
#include <utility>

#include "cancellation.hpp"
#include "event_loop.hpp"

namespace sluice::detail {

/// Result of an io_uring op: the CQE's non-negative `res`; a negative one is thrown as
/// std::system_error with that errno and `what` naming the operation.
template <class Prepare>
class io_awaitable final : public cancellation_point, public io_operation {
public:
    io_awaitable(const char* what, Prepare prepare) noexcept : what_(what), prepare_(std::move(prepare)) {}
    io_awaitable(io_awaitable&& other) noexcept
        : cancellation_point(), io_operation(), what_(other.what_), prepare_(std::move(other.prepare_)) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        if (!enter(waiter)) return false;
        loop_ = &event_loop::current();
        loop_->ring().submit(*this);
        return true;
    }
    int await_resume() const {
        throw_if_cancelled();
        if (result_ < 0) throw std::system_error(-result_, std::system_category(), what_);
        return result_;
    }

    void prepare(io_uring_sqe& sqe) noexcept override { prepare_(sqe); }
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
            loop_->ring().cancel(*this);
        } catch (...) {
            // The SQ could not be flushed to make room for the cancel (io_uring_enter failed): the op
            // then simply runs to completion; the request stays pending for the next suspension.
        }
    }

private:
    static constexpr bool interrupted_by_cancel(int result) noexcept {
        return result == -ECANCELED || result == -EINTR || (result <= -512 && result >= -516);
    }

    const char* what_;
    Prepare prepare_;
    event_loop* loop_ = nullptr;
    int result_ = 0;
    bool cancel_requested_ = false;
};

template <class Prepare>
io_awaitable<Prepare> make_io_awaitable(const char* what, Prepare prepare) noexcept {
    return io_awaitable<Prepare>(what, std::move(prepare));
}

}  // namespace sluice::detail
