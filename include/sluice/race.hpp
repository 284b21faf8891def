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

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "detail/bounded_engine.hpp"
#include "detail/outcome.hpp"
#include "gather.hpp"

namespace sluice {

namespace detail {

/// The first delivery of a collect-mode engine over `source`, after every other item was
/// cancelled and finished: its index and its result. Rethrows a cancel of the awaiting task (after
/// the drain too).
template <class Source>
task<std::pair<std::size_t, result<typename bounded_engine<Source>::value_type>>> first_finished(Source source,
                                                                                                   std::size_t count) {
    engine_handle<Source> engine(std::forward<Source>(source), engine_options{.limit = count, .window = count});
    std::optional<typename bounded_engine<Source>::delivery> first;
    std::exception_ptr error;
    try {
        first = co_await engine->next();
    } catch (...) {
        error = std::current_exception();
    }
    co_await engine->close();  // the losers: cancelled, and awaited
    if (error) std::rethrow_exception(error);
    if (!first) throw std::invalid_argument("sluice::when_any: no awaitables to wait for");
    co_return std::pair{static_cast<std::size_t>(first->index), std::move(first->value)};
}

template <class Variant, class Outcomes, std::size_t... I>
Variant take_alternative(Outcomes& outcomes, std::size_t index, std::index_sequence<I...>) {
    std::optional<Variant> winner;
    ((I == index ? (void)winner.emplace(std::in_place_index<I>, take_for_tuple(std::get<I>(outcomes))) : (void)0), ...);
    return std::move(*winner);
}

template <class... Awaitables>
task<std::variant<gathered_t<await_result_t<Awaitables>>...>> race_variadic(Awaitables... awaitables) {
    std::tuple<outcome<await_result_t<Awaitables>>...> outcomes;
    std::vector<task<void>> children = store_each_into(outcomes, std::forward<Awaitables>(awaitables)...);
    auto [index, winner] = co_await first_finished<std::vector<task<void>>&>(children, sizeof...(Awaitables));
    winner.value();  // the winner's exception, if it failed
    co_return take_alternative<std::variant<gathered_t<await_result_t<Awaitables>>...>>(
        outcomes, index, std::index_sequence_for<Awaitables...>{});
}

template <class Source>
auto when_any_range(Source source)
    -> task<std::pair<std::size_t, gathered_t<typename bounded_engine<Source>::value_type>>> {
    auto [index, winner] = co_await first_finished<Source>(std::forward<Source>(source), unlimited);
    if constexpr (std::is_void_v<typename bounded_engine<Source>::value_type>) {
        winner.value();
        co_return std::pair{index, std::monostate{}};
    } else {
        co_return std::pair{index, std::move(winner).value()};
    }
}

}  // namespace detail

/// The first of the awaitables to finish, as a variant whose index() is the winner's position; the
/// others are cancelled and awaited first.
template <class... Awaitables>
    requires(sizeof...(Awaitables) > 0 && !(std::ranges::input_range<std::remove_cvref_t<Awaitables>> || ...))
auto race(Awaitables&&... awaitables) {
    return detail::race_variadic<detail::stored_awaitable_t<Awaitables>...>(std::forward<Awaitables>(awaitables)...);
}

/// The first awaitable of `source` to finish: its position and value; the others are cancelled
/// and awaited first. std::invalid_argument for an empty range.
template <std::ranges::input_range Source>
auto when_any(Source&& source) {
    return detail::when_any_range<detail::stored_source_t<Source>>(std::forward<Source>(source));
}

}  // namespace sluice
