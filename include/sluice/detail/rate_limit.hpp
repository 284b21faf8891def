#pragma once
// Machinery of sluice/rate_limit.hpp: a token bucket with a FIFO of waiters and one timer.
//
// Tokens are kept as integer credit so that no rounding drifts over a long run: one token is
// `per` nanoseconds' worth of credit, and credit accrues at `n` per nanosecond, so n tokens arrive
// every `per`. The bucket holds at most `burst` tokens and starts full.
//
// Waiters queue only while there is no token (or others already wait). The bucket arms a single
// timer (a timer_node of the loop's queue, no SQE) for the moment the next token is due while
// anyone waits; when it fires it hands the tokens that have arrived to the oldest waiters and
// re-arms for the next. A waiter cancelled while queued leaves the queue and takes nothing; the
// token it would have had goes to the next one.

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "event_loop.hpp"
#include "std_chrono.hpp"
#include "timer_queue.hpp"
#include "waiter_list.hpp"

namespace sluice::detail {

class token_bucket final : public timer_node {
public:
    token_bucket(std::int64_t n, std::int64_t per_ns, std::int64_t burst) : per_ns_(per_ns), rate_(n) {
        if (n < 1) throw std::invalid_argument("sluice::rate_limit: n must be at least 1");
        if (per_ns < 1) throw std::invalid_argument("sluice::rate_limit: per must be positive");
        if (burst < 1) throw std::invalid_argument("sluice::rate_limit: burst must be at least 1");
        if (per_ns > (std::numeric_limits<std::int64_t>::max() - n) / burst) {
            throw std::invalid_argument("sluice::rate_limit: burst × per is too large");
        }
        capacity_ = credit_ = burst * per_ns;
    }
    token_bucket(const token_bucket&) = delete;
    token_bucket& operator=(const token_bucket&) = delete;
    ~token_bucket() {
        if (armed()) loop_->remove_timer(*this);
    }

    /// Tokens in the bucket now (0 while tasks wait for one).
    [[nodiscard]] std::int64_t available(clock::time_point now) noexcept {
        refill(now);
        return waiters_.empty() ? credit_ / per_ns_ : 0;
    }

    /// Takes a token if one is there and nobody waits.
    [[nodiscard]] bool try_take(clock::time_point now) noexcept {
        if (!waiters_.empty()) return false;
        refill(now);
        if (credit_ < per_ns_) return false;
        credit_ -= per_ns_;
        return true;
    }

    waiter_list<>& waiters() noexcept { return waiters_; }

    /// Makes sure the timer is set for the next token while tasks wait.
    void arm() {
        if (armed()) return;
        loop_ = &event_loop::current();
        const clock::time_point now = clock::now();
        refill(now);
        const std::int64_t missing = std::max<std::int64_t>(0, per_ns_ - credit_);
        deadline = now + std::chrono::nanoseconds((missing + rate_ - 1) / rate_);
        loop_->add_timer(*this);
    }

    /// Never called: the bucket's timer is no cancellation point (its waiters are list_waiters,
    /// each registered with its own task's context), so no cancel_context ever holds it.
    void cancel_wait() noexcept override {}

    void expired() noexcept override {
        refill(clock::now());
        while (!waiters_.empty() && credit_ >= per_ns_) {
            credit_ -= per_ns_;
            waiters_.wake_front();  // only schedules
        }
        if (!waiters_.empty()) {
            try {
                arm();
            } catch (...) {
                // The timer queue could not grow: the next acquire() arms it again; meanwhile the
                // waiters are not lost, only late.
            }
        }
    }

private:
    void refill(clock::time_point now) noexcept {
        if (credit_ >= capacity_ || now <= last_) {
            if (credit_ >= capacity_) last_ = std::max(last_, now);
            return;
        }
        const std::int64_t elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
        const std::int64_t to_full = (capacity_ - credit_ + rate_ - 1) / rate_;
        credit_ = elapsed >= to_full ? capacity_ : credit_ + elapsed * rate_;
        last_ = now;
    }

    std::int64_t per_ns_;
    std::int64_t rate_;  // credit per nanosecond (= n)
    std::int64_t capacity_ = 0;
    std::int64_t credit_ = 0;
    clock::time_point last_{};
    waiter_list<> waiters_;
    event_loop* loop_ = nullptr;
};

/// `co_await limiter.acquire()`: takes a token without suspending when one is there and nobody
/// waits (not a cancellation point), else queues until the bucket's timer hands one over.
class token_awaiter final : public list_waiter {
public:
    explicit token_awaiter(token_bucket& bucket) noexcept : bucket_(&bucket) {}
    token_awaiter(token_awaiter&& other) noexcept : list_waiter(std::move(other)), bucket_(other.bucket_) {}

    [[nodiscard]] bool await_ready() noexcept { return bucket_->try_take(clock::now()); }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        bucket_->arm();  // first: if it throws, nothing is queued
        return suspend_on(bucket_->waiters(), waiter);
    }
    void await_resume() const { throw_if_cancelled(); }

private:
    token_bucket* bucket_;
};

}  // namespace sluice::detail
