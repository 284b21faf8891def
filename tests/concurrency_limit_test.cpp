// Tests of concurrency_limit (sluice/concurrency_limit.hpp): fixed, aimd and gradient driven by
// synthetic outcome sequences with synthetic times, so every path of the limit is deterministic.
// No loop and no clock are involved.

#include <sluice/cancellation.hpp>
#include <sluice/concurrency_limit.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <stdexcept>
#include <vector>

#include "support/catch.hpp"

using namespace std::chrono_literals;

namespace {

using clock_type = sluice::concurrency_limit::clock;

/// A steady load on a limit: keeps exactly limit() operations in flight (as a semaphore with an
/// endless queue would), and finishes the oldest with the outcome and latency it is given.
class load {
public:
    explicit load(sluice::concurrency_limit limit) : limit_(std::move(limit)) {}

    /// Tops up to the limit, finishes the oldest operation; returns the limit afterwards.
    std::ptrdiff_t step(sluice::outcome result, std::chrono::milliseconds latency = 10ms) {
        top_up();
        REQUIRE(!flight_.empty());
        const auto ticket = flight_.front();
        flight_.pop_front();
        now_ = std::max(now_, ticket.started + latency);
        limit_.finish(ticket, result, now_);
        return limit_.limit();
    }

    /// The limit after each of `count` steps with the same outcome and latency.
    std::vector<std::ptrdiff_t> steps(int count, sluice::outcome result, std::chrono::milliseconds latency = 10ms) {
        std::vector<std::ptrdiff_t> path;
        for (int i = 0; i < count; ++i) path.push_back(step(result, latency));
        return path;
    }

    /// Finishes everything in flight as `ignored` (operations the test abandons).
    void drain() {
        for (const auto& ticket : flight_) limit_.finish(ticket, sluice::outcome::ignored, now_);
        flight_.clear();
    }

    void top_up() {
        while (limit_.in_flight() < limit_.limit()) flight_.push_back(limit_.start(now_));
    }

    sluice::concurrency_limit& limit() { return limit_; }

private:
    sluice::concurrency_limit limit_;
    std::deque<sluice::concurrency_limit::ticket> flight_;
    clock_type::time_point now_{};
};

}  // namespace

// --- fixed -----------------------------------------------------------------------------------------

TEST_CASE("fixed: the limit stays put whatever the outcomes, and counts what is in flight",
          "[concurrency_limit][fixed]") {
    load run(sluice::fixed(3));
    CHECK(run.steps(5, sluice::outcome::success) == std::vector<std::ptrdiff_t>(5, 3));
    CHECK(run.steps(5, sluice::outcome::overload) == std::vector<std::ptrdiff_t>(5, 3));
    CHECK(run.limit().in_flight() == 2);  // topped up to 3, one finished
}

TEST_CASE("set_limit changes the limit, calls on_change once per change, and copies share it",
          "[concurrency_limit][fixed]") {
    sluice::concurrency_limit limit = sluice::fixed(2);
    sluice::concurrency_limit copy = limit;
    std::vector<std::ptrdiff_t> changes;
    limit.on_change([&](std::ptrdiff_t n) { changes.push_back(n); });
    copy.set_limit(5);
    copy.set_limit(5);  // no change, no call
    limit.set_limit(0);  // pauses: nothing new may start
    CHECK(limit.limit() == 0);
    CHECK(changes == std::vector<std::ptrdiff_t>{5, 0});
    const auto ticket = copy.start();
    CHECK(limit.in_flight() == 1);
    limit.finish(ticket, sluice::outcome::success);
    CHECK(copy.in_flight() == 0);
    limit.on_change({});
    limit.set_limit(1);
    CHECK(changes.size() == 2);
}

TEST_CASE("negative fixed or set limits throw invalid_argument and change nothing", "[concurrency_limit][invalid]") {
    CHECK_THROWS_AS(sluice::fixed(-1), std::invalid_argument);
    sluice::concurrency_limit limit = sluice::fixed(0);
    CHECK_THROWS_AS(limit.set_limit(-3), std::invalid_argument);
    CHECK(limit.limit() == 0);
}

TEST_CASE("invalid aimd and gradient parameters throw invalid_argument", "[concurrency_limit][invalid]") {
    using sluice::aimd;
    using sluice::gradient;
    const auto make = [](auto parameters) { return sluice::concurrency_limit(parameters); };
    CHECK_NOTHROW(make(aimd{}));
    CHECK_NOTHROW(make(gradient{}));
    CHECK_THROWS_AS(make(aimd{.initial = 1, .min = 0}), std::invalid_argument);
    CHECK_THROWS_AS(make(aimd{.initial = 5, .min = 1, .max = 4}), std::invalid_argument);
    CHECK_THROWS_AS(make(aimd{.initial = 1, .min = 2, .max = 4}), std::invalid_argument);
    CHECK_THROWS_AS(make(aimd{.initial = 3, .min = 4, .max = 2}), std::invalid_argument);
    CHECK_THROWS_AS(make(aimd{.backoff = 1.0}), std::invalid_argument);
    CHECK_THROWS_AS(make(aimd{.backoff = 0.0}), std::invalid_argument);
    CHECK_THROWS_AS(make(aimd{.window = -1}), std::invalid_argument);
    CHECK_THROWS_AS(make(aimd{.timeout = -1ms}), std::invalid_argument);
    CHECK_THROWS_AS(make(aimd{.slow_start = 0.5}), std::invalid_argument);
    CHECK_THROWS_AS(make(aimd{.slow_start = 17}), std::invalid_argument);
    CHECK_THROWS_AS(make(gradient{.initial = 0}), std::invalid_argument);
    CHECK_THROWS_AS(make(gradient{.tolerance = 0.9}), std::invalid_argument);
    CHECK_THROWS_AS(make(gradient{.smoothing = 0.0}), std::invalid_argument);
    CHECK_THROWS_AS(make(gradient{.smoothing = 1.5}), std::invalid_argument);
    CHECK_THROWS_AS(make(gradient{.headroom = 0}), std::invalid_argument);
    CHECK_THROWS_AS(make(gradient{.short_window = 0}), std::invalid_argument);
    CHECK_THROWS_AS(make(gradient{.long_window = 0}), std::invalid_argument);
    CHECK_THROWS_AS(make(gradient{.backoff = 1.2}), std::invalid_argument);

    sluice::concurrency_limit limit(aimd{.initial = 2, .min = 2, .max = 8});
    CHECK_THROWS_AS(limit.set_limit(1), std::invalid_argument);
    CHECK_THROWS_AS(limit.set_limit(9), std::invalid_argument);
    CHECK(limit.limit() == 2);
}

// --- aimd -------------------------------------------------------------------------------------------

TEST_CASE("aimd: slow start grows by one per success and ends halved by the first overload, "
          "then one per window and backoff",
          "[concurrency_limit][aimd]") {
    load run(sluice::aimd{.initial = 1, .min = 1, .max = 100, .backoff = 0.9});
    CHECK(run.steps(7, sluice::outcome::success) == std::vector<std::ptrdiff_t>{2, 3, 4, 5, 6, 7, 8});
    CHECK(run.step(sluice::outcome::overload) == 4);  // slow start ends: back to the last good round
    // Congestion avoidance: the window is the current limit, so +1 after 4 successes, then after 5.
    CHECK(run.steps(9, sluice::outcome::success) == std::vector<std::ptrdiff_t>{4, 4, 4, 5, 5, 5, 5, 5, 6});
    run.drain();
    CHECK(run.step(sluice::outcome::overload) == 5);  // 6 × 0.9 = 5.4: now backoff applies
}

TEST_CASE("aimd: overloads of operations started before the last decrease shrink the limit only once",
          "[concurrency_limit][aimd]") {
    load run(sluice::aimd{.initial = 10, .min = 1, .max = 100, .backoff = 0.9, .slow_start = 1.0});
    run.top_up();
    REQUIRE(run.limit().in_flight() == 10);
    // The whole round was already in flight when the first overload came back: one congestion event.
    CHECK(run.steps(4, sluice::outcome::overload) == std::vector<std::ptrdiff_t>{9, 9, 9, 9});
    // Drain the old round; an operation started after the decrease counts again: 9 × 0.9 = 8.1.
    CHECK(run.steps(6, sluice::outcome::ignored) == std::vector<std::ptrdiff_t>(6, 9));
    CHECK(run.step(sluice::outcome::overload) == 8);
}

TEST_CASE("aimd: a slow start factor of 1.5 grows by half a step per success and ends divided by 1.5",
          "[concurrency_limit][aimd]") {
    load run(sluice::aimd{.initial = 2, .max = 100, .slow_start = 1.5});
    CHECK(run.steps(8, sluice::outcome::success) == std::vector<std::ptrdiff_t>{2, 3, 3, 4, 4, 5, 5, 6});
    CHECK(run.step(sluice::outcome::overload) == 4);  // 6 / 1.5
}

TEST_CASE("aimd: a fixed window, min and max are respected", "[concurrency_limit][aimd]") {
    load run(sluice::aimd{.initial = 3, .min = 2, .max = 4, .backoff = 0.5, .window = 2, .slow_start = 1.0});
    CHECK(run.steps(6, sluice::outcome::success) == std::vector<std::ptrdiff_t>{3, 4, 4, 4, 4, 4});
    for (int i = 0; i < 6; ++i) {
        run.drain();  // start afresh after each decrease, so the next overload is a new round
        CHECK(run.step(sluice::outcome::overload) >= 2);
    }
    CHECK(run.limit().limit() == 2);
}

TEST_CASE("aimd: no growth while the load does not use half the limit", "[concurrency_limit][aimd]") {
    sluice::concurrency_limit limit(sluice::aimd{.initial = 10, .max = 100});
    const clock_type::time_point t0{};
    for (int i = 0; i < 20; ++i) limit.finish(limit.start(t0), sluice::outcome::success, t0 + 1ms);
    CHECK(limit.limit() == 10);
}

TEST_CASE("aimd: a success slower than the timeout counts as an overload", "[concurrency_limit][aimd]") {
    load run(sluice::aimd{.initial = 8, .backoff = 0.5, .slow_start = 1.0, .timeout = 100ms});
    CHECK(run.step(sluice::outcome::success, 50ms) == 8);
    CHECK(run.step(sluice::outcome::success, 150ms) == 4);
}

TEST_CASE("classify: timeout_error is an overload by default, a predicate replaces that, cancels are ignored",
          "[concurrency_limit][classify]") {
    struct too_busy : std::runtime_error {
        too_busy() : std::runtime_error("503") {}
    };
    const auto timeout = std::make_exception_ptr(sluice::timeout_error());
    const auto busy = std::make_exception_ptr(too_busy());
    const auto cancel = std::make_exception_ptr(sluice::cancelled_error());
    const auto other = std::make_exception_ptr(std::runtime_error("404"));

    const sluice::concurrency_limit by_default(sluice::aimd{});
    CHECK(by_default.classify(nullptr) == sluice::outcome::success);
    CHECK(by_default.classify(timeout) == sluice::outcome::overload);
    CHECK(by_default.classify(busy) == sluice::outcome::ignored);
    CHECK(by_default.classify(cancel) == sluice::outcome::ignored);
    CHECK(by_default.classify(other) == sluice::outcome::ignored);

    const sluice::concurrency_limit custom(sluice::gradient{.is_overload = [](const std::exception_ptr& error) {
        try {
            std::rethrow_exception(error);
        } catch (const too_busy&) {
            return true;
        } catch (...) {
            return false;
        }
    }});
    CHECK(custom.classify(busy) == sluice::outcome::overload);
    CHECK(custom.classify(timeout) == sluice::outcome::ignored);
    CHECK(custom.classify(cancel) == sluice::outcome::ignored);

    CHECK(sluice::fixed(1).classify(timeout) == sluice::outcome::ignored);  // nothing adapts
}

TEST_CASE("aimd: set_limit moves the estimate and the algorithm continues from there", "[concurrency_limit][aimd]") {
    load run(sluice::aimd{.initial = 1, .max = 50, .backoff = 0.5});
    std::vector<std::ptrdiff_t> changes;
    run.limit().on_change([&](std::ptrdiff_t n) { changes.push_back(n); });
    run.step(sluice::outcome::success);
    run.limit().set_limit(20);
    run.drain();
    CHECK(run.step(sluice::outcome::overload) == 10);
    CHECK(changes == std::vector<std::ptrdiff_t>{2, 20, 10});
}

// --- gradient ---------------------------------------------------------------------------------------

TEST_CASE("gradient: steady latency grows the limit by smoothing × headroom per sample up to max",
          "[concurrency_limit][gradient]") {
    load run(sluice::gradient{.initial = 4, .max = 12, .smoothing = 0.25, .headroom = 4});
    CHECK(run.steps(10, sluice::outcome::success, 10ms) ==
          std::vector<std::ptrdiff_t>{5, 6, 7, 8, 9, 10, 11, 12, 12, 12});
}

TEST_CASE("gradient: latency well above the baseline pulls the limit down, and back to normal it grows again",
          "[concurrency_limit][gradient]") {
    load run(sluice::gradient{.initial = 40, .max = 100, .tolerance = 1.5, .smoothing = 0.25, .headroom = 4,
                              .short_window = 2, .long_window = 100000});
    run.steps(5, sluice::outcome::success, 10ms);  // baseline 10 ms
    const std::ptrdiff_t before = run.limit().limit();
    CHECK(before == 44);  // +1 per sample, but at most headroom in the first round
    const auto slow = run.steps(60, sluice::outcome::success, 40ms);  // 4× the baseline
    CHECK(slow.back() < before / 2);
    CHECK(slow.back() >= 8);  // equilibrium of est = 0.75 est + 0.25 (0.5 est + 4) is 8
    for (std::size_t i = 1; i < slow.size(); ++i) CHECK(slow[i] <= slow[i - 1] + 1);
    const auto fast = run.steps(150, sluice::outcome::success, 10ms);  // +4 a round: 8, 12, 16, ...
    CHECK(fast.back() > slow.back() + 20);
}

TEST_CASE("gradient: the baseline drifts up to a lasting new latency, so the limit recovers",
          "[concurrency_limit][gradient]") {
    load run(sluice::gradient{.initial = 20, .max = 60, .smoothing = 0.25, .headroom = 4, .short_window = 2,
                              .long_window = 10});
    run.steps(3, sluice::outcome::success, 10ms);
    const auto dip = run.steps(5, sluice::outcome::success, 50ms);
    CHECK(dip.back() < 23);
    const auto later = run.steps(600, sluice::outcome::success, 50ms);
    CHECK(later.back() == 60);
}

TEST_CASE("gradient: growth is capped at headroom per round, a round being the operations started under one limit",
          "[concurrency_limit][gradient]") {
    // smoothing 1 would move the limit by the whole headroom on every sample: 24, 28, 32, ...
    load run(sluice::gradient{.initial = 20, .max = 100, .smoothing = 1, .headroom = 4});
    CHECK(run.steps(20, sluice::outcome::success) == std::vector<std::ptrdiff_t>(20, 24));
    CHECK(run.step(sluice::outcome::success) == 28);  // the first operation started at 24
}

TEST_CASE("gradient: successes of operations started before an overload's decrease do not grow the limit back",
          "[concurrency_limit][gradient]") {
    load run(sluice::gradient{.initial = 20, .max = 60, .smoothing = 1, .headroom = 4, .backoff = 0.5});
    run.top_up();
    CHECK(run.step(sluice::outcome::overload) == 10);
    // The other 19 started under the old limit of 20: they grow nothing.
    CHECK(run.steps(19, sluice::outcome::success) == std::vector<std::ptrdiff_t>(19, 10));
    CHECK(run.step(sluice::outcome::success) == 14);  // the first one started at 10
}

TEST_CASE("gradient: an overload multiplies by backoff once per round", "[concurrency_limit][gradient]") {
    load run(sluice::gradient{.initial = 20, .max = 60, .backoff = 0.5});
    run.top_up();
    CHECK(run.steps(3, sluice::outcome::overload) == std::vector<std::ptrdiff_t>{10, 10, 10});
}
