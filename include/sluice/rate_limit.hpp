#pragma once
/// sluice/rate_limit.hpp: a token bucket bounding how many operations *start* per unit of time
/// (aiolimiter's AsyncLimiter, Envoy's and Guava's rate limiters).
///
/// - `rate_limit{n, per, burst}`: n tokens arrive every `per`, evenly spread (one each per/n); the
///   bucket holds at most `burst` (default 1: starts evenly spaced) and starts full. In any window
///   of length T at most `burst + n·T/per` acquisitions succeed. n < 1, per <= 0, burst < 1, or a
///   burst·per beyond 2^63 ns: std::invalid_argument.
/// - `co_await limiter.acquire()` takes a token: at once if one is there and nobody waits (not a
///   cancellation point), else it queues, strictly FIFO, and sleeps on one loop timer until its
///   token is due: no polling, no CPU while waiting. `try_acquire()` takes one without waiting or
///   returns false; `available()` counts the tokens there now.
/// - Cancellation: a queued waiter that is cancelled leaves the queue with cancelled_error and takes
///   nothing; the next waiter gets the token. A token handed over before a cancel arrives stays
///   taken (the cancel is delivered at the task's next real suspension), as with semaphore.
/// - Combine with a concurrency limit by taking both: `co_await limiter.acquire();` then
///   `auto permit = co_await sem.acquire();` (or pass both to a bounded combinator).
/// - A rate_limit belongs to one loop thread and must outlive its waiters.

#include <cstddef>
#include <cstdint>

#include "detail/rate_limit.hpp"
#include "detail/std_chrono.hpp"

namespace sluice {

/// A token bucket: at most `burst` starts at once, `n` more per `per` (see the file comment).
class rate_limit {
public:
    /// n tokens per `per`, at most `burst` saved up; std::invalid_argument if any is out of range.
    template <class Rep, class Period>
    rate_limit(std::ptrdiff_t n, std::chrono::duration<Rep, Period> per, std::ptrdiff_t burst = 1)
        : bucket_(static_cast<std::int64_t>(n), checked_ns(per), static_cast<std::int64_t>(burst)) {}
    rate_limit(const rate_limit&) = delete;
    rate_limit& operator=(const rate_limit&) = delete;

    /// `co_await acquire()` takes a token, waiting (FIFO, on a timer) until one is due.
    [[nodiscard]] detail::token_awaiter acquire() noexcept { return detail::token_awaiter(bucket_); }

    /// Takes a token if one is there and nobody waits; else false.
    [[nodiscard]] bool try_acquire() noexcept { return bucket_.try_take(std::chrono::steady_clock::now()); }

    /// Tokens in the bucket now (0 while tasks wait).
    [[nodiscard]] std::ptrdiff_t available() noexcept {
        return static_cast<std::ptrdiff_t>(bucket_.available(std::chrono::steady_clock::now()));
    }

private:
    template <class Rep, class Period>
    static std::int64_t checked_ns(std::chrono::duration<Rep, Period> per) {
        using ns = std::chrono::duration<long double, std::nano>;
        const long double count = std::chrono::duration_cast<ns>(per).count();
        // Out of range here (or below one nanosecond) is reported by the bucket as invalid.
        if (!(count >= 1.0L)) return 0;
        if (count > 9.2e18L) return INT64_MAX;
        return static_cast<std::int64_t>(std::chrono::ceil<std::chrono::nanoseconds>(per).count());
    }

    detail::token_bucket bucket_;
};

}  // namespace sluice
