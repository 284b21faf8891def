#pragma once
/// sluice/concurrency_limit.hpp: limits on how many operations run at once that a program can watch,
/// change while it runs, or let adapt to the server's capacity (Netflix concurrency-limits, TCP
/// congestion control).
///
/// - A `concurrency_limit` is a *handle*: copies share one state (the current limit, the count in
///   flight, the algorithm). Pass it to a `semaphore` (or a bounded combinator) and keep a copy to
///   watch `limit()` and `in_flight()`, to `set_limit(n)` at run time, or to be called back on
///   every change (`on_change`). It belongs to one loop thread, like everything it limits.
/// - `fixed(n)`: n until set otherwise (n >= 0; 0 starts nothing until raised).
/// - `aimd{...}`: grows by one per window of successes, shrinks by `backoff` on an overload
///   (TCP-style, with slow start). `gradient{...}`: shrinks when latency rises above its long-run
///   minimum, grows (by at most `headroom` per round) while it does not; it suits servers that
///   slow down when overloaded, `aimd` those that reject (503/429): each slot above a rejecting
///   server's capacity fails fast and tries again, so the slower probe of aimd rejects less.
///   See the parameter structs for every knob.
/// - Whoever runs an operation under the limit brackets it with `start()` and `finish(ticket,
///   outcome)`; a semaphore's permits and the bounded combinators do it for you. `start` never
///   waits: it only counts. Waiting for room is the semaphore's (or the engine's) job.
/// - Outcomes: `success` (a latency sample), `overload` (shrink), `ignored` (no sample). A failed
///   operation is classified by `classify(error)`: a cancellation is ignored; an error the
///   algorithm's `is_overload` predicate accepts (by default `timeout_error`) is an overload; any
///   other error is ignored (it says nothing about capacity). A fixed limit never changes by itself.
/// - Invalid parameters (min < 1, max < min, initial outside [min, max], backoff outside (0, 1),
///   negative window or timeout, gradient tolerance < 1, smoothing outside (0, 1], headroom <= 0,
///   windows < 1, a negative fixed or set limit, an adaptive limit set outside its [min, max])
///   throw std::invalid_argument.
/// - The parameter types `aimd`, `gradient`, the `outcome` enum and `overload_predicate` are
///   declared (and each field documented) in detail/concurrency_limit.hpp, beside the algorithms
///   that read them, so that header stands alone.
/// - The change callback runs inside whatever changed the limit (a permit's release, set_limit):
///   it must not throw, and should not change the limit itself.

#include <cstddef>
#include <exception>
#include <utility>

#include "detail/concurrency_limit.hpp"
#include "detail/owner_ptr.hpp"
#include "detail/std_chrono.hpp"
#include "detail/std_function.hpp"

namespace sluice {

namespace detail {
struct limit_access;
}

/// A limit on operations in flight, shared by every copy of the handle (see the file comment).
class concurrency_limit {
public:
    using clock = std::chrono::steady_clock;
    /// One operation counted in flight by start(), to be handed back to finish() exactly once.
    using ticket = detail::limit_ticket;

    /// An AIMD limit; std::invalid_argument on invalid parameters.
    concurrency_limit(aimd parameters)  // NOLINT(google-explicit-constructor): pass aimd{...} where a limit goes
        : state_(detail::make_shared_handle<detail::limit_state>(
              detail::make_owner<detail::aimd_algorithm>(std::move(parameters)))) {}
    /// A gradient limit; std::invalid_argument on invalid parameters.
    concurrency_limit(gradient parameters)  // NOLINT(google-explicit-constructor)
        : state_(detail::make_shared_handle<detail::limit_state>(
              detail::make_owner<detail::gradient_algorithm>(std::move(parameters)))) {}

    /// A fixed limit of n (n >= 0, else std::invalid_argument); set_limit still changes it.
    friend concurrency_limit fixed(std::ptrdiff_t n);

    /// The limit in force now.
    [[nodiscard]] std::ptrdiff_t limit() const noexcept { return state_->limit(); }
    /// Operations started and not yet finished (across everything sharing this limit).
    [[nodiscard]] std::ptrdiff_t in_flight() const noexcept { return state_->in_flight(); }

    /// Changes the limit now. Raising it lets waiters start at once; lowering it starts nothing new
    /// until in_flight() drops below, and cancels nothing. An adaptive limit continues adapting from
    /// n. std::invalid_argument if n < 0, or outside an adaptive limit's [min, max].
    void set_limit(std::ptrdiff_t n) { state_->set_limit(n); }

    /// `callback(new_limit)` after every change of limit(), adaptive or set by hand; replaces the
    /// previous callback (an empty function removes it). Must not throw.
    void on_change(std::function<void(std::ptrdiff_t)> callback) { state_->on_change(std::move(callback)); }

    /// Counts an operation in flight from now (or from `now`, for feeding recorded samples). Never
    /// waits and never refuses: check `in_flight() < limit()` first, or let a semaphore do it.
    [[nodiscard]] ticket start() noexcept { return state_->start(state_->now_if_needed()); }
    [[nodiscard]] ticket start(clock::time_point now) noexcept { return state_->start(now); }

    /// Counts the operation out; its latency (now − start) and `result` feed the algorithm.
    void finish(const ticket& started, outcome result) { state_->finish(started, result, state_->now_if_needed()); }
    void finish(const ticket& started, outcome result, clock::time_point now) {
        state_->finish(started, result, now);
    }

    /// The outcome a failed operation reports: null → success, cancelled_error → ignored, an
    /// overload error (the predicate's, or timeout_error) → overload, anything else → ignored.
    [[nodiscard]] outcome classify(const std::exception_ptr& error) const { return state_->classify(error); }

private:
    friend struct detail::limit_access;
    explicit concurrency_limit(detail::shared_handle<detail::limit_state> state) noexcept : state_(std::move(state)) {}

    detail::shared_handle<detail::limit_state> state_;
};

/// A fixed limit of n operations in flight (n >= 0; std::invalid_argument if negative).
[[nodiscard]] inline concurrency_limit fixed(std::ptrdiff_t n) {
    return concurrency_limit(detail::make_shared_handle<detail::limit_state>(n, std::monostate{}));
}

namespace detail {
/// How semaphores and the engine reach the shared state behind a handle.
struct limit_access {
    static const shared_handle<limit_state>& state(const concurrency_limit& limit) noexcept { return limit.state_; }
};
}  // namespace detail

}  // namespace sluice
