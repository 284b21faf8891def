#pragma once
/// sluice/gather.hpp: wait for several awaitables, results in source/argument order (asyncio.gather).
///
/// - `co_await gather(a, b, c)` → `std::tuple<A, B, C>` (a `void` child gives `std::monostate`).
/// - `co_await gather(range)` → `std::vector<T>` (`void` for a range of `task<void>`);
///   `co_await gather(range, limit)`: at most `limit` children at once.
/// - Children start in argument/source order; nothing starts before the gather is awaited; empty
///   input completes at once. A long source starts in waves of at most 1024 children per loop turn
///   (as does any limit above that): what became ready meanwhile runs in between, so an unbounded
///   gather over a long generator does not hold the loop, and children that finished give their
///   frames to the next wave. Children that wait stay in flight: nothing else is bounded.
/// - Fail-fast: the first error in time cancels the siblings, *waits for them*, and is rethrown.
///   `gather(return_exceptions, ...)` instead gives a `result<T>` per child and cancels nothing.
/// - Cancelling the task awaiting a gather cancels every child; once they finished, the awaiter
///   gets `cancelled_error`, even if children swallowed their cancellation.
/// - `limit < 1` → std::invalid_argument at the call; `limit` may be a `concurrency_limit` (see
///   sluice/as_completed.hpp). A range given as an lvalue is referenced and
///   must outlive the returned task; an rvalue is moved in. A source that throws while being pulled:
///   started children finish, then its exception is rethrown.
/// - Numbers and other trivially copyable results are written straight into the returned vector.
///   A sized source's vector is reserved once to its length (up to 1 GiB); a lazy source's grows
///   8x at a time below 64 MiB, so its capacity may exceed its size: address space, never touched.

#include <cstddef>
#include <type_traits>
#include <utility>

#include "detail/gather.hpp"

namespace sluice {

/// Tag: collect a `result<T>` per child instead of failing fast.
struct return_exceptions_t {
    explicit return_exceptions_t() = default;
};
inline constexpr return_exceptions_t return_exceptions{};

/// Awaits every awaitable concurrently; the tuple of their results, fail-fast.
template <awaitable... Awaitables>
    requires(!(detail::input_range<std::remove_cvref_t<Awaitables>> || ...))
auto gather(Awaitables&&... awaitables) {
    if constexpr (sizeof...(Awaitables) == 0) {
        return detail::gather_nothing();
    } else {
        return detail::gather_variadic<false, detail::stored_awaitable_t<Awaitables>...>(std::forward<Awaitables>(awaitables)...);
    }
}

/// Like gather(a, b, ...), but a `result<T>` per child and nothing cancelled.
template <awaitable... Awaitables>
    requires(!(detail::input_range<std::remove_cvref_t<Awaitables>> || ...))
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
    return detail::make_gather_range<false>(std::forward<Source>(source), {.limit = detail::unlimited, .window = detail::unlimited});
}
template <awaitable_range Source>
auto gather(Source&& source, std::ptrdiff_t limit) {
    return detail::make_gather_range<false>(std::forward<Source>(source), detail::limit_options(limit, "sluice::gather"));
}
/// At most concurrency_limit's limit() in flight, each finished item reporting its outcome to it.
template <awaitable_range Source>
auto gather(Source&& source, concurrency_limit limit) {
    return detail::make_gather_range<false>(std::forward<Source>(source), detail::limit_options(limit, "sluice::gather"));
}
template <awaitable_range Source>
auto gather(return_exceptions_t, Source&& source) {
    return detail::make_gather_range<true>(std::forward<Source>(source), {.limit = detail::unlimited, .window = detail::unlimited});
}
template <awaitable_range Source>
auto gather(return_exceptions_t, Source&& source, std::ptrdiff_t limit) {
    return detail::make_gather_range<true>(std::forward<Source>(source), detail::limit_options(limit, "sluice::gather"));
}
template <awaitable_range Source>
auto gather(return_exceptions_t, Source&& source, concurrency_limit limit) {
    return detail::make_gather_range<true>(std::forward<Source>(source), detail::limit_options(limit, "sluice::gather"));
}

}  // namespace sluice
