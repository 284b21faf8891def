#pragma once
// What `co_await x` means for an arbitrary awaitable: its awaiter and its result type, and a way
// to turn any awaitable into a task (combinators run every child as a task).

#include <concepts>
#include <coroutine>
#include <type_traits>
#include <utility>

#include "../task.hpp"

namespace sluice::detail {

template <class A>
decltype(auto) get_awaiter(A&& awaitable) {
    if constexpr (requires { std::forward<A>(awaitable).operator co_await(); }) {
        return std::forward<A>(awaitable).operator co_await();
    } else if constexpr (requires { operator co_await(std::forward<A>(awaitable)); }) {
        return operator co_await(std::forward<A>(awaitable));
    } else {
        return std::forward<A>(awaitable);
    }
}

template <class A>
using awaiter_t = decltype(get_awaiter(std::declval<A>()));

template <class A>
using await_result_t = decltype(std::declval<awaiter_t<A>&>().await_resume());

/// How a coroutine parameter keeps an awaitable it was given: by value for an rvalue, by reference
/// for an lvalue.
template <class A>
using stored_awaitable_t = std::conditional_t<std::is_lvalue_reference_v<A>, A, std::remove_cvref_t<A>>;

template <class T>
inline constexpr bool is_task_v = false;
template <class T>
inline constexpr bool is_task_v<task<T>> = true;

/// The task that awaits `awaitable` (which it owns when passed an rvalue); a task passes through.
template <class A>
auto as_task(A&& awaitable) {
    if constexpr (is_task_v<std::remove_cvref_t<A>> && !std::is_lvalue_reference_v<A>) {
        return std::move(awaitable);
    } else {
        return [](A inner) -> task<await_result_t<A>> { co_return co_await std::forward<A>(inner); }(
                   std::forward<A>(awaitable));
    }
}

}  // namespace sluice::detail
