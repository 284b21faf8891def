#pragma once
// race's and when_any's machinery (sluice/race.hpp): the first finished child of a collect-mode
// engine, with the losers cancelled and awaited.

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "bounded_engine.hpp"
#include "gather.hpp"
#include "outcome.hpp"

namespace sluice::detail {

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
task<std::variant<monostate_if_void_t<await_result_t<Awaitables>>...>> race_variadic(Awaitables... awaitables) {
    std::tuple<outcome<await_result_t<Awaitables>>...> outcomes;
    std::vector<task<void>> children = store_each_into(outcomes, std::forward<Awaitables>(awaitables)...);
    auto [index, winner] = co_await first_finished<std::vector<task<void>>&>(children, sizeof...(Awaitables));
    winner.value();  // the winner's exception, if it failed
    co_return take_alternative<std::variant<monostate_if_void_t<await_result_t<Awaitables>>...>>(
        outcomes, index, std::index_sequence_for<Awaitables...>{});
}

template <class Source>
auto when_any_range(Source source)
    -> task<std::pair<std::size_t, monostate_if_void_t<typename bounded_engine<Source>::value_type>>> {
    auto [index, winner] = co_await first_finished<Source>(std::forward<Source>(source), unlimited);
    if constexpr (std::is_void_v<typename bounded_engine<Source>::value_type>) {
        winner.value();
        co_return std::pair{index, std::monostate{}};
    } else {
        co_return std::pair{index, std::move(winner).value()};
    }
}

}  // namespace sluice::detail
