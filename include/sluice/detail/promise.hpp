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

#include <cassert>
#include <coroutine>
#include <cstdint>
#include <type_traits>

#include "cancellable_wait.hpp"

namespace sluice::detail {

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
///
/// TRICKY (layout): every frame carries one, and a fan-out keeps a million frames, so it is two
/// words.
///  - Who is told at the final suspend -- nobody, the awaiter (a continuation to resume) or a
///    finish_listener -- is one tagged word (a coroutine is awaited or watched, never both). A frame
///    and a listener are at least 8-aligned (both start with a pointer), so bits 0-2 are free: bit 0
///    says "listener", bits 1-2 are the state of a nested resume (00 none, 01 running inline, 10
///    reached a final/yield point meanwhile), and 11 with a listener says "the context is my own".
///  - The cancellation context is one word: a pointer to the context of the unit the coroutine runs
///    in, or, for a unit of its own (a bounded engine's item), that context itself, in place. An
///    item is never resumed nested, so "own" needs no inline state beside it. Once the coroutine
///    finished, its context is dead and the word may link it into its owner's list of finished
///    items (`finished_link`).
class promise_base {
public:
    /// Resumed (by symmetric transfer) when this coroutine finishes or yields; null means "nobody"
    /// (also when a listener watches it instead).
    [[nodiscard]] std::coroutine_handle<> continuation() const noexcept {
        if ((word_ & listener_bit) != 0) return nullptr;
        return std::coroutine_handle<>::from_address(reinterpret_cast<void*>(word_ & ~flag_mask));
    }
    /// When set, told at final suspend instead of resuming a continuation (tasks only).
    [[nodiscard]] finish_listener* listener() const noexcept {
        if ((word_ & listener_bit) == 0) return nullptr;
        return reinterpret_cast<finish_listener*>(word_ & ~flag_mask);
    }
    /// True while someone awaits or watches this coroutine (a continuation or a listener is set).
    [[nodiscard]] bool awaited() const noexcept { return (word_ & ~flag_mask) != 0; }

    void set_continuation(std::coroutine_handle<> next) noexcept { set_target(next.address(), 0); }
    void set_listener(finish_listener* listener) noexcept { set_target(listener, listener_bit); }

    /// The cancellation context of the unit this coroutine runs in; null outside sluice tasks.
    [[nodiscard]] cancel_context* context() noexcept { return owns_context() ? &unit_.own : unit_.shared; }
    /// Runs this coroutine in `context`'s unit (null: none).
    void set_context(cancel_context* context) noexcept {
        if (owns_context()) word_ &= ~inline_mask;
        unit_.shared = context;  // a trivial assignment: this member's lifetime begins (also below)
    }
    /// Makes this coroutine a cancellation unit of its own, watched by `listener` (a bounded engine's
    /// item): a fresh context kept in place, where a context of its own and a pointer to it took 16 B.
    void run_as_own_unit(finish_listener* listener) noexcept {
        set_listener(listener);
        word_ |= inline_mask;
        unit_.own = cancel_context{};
    }
    /// After the coroutine finished: the word that links it into its owner's list (its context is dead).
    void set_finished_link(void* next) noexcept { unit_.link = next; }
    [[nodiscard]] void* finished_link() const noexcept { return unit_.link; }

    /// Set while `resume_nested` runs this coroutine (see there).
    [[nodiscard]] bool resumed_inline() const noexcept { return (word_ & inline_mask) == running_inline; }
    /// Called at a final/yield point with whom the coroutine would transfer to: during a nested
    /// resume, control must instead return to resume_nested (the awaiter is on the stack below).
    [[nodiscard]] std::coroutine_handle<> transfer_unless_nested(std::coroutine_handle<> next) noexcept {
        if (!resumed_inline()) return next;
        word_ = (word_ & ~inline_mask) | reached_inline;
        return std::noop_coroutine();
    }

private:
    template <class Promise>
    friend bool resume_nested(std::coroutine_handle<Promise> coroutine) noexcept;

    static constexpr std::uintptr_t listener_bit = 1;
    static constexpr std::uintptr_t inline_mask = 6;      // bits 1-2: the nested resume's state
    static constexpr std::uintptr_t running_inline = 2;   // resume_nested runs the coroutine
    static constexpr std::uintptr_t reached_inline = 4;   // it reached a final/yield point meanwhile
    static constexpr std::uintptr_t flag_mask = listener_bit | inline_mask;

    [[nodiscard]] bool owns_context() const noexcept { return (word_ & flag_mask) == flag_mask; }

    void set_target(void* target, std::uintptr_t tag) noexcept {
        const auto address = reinterpret_cast<std::uintptr_t>(target);
        assert((address & flag_mask) == 0);
        const std::uintptr_t nested = owns_context() ? 0 : (word_ & inline_mask);
        word_ = address | tag | nested;
    }

    std::uintptr_t word_ = 0;  // continuation or listener address | listener_bit | nested state
    union unit {
        unit() noexcept : shared(nullptr) {}
        cancel_context* shared;
        cancel_context own;  // with owns_context()
        void* link;          // after the coroutine finished (set_finished_link)
    } unit_;
};
static_assert(sizeof(promise_base) == 2 * sizeof(void*), "promise_base is in every frame: keep it two words");

template <class Promise>
[[nodiscard]] cancel_context* context_of(std::coroutine_handle<Promise> handle) noexcept {
    if constexpr (std::is_base_of_v<promise_base, Promise>) {
        return handle.promise().context();
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
        const std::coroutine_handle<> next = promise.continuation();
        return promise.transfer_unless_nested(next ? next : std::noop_coroutine());
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
    assert(!promise.owns_context());  // an engine item is never run nested
    promise.word_ = (promise.word_ & ~promise_base::inline_mask) | promise_base::running_inline;
    coroutine.resume();
    const bool reached = (promise.word_ & promise_base::inline_mask) == promise_base::reached_inline;
    promise.word_ &= ~promise_base::inline_mask;
    return reached;
}

/// Starts or advances `awaited` on behalf of `awaiting` (see resume_nested) and returns
/// await_suspend's bool: whether `awaiting` must stay suspended. `context` is the awaiting
/// coroutine's own unless the awaited one runs as a separately cancellable unit (wait_for's inner,
/// a combinator's child).
template <class Promise>
[[nodiscard]] bool resume_awaited(std::coroutine_handle<Promise> awaited, std::coroutine_handle<> awaiting,
                                  cancel_context* context) noexcept {
    promise_base& promise = awaited.promise();
    promise.set_continuation(awaiting);
    promise.set_context(context);
    return !resume_nested(awaited);
}

template <class Promise, class AwaitingPromise>
[[nodiscard]] bool resume_awaited(std::coroutine_handle<Promise> awaited,
                                  std::coroutine_handle<AwaitingPromise> awaiting) noexcept {
    return resume_awaited(awaited, awaiting, context_of(awaiting));
}

}  // namespace sluice::detail
