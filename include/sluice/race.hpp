#pragma once
/// sluice/race.hpp: the first of several awaitables to finish wins (asyncio.wait(return_when=
/// FIRST_COMPLETED) followed by cancelling the rest; trio's "race" idiom).
///
/// - `co_await race(a, b, ...)` → `std::variant<A, B, ...>` (a `void` child gives `std::monostate`):
///   `index()` is the winner's position, the alternative its value (types may repeat).
/// - `co_await when_any(range)` → `std::pair<std::size_t, T>` (`std::pair<std::size_t,
///   std::monostate>` for `void`): the winner's position in the range and its value.
/// - Every child starts concurrently when the race is awaited (nothing before); the first to
///   *finish* wins, with a value or with an exception. The others are then cancelled **and
///   awaited**: the race returns only once every loser has finished its cleanup. Losers' values
///   and errors are discarded. A winner that failed has its exception rethrown, after the drain.
/// - Cancelling the awaiting task cancels every child; once they all finished the awaiter gets
///   `cancelled_error`.
/// - `when_any` of an empty range: `std::invalid_argument` (when awaited). A range given as an
///   lvalue is referenced and must outlive the returned task; an rvalue is moved in.

#include <type_traits>
#include <utility>

#include "detail/race.hpp"

namespace sluice {

/// The first of the awaitables to finish, as a variant whose index() is the winner's position; the
/// others are cancelled and awaited first.
template <class... Awaitables>
    requires(sizeof...(Awaitables) > 0 && !(detail::input_range<std::remove_cvref_t<Awaitables>> || ...))
auto race(Awaitables&&... awaitables) {
    return detail::race_variadic<detail::stored_awaitable_t<Awaitables>...>(std::forward<Awaitables>(awaitables)...);
}

/// The first awaitable of `source` to finish: its position and value; the others are cancelled
/// and awaited first. std::invalid_argument for an empty range.
template <detail::input_range Source>
auto when_any(Source&& source) {
    return detail::when_any_range<detail::stored_source_t<Source>>(std::forward<Source>(source));
}

}  // namespace sluice
