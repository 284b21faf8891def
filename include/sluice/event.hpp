#pragma once
/// sluice/event.hpp: `event`, a flag tasks can wait for (asyncio.Event).
///
/// - `set()` sets the flag and wakes every waiting task; they are scheduled in the order they
///   started waiting (FIFO), never resumed inside set(). `clear()` resets the flag; a waiter that
///   set() already woke still returns even if clear() runs before it does (as in asyncio).
/// - `co_await ev.wait()` returns at once while the flag is set (then it is not a cancellation
///   point), else suspends until the next set(). A waiter cancelled while waiting leaves the
///   waiter list with `cancelled_error`; a cancel arriving after set() woke it stays pending for
///   its next real suspension.
/// - An event belongs to one loop thread and must outlive its waiters.

#include "detail/event.hpp"
#include "detail/waiter_list.hpp"

namespace sluice {

/// A flag that tasks can wait to be set (asyncio.Event).
class event {
public:
    /// A cleared event.
    event() noexcept = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    /// Sets the flag and schedules every waiter, oldest first. No effect on the waiters if already set.
    void set() {
        is_set_ = true;
        waiters_.wake_all();
    }
    /// Clears the flag: later wait()s suspend until the next set().
    void clear() noexcept { is_set_ = false; }
    /// True while the flag is set.
    [[nodiscard]] bool is_set() const noexcept { return is_set_; }

    /// `co_await wait()` returns once the flag is set: at once if it is set now.
    [[nodiscard]] detail::event_awaiter wait() noexcept { return detail::event_awaiter(is_set_, waiters_); }

private:
    bool is_set_ = false;
    detail::waiter_list<> waiters_;
};

}  // namespace sluice
