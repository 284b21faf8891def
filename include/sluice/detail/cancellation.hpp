#pragma once
// Cancellation machinery shared by every sluice coroutine type and awaitable.
//
// A `cancel_context` belongs to one concurrently running unit: a spawned task, a child of gather or
// task_group, the inner of wait_for, an item of the bounded engine. Every coroutine awaited inline
// by that unit (nested tasks, async generators it consumes) shares the context through
// `promise_base::context` (promise.hpp), set when the coroutine is awaited.
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
#include <cstdint>
#include <type_traits>
#include <utility>

#include "../cancellation.hpp"
#include "cancellable_wait.hpp"
#include "promise.hpp"

namespace sluice::detail {

/// Base of an awaitable that is a cancellation point. Derived classes call `enter` in
/// await_suspend, `finish_completed` or `finish_cancelled` when the wait ends, and
/// `throw_if_cancelled` first thing in await_resume.
///
/// `Wait` is the cancellable_wait it implements: cancellable_wait itself, or a timer_node (a wait
/// that is also a timer: a sleep, a deadline), so that such an awaitable has one vtable pointer,
/// not two (8 B in every sleeping frame).
///
/// TRICKY (layout): the `cancelled` flag is bit 0 of the context's address (a cancel_context holds
/// a pointer, so the bit is free): a bool beside the two words padded a sleeping frame by 8 B.
template <class Wait>
class basic_cancellation_point : public Wait {
protected:
    basic_cancellation_point() = default;
    basic_cancellation_point(const basic_cancellation_point&) = delete;
    basic_cancellation_point& operator=(const basic_cancellation_point&) = delete;
    ~basic_cancellation_point() = default;

    /// False: a cancel was pending and is delivered now, without suspending.
    template <class Promise>
    [[nodiscard]] bool enter(std::coroutine_handle<Promise> waiter) noexcept {
        waiter_ = waiter;
        cancel_context* const context = context_of(waiter);
        context_ = reinterpret_cast<std::uintptr_t>(context) | (context_ & cancelled_bit);
        if (context != nullptr && context->take_pending()) {
            finish_cancelled();
            return false;
        }
        if (context != nullptr) context->wait_on(this);
        return true;
    }
    void finish_completed() noexcept {
        if (cancel_context* context = this->context()) context->wait_done(this);
    }
    void finish_cancelled() noexcept { context_ |= cancelled_bit; }
    [[nodiscard]] bool cancelled() const noexcept { return (context_ & cancelled_bit) != 0; }
    /// TRICKY: the wait is unregistered here too, because a yield (a past deadline) is resumed by
    /// the ready queue without any finish_* call: a request made later while the task runs must
    /// stay pending, not be sent to this dead awaiter. And the request counts as delivered only
    /// now, when the exception is thrown, so further requests made between the interruption and
    /// this resumption coalesce with it (one delivery per request).
    void throw_if_cancelled() const {
        cancel_context* const context = this->context();
        if (context != nullptr) context->wait_done(this);
        if (cancelled()) {
            if (context != nullptr) context->delivered();
            throw cancelled_error();
        }
    }

    std::coroutine_handle<> waiter_ = nullptr;

private:
    static constexpr std::uintptr_t cancelled_bit = 1;

    [[nodiscard]] cancel_context* context() const noexcept {
        return reinterpret_cast<cancel_context*>(context_ & ~cancelled_bit);
    }

    std::uintptr_t context_ = 0;  // the waiter's cancel_context (or null) | cancelled_bit
};

/// The cancellation point of a wait that is nothing else (most of them).
using cancellation_point = basic_cancellation_point<cancellable_wait>;

}  // namespace sluice::detail
