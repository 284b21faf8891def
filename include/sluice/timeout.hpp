#pragma once
/// sluice/timeout.hpp: a deadline for a whole block of work (asyncio.timeout, trio.fail_after /
/// move_on_after).
///
/// - `co_await with_timeout(d, body)`: runs `body` (a callable taking `timeout_scope&` and returning
///   a `task<T>`, or any awaitable) and returns its value; when `d` passes first the body is
///   cancelled, and once it has *finished its cleanup* `timeout_error` is raised.
///   `with_deadline(tp, body)` takes a time point.
/// - `co_await move_on_after(d, body)` / `move_on_at(tp, body)`: the same, but an expiry gives an
///   empty `std::optional<T>` instead of the exception (`std::optional<std::monostate>` for void).
/// - `timeout_scope` (the body's parameter): `deadline()`, `reschedule(tp)` (asyncio's
///   `Timeout.reschedule`; `time_point::max()` means never), `reschedule_after(d)`, `expired()`.
///   Rescheduling once the deadline has passed (the body is being cancelled) is a
///   `std::logic_error`. The scope lives as long as the body runs; do not keep it beyond.
/// - Saturating: `d` may be `duration::max()` (never). `d <= 0`: the body starts and is cancelled
///   at its first real suspension (as asyncio.timeout(0)); a body that never suspends returns
///   its value.
/// - Nested scopes: the deadline that passes first is the one reported, by its own scope; an outer
///   deadline is never reported as an inner's (the inner scope lets the cancel through, the outer
///   one reports its expiry). A `timeout_error` coming out of the body (an inner scope's) is just
///   an error to the outer scope: it propagates, even from `move_on_after`.
/// - The scope's cancel never leaks out: a body that swallows it and returns a value returns that
///   value, an error of its own wins. Cancelling the awaiting task cancels the body; the awaiter
///   then gets `cancelled_error` once the body finished (if its deadline passed first, the expiry
///   is reported and the cancel stays pending for the awaiter's next real suspension). A cancel
///   already pending when the scope is awaited: the body never runs.

#include <concepts>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "cancellation.hpp"
#include "detail/awaitable_traits.hpp"
#include "detail/std_chrono.hpp"
#include "detail/timeout_scope.hpp"
#include "task.hpp"

namespace sluice {

class timeout_scope;

namespace detail {
struct scope_runner;
}

/// The deadline of a with_timeout / move_on_after block, as its body sees it.
class timeout_scope {
public:
    timeout_scope(const timeout_scope&) = delete;
    timeout_scope& operator=(const timeout_scope&) = delete;

    /// The current deadline (`time_point::max()`: none).
    [[nodiscard]] std::chrono::steady_clock::time_point deadline() const noexcept { return state_.deadline; }
    /// True once the deadline has passed (the body is being, or was, cancelled by it).
    [[nodiscard]] bool expired() const noexcept { return state_.deadline_passed(); }
    /// Moves the deadline (earlier, later, or `time_point::max()` for none). A past time point
    /// expires at the next loop turn. std::logic_error once the deadline has passed.
    void reschedule(std::chrono::steady_clock::time_point new_deadline) { state_.move_deadline(new_deadline); }
    /// `reschedule(now + d)`, saturating.
    template <class Rep, class Period>
    void reschedule_after(std::chrono::duration<Rep, Period> d) {
        reschedule(detail::deadline_after(d));
    }

private:
    friend struct detail::scope_runner;
    explicit timeout_scope(std::chrono::steady_clock::time_point until) noexcept : state_(until) {}

    detail::scope_state state_;
};

namespace detail {

/// The task a scope runs: a callable's task (invoked inside this coroutine, so an exception from
/// the call is a body error) or an awaitable's.
template <class Body>
auto scope_body(Body& body, timeout_scope& scope) {
    if constexpr (std::invocable<Body&, timeout_scope&>) {
        using inner = std::invoke_result_t<Body&, timeout_scope&>;
        return [](Body& b, timeout_scope& s) -> task<await_result_t<inner>> {
            co_return co_await std::invoke(b, s);
        }(body, scope);
    } else {
        return as_task(std::move(body));
    }
}

template <class Body>
using scope_value_t = typename decltype(scope_body(std::declval<Body&>(), std::declval<timeout_scope&>()))::value_type;

template <class T>
using optional_value_t = std::optional<std::conditional_t<std::is_void_v<T>, std::monostate, T>>;

}  // namespace detail

namespace detail {

struct scope_runner {
    /// The scope's coroutine. The body is a by-value parameter, so it lives in the frame as long as
    /// the scope's task; the scope is a local of the frame, alive while the body runs.
    template <class T, bool MoveOn, class Body>
    static auto run(std::chrono::steady_clock::time_point until, Body body)
        -> task<std::conditional_t<MoveOn, optional_value_t<T>, T>> {
        timeout_scope scope(until);
        auto inner = scope_body(body, scope);
        const bool expired = co_await scope_state::runner<T>(scope.state_, inner);
        if constexpr (MoveOn) {
            if (expired) co_return std::nullopt;
            if constexpr (std::is_void_v<T>) {
                inner.handle().promise().result_slot().take();
                co_return std::monostate{};
            } else {
                co_return inner.handle().promise().result_slot().take();
            }
        } else {
            if (expired) throw timeout_error();
            co_return inner.handle().promise().result_slot().take();
        }
    }
};

}  // namespace detail

/// `body`'s result, or timeout_error once `deadline` passed and the body, cancelled, finished.
template <class Body>
auto with_deadline(std::chrono::steady_clock::time_point deadline, Body&& body) {
    using stored = std::remove_cvref_t<Body>;
    return detail::scope_runner::run<detail::scope_value_t<stored>, false, stored>(deadline, std::forward<Body>(body));
}

/// `body`'s result, or timeout_error once `timeout` passed and the body, cancelled, finished.
template <class Rep, class Period, class Body>
auto with_timeout(std::chrono::duration<Rep, Period> timeout, Body&& body) {
    return with_deadline(detail::deadline_after(timeout), std::forward<Body>(body));
}

/// `body`'s result in an optional, empty once `deadline` passed and the body, cancelled, finished.
template <class Body>
auto move_on_at(std::chrono::steady_clock::time_point deadline, Body&& body) {
    using stored = std::remove_cvref_t<Body>;
    return detail::scope_runner::run<detail::scope_value_t<stored>, true, stored>(deadline, std::forward<Body>(body));
}

/// `body`'s result in an optional, empty once `timeout` passed and the body, cancelled, finished.
template <class Rep, class Period, class Body>
auto move_on_after(std::chrono::duration<Rep, Period> timeout, Body&& body) {
    return move_on_at(detail::deadline_after(timeout), std::forward<Body>(body));
}

}  // namespace sluice
