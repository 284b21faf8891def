#pragma once
/// sluice/gather.hpp: wait for several awaitables, results in source/argument order (asyncio.gather).
///
/// - `co_await gather(a, b, c)` → `std::tuple<A, B, C>` (a `void` child gives `std::monostate`).
/// - `co_await gather(range)` → `std::vector<T>` (`void` for a range of `task<void>`);
///   `co_await gather(range, limit)`: at most `limit` children at once.
/// - Children start in argument/source order; nothing starts before the gather is awaited; empty
///   input completes at once.
/// - Fail-fast: the first error in time cancels the siblings, *waits for them*, and is rethrown.
///   `gather(return_exceptions, ...)` instead gives a `result<T>` per child and cancels nothing.
/// - Cancelling the task awaiting a gather cancels every child; once they finished, the awaiter
///   gets `cancelled_error`, even if children swallowed their cancellation.
/// - `limit < 1` → std::invalid_argument at the call. A range given as an lvalue is referenced and
///   must outlive the returned task; an rvalue is moved in. A source that throws while being pulled:
///   started children finish, then its exception is rethrown.

#include <cstddef>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "detail/bounded_engine.hpp"
#include "detail/outcome.hpp"

namespace sluice {

/// Tag: collect a `result<T>` per child instead of failing fast.
struct return_exceptions_t {
    explicit return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

namespace detail {

template <bool Collect, class Source>
auto gather_range(Source source, engine_options options)
    -> task<std::conditional_t<Collect, std::vector<result<typename bounded_engine<Source>::value_type>>,
                               std::conditional_t<std::is_void_v<typename bounded_engine<Source>::value_type>, void,
                                                  std::vector<typename bounded_engine<Source>::value_type>>>> {
    using value_type = typename bounded_engine<Source>::value_type;
    using element = std::conditional_t<Collect, result<value_type>, std::conditional_t<std::is_void_v<value_type>, char, value_type>>;
    engine_handle<Source> engine(std::forward<Source>(source), options);
    std::vector<std::optional<element>> by_index;
    std::exception_ptr error;
    try {
        while (auto delivery = co_await engine->next()) {
            if constexpr (!Collect && std::is_void_v<value_type>) {
                delivery->value.value();
            } else {
                if (by_index.size() <= delivery->index) by_index.resize(delivery->index + 1);
                if constexpr (Collect) {
                    by_index[delivery->index].emplace(std::move(delivery->value));
                } else {
                    by_index[delivery->index].emplace(std::move(delivery->value).value());
                }
            }
        }
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        // Cancelled (the engine did not see it: it was delivered to this task's wait) or a source
        // error: the children are cancelled and awaited before the exception leaves the gather.
        co_await engine->close();
        std::rethrow_exception(error);
    }
    if constexpr (Collect || !std::is_void_v<value_type>) {
        std::vector<element> results;
        results.reserve(by_index.size());
        for (auto& slot : by_index) results.push_back(std::move(*slot));
        co_return results;
    }
}

template <bool Collect, class Source>
auto make_gather_range(Source&& source, std::size_t limit) {
    using stored = stored_source_t<Source>;
    return gather_range<Collect, stored>(std::forward<Source>(source), engine_options{limit, limit, false, !Collect});
}

/// A variadic gather child: awaits its awaitable and stores the value where the tuple will find it.
template <class Awaitable, class T>
task<void> store_into(Awaitable awaitable, outcome<T>& out) {
    if constexpr (std::is_void_v<T>) {
        co_await std::forward<Awaitable>(awaitable);
        out.set_value();
    } else {
        out.set_value(co_await std::forward<Awaitable>(awaitable));
    }
}

template <class T>
decltype(auto) take_for_tuple(outcome<T>& out) {
    if constexpr (std::is_void_v<T>) {
        out.take();
        return std::monostate{};
    } else {
        return out.take();
    }
}

template <class T>
using gathered_t = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

/// gather() and gather(return_exceptions): nothing to wait for, so complete at once, no engine.
inline task<std::tuple<>> gather_nothing() { co_return std::tuple<>{}; }

template <bool Collect, class... Awaitables>
auto gather_variadic(Awaitables... awaitables)
    -> task<std::conditional_t<Collect, std::tuple<result<await_result_t<Awaitables>>...>,
                               std::tuple<gathered_t<await_result_t<Awaitables>>...>>> {
    std::tuple<outcome<await_result_t<Awaitables>>...> outcomes;
    std::vector<task<void>> children = std::apply(
        [&](auto&... out) {
            std::vector<task<void>> all;
            all.reserve(sizeof...(Awaitables));
            (all.push_back(store_into(std::forward<Awaitables>(awaitables), out)), ...);
            return all;
        },
        outcomes);
    auto errors = co_await gather_range<true, std::vector<task<void>>&>(
        children, engine_options{sizeof...(Awaitables), sizeof...(Awaitables), false, !Collect});
    if constexpr (Collect) {
        std::size_t index = 0;
        co_return std::apply(
            [&](auto&... out) {
                auto one = [&](auto& slot) {
                    auto error = errors[index++].error();
                    if (error) slot.set_error(error);
                    return slot.take_result();
                };
                return std::tuple<result<await_result_t<Awaitables>>...>{one(out)...};
            },
            outcomes);
    } else {
        // Fail-fast already rethrew the first error; every outcome holds a value.
        co_return std::apply([](auto&... out) { return std::tuple<gathered_t<await_result_t<Awaitables>>...>{take_for_tuple(out)...}; },
                             outcomes);
    }
}

}  // namespace detail

/// Awaits every awaitable concurrently; the tuple of their results, fail-fast.
template <awaitable... Awaitables>
    requires(!(std::ranges::input_range<std::remove_cvref_t<Awaitables>> || ...))
auto gather(Awaitables&&... awaitables) {
    if constexpr (sizeof...(Awaitables) == 0) {
        return detail::gather_nothing();
    } else {
        return detail::gather_variadic<false, detail::stored_awaitable_t<Awaitables>...>(std::forward<Awaitables>(awaitables)...);
    }
}

/// Like gather(a, b, ...), but a `result<T>` per child and nothing cancelled.
template <awaitable... Awaitables>
    requires(!(std::ranges::input_range<std::remove_cvref_t<Awaitables>> || ...))
auto gather(return_exceptions_t, Awaitables&&... awaitables) {
    if constexpr (sizeof...(Awaitables) == 0) {
        return detail::gather_nothing();
    } else {
        return detail::gather_variadic<true, detail::stored_awaitable_t<Awaitables>...>(std::forward<Awaitables>(awaitables)...);
    }
}

/// The results of a range of awaitables in source order, all at once (or at most `limit`).
template <awaitable_range Source>
auto gather(Source&& source) {
    return detail::make_gather_range<false>(std::forward<Source>(source), detail::unlimited);
}
template <awaitable_range Source>
auto gather(Source&& source, std::ptrdiff_t limit) {
    const std::size_t checked = detail::checked_limit(limit, "sluice::gather");
    return detail::make_gather_range<false>(std::forward<Source>(source), checked);
}
template <awaitable_range Source>
auto gather(return_exceptions_t, Source&& source) {
    return detail::make_gather_range<true>(std::forward<Source>(source), detail::unlimited);
}
template <awaitable_range Source>
auto gather(return_exceptions_t, Source&& source, std::ptrdiff_t limit) {
    const std::size_t checked = detail::checked_limit(limit, "sluice::gather");
    return detail::make_gather_range<true>(std::forward<Source>(source), checked);
}

}  // namespace sluice
