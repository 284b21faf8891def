#pragma once
// The one awaitable every io_uring operation goes through: `Prepare` fills the SQE (e.g.
// io_uring_prep_read), the ring completes it from the CQE. Cancellable like every sluice wait:
// a cancel submits IORING_OP_ASYNC_CANCEL and the waiter resumes only after the target's own CQE.
// A transient -EINTR/-EAGAIN (nothing was done) is resubmitted, not reported. Every op passes
// through the test hook of detail/io_faults.hpp.

#include <cerrno>
#include <coroutine>
#include <system_error>
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

/// Result of an io_uring op: the CQE's non-negative `res`; a negative one is thrown as
/// std::system_error with that errno and `what` naming the operation.
template <class Prepare>
class io_awaitable final : public cancellation_point, public io_operation {
public:
    io_awaitable(const char* what, Prepare prepare, io_kind kind = io_kind::retryable) noexcept
        : what_(what), prepare_(std::move(prepare)), kind_(kind) {}
    io_awaitable(io_awaitable&& other) noexcept
        : cancellation_point(), io_operation(), what_(other.what_), prepare_(std::move(other.prepare_)),
          kind_(other.kind_) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        if (kind_ == io_kind::retryable) {
            if (!enter(waiter)) return false;
        } else {
            waiter_ = waiter;  // not registered: a cancel request stays pending
        }
        event_loop& loop = event_loop::current();
        io_ring& ring = loop.ring();
        loop_ = &loop;
        if (io_faults != nullptr) {
            if (const int fault = io_faults->before_submit(what_, kind_ == io_kind::retryable); fault < 0) {
                complete(fault);  // schedules the waiter (or resubmits), as a CQE would
                return true;
            }
        }
        try {
            ring.submit(*this);  // may throw (the SQ could not be flushed): we are not in the ring then
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

    void prepare(io_uring_sqe& sqe) noexcept override {
        prepare_(sqe);
        if (io_faults != nullptr && sqe.len > 1 &&
            (sqe.opcode == IORING_OP_READ || sqe.opcode == IORING_OP_WRITE || sqe.opcode == IORING_OP_RECV ||
             sqe.opcode == IORING_OP_SEND)) {
            sqe.len = io_faults->transfer_length(what_, sqe.len);
        }
    }
    void complete(int result) noexcept override {
        if (io_faults != nullptr) result = io_faults->on_complete(what_, result);
        // Nothing happened (the kernel, or the fault injector, refused before doing anything): do it
        // again, unless a cancel asked us to stop (then -EINTR is the cancel's doing, below). The
        // injector sees the resubmission too, so it can refuse several times in a row.
        while (!cancel_requested_ && kind_ == io_kind::retryable && (result == -EINTR || result == -EAGAIN)) {
            if (io_faults != nullptr) result = io_faults->before_submit(what_, true);
            if (io_faults == nullptr || result >= 0) {
                loop_->ring().resubmit(*this);
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
    io_kind kind_;
    bool cancel_requested_ = false;
};

template <class Prepare>
io_awaitable<Prepare> make_io_awaitable(const char* what, Prepare prepare, io_kind kind = io_kind::retryable) noexcept {
    return io_awaitable<Prepare>(what, std::move(prepare), kind);
}

}  // namespace sluice::detail
