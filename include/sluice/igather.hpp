#pragma once
/// sluice/igather.hpp: an async generator of results with at most `limit` items in flight.
///
///     auto results = sluice::igather(jobs, 100, {.order = sluice::order::submission});
///     while (auto r = co_await results.next()) use(*r);
///
/// - `jobs`: an input range of awaitables or an `async_generator` of them (pulled lazily, only
///   when an item may start). An lvalue range is used in place and must outlive the stream. An
///   async generator must be moved in (`igather(std::move(gen), n)`): after the stream stops, a
///   cancelled pull can still be running inside the generator's body, so the stream owns it until
///   that pull has finished.
/// - `order::completion` (default): results as items finish. `order::submission`: results in source
///   order; `window` (>= limit, default = limit) bounds the items started and not yet yielded:
///   finished results waiting for a slow head count against it, and no item starts while it is full.
/// - Errors, fail-fast (default): the first item error *in time* cancels what is in flight, pulls
///   nothing more, waits for the cancelled items, then is rethrown. In submission order the
///   consumer first receives the contiguous prefix of results completed before the failing
///   position. With the `sluice::collect` tag, every item yields a `result<T>` (value or exception)
///   and nothing is cancelled.
/// - A `void` item yields `std::monostate` (or `result<void>` when collecting).
/// - A source that throws while being pulled: items already started finish and are yielded, then
///   the source's exception is rethrown.
/// - `limit < 1`, or `window < limit` in submission order → std::invalid_argument at the call.
///   `limit` may be a `concurrency_limit` instead (see sluice/as_completed.hpp); a `window` then
///   bounds the items started and not yet yielded whatever the limit moves to.
/// - Stopping early (destroying the generator, or the consumer cancelled inside `next()`) cancels
///   what is in flight; the items finish their cancellation (the loop keeps them alive if the
///   generator is gone), and nothing more is pulled.

#include <cstddef>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "detail/igather.hpp"

namespace sluice {

enum class order { completion, submission };

struct igather_options {
    sluice::order order = sluice::order::completion;
    /// Submission order only: items started and not yet yielded; 0 means "= limit".
    std::size_t window = 0;
};

/// Tag selecting the collect error mode: yield `result<T>` for every item, cancel nothing.
struct collect_t {
    explicit collect_t() = default;
};
inline constexpr collect_t collect{};

namespace detail {

/// `limit`: a number or a concurrency_limit (see limit_options).
template <bool Collect, class Source, class Limit>
auto make_igather(Source&& source, const Limit& limit, igather_options options) {
    engine_options engine = limit_options(limit, "sluice::igather");
    if (options.order == order::submission && options.window != 0) {
        // A moving limit cannot be checked against; the window then bounds it as well.
        if (engine.shared_limit == nullptr && options.window < engine.limit) {
            throw std::invalid_argument("sluice::igather: window must be at least limit");
        }
        engine.window = options.window;
    }
    engine.order = options.order == order::submission ? delivery_order::submission : delivery_order::completion;
    engine.errors = Collect ? error_mode::deliver : error_mode::fail_fast;
    using stored = stored_source_t<Source>;
    return igather_stream<stored, Collect>(engine_handle<stored>(std::forward<Source>(source), std::move(engine)));
}

}  // namespace detail

/// Results of `source`'s awaitables, at most `limit` in flight, fail-fast.
/// What igather accepts: a range of awaitables, or an async generator of them given by value.
template <class Source>
concept igather_source = detail::engine_source<Source> &&
                         !(detail::is_async_generator_v<std::remove_cvref_t<Source>> && std::is_lvalue_reference_v<Source>);

template <class Source>
    requires igather_source<Source>
auto igather(Source&& source, std::ptrdiff_t limit, igather_options options = {}) {
    return detail::make_igather<false>(std::forward<Source>(source), limit, options);
}
/// The same under a concurrency_limit (see sluice/concurrency_limit.hpp and the file comment).
template <class Source>
    requires igather_source<Source>
auto igather(Source&& source, concurrency_limit limit, igather_options options = {}) {
    return detail::make_igather<false>(std::forward<Source>(source), limit, options);
}

/// Like igather, but every item yields a `result<T>` and nothing is cancelled.
template <class Source>
    requires igather_source<Source>
auto igather(Source&& source, std::ptrdiff_t limit, collect_t) {
    return detail::make_igather<true>(std::forward<Source>(source), limit, {});
}
template <class Source>
    requires igather_source<Source>
auto igather(Source&& source, std::ptrdiff_t limit, igather_options options, collect_t) {
    return detail::make_igather<true>(std::forward<Source>(source), limit, options);
}
template <class Source>
    requires igather_source<Source>
auto igather(Source&& source, concurrency_limit limit, collect_t) {
    return detail::make_igather<true>(std::forward<Source>(source), limit, {});
}
template <class Source>
    requires igather_source<Source>
auto igather(Source&& source, concurrency_limit limit, igather_options options, collect_t) {
    return detail::make_igather<true>(std::forward<Source>(source), limit, options);
}

}  // namespace sluice
