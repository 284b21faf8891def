#pragma once
// Cancellation machinery shared by every sluice coroutine type and awaitable.
//
// A `cancel_context` belongs to one concurrently running unit: a spawned task, a child of gather or
// task_group, the inner of wait_for, an item of the bounded engine. Every coroutine awaited inline
// by that unit (nested tasks, async generators it consumes) shares the context through
// `promise_base::context`, set when the coroutine is awaited.
//
// Protocol of a cancellation point (see `cancellation_point`):
//  - on suspending it checks for a pending request; if there is one it consumes it and does not
//    suspend (await_resume throws cancelled_error);
//  - otherwise it registers itself as the context's `waiting_on`; a request then calls
//    `cancel_wait()`, which must arrange the waiter's resumption *later* (never resume inline: the
//    canceller is running);
//  - on normal completion it unregisters itself. A request arriving after that but before the task
//    runs again stays pending and is delivered at the next real suspension, so a completed
//    operation's result (a permit, a dequeued item, bytes read) is never thrown away.

#include <coroutine>
#include <type_traits>
#include <utility>

#include "../cancellation.hpp"

namespace sluice::detail {

/// A suspended wait that can be asked to end early.
class cancellable_wait {
public:
    /// Arrange for the waiter to be resumed (through the ready queue, or after the kernel confirms an
    /// I/O cancel). Never resumes inline.
    virtual void cancel_wait() noexcept = 0;

protected:
    ~cancellable_wait() = default;
};

class cancel_context {
public:
    [[nodiscard]] bool cancel_requested() const noexcept { return requested_; }

    /// Requests made before the previous one was delivered coalesce into one delivery.
    void request_cancel() noexcept {
        if (requested_) return;
        requested_ = true;
        if (auto* wait = std::exchange(waiting_on_, nullptr)) wait->cancel_wait();
    }

    /// Called by a cancellation point about to suspend: true means "deliver the pending request now".
    [[nodiscard]] bool take_pending() noexcept { return std::exchange(requested_, false); }

    void wait_on(cancellable_wait* wait) noexcept { waiting_on_ = wait; }
    void wait_done(const cancellable_wait* wait) noexcept {
        if (waiting_on_ == wait) waiting_on_ = nullptr;
    }
    /// The request was delivered (as cancelled_error) by the wait it interrupted.
    void delivered() noexcept { requested_ = false; }

private:
    cancellable_wait* waiting_on_ = nullptr;
    bool requested_ = false;
};

/// Told when a task it watches has finished (instead of a continuation being resumed): how the
/// bounded engine learns that an item ended without a driver coroutine per item.
class finish_listener {
public:
    /// The watched task reached its final suspend; returns the coroutine to transfer to (often
    /// std::noop_coroutine()). Must not destroy the finished task's frame.
    virtual std::coroutine_handle<> finished() noexcept = 0;

protected:
    ~finish_listener() = default;
};

/// Base of the promise of every sluice coroutine type (task, async_generator, internal drivers).
struct promise_base {
    /// Resumed (by symmetric transfer) when this coroutine finishes or yields; null means "nobody".
    std::coroutine_handle<> continuation = nullptr;
    /// The cancellation context of the unit this coroutine runs in; null outside sluice tasks.
    cancel_context* context = nullptr;
    /// When set, told at final suspend instead of resuming `continuation` (tasks only).
    finish_listener* listener = nullptr;
    /// Set while `resume_awaited` runs this coroutine by a nested resume() (see there).
    bool resumed_inline = false;
    /// Set by `transfer_to_continuation` when it reached a final/yield point during such a resume.
    bool reached_inline = false;
};

template <class Promise>
[[nodiscard]] cancel_context* context_of(std::coroutine_handle<Promise> handle) noexcept {
    if constexpr (std::is_base_of_v<promise_base, Promise>) {
        return handle.promise().context;
    } else {
        return nullptr;
    }
}

/// Final (and yield) suspension shared by every sluice coroutine type: hand control to the awaiter.
struct transfer_to_continuation {
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) const noexcept {
        promise_base& promise = self.promise();
        if (promise.resumed_inline) {
            // The awaiter is on the stack below us, inside resume_awaited: return to it.
            promise.reached_inline = true;
            return std::noop_coroutine();
        }
        return promise.continuation ? promise.continuation : std::noop_coroutine();
    }
    void await_resume() const noexcept {}
};

/// Runs `awaited` (a suspended sluice coroutine: a task to start, an async generator to advance) on
/// behalf of `awaiting`, and reports whether `awaiting` must stay suspended (await_suspend's bool).
///
/// TRICKY: symmetric transfer alone (await_suspend returning the child's handle, final_suspend
/// returning the parent's) only keeps the stack flat if the compiler turns those transfers into
/// tail calls. Clang always does; GCC 12 does not at -O0 or under ASan, and a loop of 10^6
/// synchronously completing awaits then overflows the stack (libcoro #273, cppcoro #31). So the
/// child is run by a nested resume(): if it reaches its final (or yield) point before suspending
/// anywhere, transfer_to_continuation sees `resumed_inline`, returns to us instead of resuming the
/// parent, and we answer "do not suspend": the parent goes on in this same stack frame, which is
/// then unwound. If the child suspends for real, resume() returns, we clear the flag, and the
/// child's later completion resumes the parent by symmetric transfer from the event loop's stack,
/// which is shallow. Either way the depth is bounded by the static nesting of awaits.
/// `context` is the awaiting coroutine's own unless the awaited one runs as a separately cancellable
/// unit (wait_for's inner, a combinator's child).
template <class Promise>
[[nodiscard]] bool resume_awaited(std::coroutine_handle<Promise> awaited, std::coroutine_handle<> awaiting,
                                  cancel_context* context) noexcept {
    promise_base& promise = awaited.promise();
    promise.continuation = awaiting;
    promise.context = context;
    promise.resumed_inline = true;
    promise.reached_inline = false;
    awaited.resume();
    // The frame is alive here: a finished coroutine waits at its final suspend point for its owner.
    promise.resumed_inline = false;
    return !promise.reached_inline;
}

template <class Promise, class AwaitingPromise>
[[nodiscard]] bool resume_awaited(std::coroutine_handle<Promise> awaited,
                                  std::coroutine_handle<AwaitingPromise> awaiting) noexcept {
    return resume_awaited(awaited, awaiting, context_of(awaiting));
}

/// Base of an awaitable that is a cancellation point. Derived classes call `enter` in
/// await_suspend, `finish_completed` or `finish_cancelled` when the wait ends, and
/// `throw_if_cancelled` first thing in await_resume.
class cancellation_point : public cancellable_wait {
protected:
    cancellation_point() = default;
    cancellation_point(const cancellation_point&) = delete;
    cancellation_point& operator=(const cancellation_point&) = delete;
    ~cancellation_point() = default;

    /// False: a cancel was pending and is delivered now, without suspending.
    template <class Promise>
    [[nodiscard]] bool enter(std::coroutine_handle<Promise> waiter) noexcept {
        waiter_ = waiter;
        context_ = context_of(waiter);
        if (context_ != nullptr && context_->take_pending()) {
            cancelled_ = true;
            return false;
        }
        if (context_ != nullptr) context_->wait_on(this);
        return true;
    }
    void finish_completed() noexcept {
        if (context_ != nullptr) context_->wait_done(this);
    }
    void finish_cancelled() noexcept { cancelled_ = true; }
    /// TRICKY: the wait is unregistered here too, because a yield (a past deadline) is resumed by
    /// the ready queue without any finish_* call: a request made later while the task runs must
    /// stay pending, not be sent to this dead awaiter. And the request counts as delivered only
    /// now, when the exception is thrown, so further requests made between the interruption and
    /// this resumption coalesce with it (one delivery per request).
    void throw_if_cancelled() const {
        if (context_ != nullptr) context_->wait_done(this);
        if (cancelled_) {
            if (context_ != nullptr) context_->delivered();
            throw cancelled_error();
        }
    }

    std::coroutine_handle<> waiter_ = nullptr;
    cancel_context* context_ = nullptr;
    bool cancelled_ = false;
};

}  // namespace sluice::detail
