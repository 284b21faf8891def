#pragma once
// The coroutine core shared by every sluice coroutine type (task, async_generator, the internal
// drivers): what a promise carries, how a coroutine is started or advanced on behalf of another,
// and how it hands control back when it finishes or yields.
//
// Control moves in two ways:
//  - a coroutine that suspends for real (a timer, I/O, a waiter list) is later resumed from the
//    event loop's shallow stack, and when it finishes it resumes its awaiter by symmetric transfer
//    (final_suspend returns the awaiter's handle);
//  - a coroutine that is awaited is started (or advanced) by a nested resume() from its awaiter's
//    await_suspend (`resume_nested`): if it finishes or yields before suspending for real, control
//    simply returns, and the awaiter goes on without suspending at all. See resume_nested's
//    TRICKY note for why this is not symmetric transfer too.

#include <coroutine>
#include <type_traits>

namespace sluice::detail {

class cancel_context;  // cancellation.hpp

/// Told when a task it watches has finished (instead of a continuation being resumed): how a task
/// group learns that its body ended, and the bounded engine that an item or its async puller did.
class finish_listener {
public:
    /// The watched task `finished` (a task_promise<T> handle, T known to the listener) reached its
    /// final suspend; returns the coroutine to transfer to (often std::noop_coroutine()). May
    /// destroy the finished frame only if that task was not run by resume_nested (the bounded
    /// engine's items: nothing touches their frame afterwards).
    virtual std::coroutine_handle<> finished(std::coroutine_handle<> finished) noexcept = 0;

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
    /// Set while `resume_nested` runs this coroutine (see there).
    bool resumed_inline = false;
    /// Set when the coroutine reached a final/yield point during such a resume.
    bool reached_inline = false;

    /// Called at a final/yield point with whom the coroutine would transfer to: during a nested
    /// resume, control must instead return to resume_nested (the awaiter is on the stack below).
    [[nodiscard]] std::coroutine_handle<> transfer_unless_nested(std::coroutine_handle<> next) noexcept {
        if (!resumed_inline) return next;
        reached_inline = true;
        return std::noop_coroutine();
    }
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
        return promise.transfer_unless_nested(promise.continuation ? promise.continuation : std::noop_coroutine());
    }
    void await_resume() const noexcept {}
};

/// Runs `coroutine` (suspended: a task to start, an async generator to advance, a task group's
/// body) from here until it suspends for real or reaches a final/yield point; true in the second
/// case, when the caller goes on without suspending.
///
/// TRICKY: symmetric transfer alone (await_suspend returning the child's handle, final_suspend
/// returning the parent's) only keeps the stack flat if the compiler turns those transfers into
/// tail calls. Clang always does; GCC 12 does not at -O0 or under ASan, and a loop of 10^6
/// synchronously completing awaits then overflows the stack (libcoro #273, cppcoro #31). So the
/// child is run by a nested resume(): if it reaches its final (or yield) point before suspending
/// anywhere, `transfer_unless_nested` returns to us instead of resuming the parent, and the caller
/// answers "do not suspend": the parent goes on in this same stack frame, which is then unwound. If
/// the child suspends for real, resume() returns, we clear the flag, and the child's later
/// completion resumes the parent by symmetric transfer from the event loop's stack, which is
/// shallow. Either way the depth is bounded by the static nesting of awaits. The frame must still
/// exist when resume() returns: every sluice coroutine waits at its final suspend point for its
/// owner (the bounded engine's items are the exception, and are started without this helper).
template <class Promise>
[[nodiscard]] bool resume_nested(std::coroutine_handle<Promise> coroutine) noexcept {
    promise_base& promise = coroutine.promise();
    promise.resumed_inline = true;
    promise.reached_inline = false;
    coroutine.resume();
    promise.resumed_inline = false;
    return promise.reached_inline;
}

/// Starts or advances `awaited` on behalf of `awaiting` (see resume_nested) and returns
/// await_suspend's bool: whether `awaiting` must stay suspended. `context` is the awaiting
/// coroutine's own unless the awaited one runs as a separately cancellable unit (wait_for's inner,
/// a combinator's child).
template <class Promise>
[[nodiscard]] bool resume_awaited(std::coroutine_handle<Promise> awaited, std::coroutine_handle<> awaiting,
                                  cancel_context* context) noexcept {
    promise_base& promise = awaited.promise();
    promise.continuation = awaiting;
    promise.context = context;
    return !resume_nested(awaited);
}

template <class Promise, class AwaitingPromise>
[[nodiscard]] bool resume_awaited(std::coroutine_handle<Promise> awaited,
                                  std::coroutine_handle<AwaitingPromise> awaiting) noexcept {
    return resume_awaited(awaited, awaiting, context_of(awaiting));
}

}  // namespace sluice::detail
