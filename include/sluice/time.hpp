#pragma once
/// sluice/time.hpp: sleeping, yielding and timeouts on the loop's steady_clock timers.
///
/// - `sleep_for(d)`, `sleep_until(tp)`: suspend until the deadline (asyncio.sleep). Zero and
///   negative durations, and past deadlines, behave as `yield()`: one loop turn.
/// - `yield()`: reschedule behind every coroutine that is ready now (asyncio.sleep(0)).
///   All three are cancellation points: a cancelled sleeper wakes at once with `cancelled_error`.
/// - `wait_for(awaitable, d)`: the awaitable's value, or `timeout_error` when `d` passes first
///   (asyncio.wait_for). The inner awaitable runs as a separately cancellable unit: at the deadline
///   it is cancelled, and `timeout_error` is raised only after it *finished* its cleanup. If it
///   swallows the cancellation and returns a value, that value is returned; if it raises another
///   error while cancelling, that error wins. With `d <= 0` a lazy task is never started and
///   `timeout_error` is raised, while an awaitable that is already complete (a finished
///   join_handle) yields its value. Cancelling the caller cancels the inner; the caller then gets
///   `cancelled_error` once the inner finished. An lvalue awaitable is awaited by reference: keep
///   it alive until the returned task completes. `wait_for(h, d)` on a `join_handle` cancels the
///   spawned task on timeout and waits for it to finish before raising `timeout_error`
///   (asyncio.wait_for(task)); if it finished meanwhile (or swallowed the cancel) its result wins.
///
/// Durations and deadlines saturate: a duration too long to add to now (`hours::max()`,
/// `nanoseconds::max()`), an infinite `duration<double>`, and `sleep_until(time_point::max())` all
/// mean "never" (the sleep lasts until cancelled, the timeout never fires) and overflow nothing;
/// the loop's other timers keep firing. Negative infinity is a negative duration. A NaN duration
/// is `std::invalid_argument` at the call: it names no point in time.


#include "detail/awaitable_traits.hpp"
#include "detail/std_chrono.hpp"
#include "detail/time.hpp"

namespace sluice {

/// Suspends until `deadline` (a past deadline: one loop turn).
[[nodiscard]] inline detail::sleep_awaitable sleep_until(std::chrono::steady_clock::time_point deadline) noexcept {
    return detail::sleep_awaitable(deadline);
}

/// Suspends for `duration` (zero or negative: one loop turn; too long to represent, or infinite:
/// forever, until cancelled). A NaN `duration<double>` is `std::invalid_argument`.
/// (By reference: a by-value argument is a temporary of the `co_await` expression, which GCC keeps
/// in the awaiting coroutine's frame, 8 B per sleeping frame.)
template <class Rep, class Period>
[[nodiscard]] detail::sleep_awaitable sleep_for(const std::chrono::duration<Rep, Period>& duration) {
    return detail::sleep_awaitable(detail::deadline_after(duration, "sleep_for"));
}

/// Goes behind every coroutine that is ready now; a cancellation point.
[[nodiscard]] inline detail::yield_awaitable yield() noexcept { return {}; }

/// The awaitable's result, or `timeout_error` once `timeout` passed and the awaitable, cancelled,
/// has finished. An rvalue awaitable is moved into the returned task; an lvalue one is referenced.
template <awaitable Awaitable, class Rep, class Period>
task<detail::await_result_t<Awaitable>> wait_for(Awaitable&& awaitable, std::chrono::duration<Rep, Period> timeout) {
    return detail::wait_for_stored<detail::stored_awaitable_t<Awaitable>>(
        std::forward<Awaitable>(awaitable), detail::saturating_duration(timeout, "wait_for"));
}

}  // namespace sluice
