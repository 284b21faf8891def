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
#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/co_test.hpp"
#include "support/settle.hpp"

using namespace std::chrono_literals;

namespace {

using sluice_test::settle;

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

SLUICE_TEST_CASE("a waiter whose semaphore died first is still cancelled cleanly", "[semaphore][cancel]") {
    // A counting semaphore, and one over a concurrency_limit (whose waiter has reserved a record
    // of the semaphore's pool). On the heap: ASan sees any use of them after they died.
    for (const bool limited : {false, true}) {
        auto sem = limited ? std::make_unique<sluice::semaphore>(sluice::fixed(0))
                           : std::make_unique<sluice::semaphore>(0);
        auto waiter = sluice::spawn(acquire_forever(*sem));
        co_await settle();
        sem.reset();  // against the contract (it must outlive its waiters), but nothing dangles
        waiter.cancel();
        const sluice::result<void> outcome = co_await waiter.as_result();
        CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    }
}

// --- limits that move (set_limit, concurrency_limit) ----------------------------------------------

namespace {
/// Acquires, logs its id, then holds the permit until `release` is set (or it is cancelled).
sluice::task<void> acquire_log_hold(sluice::semaphore& sem, int id, std::vector<int>& granted, const bool& release) {
    auto permit = co_await sem.acquire();
    granted.push_back(id);
    while (!release) co_await sluice::yield();
}
}  // namespace

SLUICE_TEST_CASE("raising the limit hands permits to the waiters at once, oldest first", "[semaphore][limit]") {
    sluice::semaphore sem(1);
    std::vector<int> granted;
    bool release = false;
    std::vector<sluice::join_handle<void>> handles;
    for (int id = 0; id < 6; ++id) handles.push_back(sluice::spawn(acquire_log_hold(sem, id, granted, release)));
    co_await settle();
    CHECK(granted == std::vector<int>{0});
    sem.set_limit(4);
    CHECK(sem.in_use() == 4);  // handed over inside set_limit, before any waiter ran
    CHECK(sem.value() == 0);
    co_await settle();
    CHECK(granted == std::vector<int>{0, 1, 2, 3});
    sem.set_limit(10);
    CHECK(sem.value() == 4);  // the last two waiters took theirs: 6 held, 4 free
    release = true;
    for (auto& handle : handles) co_await handle;
    CHECK(granted == std::vector<int>{0, 1, 2, 3, 4, 5});
    CHECK(sem.value() == 10);
    CHECK(sem.in_use() == 0);
}

SLUICE_TEST_CASE("lowering the limit grants nothing until fewer are held than the new limit, and cancels nothing",
                 "[semaphore][limit]") {
    sluice::semaphore sem(3);
    std::vector<int> granted;
    std::array<bool, 3> release_holder{};
    bool release_waiters = false;
    std::vector<sluice::join_handle<void>> holders;
    for (int id = 0; id < 3; ++id) {
        holders.push_back(sluice::spawn(acquire_log_hold(sem, id, granted, release_holder[id])));
    }
    co_await settle();
    auto waiter_a = sluice::spawn(acquire_log_hold(sem, 10, granted, release_waiters));
    auto waiter_b = sluice::spawn(acquire_log_hold(sem, 11, granted, release_waiters));
    co_await settle();
    sem.set_limit(1);
    CHECK(sem.in_use() == 3);  // nothing taken from the holders
    CHECK(sem.value() == 0);
    release_holder[0] = release_holder[1] = true;
    co_await holders[0];
    co_await holders[1];
    CHECK(sem.in_use() == 1);  // two came back, still nobody new: 1 held, limit 1
    co_await settle();
    CHECK(granted == std::vector<int>{0, 1, 2});
    release_holder[2] = true;
    co_await holders[2];  // in use drops to 0 < 1: the oldest waiter goes
    co_await settle();
    CHECK(granted == std::vector<int>{0, 1, 2, 10});
    CHECK(sem.in_use() == 1);
    release_waiters = true;
    co_await waiter_a;
    co_await waiter_b;
    CHECK(granted == std::vector<int>{0, 1, 2, 10, 11});
    CHECK(sem.value() == 1);
}

SLUICE_TEST_CASE("set_limit(0) pauses the semaphore, and a bounded_semaphore's bound follows set_limit",
                 "[semaphore][limit]") {
    sluice::semaphore sem(2);
    sem.set_limit(0);
    CHECK_FALSE(sem.try_acquire().has_value());
    sem.set_limit(1);
    CHECK(sem.try_acquire().has_value());

    sluice::bounded_semaphore bounded(1);
    bounded.set_limit(3);
    CHECK(bounded.value() == 3);
    CHECK_THROWS_AS(bounded.release(), std::logic_error);
    bounded.set_limit(1);
    {
        auto permit = co_await bounded.acquire();
        bounded.release();  // back to 1 free while the permit is held
        CHECK_THROWS_AS(permit.release(), std::logic_error);
    }
    CHECK(bounded.value() == 1);  // the manual release added one, the refused release none
}

SLUICE_TEST_CASE("a bounded_semaphore lowered to 0 while a permit is held takes that permit back without a throw",
                 "[semaphore][bounded][limit]") {
    sluice::bounded_semaphore sem(1);
    {
        auto permit = co_await sem.acquire();
        sem.set_limit(0);  // the bound follows: 0, with one permit still held (value 0)
        CHECK_NOTHROW(permit.release());  // value stays 0: not above the bound
    }
    CHECK(sem.in_use() == 0);
    CHECK(sem.value() == 0);
    sem.set_limit(1);
    auto permit = co_await sem.acquire();
    sem.set_limit(0);
    CHECK_NOTHROW(sem.release());  // by hand: limit 1 with 1 held, value still 0
    CHECK(sem.limit() == 1);
    CHECK(sem.value() == 0);
    CHECK_THROWS_AS(permit.release(), std::logic_error);  // this one would raise value above 0
    CHECK(sem.value() == 0);
}

TEST_CASE("a semaphore rejects a negative set_limit, and release() by hand when it follows a concurrency_limit",
          "[semaphore][limit]") {
    sluice::semaphore sem(2);
    CHECK_THROWS_AS(sem.set_limit(-1), std::invalid_argument);
    CHECK(sem.limit() == 2);
    sluice::semaphore limited(sluice::fixed(2));
    CHECK_THROWS_AS(limited.release(), std::logic_error);
    CHECK(limited.limit() == 2);
    sluice::semaphore adaptive(sluice::concurrency_limit(sluice::aimd{.initial = 2, .min = 2, .max = 4}));
    CHECK_THROWS_AS(adaptive.set_limit(5), std::invalid_argument);
    CHECK(adaptive.limit() == 2);
}

SLUICE_TEST_CASE("two semaphores over one concurrency_limit share its permits, and its handle watches them",
                 "[semaphore][limit]") {
    sluice::concurrency_limit limit = sluice::fixed(2);
    sluice::semaphore first(limit);
    sluice::semaphore second(limit);
    std::vector<int> granted;
    bool release = false;
    auto a = sluice::spawn(acquire_log_hold(first, 1, granted, release));
    auto b = sluice::spawn(acquire_log_hold(second, 2, granted, release));
    auto c = sluice::spawn(acquire_log_hold(second, 3, granted, release));
    co_await settle();
    CHECK(granted == std::vector<int>{1, 2});
    CHECK(limit.in_flight() == 2);
    CHECK(first.value() == 0);
    limit.set_limit(3);  // through the handle: the waiter on `second` goes at once
    co_await settle();
    CHECK(granted == std::vector<int>{1, 2, 3});
    release = true;
    co_await a;
    co_await b;
    co_await c;
    CHECK(limit.in_flight() == 0);
    CHECK(first.value() == 3);
}

SLUICE_TEST_CASE("permits report outcomes to an aimd limit: successes grow it, an overload shrinks it, "
                 "an unreported exception is ignored",
                 "[semaphore][limit]") {
    sluice::concurrency_limit limit(sluice::aimd{.initial = 1, .max = 10, .backoff = 0.5});
    sluice::semaphore sem(limit);
    for (int i = 0; i < 3; ++i) {
        auto permit = co_await sem.acquire();  // success by default: slow start, +1 each...
    }
    CHECK(limit.limit() == 3);  // ...until one permit at a time no longer uses half the limit
    {
        auto permit = co_await sem.acquire();
        permit.report(std::make_exception_ptr(sluice::timeout_error()));
    }
    CHECK(limit.limit() == 1);  // 3 halved: slow start is over, a success now adds one per round
    const auto fail_holding = [](sluice::semaphore& s) -> sluice::task<void> {
        auto permit = co_await s.acquire();
        throw std::runtime_error("client-side bug");
    };
    const sluice::result<void> failed = co_await fail_holding(sem).as_result();
    CHECK_THROWS_AS(failed.value(), std::runtime_error);
    CHECK(limit.limit() == 1);  // ignored, not a success
    {
        auto permit = co_await sem.acquire();
        permit.report(sluice::outcome::ignored);
    }
    CHECK(limit.limit() == 1);
    {
        auto permit = co_await sem.acquire();
    }
    CHECK(limit.limit() == 2);
    CHECK(limit.in_flight() == 0);
}

namespace {
/// Watches "≤ limit in flight" around every release: a release may only grant a permit to a waiter
/// if, after it, no more are held than the limit in force (or than were held before it, when the
/// limit was lowered below that).
struct limit_monitor {
    sluice::semaphore& sem;
    int violations = 0;
    int granted = 0;
    int holders = 0;

    void release(sluice::semaphore::permit& permit) {
        const std::ptrdiff_t before = sem.in_use();
        permit.release();
        if (sem.in_use() > std::max(sem.limit(), before - 1)) ++violations;
    }
};

sluice::task<void> hold_under_moving_limit(limit_monitor& monitor, std::mt19937& random) {
    std::optional<sluice::semaphore::permit> permit;
    struct give_back {
        limit_monitor& monitor;
        std::optional<sluice::semaphore::permit>& permit;
        ~give_back() {
            if (permit) {
                --monitor.holders;
                monitor.release(*permit);  // also when a cancel unwinds
            }
        }
    } guard{monitor, permit};
    permit = co_await monitor.sem.acquire();
    ++monitor.granted;
    ++monitor.holders;
    if (monitor.holders > monitor.sem.limit() && monitor.holders > monitor.sem.in_use()) ++monitor.violations;
    for (int i = static_cast<int>(random() % 4); i > 0; --i) co_await sluice::yield();
}
}  // namespace

SLUICE_TEST_CASE("random limit changes, cancels and releases never lose or duplicate a permit "
                 "nor grant one beyond the limit in force",
                 "[semaphore][limit][cancel]") {
    std::mt19937 random(20261205);
    for (int round = 0; round < 80; ++round) {
        // Odd rounds: a counting semaphore (its own count, changed by set_limit and by release()
        // by hand); even rounds: a semaphore over a concurrency_limit, changed through its handle.
        const bool counting = round % 2 == 1;
        sluice::concurrency_limit limit = sluice::fixed(static_cast<std::ptrdiff_t>(random() % 4));
        std::optional<sluice::semaphore> made;
        if (counting) {
            made.emplace(limit.limit());
        } else {
            made.emplace(limit);
        }
        sluice::semaphore& sem = *made;
        const auto set_limit = [&](std::ptrdiff_t n) {
            if (counting) {
                sem.set_limit(n);
            } else {
                limit.set_limit(n);
            }
        };
        limit_monitor monitor{sem};
        constexpr int tasks = 16;
        std::vector<sluice::join_handle<void>> handles;
        for (int i = 0; i < tasks; ++i) handles.push_back(sluice::spawn(hold_under_moving_limit(monitor, random)));
        for (int step = 0; step < 3 * tasks; ++step) {
            switch (random() % 5) {
                case 0: {
                    const std::ptrdiff_t before = sem.in_use();
                    const auto n = static_cast<std::ptrdiff_t>(random() % 5);
                    set_limit(n);
                    CHECK(sem.in_use() <= std::max(n, before));  // lowering grants nothing
                    break;
                }
                case 1: handles[random() % tasks].cancel(); break;
                case 2:
                    if (counting) {
                        const std::ptrdiff_t before = sem.in_use();
                        const std::ptrdiff_t limit_before = sem.limit();
                        sem.release();  // by hand: one more permit, to the oldest waiter if there is room
                        CHECK(sem.limit() == limit_before + 1);
                        CHECK(sem.in_use() <= std::max(sem.limit(), before));
                    }
                    break;
                default: break;
            }
            co_await sluice::yield();
        }
        set_limit(3);  // let every waiter through
        int finished = 0;
        for (auto& handle : handles) {
            const sluice::result<void> outcome = co_await handle.as_result();
            if (outcome.has_value()) ++finished;
        }
        CHECK(monitor.violations == 0);
        CHECK(monitor.holders == 0);
        CHECK(monitor.granted >= finished);
        CHECK(sem.in_use() == 0);
        CHECK(limit.in_flight() == 0);
        CHECK(sem.value() == 3);
    }
}
