#pragma once
/// sluice/as_completed.hpp: results in completion order, with at most `limit` items in flight
/// (bpo-30782's `limited_as_completed`, asyncio.as_completed).
///
///     for (auto next : sluice::limited_as_completed(jobs, 100)) {
///         int r = co_await next;          // the next result to finish, or that item's exception
///     }
///
/// - `jobs`: any input range of awaitables (`task<T>` or any awaitable): a vector, an infinite lazy
///   view, a `generator<task<T>>`. An lvalue range is used in place and must outlive the loop; an
///   rvalue is moved in. (For an `async_generator` source, use `igather`.)
/// - The source is pulled only when an item may start, never ahead; a place is refilled the moment a
///   result is handed out. An item (its frame) is kept until its result is taken, so at most `limit`
///   items are running or finished-and-waiting: memory grows with `limit`, never with the source.
/// - Each `co_await next` yields the next finished result or rethrows *that* item's exception; the
///   others carry on. After the last item, a source that threw while being pulled rethrows its
///   exception from the next `co_await`.
/// - `limit < 1` → std::invalid_argument at the call. `limit` may also be a `concurrency_limit`
///   (sluice/concurrency_limit.hpp: fixed, aimd, gradient), shared with other ranges or semaphores,
///   changeable while the range runs: raising it starts items at once, lowering it starts nothing
///   until fewer run; each finished item reports its outcome (a success with its latency, an
///   overload, or nothing) to the limit's algorithm.
/// - Stopping early (break, or the range destroyed) cancels the running items and hands them to the
///   loop, which keeps them alive until they finished (`run` waits for them); unstarted items are
///   destroyed without running. `co_await range.close()` does the same and waits. Cancelling a task
///   inside `co_await next` (e.g. `wait_for` around it) ends only that wait.
/// - One consumer at a time: two tasks awaiting results of one range concurrently is a logic_error.
/// - `it == end` may start items: only a pull can tell whether a lazy source has another item, and
///   the engine starts what it pulls at once rather than holding it back (that would read ahead).
///   A range-for compares just before awaiting the next result, so this is where items start anyway.

#include <cstddef>
#include <utility>

#include "detail/as_completed.hpp"

namespace sluice {

/// Results of `source`'s awaitables in completion order, at most `limit` in flight.
template <awaitable_range Source>
auto limited_as_completed(Source&& source, std::ptrdiff_t limit) {
    return detail::completion_range<detail::stored_source_t<Source>>(
        std::forward<Source>(source), detail::limit_options(limit, "sluice::limited_as_completed"));
}
/// The same under a concurrency_limit (fixed, aimd, gradient; shared with whatever else it limits):
/// items start while its in_flight() < limit(), and each finished item reports its outcome to it.
template <awaitable_range Source>
auto limited_as_completed(Source&& source, concurrency_limit limit) {
    return detail::completion_range<detail::stored_source_t<Source>>(
        std::forward<Source>(source), detail::limit_options(limit, "sluice::limited_as_completed"));
}

/// Results of `source`'s awaitables in completion order, all started at once (asyncio.as_completed);
/// still lazy: an infinite source is pulled as fast as items are consumed... and no faster than
/// they start, so prefer limited_as_completed for those.
template <awaitable_range Source>
auto as_completed(Source&& source) {
    return detail::completion_range<detail::stored_source_t<Source>>(
        std::forward<Source>(source), detail::engine_options{.limit = detail::unlimited, .window = detail::unlimited});
}

}  // namespace sluice
