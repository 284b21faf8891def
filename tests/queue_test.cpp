// Tests of queue<T> (sluice/queue.hpp): FIFO items and waiters, back pressure, join/task_done,
// close, and that a cancelled get never drops an item and a cancelled put is all-or-nothing.
//
// "Blocks forever" is a 20 s sleep, so a bug shows as a CTest TIMEOUT; no upper bound on time is
// asserted anywhere. Never co_await inside a Catch assertion macro: the macros repeat their
// argument in `while (false && ...)`, and GCC 12 still runs a co_await found in the short-circuited
// operand, so the get would run a second time (and block forever on an empty queue).

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/queue.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/settle.hpp"

using namespace std::chrono_literals;

namespace {

using sluice_test::settle;

/// Awaits `awaitable` (taken by value: awaiters are movable until awaited) and reports whether it
/// threw queue_closed.
template <class Awaitable>
sluice::task<bool> throws_queue_closed(Awaitable awaitable) {
    try {
        co_await std::move(awaitable);
    } catch (const sluice::queue_closed&) {
        co_return true;
    }
    co_return false;
}

/// Gets one item into `received` (tagged with `id`), or records that the queue was closed.
sluice::task<void> get_one(sluice::queue<int>& q, int id, std::vector<std::pair<int, int>>& received,
                           std::vector<int>& saw_closed) {
    try {
        const int item = co_await q.get();
        received.emplace_back(id, item);
    } catch (const sluice::queue_closed&) {
        saw_closed.push_back(id);
    }
}

/// Puts `item`, or records that the queue was closed.
sluice::task<void> put_one(sluice::queue<int>& q, int id, int item, std::vector<int>& put_done,
                           std::vector<int>& saw_closed) {
    try {
        co_await q.put(item);
        put_done.push_back(id);
    } catch (const sluice::queue_closed&) {
        saw_closed.push_back(id);
    }
}

}  // namespace

// --- order and back pressure ----------------------------------------------------------------------

SLUICE_TEST_CASE("items come out in the order they were put", "[queue][fifo]") {
    sluice::queue<int> q;
    for (int i = 1; i <= 10; ++i) co_await q.put(i);
    CHECK(q.size() == 10);
    CHECK_FALSE(q.full());  // unbounded
    std::vector<int> got;
    for (int i = 1; i <= 10; ++i) got.push_back(co_await q.get());
    CHECK(got == std::vector<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
    CHECK(q.empty());
}

SLUICE_TEST_CASE("waiting getters are served in the order they started waiting, through the ready queue",
                 "[queue][fifo]") {
    sluice::queue<int> q;
    std::vector<std::pair<int, int>> received;
    std::vector<int> saw_closed;
    std::vector<sluice::join_handle<void>> getters;
    for (int id = 1; id <= 3; ++id) getters.push_back(sluice::spawn(get_one(q, id, received, saw_closed)));
    co_await settle();
    co_await q.put(10);
    co_await q.put(20);
    co_await q.put(30);
    CHECK(received.empty());  // handed over and scheduled, not resumed inside put
    CHECK(q.empty());         // the items went straight to the getters
    for (auto& getter : getters) co_await getter;
    CHECK(received == std::vector<std::pair<int, int>>{{1, 10}, {2, 20}, {3, 30}});
}

namespace {
sluice::task<void> produce(sluice::queue<int>& q, int count, std::vector<std::string>& log) {
    for (int i = 1; i <= count; ++i) {
        co_await q.put(i);
        log.push_back("put " + std::to_string(i));
    }
}
}  // namespace

SLUICE_TEST_CASE("a producer blocks while the queue is full and a get unblocks it, order preserved",
                 "[queue][backpressure]") {
    sluice::queue<int> q(2);
    std::vector<std::string> log;
    auto producer = sluice::spawn(produce(q, 5, log));
    co_await settle(10);
    CHECK(log == std::vector<std::string>{"put 1", "put 2"});  // blocked on the third
    CHECK(q.full());
    CHECK(q.size() == 2);
    CHECK(q.maxsize() == 2);

    std::vector<int> got;
    got.push_back(co_await q.get());  // makes room: the third item moves in, the producer is scheduled
    CHECK(q.size() == 2);
    CHECK(log.size() == 2);  // not resumed inside get
    co_await settle();
    CHECK(log.back() == "put 3");
    while (got.size() < 5) got.push_back(co_await q.get());
    co_await producer;
    CHECK(got == std::vector<int>{1, 2, 3, 4, 5});
    CHECK(log.size() == 5);
}

SLUICE_TEST_CASE("waiting putters are served in the order they started waiting", "[queue][fifo]") {
    sluice::queue<int> q(1);
    REQUIRE(q.try_put(0));
    std::vector<int> put_done;
    std::vector<int> saw_closed;
    std::vector<sluice::join_handle<void>> putters;
    for (int id = 1; id <= 3; ++id) {
        putters.push_back(sluice::spawn(put_one(q, id, id * 10, put_done, saw_closed)));
    }
    co_await settle();
    std::vector<int> got;
    for (int i = 0; i < 4; ++i) got.push_back(co_await q.get());
    for (auto& putter : putters) co_await putter;
    CHECK(got == std::vector<int>{0, 10, 20, 30});
    CHECK(put_done == std::vector<int>{1, 2, 3});
}

// --- try_put / try_get ----------------------------------------------------------------------------

TEST_CASE("try_put fails only when full and try_get only when empty", "[queue][try]") {
    sluice::queue<int> q(2);
    CHECK(q.try_put(1));
    const int two = 2;
    CHECK(q.try_put(two));
    CHECK(q.full());
    CHECK_FALSE(q.try_put(3));
    CHECK(q.size() == 2);
    CHECK(q.try_get() == std::optional<int>(1));
    CHECK(q.try_get() == std::optional<int>(2));
    CHECK(q.try_get() == std::nullopt);
    CHECK(q.empty());
}

TEST_CASE("a try_put that fails leaves a move-only item untouched", "[queue][try][move-only]") {
    sluice::queue<std::unique_ptr<int>> q(1);
    CHECK(q.try_put(std::make_unique<int>(1)));
    auto item = std::make_unique<int>(2);
    CHECK_FALSE(q.try_put(std::move(item)));
    REQUIRE(item != nullptr);
    CHECK(*item == 2);
}

SLUICE_TEST_CASE("try_put hands its item to a waiting getter", "[queue][try]") {
    sluice::queue<int> q(1);
    std::vector<std::pair<int, int>> received;
    std::vector<int> saw_closed;
    auto getter = sluice::spawn(get_one(q, 1, received, saw_closed));
    co_await settle();
    CHECK(q.try_put(7));
    CHECK(q.empty());
    co_await getter;
    CHECK(received == std::vector<std::pair<int, int>>{{1, 7}});
}

// --- move-only items ------------------------------------------------------------------------------

namespace {
sluice::task<void> get_unique(sluice::queue<std::unique_ptr<int>>& q, std::vector<int>& got) {
    auto item = co_await q.get();
    got.push_back(*item);
}
sluice::task<void> put_unique(sluice::queue<std::unique_ptr<int>>& q, int value) {
    co_await q.put(std::make_unique<int>(value));
}
}  // namespace

SLUICE_TEST_CASE("move-only items go through every path: queued, handed to a getter, moved in from a putter",
                 "[queue][move-only]") {
    sluice::queue<std::unique_ptr<int>> q(1);
    std::vector<int> got;

    auto getter = sluice::spawn(get_unique(q, got));  // waits on the empty queue
    co_await settle();
    co_await q.put(std::make_unique<int>(1));  // handed over
    co_await getter;

    co_await q.put(std::make_unique<int>(2));  // queued
    auto putter = sluice::spawn(put_unique(q, 3));  // waits: full
    co_await settle();
    auto second = co_await q.get();  // takes 2, moves 3 in
    got.push_back(*second);
    co_await putter;
    std::optional<std::unique_ptr<int>> third = q.try_get();
    REQUIRE(third.has_value());
    got.push_back(**third);
    CHECK(got == std::vector<int>{1, 2, 3});
}

namespace {
sluice::task<void> put_counted(sluice::queue<sluice_test::counted>& q, int id) {
    co_await q.put(sluice_test::counted(id));
}
}  // namespace

SLUICE_TEST_CASE("every item is destroyed exactly once, including those of cancelled and closed puts",
                 "[queue][lifetime]") {
    sluice_test::counted::reset();
    {
        sluice::queue<sluice_test::counted> q(1);
        co_await q.put(sluice_test::counted(1));
        auto cancelled = sluice::spawn(put_counted(q, 2));
        co_await settle();
        cancelled.cancel();
        const sluice::result<void> cancel_outcome = co_await cancelled.as_result();
        CHECK_THROWS_AS(cancel_outcome.value(), sluice::cancelled_error);
        auto closed = sluice::spawn(put_counted(q, 3));
        co_await settle();
        q.close();
        const sluice::result<void> close_outcome = co_await closed.as_result();
        CHECK_THROWS_AS(close_outcome.value(), sluice::queue_closed);
        const sluice_test::counted first = co_await q.get();
        CHECK(first.id == 1);
        CHECK(q.empty());
    }
    CHECK(sluice_test::counted::alive() == 0);
}

// --- join / task_done -----------------------------------------------------------------------------

namespace {
sluice::task<void> join_and_flag(sluice::queue<int>& q, bool& joined) {
    co_await q.join();
    joined = true;
}
}  // namespace

SLUICE_TEST_CASE("join counts task_done calls, not gets", "[queue][join]") {
    sluice::queue<int> q;
    co_await q.join();  // nothing outstanding: returns at once
    co_await q.put(1);
    co_await q.put(2);
    bool joined = false;
    auto joiner = sluice::spawn(join_and_flag(q, joined));
    (void)co_await q.get();
    (void)co_await q.get();
    co_await settle(10);
    CHECK_FALSE(joined);  // every item was got, none marked done
    q.task_done();
    co_await settle(10);
    CHECK_FALSE(joined);
    q.task_done();
    CHECK_FALSE(joined);  // scheduled, not resumed inside task_done
    co_await joiner;
    CHECK(joined);
}

TEST_CASE("task_done called more times than items were put throws logic_error", "[queue][join]") {
    sluice::queue<int> q;
    CHECK_THROWS_AS(q.task_done(), std::logic_error);
    REQUIRE(q.try_put(1));
    REQUIRE(q.try_get() == std::optional<int>(1));
    q.task_done();
    CHECK_THROWS_AS(q.task_done(), std::logic_error);
}

SLUICE_TEST_CASE("a cancelled joiner leaves the list, the others still return", "[queue][join][cancel]") {
    sluice::queue<int> q;
    co_await q.put(1);
    bool first_joined = false;
    bool second_joined = false;
    auto first = sluice::spawn(join_and_flag(q, first_joined));
    auto second = sluice::spawn(join_and_flag(q, second_joined));
    co_await settle();
    first.cancel();
    const sluice::result<void> outcome = co_await first.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    (void)co_await q.get();
    q.task_done();
    co_await second;
    CHECK_FALSE(first_joined);
    CHECK(second_joined);
}

// --- cancellation ---------------------------------------------------------------------------------

namespace {
/// Gets one item, then blocks until cancelled.
sluice::task<void> get_then_block(sluice::queue<int>& q, std::vector<int>& received) {
    received.push_back(co_await q.get());
    co_await sluice::sleep_for(20s);
}
}  // namespace

SLUICE_TEST_CASE("a getter cancelled after a put handed it the item still receives the item",
                 "[queue][cancel]") {
    sluice::queue<int> q;
    std::vector<int> received;
    auto getter = sluice::spawn(get_then_block(q, received));
    co_await settle();
    REQUIRE(q.try_put(42));  // handed to the getter...
    getter.cancel();         // ...and cancelled in the same tick, before it ran
    const sluice::result<void> outcome = co_await getter.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);  // delivered at the sleep
    CHECK(received == std::vector<int>{42});
    CHECK(q.empty());
}

SLUICE_TEST_CASE("a getter cancelled before the put leaves the item in the queue for the next get",
                 "[queue][cancel]") {
    sluice::queue<int> q;
    std::vector<int> received;
    auto getter = sluice::spawn(get_then_block(q, received));
    co_await settle();
    getter.cancel();
    REQUIRE(q.try_put(42));  // same tick: the cancelled getter already left the list
    const sluice::result<void> outcome = co_await getter.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    CHECK(received.empty());
    CHECK(q.size() == 1);
    const int next = co_await q.get();
    CHECK(next == 42);
}

SLUICE_TEST_CASE("random interleavings of cancels and puts never drop an item", "[queue][cancel]") {
    std::mt19937 random(99);
    sluice::queue<int> q;
    std::vector<int> received;
    std::vector<sluice::join_handle<void>> getters;
    int put = 0;
    for (int round = 0; round < 200; ++round) {
        getters.push_back(sluice::spawn(get_then_block(q, received)));
        if (random() % 3 == 0) co_await sluice::yield();
        // In one tick, in random order: a put and the cancel of a random getter.
        const bool put_first = random() % 2 == 0;
        if (put_first) REQUIRE(q.try_put(put++));
        getters[random() % getters.size()].cancel();
        if (!put_first) REQUIRE(q.try_put(put++));
        if (random() % 2 == 0) co_await sluice::yield();
    }
    for (auto& getter : getters) getter.cancel();
    for (auto& getter : getters) (void)co_await getter.as_result();
    std::vector<int> all = received;
    while (auto left = q.try_get()) all.push_back(*left);
    std::sort(all.begin(), all.end());
    std::vector<int> expected(static_cast<std::size_t>(put));
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(all == expected);  // every item received or still queued, exactly once
}

namespace {
/// Puts `item`, logs that put returned, then blocks until cancelled.
sluice::task<void> put_then_block(sluice::queue<int>& q, int item, std::vector<std::string>& log) {
    co_await q.put(item);
    log.push_back("put returned");
    co_await sluice::sleep_for(20s);
}
}  // namespace

SLUICE_TEST_CASE("a putter cancelled after a get moved its item in: put returns, the item stays queued",
                 "[queue][cancel]") {
    sluice::queue<int> q(1);
    REQUIRE(q.try_put(1));
    std::vector<std::string> log;
    auto putter = sluice::spawn(put_then_block(q, 2, log));
    co_await settle();
    REQUIRE(q.try_get() == std::optional<int>(1));  // makes room: 2 moves in, the putter is scheduled
    putter.cancel();                                 // same tick, before it ran
    const sluice::result<void> outcome = co_await putter.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);  // delivered at the sleep
    CHECK(log == std::vector<std::string>{"put returned"});
    CHECK(q.size() == 1);
    CHECK(q.try_get() == std::optional<int>(2));
}

SLUICE_TEST_CASE("a putter cancelled while waiting gets cancelled_error and its item never enters the queue",
                 "[queue][cancel]") {
    sluice::queue<int> q(1);
    REQUIRE(q.try_put(1));
    std::vector<std::string> log;
    auto putter = sluice::spawn(put_then_block(q, 2, log));
    co_await settle();
    putter.cancel();
    REQUIRE(q.try_get() == std::optional<int>(1));  // same tick: the cancelled putter already left
    const sluice::result<void> outcome = co_await putter.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    CHECK(log.empty());
    CHECK(q.empty());
    q.task_done();  // only item 1 was ever put
    CHECK_THROWS_AS(q.task_done(), std::logic_error);
    co_await q.join();
}

namespace {
struct self_cancel {
    sluice::join_handle<void> self;
    sluice::queue<int> q;
    std::vector<std::string> log;
};

sluice::task<void> cancel_self_then_get(self_cancel& state) {
    state.self.cancel();
    const int item = co_await state.q.get();  // an item is queued: not a cancellation point
    state.log.push_back("got " + std::to_string(item));
    co_await state.q.put(item);  // room to spare: not a cancellation point either
    state.log.push_back("put " + std::to_string(item));
    co_await sluice::sleep_for(20s);
}
}  // namespace

SLUICE_TEST_CASE("get and put fast paths are not cancellation points", "[queue][cancel]") {
    self_cancel state;
    REQUIRE(state.q.try_put(5));
    state.self = sluice::spawn(cancel_self_then_get(state));
    const sluice::result<void> outcome = co_await state.self.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    CHECK(state.log == std::vector<std::string>{"got 5", "put 5"});
    CHECK(state.q.size() == 1);
}

SLUICE_TEST_CASE("wait_for around a get that times out leaves no getter behind", "[queue][cancel]") {
    sluice::queue<int> q;
    const sluice::result<int> outcome = co_await sluice::wait_for(q.get(), 10ms).as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::timeout_error);
    REQUIRE(q.try_put(3));
    CHECK(q.size() == 1);  // queued, not handed to a ghost getter
    const int item = co_await sluice::wait_for(q.get(), 20s);
    CHECK(item == 3);
}

// --- close ----------------------------------------------------------------------------------------

SLUICE_TEST_CASE("close wakes every waiting getter with queue_closed", "[queue][close]") {
    sluice::queue<int> q;
    std::vector<std::pair<int, int>> received;
    std::vector<int> saw_closed;
    auto first = sluice::spawn(get_one(q, 1, received, saw_closed));
    auto second = sluice::spawn(get_one(q, 2, received, saw_closed));
    co_await settle();
    q.close();
    CHECK(q.closed());
    CHECK(saw_closed.empty());  // scheduled, not resumed inside close
    co_await first;
    co_await second;
    CHECK(received.empty());
    CHECK(saw_closed == std::vector<int>{1, 2});
}

SLUICE_TEST_CASE("close wakes every waiting putter with queue_closed, their items never enter the queue",
                 "[queue][close]") {
    sluice::queue<int> q(1);
    REQUIRE(q.try_put(1));
    std::vector<int> put_done;
    std::vector<int> saw_closed;
    auto first = sluice::spawn(put_one(q, 1, 10, put_done, saw_closed));
    auto second = sluice::spawn(put_one(q, 2, 20, put_done, saw_closed));
    co_await settle();
    q.close();
    co_await first;
    co_await second;
    CHECK(put_done.empty());
    CHECK(saw_closed == std::vector<int>{1, 2});
    CHECK(q.size() == 1);
}

SLUICE_TEST_CASE("close after a hand-off: the getter still receives its item and the putter returns",
                 "[queue][close]") {
    sluice::queue<int> q(1);
    std::vector<std::pair<int, int>> received;
    std::vector<int> saw_closed;
    auto getter = sluice::spawn(get_one(q, 1, received, saw_closed));
    co_await settle();
    REQUIRE(q.try_put(7));  // handed to the waiting getter
    REQUIRE(q.try_put(8));  // queued
    std::vector<int> put_done;
    auto putter = sluice::spawn(put_one(q, 2, 9, put_done, saw_closed));
    co_await settle();
    REQUIRE(q.try_get() == std::optional<int>(8));  // moves 9 in; the putter is scheduled
    q.close();  // same tick: both waits had already completed
    co_await getter;
    co_await putter;
    CHECK(received == std::vector<std::pair<int, int>>{{1, 7}});
    CHECK(put_done == std::vector<int>{2});
    CHECK(saw_closed.empty());
    CHECK(q.try_get() == std::optional<int>(9));
}

SLUICE_TEST_CASE("items queued before close can still be taken, then get throws queue_closed",
                 "[queue][close]") {
    sluice::queue<int> q;
    co_await q.put(1);
    co_await q.put(2);
    q.close();
    const int first = co_await q.get();
    CHECK(first == 1);
    CHECK(q.try_get() == std::optional<int>(2));
    const bool closed = co_await throws_queue_closed(q.get());
    CHECK(closed);
}

SLUICE_TEST_CASE("get and try_get on a closed empty queue throw queue_closed", "[queue][close]") {
    sluice::queue<int> q;
    q.close();
    const bool closed = co_await throws_queue_closed(q.get());
    CHECK(closed);
    CHECK_THROWS_AS(q.try_get(), sluice::queue_closed);
}

SLUICE_TEST_CASE("put and try_put on a closed queue throw queue_closed", "[queue][close]") {
    sluice::queue<int> q;
    q.close();
    const bool closed = co_await throws_queue_closed(q.put(1));
    CHECK(closed);
    CHECK_THROWS_AS((void)q.try_put(2), sluice::queue_closed);
    CHECK(q.empty());
    q.close();  // closing twice changes nothing
    CHECK(q.closed());
}

SLUICE_TEST_CASE("close does not wake joiners: they wait for task_done on every item put",
                 "[queue][close][join]") {
    sluice::queue<int> q;
    co_await q.put(1);
    bool joined = false;
    auto joiner = sluice::spawn(join_and_flag(q, joined));
    co_await settle();
    q.close();
    co_await settle(10);
    CHECK_FALSE(joined);
    const int item = co_await q.get();
    CHECK(item == 1);
    q.task_done();
    co_await joiner;
    CHECK(joined);
}

// --- producers and consumers ----------------------------------------------------------------------

namespace {
struct shared_tally {
    std::vector<int> seen;  // times each item was received
    std::int64_t sum = 0;
    int done = 0;
};

sluice::task<void> producer(sluice::queue<int>& q, int id, int count, std::mt19937& random) {
    for (int i = 0; i < count; ++i) {
        co_await q.put(id * count + i);
        if (random() % 4 == 0) co_await sluice::yield();
    }
}

sluice::task<void> consumer(sluice::queue<int>& q, shared_tally& tally, std::mt19937& random) {
    for (;;) {
        int item = 0;
        try {
            item = co_await q.get();
        } catch (const sluice::queue_closed&) {
            co_return;
        }
        ++tally.seen[static_cast<std::size_t>(item)];
        tally.sum += item;
        if (random() % 3 == 0) co_await sluice::yield();
        ++tally.done;
        q.task_done();
    }
}
}  // namespace

SLUICE_TEST_CASE("4 producers, 3 consumers, maxsize 5: every item received exactly once, join after all done",
                 "[queue][stress]") {
    constexpr int producers = 4;
    constexpr int per_producer = 1000;
    constexpr int total = producers * per_producer;
    sluice::queue<int> q(5);
    std::mt19937 random(12345);
    shared_tally tally;
    tally.seen.assign(total, 0);
    std::vector<sluice::join_handle<void>> consumers;
    for (int i = 0; i < 3; ++i) consumers.push_back(sluice::spawn(consumer(q, tally, random)));
    std::vector<sluice::join_handle<void>> producing;
    for (int id = 0; id < producers; ++id) {
        producing.push_back(sluice::spawn(producer(q, id, per_producer, random)));
    }
    for (auto& handle : producing) co_await handle;
    co_await q.join();
    CHECK(tally.done == total);  // join returned only after the last task_done
    q.close();
    for (auto& handle : consumers) co_await handle;
    CHECK(std::count(tally.seen.begin(), tally.seen.end(), 1) == total);
    CHECK(tally.sum == std::int64_t{total} * (total - 1) / 2);
    CHECK(q.empty());
}
