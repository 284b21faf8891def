#pragma once
// What `co_await x` means for an arbitrary awaitable: its awaiter and its result type, and a way
// to turn any awaitable into a task (combinators run every child as a task).

#include <concepts>
#include <coroutine>
#include <iterator>
#include <type_traits>
#include <utility>
#include <variant>

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

/// What a result of type T is handed out as where a value is needed (a tuple or variant element,
/// a generator's yield): std::monostate for void.
template <class T>
using monostate_if_void_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

// std::ranges::input_range, iterator_t and range_rvalue_reference_t, spelled as the standard
// defines them with what <iterator> declares (std::ranges::begin/end/iter_move, std::input_iterator):
// <ranges> would add its views and algorithms to every includer of the combinators (issue #10).

template <class R>
using iterator_t = decltype(std::ranges::begin(std::declval<R&>()));

/// std::ranges::input_range<R>.
template <class R>
concept input_range = requires(R& range) {
    std::ranges::begin(range);
    std::ranges::end(range);
} && std::input_iterator<iterator_t<R>>;

template <class R>
using range_rvalue_reference_t = std::iter_rvalue_reference_t<iterator_t<R>>;

}  // namespace sluice::detail

namespace sluice {

/// What `co_await` accepts once `operator co_await` (member or free) has been applied: an object
/// with `await_ready()` (convertible to bool) and `await_resume()`. The public entry points that
/// take awaitables (gather, limited_as_completed, as_completed, igather, wait_for) are constrained
/// on it, so a wrong argument fails at the caller's line with this concept named, not deep inside
/// the engine.
template <class A>
concept awaitable = requires(detail::awaiter_t<A>& awaiter) {
    { awaiter.await_ready() } -> std::convertible_to<bool>;
    awaiter.await_resume();
};

/// An input range whose elements, taken out of it (`std::ranges::iter_move`), are awaitable.
template <class R>
concept awaitable_range = detail::input_range<R> && awaitable<detail::range_rvalue_reference_t<R>>;

}  // namespace sluice

namespace sluice::detail {

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
