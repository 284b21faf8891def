#pragma once
// Machinery of sluice/timeout.hpp: the state of one timeout scope (a deadline for a whole block)
// and the awaiter that runs the scope's body.
//
// The body runs in a cancel context of its own (`body_context_`), like wait_for's inner: the
// deadline and a cancel of the awaiting task both only *request* the body's cancellation, and the
// awaiting task is resumed only by the body's final suspend, so the body has always finished its
// cleanup when the scope ends. What the scope then reports depends on which came first:
//  - the deadline (and the body ended with cancelled_error): the scope expired: timeout_error
//    (with_timeout) or an empty optional (move_on_after); a cancel of the awaiting task that
//    arrived afterwards stays pending, delivered at its next real suspension;
//  - a cancel of the awaiting task: cancelled_error, that request consumed.
// A body that swallows the cancel and returns a value returns that value; an error of its own wins.
//
// Nested scopes: an inner scope's awaiter is the outer body's cancellation point, so an outer
// deadline reaches the inner body through the inner scope's cancel_wait (cause: "outer"), and the
// inner scope rethrows cancelled_error, which the outer scope, whose deadline came first, reports
// as its own expiry. An inner deadline that fires first is reported by the inner scope only.

#include <coroutine>
#include <exception>
#include <stdexcept>

#include "cancellation.hpp"
#include "../task.hpp"
#include "event_loop.hpp"
#include "is_cancelled.hpp"
#include "std_chrono.hpp"

namespace sluice::detail {

/// `now + d` in any duration type, saturating at time_point::max() ("never") instead of
/// overflowing (`hours::max()` does not even fit in the clock's nanoseconds).
template <class Rep, class Period>
[[nodiscard]] clock::time_point deadline_after(std::chrono::duration<Rep, Period> d) noexcept {
    using given = std::chrono::duration<Rep, Period>;
    if (d >= std::chrono::duration_cast<given>(clock::duration::max())) return clock::time_point::max();
    const clock::time_point now = clock::now();
    if (d <= given::zero()) return now;
    const auto step = std::chrono::ceil<clock::duration>(d);
    if (step > clock::time_point::max() - now) return clock::time_point::max();
    return now + step;
}

class scope_state : public basic_cancellation_point<timer_node> {
public:
    explicit scope_state(clock::time_point until) noexcept { deadline = until; }
    scope_state(const scope_state&) = delete;
    scope_state& operator=(const scope_state&) = delete;

    [[nodiscard]] bool deadline_passed() const noexcept { return cause_ == cause::deadline || expired_; }

    void move_deadline(clock::time_point until) {
        if (expired_) {
            throw std::logic_error("sluice: timeout_scope::reschedule after the deadline passed (the body is being cancelled)");
        }
        if (armed()) loop_->remove_timer(*this);
        deadline = until;
        if (running_) arm();
    }

    /// Runs `body` in the scope's own context; await_resume says whether the scope expired (the
    /// body's result stays in its task).
    template <class T>
    class runner {
    public:
        runner(scope_state& scope, task<T>& body) noexcept : scope_(scope), body_(body) {}
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> waiter) {
            return scope_.start(waiter, body_.handle());
        }
        /// True: the deadline ended the body. Throws cancelled_error if the awaiting task was
        /// cancelled first (or before the body could start).
        bool await_resume() { return scope_.finish(body_.handle().promise().result_slot().error()); }

    private:
        scope_state& scope_;
        task<T>& body_;
    };

private:
    enum class cause : unsigned char { none, deadline, outer };

    template <class Promise, class BodyPromise>
    bool start(std::coroutine_handle<Promise> waiter, std::coroutine_handle<BodyPromise> body) {
        if (!enter(waiter)) return false;  // a pending cancel: the body never runs
        loop_ = &event_loop::current();
        running_ = true;
        try {
            arm();
        } catch (...) {
            running_ = false;
            finish_completed();
            throw;
        }
        if (!resume_awaited(body, waiter, &body_context_)) {
            settle();
            return false;
        }
        return true;
    }

    bool finish(const std::exception_ptr& body_error) {
        if (!running_) throw_if_cancelled();  // cancelled before the body started
        settle();
        if (!body_error || !is_cancelled_error(body_error) || cause_ == cause::none) return false;
        if (cause_ == cause::outer) {
            finish_cancelled();
            throw_if_cancelled();
        }
        return true;
    }

    void arm() {
        if (deadline != clock::time_point::max()) loop_->add_timer(*this);
    }
    void settle() noexcept {
        running_ = false;
        if (armed()) loop_->remove_timer(*this);
        finish_completed();
    }

    void expired() noexcept override {
        expired_ = true;
        if (cause_ == cause::none) cause_ = cause::deadline;
        body_context_.request_cancel();
    }
    void cancel_wait() noexcept override {
        if (cause_ == cause::none) cause_ = cause::outer;
        body_context_.request_cancel();
    }

    cancel_context body_context_;
    event_loop* loop_ = nullptr;
    cause cause_ = cause::none;
    bool expired_ = false;
    bool running_ = false;
};

}  // namespace sluice::detail
