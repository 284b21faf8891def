// Tests of sleep_for, sleep_until, yield and wait_for (sluice/time.hpp).
//
// Timing assertions are lower bounds only. Anything that must be cut short (a cancel, a timeout)
// waits on a 20 s timer, so a bug shows as a CTest TIMEOUT rather than a flaky failure.
// One check reaches the internal duration clamp (the 1-tick floor; see support/internals.hpp).

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <algorithm>
#include <iterator>
#include <limits>
#include <chrono>
#include <exception>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/internals.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

sluice::task<int> value_after(std::chrono::milliseconds delay, int value) {
    co_await sluice::sleep_for(delay);
    co_return value;
}

sluice::task<void> record(std::vector<std::string>& order, std::string what) {
    order.push_back(std::move(what));
    co_return;
}

}  // namespace

// --- sleeping -----------------------------------------------------------------------------------------

SLUICE_TEST_CASE("sleep_for sleeps at least the requested duration", "[sleep]") {
    const auto start = steady::now();
    co_await sluice::sleep_for(20ms);
    CHECK(steady::now() - start >= 20ms);
}

SLUICE_TEST_CASE("sleep_until wakes no earlier than the deadline", "[sleep]") {
    const auto deadline = steady::now() + 15ms;
    co_await sluice::sleep_until(deadline);
    CHECK(steady::now() >= deadline);
}

SLUICE_TEST_CASE("sleep_for accepts any duration type and rounds up", "[sleep]") {
    const auto start = steady::now();
    co_await sluice::sleep_for(std::chrono::duration<double, std::milli>(2.5));
    CHECK(steady::now() - start >= std::chrono::microseconds(2500));
}

namespace {
struct wake_log {
    steady::time_point base;  // of the attempt that counted
    std::vector<int> woken;
    std::size_t armed = 0;
};

sluice::task<void> wake_at(steady::time_point deadline, int id, wake_log& log) {
    ++log.armed;
    co_await sluice::sleep_until(deadline);
    log.woken.push_back(id);
}

// TRICKY: the order tests need every timer armed before the earliest deadline passes: a deadline
// already past when it is armed is a plain loop turn (tested below) and rightly overtakes timers
// still waiting. How long arming takes is up to the machine (10,000 tasks under ASan on a loaded CI
// runner took longer than 50 ms), so no margin is safe by itself. wake_at counts itself armed in
// the same loop turn as it arms its timer, so if all have counted while the clock still reads
// before the earliest deadline, every one was armed in time. Otherwise the attempt proves nothing:
// it is waited out and made again with twice the margin, up to 10 s.
/// Spawns a wake_at for every id, due at `base + offset(id)` with `base` `margin` from now, and
/// waits for all of them; the log of the first attempt whose timers were all armed in time.
template <class Offset>
sluice::task<wake_log> wake_all(const std::vector<int>& ids, std::chrono::milliseconds margin, Offset offset) {
    steady::duration earliest = steady::duration::max();
    for (int id : ids) earliest = std::min<steady::duration>(earliest, offset(id));
    for (;; margin *= 2) {
        wake_log log;
        log.base = steady::now() + margin;
        std::vector<sluice::join_handle<void>> sleepers;
        for (int id : ids) sleepers.push_back(sluice::spawn(wake_at(log.base + offset(id), id, log)));
        while (log.armed < ids.size()) co_await sluice::yield();
        const bool in_time = steady::now() < log.base + earliest;
        for (auto& sleeper : sleepers) co_await sleeper;
        if (in_time) co_return log;
        if (margin >= 10s) throw std::runtime_error("the sleepers could not be armed within 10 s");
    }
}

std::vector<int> numbers(int first, int count) {
    std::vector<int> all(static_cast<std::size_t>(count));
    std::iota(all.begin(), all.end(), first);
    return all;
}

constexpr auto at_base = [](int) { return steady::duration::zero(); };
}  // namespace

SLUICE_TEST_CASE("200 sleepers armed in shuffled order wake in deadline order", "[sleep][order]") {
    // Deadlines are base + i ms from one common base, so the order does not depend on how long
    // arming 200 timers takes.
    std::vector<int> ids = numbers(1, 200);
    std::mt19937 random(20240611);
    std::shuffle(ids.begin(), ids.end(), random);
    const wake_log log = co_await wake_all(ids, 100ms, [](int id) { return steady::duration(id * 1ms); });
    CHECK(log.woken == numbers(1, 200));
    CHECK(steady::now() - log.base >= 200ms);
}

SLUICE_TEST_CASE("sleepers with equal deadlines wake in the order they were armed", "[sleep][order]") {
    const wake_log log = co_await wake_all(numbers(0, 50), 5ms, at_base);
    CHECK(log.woken == numbers(0, 50));
}

namespace {
sluice::task<void> spin_until(const bool& stop) {
    while (!stop) co_await sluice::yield();
}
}  // namespace

SLUICE_TEST_CASE("10,000 sleepers due at once all wake in arming order while 5,000 tasks keep yielding",
                 "[sleep][order]") {
    // The loop makes at most a few thousand due timers ready per turn (the ready queue stays small
    // when a million sleeps end together); the rest must still fire, in order, on the next turns,
    // even though the ready queue is never empty meanwhile.
    bool all_woke = false;
    std::vector<sluice::join_handle<void>> spinners;
    for (int i = 0; i < 5000; ++i) spinners.push_back(sluice::spawn(spin_until(all_woke)));
    const wake_log log = co_await wake_all(numbers(0, 10000), 50ms, at_base);
    all_woke = true;
    for (auto& spinner : spinners) co_await spinner;
    CHECK(log.woken == numbers(0, 10000));
}

SLUICE_TEST_CASE("sleep_for(0) is one loop turn: a task that is ready runs first", "[sleep][yield]") {
    std::vector<std::string> order;
    auto other = sluice::spawn(record(order, "other"));
    co_await sluice::sleep_for(0ms);
    order.push_back("sleeper");
    co_await other;
    CHECK(order == std::vector<std::string>{"other", "sleeper"});
}

SLUICE_TEST_CASE("a negative sleep_for is one loop turn: a task that is ready runs first", "[sleep][yield]") {
    std::vector<std::string> order;
    auto other = sluice::spawn(record(order, "other"));
    co_await sluice::sleep_for(-5s);
    order.push_back("sleeper");
    co_await other;
    CHECK(order == std::vector<std::string>{"other", "sleeper"});
}

SLUICE_TEST_CASE("sleep_until a past deadline is one loop turn: a task that is ready runs first", "[sleep][yield]") {
    std::vector<std::string> order;
    auto other = sluice::spawn(record(order, "other"));
    co_await sluice::sleep_until(steady::now() - 1s);
    order.push_back("sleeper");
    co_await other;
    CHECK(order == std::vector<std::string>{"other", "sleeper"});
}

SLUICE_TEST_CASE("yield() lets a task that is ready run first", "[yield]") {
    std::vector<std::string> order;
    auto other = sluice::spawn(record(order, "other"));
    co_await sluice::yield();
    order.push_back("yielder");
    co_await other;
    CHECK(order == std::vector<std::string>{"other", "yielder"});
}

namespace {
struct sleeper_flags {
    bool started = false;
    bool cancelled = false;
    bool woke = false;
};
sluice::task<void> sleep_20s(sleeper_flags& flags) {
    flags.started = true;
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        flags.cancelled = true;
        throw;
    }
    flags.woke = true;
}
}  // namespace

SLUICE_TEST_CASE("cancelling a task sleeping 20 s wakes it at once with cancelled_error", "[sleep][cancel]") {
    sleeper_flags flags;
    auto sleeper = sluice::spawn(sleep_20s(flags));
    co_await sluice::yield();  // it starts and arms its timer
    REQUIRE(flags.started);
    sleeper.cancel();
    sluice::result<void> outcome = co_await sleeper.as_result();
    CHECK(flags.cancelled);
    CHECK_FALSE(flags.woke);
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
}

// --- wait_for -----------------------------------------------------------------------------------------

SLUICE_TEST_CASE("wait_for returns the value of an awaitable that finishes in time", "[wait_for]") {
    const int value = co_await sluice::wait_for(value_after(1ms, 5), 20s);
    CHECK(value == 5);
}

SLUICE_TEST_CASE("wait_for returns the value of a task that completes without suspending", "[wait_for]") {
    const int value = co_await sluice::wait_for(value_after(0ms, 6), 20s);
    CHECK(value == 6);
}

namespace {
/// Sleeps 20 s; when cancelled, cleans up asynchronously (5 ms) and only then rethrows.
/// (co_await is not allowed inside a handler, so the cleanup runs after the catch block.)
sluice::task<int> sleep_then_clean_up(bool& cleaned_up) {
    std::exception_ptr cancelled;
    try {
        co_await sluice::sleep_for(20s);
        co_return 1;
    } catch (const sluice::cancelled_error&) {
        cancelled = std::current_exception();
    }
    co_await sluice::sleep_for(5ms);
    cleaned_up = true;
    std::rethrow_exception(cancelled);
}
}  // namespace

SLUICE_TEST_CASE("wait_for raises timeout_error only after the cancelled inner finished its async cleanup",
                 "[wait_for]") {
    bool cleaned_up = false;
    const auto start = steady::now();
    std::string caught;
    try {
        (void)co_await sluice::wait_for(sleep_then_clean_up(cleaned_up), 10ms);
    } catch (const sluice::timeout_error&) {
        caught = "timeout_error";
        CHECK(cleaned_up);
    } catch (const std::exception& error) {
        caught = error.what();
    }
    CHECK(caught == "timeout_error");
    CHECK(steady::now() - start >= 15ms);
}

namespace {
sluice::task<int> swallow_cancel(int value) {
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
    }
    co_return value;
}
}  // namespace

SLUICE_TEST_CASE("wait_for returns the value of an inner that swallows the cancel", "[wait_for]") {
    const int value = co_await sluice::wait_for(swallow_cancel(9), 10ms);
    CHECK(value == 9);
}

namespace {
sluice::task<int> fail_when_cancelled() {
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        throw std::runtime_error("cleanup failed");
    }
    co_return 0;
}
}  // namespace

SLUICE_TEST_CASE("wait_for propagates an error the inner raises while cancelling, not timeout_error",
                 "[wait_for]") {
    auto outcome = co_await sluice::wait_for(fail_when_cancelled(), 10ms).as_result();
    REQUIRE_FALSE(outcome.has_value());
    CHECK_THROWS_AS(outcome.value(), std::runtime_error);
    CHECK_THROWS_WITH(outcome.value(), "cleanup failed");
}

namespace {
sluice::task<int> set_flag_and_return(bool& ran, int value) {
    ran = true;
    co_return value;
}
}  // namespace

SLUICE_TEST_CASE("wait_for with 0 s on a lazy task raises timeout_error and never starts the task",
                 "[wait_for]") {
    bool ran = false;
    auto outcome = co_await sluice::wait_for(set_flag_and_return(ran, 1), 0s).as_result();
    CHECK_FALSE(ran);
    CHECK_THROWS_AS(outcome.value(), sluice::timeout_error);
}

SLUICE_TEST_CASE("wait_for with a negative timeout on a lazy task raises timeout_error and never starts it",
                 "[wait_for]") {
    bool ran = false;
    auto outcome = co_await sluice::wait_for(set_flag_and_return(ran, 1), -1s).as_result();
    CHECK_FALSE(ran);
    CHECK_THROWS_AS(outcome.value(), sluice::timeout_error);
}

SLUICE_TEST_CASE("wait_for(handle, 0 s) on a finished join_handle returns its value", "[wait_for]") {
    auto handle = sluice::spawn(value_after(0ms, 11));
    while (!handle.done()) co_await sluice::yield();
    const int by_reference = co_await sluice::wait_for(handle, 0s);
    CHECK(by_reference == 11);
    const int moved = co_await sluice::wait_for(std::move(handle), 0s);
    CHECK(moved == 11);
}

namespace {
using join_flags = sleeper_flags;
sluice::task<int> sleep_20s_noting(join_flags& flags, int value) {
    co_await sleep_20s(flags);
    co_return value;
}
sluice::task<int> swallow_cancel_then_return(join_flags& flags, int value) {
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        flags.cancelled = true;
    }
    co_await sluice::sleep_for(2ms);  // cleanup after the cancel, still awaited by wait_for
    flags.woke = true;
    co_return value;
}
}  // namespace

SLUICE_TEST_CASE("wait_for(handle, 0 s) on an unfinished join_handle cancels the task, waits for it, then times out",
                 "[wait_for][join]") {
    join_flags flags;
    auto handle = sluice::spawn(sleep_20s_noting(flags, 12));
    co_await sluice::yield();  // it starts and sleeps
    auto outcome = co_await sluice::wait_for(handle, 0s).as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::timeout_error);
    CHECK(flags.cancelled);
    CHECK(handle.done());  // awaited, not orphaned
}

SLUICE_TEST_CASE("wait_for(handle, d) timing out cancels the spawned task and waits for it (asyncio.wait_for(task))",
                 "[wait_for][join]") {
    // Before: timeout_error at once and the spawned task kept running, orphaned, for any d.
    join_flags flags;
    auto handle = sluice::spawn(sleep_20s_noting(flags, 13));
    auto outcome = co_await sluice::wait_for(handle, 5ms).as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::timeout_error);
    CHECK(flags.started);
    CHECK(flags.cancelled);
    CHECK_FALSE(flags.woke);
    CHECK(handle.done());
    CHECK_FALSE(handle.cancel());  // finished: no request made
    // The same through an rvalue handle (the wait_for task owns it).
    join_flags moved_flags;
    auto moved = co_await sluice::wait_for(sluice::spawn(sleep_20s_noting(moved_flags, 14)), 5ms).as_result();
    CHECK_THROWS_AS(moved.value(), sluice::timeout_error);
    CHECK(moved_flags.cancelled);
}

SLUICE_TEST_CASE("wait_for(handle, d): a spawned task that swallows the cancel and returns a value gives that value",
                 "[wait_for][join]") {
    join_flags flags;
    auto handle = sluice::spawn(swallow_cancel_then_return(flags, 15));
    const int value = co_await sluice::wait_for(std::move(handle), 5ms);
    CHECK(value == 15);
    CHECK(flags.cancelled);
    CHECK(flags.woke);
}

SLUICE_TEST_CASE("wait_for(handle, d) returns the spawned task's value when it finishes in time", "[wait_for][join]") {
    auto handle = sluice::spawn(value_after(1ms, 16));
    const int& by_reference = co_await sluice::wait_for(handle, 20s);
    CHECK(by_reference == 16);
    CHECK(co_await handle == 16);  // the lvalue wait took nothing out of the handle
}

SLUICE_TEST_CASE("join_handle::cancel returns whether a request was made", "[join][cancel]") {
    sluice::join_handle<int> empty;
    CHECK_FALSE(empty.cancel());
    join_flags flags;
    auto handle = sluice::spawn(sleep_20s_noting(flags, 17));
    CHECK(handle.cancel());
    CHECK(handle.cancel());  // coalesces with the first, but the task is still running: a request
    (void)co_await handle.as_result();
    CHECK_FALSE(handle.cancel());
    CHECK_FALSE(flags.started);
}

namespace {
sluice::task<int> wait_with_long_timeout(bool& cleaned_up) {
    co_return co_await sluice::wait_for(sleep_then_clean_up(cleaned_up), 20s);
}
}  // namespace

SLUICE_TEST_CASE("cancelling a task inside wait_for gives cancelled_error, after the inner finished", "[wait_for]") {
    bool cleaned_up = false;
    auto handle = sluice::spawn(wait_with_long_timeout(cleaned_up));
    co_await sluice::yield();  // it is now inside wait_for, the inner sleeping 20 s
    handle.cancel();
    sluice::result<int> outcome = co_await handle.as_result();
    CHECK(cleaned_up);
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
}

namespace {
sluice::task<void> sleep_20s_plain() { co_await sluice::sleep_for(20s); }
sluice::task<void> inner_wait_for_20s() { co_await sluice::wait_for(sleep_20s_plain(), 20s); }
}  // namespace

SLUICE_TEST_CASE("nested wait_for: the outer 10 ms deadline wins over the inner 20 s one", "[wait_for]") {
    const auto start = steady::now();
    auto outcome = co_await sluice::wait_for(inner_wait_for_20s(), 10ms).as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::timeout_error);
    CHECK(steady::now() - start >= 10ms);
}

SLUICE_TEST_CASE("wait_for's internal cancel does not leak: the caller can sleep afterwards", "[wait_for]") {
    auto outcome = co_await sluice::wait_for(sleep_20s_plain(), 1ms).as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::timeout_error);
    bool threw = false;
    try {
        co_await sluice::sleep_for(1ms);
        co_await sluice::yield();
    } catch (const sluice::cancelled_error&) {
        threw = true;
    }
    CHECK_FALSE(threw);
}

namespace {
sluice::task<int> hold_counted_then_return(sluice_test::counted guard, bool& ran, int value) {
    (void)guard;
    ran = true;
    co_await sluice::sleep_for(1ms);
    co_return value;
}
}  // namespace

SLUICE_TEST_CASE("a wait_for task stored and awaited later owns the rvalue task it was given", "[wait_for]") {
    // `wait_for` returns a lazy task; stored (in a variable, a vector for gather, ...) it is awaited
    // after the full-expression that created its argument. The argument's frame (which holds one
    // `counted`) must then live on inside the wait_for task, not die with the temporary.
    sluice_test::counted::reset();
    bool ran = false;
    auto waiting = sluice::wait_for(hold_counted_then_return(sluice_test::counted(1), ran, 14), 20s);
    REQUIRE(sluice_test::counted::alive() == 1);  // stop here rather than await a dangling task
    co_await sluice::yield();
    const int value = co_await std::move(waiting);
    CHECK(ran);
    CHECK(value == 14);
}

// --- cancelled_error is not a std::exception (issue 9, defect 4) -------------------------------------

// A catch (const std::exception&) must not swallow a cancellation.
static_assert(!std::is_base_of_v<std::exception, sluice::cancelled_error>);
static_assert(std::is_base_of_v<std::exception, sluice::timeout_error>);

namespace {
// The most common retry loop: any std::exception means "try again". The operation fails quickly
// (1 ms) so that, without a deadline, the loop would run `limit` times and then give up with -1.
sluice::task<int> retry_on_any_std_exception(int& attempts, int limit) {
    while (attempts < limit) {
        try {
            co_await sluice::sleep_for(1ms);
            throw std::runtime_error("flaky");
        } catch (const std::exception&) {
            ++attempts;
        }
    }
    co_return -1;
}
}  // namespace

SLUICE_TEST_CASE("a catch (const std::exception&) retry loop inside wait_for still times out", "[wait_for][cancel]") {
    // Before cancelled_error left std::exception, the deadline's cancel was caught as one more
    // failure and retried: wait_for returned the loop's -1 after `limit` attempts, never timing out.
    int attempts = 0;
    const int limit = 5'000;
    auto outcome = co_await sluice::wait_for(retry_on_any_std_exception(attempts, limit), 20ms).as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::timeout_error);
    CHECK(attempts < limit);
    CHECK(std::string(sluice::cancelled_error().what()) == "sluice: task cancelled");
}

// --- saturating durations and deadlines (issue 9, defect 1) -------------------------------------------

namespace {
template <class Sleep>
sluice::task<void> sleep_for_ever_with(Sleep sleep, bool& woke) {
    co_await std::move(sleep);
    woke = true;
}
template <class Duration>
sluice::task<void> wait_with(Duration timeout, bool& timed_out) {
    try {
        (void)co_await sluice::wait_for(sluice::sleep_for(20s), timeout);
    } catch (const sluice::timeout_error&) {
        timed_out = true;
    }
}
}  // namespace

SLUICE_TEST_CASE("huge durations and max() deadlines mean never, overflow nothing, and other timers keep firing",
                 "[sleep][wait_for][saturate]") {
    // Before: sleep_for(hours::max()) returned after one turn, wait_for(x, hours::max()) timed out at
    // once, wait_for(x, nanoseconds::max()) overflowed (UBSan) and froze every other timer.
    constexpr double infinity = std::numeric_limits<double>::infinity();
    bool woke[5] = {false, false, false, false, false};
    std::vector<sluice::join_handle<void>> sleepers;
    sleepers.push_back(sluice::spawn(sleep_for_ever_with(sluice::sleep_for(std::chrono::hours::max()), woke[0])));
    sleepers.push_back(sluice::spawn(sleep_for_ever_with(sluice::sleep_for(std::chrono::nanoseconds::max()), woke[1])));
    sleepers.push_back(sluice::spawn(sleep_for_ever_with(sluice::sleep_until(steady::time_point::max()), woke[2])));
    sleepers.push_back(sluice::spawn(sleep_for_ever_with(sluice::sleep_for(std::chrono::duration<double>(infinity)), woke[3])));
    sleepers.push_back(sluice::spawn(sleep_for_ever_with(sluice::sleep_for(std::chrono::seconds::max()), woke[4])));
    std::vector<sluice::join_handle<void>> waiters;
    bool t0 = false, t1 = false, t2 = false;
    waiters.push_back(sluice::spawn(wait_with(std::chrono::nanoseconds::max(), t0)));
    waiters.push_back(sluice::spawn(wait_with(std::chrono::hours::max(), t1)));
    waiters.push_back(sluice::spawn(wait_with(std::chrono::duration<double>(infinity), t2)));
    // A heartbeat: ten 1 ms ticks must all happen while those wait.
    int ticks = 0;
    for (int i = 0; i < 10; ++i) {
        co_await sluice::sleep_for(1ms);
        ++ticks;
    }
    CHECK(ticks == 10);
    for (auto& sleeper : sleepers) CHECK_FALSE(sleeper.done());
    for (auto& waiter : waiters) CHECK_FALSE(waiter.done());
    for (auto& sleeper : sleepers) CHECK(sleeper.cancel());
    for (auto& waiter : waiters) CHECK(waiter.cancel());
    for (auto& sleeper : sleepers) CHECK_THROWS_AS((co_await sleeper.as_result()).value(), sluice::cancelled_error);
    for (auto& waiter : waiters) CHECK_THROWS_AS((co_await waiter.as_result()).value(), sluice::cancelled_error);
    CHECK(std::none_of(std::begin(woke), std::end(woke), [](bool w) { return w; }));
    CHECK_FALSE(t0);
    CHECK_FALSE(t1);
    CHECK_FALSE(t2);
}

SLUICE_TEST_CASE("duration<double>: -infinity is a yield / an immediate timeout, NaN is std::invalid_argument",
                 "[sleep][wait_for][saturate]") {
    constexpr double infinity = std::numeric_limits<double>::infinity();
    const std::chrono::duration<double> minus_infinity(-infinity);
    const std::chrono::duration<double> nan(std::numeric_limits<double>::quiet_NaN());
    co_await sluice::sleep_for(minus_infinity);  // one loop turn
    bool timed_out = false;
    co_await wait_with(minus_infinity, timed_out);
    CHECK(timed_out);
    CHECK_THROWS_AS(sluice::sleep_for(nan), std::invalid_argument);
    CHECK_THROWS_AS(sluice::wait_for(sluice::sleep_for(1ms), nan), std::invalid_argument);
    // The smallest positive double is one clock tick, not zero.
    CHECK(sluice_test::saturating_duration(std::chrono::duration<double>(4.9e-324)) == steady::duration(1));
}
