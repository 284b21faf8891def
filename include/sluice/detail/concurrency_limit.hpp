#pragma once
// Machinery of sluice/concurrency_limit.hpp: the state a concurrency_limit handle shares with the
// semaphores and engines that obey it, and the two adaptive algorithms.
//
// The state counts what is in flight and holds the current limit. Whoever starts an operation under
// the limit takes a `limit_ticket` (start time and a sequence number) and gives it back with the
// operation's outcome; the algorithm turns (latency, outcome) samples into a new limit. Consumers
// waiting for room (a semaphore's waiters, an engine with unstarted items) register a
// `limit_watcher` and are told after every change that may have made room: a finish, or a new limit.
//
// Single-threaded, like everything on a loop: no atomics. The public parameter types (outcome,
// aimd, gradient) come first, in namespace sluice: they are part of the API of
// sluice/concurrency_limit.hpp, declared here so that the algorithms reading them stand alone.

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "../cancellation.hpp"
#include "owner_ptr.hpp"
#include "std_chrono.hpp"
#include "std_function.hpp"

namespace sluice {

/// How an operation run under a concurrency_limit ended, as its limit sees it.
enum class outcome {
    success,   ///< a normal answer: a latency sample, and a step towards growing the limit
    overload,  ///< the server pushed back (503, 429, a timeout): the limit shrinks
    ignored,   ///< says nothing about capacity (cancelled, a client-side error): no sample
};

/// Classifies a failed operation: true if its error means "the server is overloaded".
using overload_predicate = std::function<bool(const std::exception_ptr&)>;

/// Parameters of an AIMD limit (additive increase, multiplicative decrease, as TCP's congestion
/// window): the limit grows by one per window of successes and is multiplied by `backoff` on an
/// overload. Like TCP, it starts in *slow start* (by default grow by one per success, so it doubles
/// every round trip) until the first overload, which undoes the last round's growth (back to the
/// last round the server handled, whatever `backoff` is); and it shrinks at most once per round:
/// an overload reported by an operation started before the last decrease is part of the same
/// congestion event and does not shrink the limit again.
struct aimd {
    std::ptrdiff_t initial = 1;  ///< the limit at the start; min <= initial <= max
    std::ptrdiff_t min = 1;      ///< never below this (>= 1)
    std::ptrdiff_t max = 1000;   ///< never above this
    double backoff = 0.9;        ///< factor applied on an overload, in (0, 1)
    /// Successes per step of +1 after slow start; 0 (default): the current limit, i.e. one step per
    /// round of operations, as TCP's congestion avoidance.
    std::ptrdiff_t window = 0;
    /// Growth factor per round until the first overload (slow start): each success adds
    /// `slow_start − 1`, so a full round multiplies the limit by it; the first overload divides by
    /// it. 2 is TCP's doubling; 1 turns slow start off (additive increase from the start); a
    /// smaller factor overshoots the server's capacity by less, at the cost of a slower ramp.
    double slow_start = 2.0;
    /// A success slower than this counts as an overload (a server that slows down instead of
    /// refusing); zero: latency is not looked at.
    std::chrono::nanoseconds timeout{0};
    /// Which errors mean overload; empty: `timeout_error` (from wait_for) does.
    overload_predicate is_overload{};
};

/// Parameters of a gradient limit: it watches latency rather than errors. It keeps a smoothed recent
/// latency and a long-run baseline (a minimum of the smoothed latency that slowly follows it upwards,
/// so a lasting change of the server's base latency is eventually adopted). While the recent latency
/// stays within `tolerance` × baseline, the limit grows by about `smoothing` × `headroom` per
/// sample; above it, the limit is pulled down in proportion (down to half per sample, smoothed).
/// An overload outcome multiplies it by `backoff`, at most once per round, as aimd does.
struct gradient {
    std::ptrdiff_t initial = 4;  ///< the limit at the start; min <= initial <= max
    std::ptrdiff_t min = 1;      ///< never below this (>= 1)
    std::ptrdiff_t max = 1000;   ///< never above this
    double tolerance = 1.5;      ///< recent/baseline latency ratio tolerated before shrinking (>= 1)
    double smoothing = 0.2;      ///< how far one sample moves the limit to its target, in (0, 1]
    double headroom = 4;         ///< growth target above the current limit while latency is fine, and the most it grows per round (> 0)
    std::ptrdiff_t short_window = 10;  ///< samples averaged into the recent latency (>= 1)
    std::ptrdiff_t long_window = 500;  ///< samples over which the baseline drifts up to the recent latency (>= 1)
    double backoff = 0.9;              ///< factor applied on an overload, in (0, 1)
    /// Which errors mean overload; empty: `timeout_error` (from wait_for) does.
    overload_predicate is_overload{};
};

}  // namespace sluice

namespace sluice::detail {

using limit_clock = std::chrono::steady_clock;

/// One operation counted in flight: when it started and in which order (for "once per round").
struct limit_ticket {
    limit_clock::time_point started{};
    std::uint64_t sequence = 0;
};

/// What an algorithm learns from one finished operation.
struct limit_sample {
    std::chrono::nanoseconds latency{0};
    sluice::outcome result = sluice::outcome::success;
    std::uint64_t sequence = 0;      // of the finished operation
    std::uint64_t next_sequence = 0;  // the next one to start: the fence after a decrease
    std::ptrdiff_t in_flight = 0;     // counting the finished operation
};

[[noreturn]] inline void invalid_limit(const char* what) {
    throw std::invalid_argument(std::string("sluice::concurrency_limit: ") + what);
}

// std::clamp, std::max and std::min without <algorithm>: since C++20 it brings the ranges algorithms
// to every includer of a limit, the combinators among them (issue #10).
template <class T>
constexpr T clamped(T value, T low, T high) noexcept {
    return value < low ? low : high < value ? high : value;
}
template <class T>
constexpr T larger(T a, T b) noexcept {
    return a < b ? b : a;
}
template <class T>
constexpr T smaller(T a, T b) noexcept {
    return b < a ? b : a;
}

inline void check_bounds(std::ptrdiff_t initial, std::ptrdiff_t min, std::ptrdiff_t max, double backoff) {
    if (min < 1) invalid_limit("min must be at least 1");
    if (max < min) invalid_limit("max must not be below min");
    if (initial < min || initial > max) invalid_limit("initial must lie within [min, max]");
    if (!(backoff > 0.0 && backoff < 1.0)) invalid_limit("backoff must lie in (0, 1)");
}

/// What aimd and gradient share: bounds, a real-valued estimate, the one-decrease-per-round fence
/// and the error classification; update() is each one's own.
class adaptive_base {
public:
    virtual ~adaptive_base() = default;

    adaptive_base(std::ptrdiff_t initial, std::ptrdiff_t min, std::ptrdiff_t max, double backoff,
                  overload_predicate is_overload)
        : estimate_(static_cast<double>(initial)), min_(min), max_(max), backoff_(backoff),
          is_overload_(std::move(is_overload)) {
        check_bounds(initial, min, max, backoff);
    }

    /// The estimate rounded down: it stays within [min_, max_] and min_ >= 1, so the conversion's
    /// truncation is the floor (no <cmath>, which would weigh on every includer of as_completed.hpp).
    [[nodiscard]] std::ptrdiff_t limit() const noexcept {
        return clamped(static_cast<std::ptrdiff_t>(estimate_), min_, max_);
    }

    void reset(std::ptrdiff_t limit) {
        if (limit < min_ || limit > max_) invalid_limit("set_limit: outside the limit's [min, max]");
        estimate_ = static_cast<double>(limit);
    }

    /// Learns from one finished operation (the limit() it gives is the new limit).
    virtual void update(const limit_sample& sample) = 0;

    [[nodiscard]] bool overload(const std::exception_ptr& error) const {
        if (is_overload_) return is_overload_(error);
        try {
            std::rethrow_exception(error);
        } catch (const timeout_error&) {
            return true;
        } catch (...) {
            return false;
        }
    }

protected:
    /// Multiplicative decrease, unless this overload belongs to a round already answered.
    void back_off(const limit_sample& sample) noexcept {
        if (sample.sequence < fence_) return;
        estimate_ = larger(static_cast<double>(min_), estimate_ * backoff_);
        fence_ = sample.next_sequence;
    }
    void grow_to(double target) noexcept {
        estimate_ = clamped(target, static_cast<double>(min_), static_cast<double>(max_));
    }
    /// Growing a limit the load does not even half use would let it run away from reality.
    [[nodiscard]] bool app_limited(const limit_sample& sample) const noexcept {
        return sample.in_flight * 2 < limit();
    }

    double estimate_;
    std::ptrdiff_t min_;
    std::ptrdiff_t max_;
    double backoff_;
    overload_predicate is_overload_;
    std::uint64_t fence_ = 0;
};

class aimd_algorithm final : public adaptive_base {
public:
    explicit aimd_algorithm(aimd p)
        : adaptive_base(p.initial, p.min, p.max, p.backoff, std::move(p.is_overload)), window_(p.window),
          slow_start_(p.slow_start), timeout_(p.timeout) {
        if (window_ < 0) invalid_limit("aimd window must not be negative");
        if (!(slow_start_ >= 1.0 && slow_start_ <= 16.0)) invalid_limit("aimd slow_start must lie in [1, 16]");
        if (timeout_ < std::chrono::nanoseconds::zero()) invalid_limit("aimd timeout must not be negative");
    }

    void update(const limit_sample& sample) override {
        sluice::outcome result = sample.result;
        if (result == sluice::outcome::success && timeout_ > timeout_.zero() && sample.latency > timeout_) {
            result = sluice::outcome::overload;
        }
        if (result == sluice::outcome::overload) {
            successes_ = 0;
            if (slow_start_ > 1.0 && sample.sequence >= fence_) {
                // Slow start multiplied the limit by slow_start every round, so the round before
                // this one was served fine: go back to it, as TCP halves when slow start ends.
                estimate_ = larger(static_cast<double>(min_), estimate_ / slow_start_);
                slow_start_ = 1.0;
                fence_ = sample.next_sequence;
                return;
            }
            back_off(sample);
            return;
        }
        if (result != sluice::outcome::success || app_limited(sample)) return;
        if (slow_start_ > 1.0) {
            grow_to(estimate_ + (slow_start_ - 1.0));
            return;
        }
        const std::ptrdiff_t needed = window_ > 0 ? window_ : limit();
        if (++successes_ < needed) return;
        successes_ = 0;
        grow_to(estimate_ + 1.0);
    }

private:
    std::ptrdiff_t window_;
    double slow_start_;  // 1 once slow start is over
    std::chrono::nanoseconds timeout_;
    std::ptrdiff_t successes_ = 0;
};

class gradient_algorithm final : public adaptive_base {
public:
    explicit gradient_algorithm(gradient p)
        : adaptive_base(p.initial, p.min, p.max, p.backoff, std::move(p.is_overload)), tolerance_(p.tolerance),
          smoothing_(p.smoothing), headroom_(p.headroom), short_window_(static_cast<double>(p.short_window)),
          long_window_(static_cast<double>(p.long_window)) {
        if (!(tolerance_ >= 1.0)) invalid_limit("gradient tolerance must be at least 1");
        if (!(smoothing_ > 0.0 && smoothing_ <= 1.0)) invalid_limit("gradient smoothing must lie in (0, 1]");
        if (!(headroom_ > 0.0)) invalid_limit("gradient headroom must be positive");
        if (p.short_window < 1 || p.long_window < 1) invalid_limit("gradient windows must be at least 1");
    }

    void update(const limit_sample& sample) override {
        if (sample.result == sluice::outcome::overload) {
            back_off(sample);
            return;
        }
        if (sample.result != sluice::outcome::success) return;
        const double latency = larger(1.0, static_cast<double>(sample.latency.count()));
        if (samples_++ == 0) {
            recent_ = baseline_ = latency;
        } else {
            recent_ += (latency - recent_) / short_window_;
            baseline_ = recent_ < baseline_ ? recent_ : baseline_ + (recent_ - baseline_) / long_window_;
        }
        const double ratio = clamped(tolerance_ * baseline_ / recent_, 0.5, 1.0);
        if (ratio >= 1.0 && app_limited(sample)) return;
        // An operation started before the last overload's decrease says nothing about the new
        // limit: growing on it would undo the decrease within the round (each slot above a
        // rejecting server's capacity churns 503s as fast as it can send).
        if (ratio >= 1.0 && sample.sequence < fence_) return;
        if (sample.sequence >= round_fence_) {
            round_start_ = estimate_;
            round_fence_ = sample.next_sequence;
        }
        const double target = estimate_ * ratio + headroom_;
        // A latency is known only a round after the limit that caused it was set, so growth is
        // capped at `headroom` per round (the operations started under one limit): per sample
        // alone, a limit of 40 would grow by 40 × smoothing × headroom before the first sample
        // taken at the new limit arrives, overshoot a thrashing server's capacity threefold and
        // then collapse (a sawtooth from 2 to 47 against a capacity of 16, seen in
        // examples/adaptive --mode slow).
        grow_to(smaller(estimate_ * (1.0 - smoothing_) + target * smoothing_, round_start_ + headroom_));
    }

private:
    double tolerance_;
    double smoothing_;
    double headroom_;
    double short_window_;
    double long_window_;
    double recent_ = 0;
    double baseline_ = 0;
    std::uint64_t samples_ = 0;
    double round_start_ = 0;         // the estimate when the current round began
    std::uint64_t round_fence_ = 0;  // the first operation started after that
};

/// Told when room may have appeared under a limit (an operation finished, or the limit changed).
class limit_watcher {
public:
    virtual void room_changed() = 0;

protected:
    ~limit_watcher() = default;
};

/// The shared state behind concurrency_limit handles.
class limit_state {
public:
    /// A fixed limit (std::invalid_argument if negative).
    limit_state(std::ptrdiff_t limit, std::monostate /*fixed*/) : limit_(limit) {
        if (limit < 0) invalid_limit("the limit must not be negative");
    }
    /// An adaptive limit, starting at the algorithm's.
    explicit limit_state(owner_ptr<adaptive_base> how) : limit_(how->limit()), algorithm_(std::move(how)) {}
    limit_state(const limit_state&) = delete;
    limit_state& operator=(const limit_state&) = delete;

    [[nodiscard]] std::ptrdiff_t limit() const noexcept { return limit_; }
    [[nodiscard]] std::ptrdiff_t in_flight() const noexcept { return in_flight_; }
    [[nodiscard]] bool has_room() const noexcept { return in_flight_ < limit_; }
    [[nodiscard]] bool adaptive() const noexcept { return algorithm_ != nullptr; }

    void set_limit(std::ptrdiff_t limit) {
        if (limit < 0) invalid_limit("set_limit: the limit must not be negative");
        if (algorithm_ != nullptr) algorithm_->reset(limit);
        change_to(limit);
    }

    void on_change(std::function<void(std::ptrdiff_t)> callback) { on_change_ = std::move(callback); }

    /// Counts one more operation in flight; never waits (the caller checked has_room or overrides it).
    [[nodiscard]] limit_ticket start(limit_clock::time_point now) noexcept {
        ++in_flight_;
        return {now, next_sequence_++};
    }
    /// Whether start() should be given the time: only adaptive limits look at latency.
    [[nodiscard]] limit_clock::time_point now_if_needed() const noexcept {
        return adaptive() ? limit_clock::now() : limit_clock::time_point{};
    }

    /// Counts an operation out, feeds its sample to the algorithm, and tells the watchers.
    void finish(const limit_ticket& ticket, sluice::outcome result, limit_clock::time_point now) {
        assert(in_flight_ > 0);
        if (!adaptive()) {  // a fixed limit (every plain semaphore): nothing to learn
            --in_flight_;
            notify();
            return;
        }
        const limit_sample sample{std::chrono::duration_cast<std::chrono::nanoseconds>(now - ticket.started), result,
                                  ticket.sequence, next_sequence_, in_flight_};
        --in_flight_;
        algorithm_->update(sample);
        change_to(algorithm_->limit());
        notify();
    }

    [[nodiscard]] sluice::outcome classify(const std::exception_ptr& error) const {
        if (!error) return sluice::outcome::success;
        try {
            std::rethrow_exception(error);
        } catch (const cancelled_error&) {
            return sluice::outcome::ignored;
        } catch (...) {
        }
        return algorithm_ != nullptr && algorithm_->overload(error) ? sluice::outcome::overload : sluice::outcome::ignored;
    }

    /// Registers a watcher (a semaphore, an engine); it must unwatch before it dies.
    void watch(limit_watcher& watcher) { watchers_.push_back(&watcher); }
    void unwatch(limit_watcher& watcher) noexcept { std::erase(watchers_, &watcher); }

    /// Adds one to a counting semaphore's limit (its `release()` by hand), telling the watchers.
    void add_one() { change_to(limit_ + 1); }

private:
    void change_to(std::ptrdiff_t limit) {
        if (limit == limit_) return;
        limit_ = limit;
        if (on_change_) on_change_(limit);
        notify();
    }

    /// TRICKY: a watcher only hands out room (a semaphore schedules its waiters, an engine starts
    /// items), so none should register or leave while being told; walking by index still never
    /// reads a dead entry if one does. A nested notify (an on_change callback that sets the limit
    /// again) tells everyone about the latest state itself.
    void notify() {
        for (std::size_t i = 0; i < watchers_.size(); ++i) watchers_[i]->room_changed();
    }

    std::ptrdiff_t limit_;
    std::ptrdiff_t in_flight_ = 0;
    std::uint64_t next_sequence_ = 0;
    owner_ptr<adaptive_base> algorithm_;  // null for a fixed limit
    std::function<void(std::ptrdiff_t)> on_change_;
    std::vector<limit_watcher*> watchers_;  // few: the semaphores and engines sharing the limit
};

}  // namespace sluice::detail
