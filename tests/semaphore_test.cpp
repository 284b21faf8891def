// Tests of semaphore and bounded_semaphore (sluice/semaphore.hpp): FIFO hand-off, no barging, RAII
// permits, and that no permit is lost or duplicated whatever the interleaving of cancels and
// releases.
//
// "Blocks forever" is a 20 s sleep, so a bug shows as a CTest TIMEOUT; no upper bound on time is
// asserted anywhere.

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/semaphore.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/co_test.hpp"

using namespace std::chrono_literals;

namespace {

/// Lets every spawned task run until it blocks (a few loop turns).
sluice::task<void> settle(int turns = 3) {
    for (int i = 0; i < turns; ++i) co_await sluice::yield();
}

/// How many permits each task was granted, and how its wait ended.
struct tally {
    int granted = 0;
    int cancelled = 0;
    int finished = 0;
};

/// Acquires, counts the grant, then blocks holding the permit until cancelled.
sluice::task<void> acquire_and_block(sluice::semaphore& sem, tally& counts) {
    auto permit = co_await sem.acquire();
    ++counts.granted;
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        ++counts.cancelled;
        throw;  // the permit is released while unwinding
    }
}

/// Acquires, counts the grant, holds the permit for one turn.
sluice::task<void> acquire_once(sluice::semaphore& sem, tally& counts) {
    auto permit = co_await sem.acquire();
    ++counts.granted;
    co_await sluice::yield();
    ++counts.finished;
}

}  // namespace

// --- FIFO hand-off --------------------------------------------------------------------------------

namespace {
sluice::task<void> take_turns(sluice::semaphore& sem, int id, std::vector<int>& order) {
    for (int round = 0; round < 3; ++round) {
        auto permit = co_await sem.acquire();
        order.push_back(id);
        co_await sluice::yield();
    }  // release at the end of each round, then acquire again: back of the queue
}
}  // namespace

SLUICE_TEST_CASE("three tasks taking turns on semaphore(1) run in the repeating order 1 2 3",
                 "[semaphore][fifo]") {
    sluice::semaphore sem(1);
    std::vector<int> order;
    auto one = sluice::spawn(take_turns(sem, 1, order));
    auto two = sluice::spawn(take_turns(sem, 2, order));
    auto three = sluice::spawn(take_turns(sem, 3, order));
    co_await one;
    co_await two;
    co_await three;
    CHECK(order == std::vector<int>{1, 2, 3, 1, 2, 3, 1, 2, 3});
    CHECK(sem.value() == 1);
}

SLUICE_TEST_CASE("try_acquire fails right after a release() that handed the permit to a waiter",
                 "[semaphore][fifo]") {
    sluice::semaphore sem(0);
    tally counts;
    auto waiter = sluice::spawn(acquire_once(sem, counts));
    co_await settle();
    REQUIRE(counts.granted == 0);

    sem.release();
    CHECK(sem.value() == 0);                 // handed over, not counted
    CHECK_FALSE(sem.try_acquire().has_value());  // no barging past the scheduled waiter
    CHECK(counts.granted == 0);              // scheduled, not resumed inside release()

    co_await waiter;
    CHECK(counts.granted == 1);
    CHECK(sem.value() == 1);
}

SLUICE_TEST_CASE("a cancelled waiter leaves the queue and the others keep their order", "[semaphore][fifo]") {
    sluice::semaphore sem(0);
    std::vector<int> order;
    auto one = sluice::spawn(take_turns(sem, 1, order));
    auto two = sluice::spawn(take_turns(sem, 2, order));
    auto three = sluice::spawn(take_turns(sem, 3, order));
    co_await settle();
    two.cancel();  // leaves the queue; 1 and 3 keep their places
    sem.release();
    co_await one;
    co_await three;
    const sluice::result<void> outcome = co_await two.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    CHECK(order == std::vector<int>{1, 3, 1, 3, 1, 3});
    CHECK(sem.value() == 1);
}

// --- cancellation ---------------------------------------------------------------------------------

SLUICE_TEST_CASE("a waiter cancelled while queued gets cancelled_error and the value is unchanged",
                 "[semaphore][cancel]") {
    sluice::semaphore sem(0);
    tally counts;
    auto waiter = sluice::spawn(acquire_once(sem, counts));
    co_await settle();
    waiter.cancel();
    const sluice::result<void> outcome = co_await waiter.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    CHECK(counts.granted == 0);
    CHECK(sem.value() == 0);
    sem.release();  // nobody is queued any more: the permit is counted, not handed to a ghost
    CHECK(sem.value() == 1);
}

SLUICE_TEST_CASE("a waiter cancelled after being granted keeps the permit and passes it on when unwinding",
                 "[semaphore][cancel]") {
    sluice::semaphore sem(1);
    auto held = co_await sem.acquire();
    tally first;
    tally second;
    auto cancelled = sluice::spawn(acquire_and_block(sem, first));
    auto next = sluice::spawn(acquire_once(sem, second));
    co_await settle();
    REQUIRE(first.granted == 0);

    // Same tick: the release hands the permit to `cancelled`, then the cancel arrives before it runs.
    held.release();
    cancelled.cancel();
    CHECK(sem.value() == 0);

    const sluice::result<void> outcome = co_await cancelled.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    co_await next;
    CHECK(first.granted == 1);  // it received the permit...
    CHECK(first.cancelled == 1);  // ...and the cancel at its next real suspension
    CHECK(second.granted == 1);  // the permit went on when unwinding released it
    CHECK(second.finished == 1);
    CHECK(sem.value() == 1);  // nothing lost, nothing duplicated
}

SLUICE_TEST_CASE("a cancel then a release in the same tick: the permit goes to the next waiter",
                 "[semaphore][cancel]") {
    sluice::semaphore sem(1);
    auto held = co_await sem.acquire();
    tally first;
    tally second;
    auto cancelled = sluice::spawn(acquire_and_block(sem, first));
    auto next = sluice::spawn(acquire_once(sem, second));
    co_await settle();

    cancelled.cancel();
    held.release();

    const sluice::result<void> outcome = co_await cancelled.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    co_await next;
    CHECK(first.granted == 0);
    CHECK(second.granted == 1);
    CHECK(sem.value() == 1);
}

namespace {
sluice::task<void> acquire_hold_count(sluice::semaphore& sem, int& granted, int& holders, int& peak,
                                      std::mt19937& random) {
    auto permit = co_await sem.acquire();
    ++granted;
    struct holding {
        int& holders;
        explicit holding(int& count) : holders(++count) {}
        ~holding() { --holders; }  // also when a cancel unwinds, just before the permit goes back
    } hold(holders);
    peak = std::max(peak, holders);
    for (int i = static_cast<int>(random() % 3); i > 0; --i) co_await sluice::yield();
}
}  // namespace

SLUICE_TEST_CASE("random interleavings of cancels and releases never lose or duplicate a permit",
                 "[semaphore][cancel]") {
    std::mt19937 random(20240611);
    for (int round = 0; round < 30; ++round) {
        constexpr int permits = 2;
        constexpr int tasks = 12;
        sluice::semaphore sem(permits);
        int granted = 0;
        int holders = 0;
        int peak = 0;
        std::vector<sluice::join_handle<void>> handles;
        for (int i = 0; i < tasks; ++i) {
            handles.push_back(sluice::spawn(acquire_hold_count(sem, granted, holders, peak, random)));
        }
        // Cancel a random subset at random moments: while queued, just after a grant, or while holding.
        for (int step = 0; step < tasks; ++step) {
            if (random() % 2 == 0) handles[random() % tasks].cancel();
            co_await sluice::yield();
        }
        int finished = 0;
        for (auto& handle : handles) {
            const sluice::result<void> outcome = co_await handle.as_result();
            if (outcome.has_value()) ++finished;
        }
        CHECK(peak <= permits);
        CHECK(holders == 0);
        CHECK(granted >= finished);  // a task cancelled after its grant was counted and released
        CHECK(sem.value() == permits);
    }
}

namespace {
struct cancelled_acquirer {
    sluice::join_handle<void> self;
    sluice::semaphore sem{0};
};

sluice::task<void> cancel_self_then_wait_to_acquire(cancelled_acquirer& state) {
    state.self.cancel();
    auto permit = co_await state.sem.acquire();  // must suspend: a cancellation point
    co_await sluice::sleep_for(20s);
}
}  // namespace

SLUICE_TEST_CASE("an acquire that must wait delivers a pending cancel without queueing",
                 "[semaphore][cancel]") {
    cancelled_acquirer state;
    state.self = sluice::spawn(cancel_self_then_wait_to_acquire(state));
    const sluice::result<void> outcome = co_await state.self.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    state.sem.release();
    CHECK(state.sem.value() == 1);  // no ghost waiter took it
}

namespace {
struct self_cancel {
    sluice::join_handle<void> self;
    std::vector<std::string> log;
};

sluice::task<void> cancel_self_then_acquire(self_cancel& state, sluice::semaphore& sem) {
    state.self.cancel();  // requested while running: delivered at the next real suspension
    auto permit = co_await sem.acquire();
    state.log.push_back("acquired");
    try {
        co_await sluice::yield();
    } catch (const sluice::cancelled_error&) {
        state.log.push_back("yield threw cancelled_error");
        throw;
    }
    state.log.push_back("after the yield");
}
}  // namespace

SLUICE_TEST_CASE("acquire's fast path is not a cancellation point, the next yield is",
                 "[semaphore][cancel]") {
    sluice::semaphore sem(1);
    self_cancel state;
    state.self = sluice::spawn(cancel_self_then_acquire(state, sem));
    const sluice::result<void> outcome = co_await state.self.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    CHECK(state.log == std::vector<std::string>{"acquired", "yield threw cancelled_error"});
    CHECK(sem.value() == 1);
}

SLUICE_TEST_CASE("wait_for around an acquire that times out leaves no waiter behind", "[semaphore][cancel]") {
    sluice::semaphore sem(0);
    const sluice::result<sluice::semaphore::permit> outcome =
        co_await sluice::wait_for(sem.acquire(), 10ms).as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::timeout_error);
    sem.release();
    CHECK(sem.value() == 1);
    auto permit = co_await sluice::wait_for(sem.acquire(), 20s);
    CHECK(static_cast<bool>(permit));
    CHECK(sem.value() == 0);
}

// --- permits --------------------------------------------------------------------------------------

SLUICE_TEST_CASE("a permit releases at scope exit", "[semaphore][permit]") {
    sluice::semaphore sem(2);
    {
        auto permit = co_await sem.acquire();
        CHECK(static_cast<bool>(permit));
        CHECK(sem.value() == 1);
    }
    CHECK(sem.value() == 2);
}

SLUICE_TEST_CASE("a moved-from permit releases nothing, the permit moved into releases once",
                 "[semaphore][permit]") {
    sluice::semaphore sem(2);
    auto first = co_await sem.acquire();
    auto second = std::move(first);
    CHECK_FALSE(static_cast<bool>(first));
    CHECK(static_cast<bool>(second));
    first.release();  // holds nothing: no effect
    CHECK(sem.value() == 1);
    {
        auto moved_from = std::move(second);
    }
    CHECK(sem.value() == 2);
    second.release();
    CHECK(sem.value() == 2);
}

SLUICE_TEST_CASE("move-assigning a permit releases the one it held", "[semaphore][permit]") {
    sluice::semaphore sem(2);
    auto first = co_await sem.acquire();
    auto second = co_await sem.acquire();
    CHECK(sem.value() == 0);
    first = std::move(second);
    CHECK(sem.value() == 1);
    first.release();
    CHECK_FALSE(static_cast<bool>(first));
    CHECK(sem.value() == 2);
}

SLUICE_TEST_CASE("try_acquire takes a free permit without waiting, and nullopt when none is free",
                 "[semaphore][permit]") {
    sluice::semaphore sem(1);
    std::optional<sluice::semaphore::permit> permit = sem.try_acquire();
    REQUIRE(permit.has_value());
    CHECK(sem.locked());
    CHECK_FALSE(sem.try_acquire().has_value());
    permit.reset();
    CHECK_FALSE(sem.locked());
    CHECK(sem.value() == 1);
    co_return;
}

SLUICE_TEST_CASE("a manual release() adds a permit", "[semaphore]") {
    sluice::semaphore sem(0);
    CHECK(sem.locked());
    sem.release();
    sem.release();
    CHECK(sem.value() == 2);
    auto permit = co_await sem.acquire();
    CHECK(sem.value() == 1);
}

// --- construction and bounds ----------------------------------------------------------------------

TEST_CASE("a negative initial value throws invalid_argument", "[semaphore]") {
    CHECK_THROWS_AS(sluice::semaphore(-1), std::invalid_argument);
    CHECK_THROWS_AS(sluice::bounded_semaphore(-1), std::invalid_argument);
    CHECK(sluice::semaphore(0).value() == 0);
}

SLUICE_TEST_CASE("bounded_semaphore: a release above the initial value throws logic_error, count unchanged",
                 "[semaphore][bounded]") {
    sluice::bounded_semaphore sem(2);
    CHECK_THROWS_AS(sem.release(), std::logic_error);
    CHECK(sem.value() == 2);
    {
        auto permit = co_await sem.acquire();
        CHECK(sem.value() == 1);
        sem.release();  // by hand, while the permit is still held: back to 2
        CHECK(sem.value() == 2);
        CHECK_THROWS_AS(permit.release(), std::logic_error);
        CHECK_FALSE(static_cast<bool>(permit));  // the failed release still emptied the permit
    }
    CHECK(sem.value() == 2);
}

SLUICE_TEST_CASE("bounded_semaphore hands permits over like a semaphore", "[semaphore][bounded]") {
    sluice::bounded_semaphore sem(1);
    std::vector<int> order;
    auto one = sluice::spawn(take_turns(sem, 1, order));
    auto two = sluice::spawn(take_turns(sem, 2, order));
    co_await one;
    co_await two;
    CHECK(order == std::vector<int>{1, 2, 1, 2, 1, 2});
    CHECK(sem.value() == 1);
    CHECK_THROWS_AS(sem.release(), std::logic_error);
}

// --- mutual exclusion under load ------------------------------------------------------------------

SLUICE_TEST_CASE("100 tasks with random yields never hold more than N permits at once", "[semaphore]") {
    constexpr int permits = 3;
    constexpr int tasks = 100;
    sluice::semaphore sem(permits);
    std::mt19937 random(7);
    int granted = 0;
    int holders = 0;
    int peak = 0;
    std::vector<sluice::join_handle<void>> handles;
    for (int i = 0; i < tasks; ++i) {
        handles.push_back(sluice::spawn(acquire_hold_count(sem, granted, holders, peak, random)));
    }
    for (auto& handle : handles) co_await handle;
    CHECK(granted == tasks);
    CHECK(peak == permits);  // never more, and the load does reach the limit
    CHECK(holders == 0);
    CHECK(sem.value() == permits);
}

// --- interplay with the loop ----------------------------------------------------------------------

namespace {
sluice::task<void> acquire_forever(sluice::semaphore& sem) {
    auto permit = co_await sem.acquire();
}
}  // namespace

TEST_CASE("run reports a deadlock on a semaphore nobody releases, and leaves no waiter behind",
          "[semaphore][deadlock]") {
    sluice::semaphore sem(0);
    CHECK_THROWS_AS(sluice::run(acquire_forever(sem)), std::logic_error);
    sem.release();  // run cancelled the waiter: the permit is counted, not handed to a dead frame
    CHECK(sem.value() == 1);
}
