// Tests of sluice::gather (sluice/gather.hpp): variadic, range, bounded range, return_exceptions,
// fail-fast, and cancellation of the awaiting task.
//
// Coroutines are free functions taking what they need as parameters, never capturing lambdas.
// Timing assertions are lower bounds only. Children that must be cut short sleep 20 s, so a
// cancellation that does not happen shows as a CTest TIMEOUT (or a missing record), never as a flaky
// bound. Never co_await inside a Catch macro: GCC 12 evaluates the operand of the macro's trailing
// `(false) && (expr)` as a second suspension point.

#include <sluice/async_generator.hpp>
#include <sluice/cancellation.hpp>
#include <sluice/event.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/gather.hpp>
#include <sluice/generator.hpp>
#include <sluice/igather.hpp>
#include <sluice/result.hpp>
#include <sluice/spawn.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/engine_items.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

using sluice_test::counted;
using namespace sluice_test::engine_items;

sluice::task<void> timed_void(int id, std::chrono::microseconds duration, tracker& t) {
    ++t.started;
    t.log.push_back(start_of(id));
    co_await sluice::sleep_for(duration);
    t.log.push_back(end_of(id));
    ++t.finished;
}

sluice::task<std::string> text_after_yield(std::string text) {
    co_await sluice::yield();
    co_return text;
}

/// Sleeps 20 s; a cancellation is swallowed after 1 ms of cleanup, and the child returns `id` anyway.
sluice::task<int> swallows_cancel(int id, tracker& t, [[maybe_unused]] counted frame = counted()) {
    ++t.started;
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        ++t.cancelled;
    }
    co_await sluice::sleep_for(1ms);
    ++t.finished;
    co_return id;
}

sluice::task<void> set_flag(bool& flag) {
    flag = true;
    co_return;
}

sluice::generator<sluice::task<int>> counting_down(int count, tracker& t) {
    for (int i = 0; i < count; ++i) co_yield timed(i, std::chrono::microseconds(200 * (count - i)), t);
}

sluice::generator<sluice::task<int>> three_then_throw(tracker& t) {
    for (int i = 0; i < 3; ++i) co_yield timed(i, std::chrono::milliseconds(1 + i), t);
    throw source_failure();
}

/// Logs its start, yields `yields` times, logs its end, returns `id`.
sluice::task<int> logged_after_yields(int id, int yields, tracker& t) {
    t.log.push_back(start_of(id));
    for (int i = 0; i < yields; ++i) co_await sluice::yield();
    t.log.push_back(end_of(id));
    co_return id;
}


/// Counts itself in `running` while alive, yields once, returns `id`.
sluice::task<int> yields_once(int id, probe& running) {
    in_flight alive(running);
    co_await sluice::yield();
    co_return id;
}

sluice::generator<sluice::task<int>> yielding_once(int count, probe& running) {
    for (int i = 0; i < count; ++i) co_yield yields_once(i, running);
}

/// "Endless": numbers every item it yields in `pulls`; each item yields once and counts its frame.
/// It does end after 2,000,000 items, far more than run in the tests' 5 ms on any machine (about
/// 0.2 s at full speed), so that an engine that never lets the loop run fails the test instead of
/// filling the machine's memory with results.
sluice::generator<sluice::task<int>> endless(int& pulls, probe& running) {
    while (pulls < 2'000'000) co_yield yields_once(pulls++, running);
}

sluice::async_generator<sluice::task<int>> endless_async(int& pulls, probe& running) {
    for (;;) co_yield yields_once(pulls++, running);
}

/// Records how many items had started when it ran.
sluice::task<void> record_started(const int& started, int& seen) {
    seen = started;
    co_return;
}

/// Waits until all `count` have started (the last one to start opens the gate).
sluice::task<int> wait_until_all_started(int id, int count, int& started, sluice::event& all_started) {
    if (++started == count) all_started.set();
    co_await all_started.wait();
    co_return id;
}

sluice::generator<sluice::task<int>> waiting_for_all(int count, int& started, sluice::event& all_started) {
    for (int i = 0; i < count; ++i) co_yield wait_until_all_started(i, count, started, all_started);
}

sluice::generator<sluice::task<int>> cut_short(int count, int& pulls, tracker& t) {
    for (int i = 0; i < count; ++i) {
        ++pulls;
        co_yield swallows_cancel(i, t);
    }
}

/// Yields `id % 5` times, so later items often finish first, and returns three numbers made from id.
sluice::task<std::array<std::int64_t, 3>> triple_after_yields(int id) {
    for (int i = 0; i < id % 5; ++i) co_await sluice::yield();
    co_return std::array<std::int64_t, 3>{id, 2LL * id, 3LL * id};
}

sluice::generator<sluice::task<std::array<std::int64_t, 3>>> triples(int count) {
    for (int i = 0; i < count; ++i) co_yield triple_after_yields(i);
}

/// A lazy source that knows its length: 2^60 items, each task made when its item is reached (the
/// way a sized view over a counter would be). It refuses to go past 2,000,000 items (the source
/// throws), so an engine that never lets the loop run fails the test instead of eating memory.
class huge_sized_source {
public:
    class iterator {
    public:
        using difference_type = std::ptrdiff_t;
        using value_type = sluice::task<int>;
        iterator() = default;
        iterator(std::int64_t index, int* pulls, probe* running) : index_(index), pulls_(pulls), running_(running) {}
        sluice::task<int> operator*() const {
            if (index_ >= 2'000'000) throw source_failure();
            ++*pulls_;
            return yields_once(static_cast<int>(index_), *running_);
        }
        iterator& operator++() {
            ++index_;
            return *this;
        }
        void operator++(int) { ++index_; }
        bool operator==(const iterator& other) const { return index_ == other.index_; }

    private:
        std::int64_t index_ = 0;
        int* pulls_ = nullptr;
        probe* running_ = nullptr;
    };

    huge_sized_source(int& pulls, probe& running) : pulls_(&pulls), running_(&running) {}
    iterator begin() const { return {0, pulls_, running_}; }
    iterator end() const { return {length, pulls_, running_}; }
    static std::size_t size() { return std::size_t{1} << 60; }

private:
    static constexpr std::int64_t length = std::int64_t{1} << 60;
    int* pulls_;
    probe* running_;
};
static_assert(std::ranges::sized_range<huge_sized_source>);
static_assert(std::input_iterator<huge_sized_source::iterator>);

template <class Source>
sluice::task<std::vector<int>> gather_all(Source source) {
    co_return co_await sluice::gather(std::move(source));
}

/// Gathers `source` under a 5 ms timeout: true when the timeout ended it.
template <class Source>
sluice::task<bool> ended_by_timeout(Source source) {
    try {
        (void)co_await sluice::wait_for(gather_all(std::move(source)), 5ms);
    } catch (const sluice::timeout_error&) {
        co_return true;
    }
    co_return false;
}

/// Takes `wanted` results of an igather with a limit of a million over an endless async generator,
/// then drops the stream.
sluice::task<void> take_from_endless_async(int wanted, int& pulls, probe& running, int& taken) {
    auto results = sluice::igather(endless_async(pulls, running), 1'000'000);
    while (taken < wanted) {
        if (!co_await results.next()) break;
        ++taken;
    }
}
}  // namespace

// --- variadic -----------------------------------------------------------------------------------

SLUICE_TEST_CASE("gather of three awaitables returns a tuple in argument order, void as std::monostate", "[gather][variadic]") {
    tracker t;
    auto all = co_await sluice::gather(timed(7, 3ms, t), timed_void(1, 1ms, t), text_after_yield("three"));
    static_assert(std::is_same_v<decltype(all), std::tuple<int, std::monostate, std::string>>);
    CHECK(std::get<0>(all) == 7);
    CHECK(std::get<2>(all) == "three");
    CHECK(t.finished == 2);
}

SLUICE_TEST_CASE("gather accepts non-task awaitables: sleep_for results give std::monostate", "[gather][variadic]") {
    const auto start = steady::now();
    auto all = co_await sluice::gather(sluice::sleep_for(6ms), sluice::sleep_for(3ms));
    static_assert(std::is_same_v<decltype(all), std::tuple<std::monostate, std::monostate>>);
    // Concurrent: the longest, not the sum (a lower bound is all this asserts).
    CHECK(steady::now() - start >= 6ms);
}

SLUICE_TEST_CASE("gather starts nothing before it is awaited, then starts the children in argument order",
                 "[gather][variadic]") {
    tracker t;
    auto pending = sluice::gather(timed(0, 3ms, t), timed(1, 1ms, t), timed(2, 2ms, t));
    co_await sluice::sleep_for(2ms);
    CHECK(t.started == 0);
    auto [a, b, c] = co_await std::move(pending);
    CHECK(a == 0);
    CHECK(b == 1);
    CHECK(c == 2);
    REQUIRE(t.log.size() == 6);
    CHECK(events(t.log.begin(), t.log.begin() + 3) == events{"start 0", "start 1", "start 2"});
}

SLUICE_TEST_CASE("gather(return_exceptions, ...) gives a result per child and cancels nothing", "[gather][variadic][collect]") {
    tracker t;
    auto all = co_await sluice::gather(sluice::return_exceptions, timed(0, 5ms, t), fails_after(1, 1, t),
                                       timed_void(2, 3ms, t));
    static_assert(std::is_same_v<decltype(all), std::tuple<sluice::result<int>, sluice::result<int>, sluice::result<void>>>);
    auto& [a, b, c] = all;
    REQUIRE(a.has_value());
    CHECK(a.value() == 0);
    REQUIRE_FALSE(b.has_value());
    CHECK_THROWS_AS(b.value(), item_failure);
    CHECK(c.has_value());
    CHECK(t.cancelled == 0);
    CHECK(t.finished == 2);  // the slow siblings ran to the end after the failure
}

SLUICE_TEST_CASE("gather fail-fast (variadic): the siblings are cancelled and awaited before the error is rethrown",
                 "[gather][variadic][error]") {
    counted::reset();
    tracker t;
    int caught = -1;
    int cleaned_up_when_thrown = -1;
    try {
        co_await sluice::gather(stuck(0, t), fails_after(1, 1, t), stuck(2, t));
    } catch (const item_failure& failure) {
        caught = failure.id;
        cleaned_up_when_thrown = t.cancelled;
    }
    CHECK(caught == 1);
    CHECK(cleaned_up_when_thrown == 2);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("cancelling the task awaiting a variadic gather cancels every child, and it sees "
                 "cancelled_error even though every child swallowed the cancel",
                 "[gather][variadic][cancel]") {
    tracker t;
    auto awaiting = sluice::spawn(sluice::gather(swallows_cancel(0, t), swallows_cancel(1, t), swallows_cancel(2, t)));
    co_await sluice::yield();
    co_await sluice::yield();
    REQUIRE(t.started == 3);
    awaiting.cancel();
    int cancelled = 0;
    try {
        co_await awaiting;
    } catch (const sluice::cancelled_error&) {
        ++cancelled;
    }
    CHECK(cancelled == 1);
    CHECK(t.cancelled == 3);
    CHECK(t.finished == 3);  // each returned a value, after its cleanup, before the awaiter resumed
}

// --- ranges -------------------------------------------------------------------------------------

SLUICE_TEST_CASE("gather of a range returns a vector in source order though later children finish first", "[gather][range]") {
    tracker t;
    std::vector<sluice::task<int>> jobs;
    // Loop turns, not milliseconds: child i finishes after 6 - i yields whatever the machine's load.
    for (int i = 0; i < 6; ++i) jobs.push_back(logged_after_yields(i, 6 - i, t));
    std::vector<int> all = co_await sluice::gather(std::move(jobs));
    CHECK(all == std::vector<int>{0, 1, 2, 3, 4, 5});
    CHECK(position(t.log, end_of(5)) < position(t.log, end_of(0)));
    // All started before any finished: no limit.
    CHECK(position(t.log, start_of(5)) < position(t.log, end_of(5)));
}

SLUICE_TEST_CASE("gather of an lvalue range and of a generator returns vectors in source order", "[gather][range][source]") {
    tracker t;
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 4; ++i) jobs.push_back(timed(i, std::chrono::milliseconds(4 - i), t));
    std::vector<int> from_vector = co_await sluice::gather(jobs);
    CHECK(from_vector == std::vector<int>{0, 1, 2, 3});
    std::vector<int> from_generator = co_await sluice::gather(counting_down(5, t), 2);
    CHECK(from_generator == std::vector<int>{0, 1, 2, 3, 4});
}

SLUICE_TEST_CASE("gather of a range of move-only results moves them into the vector", "[gather][range][source]") {
    std::vector<sluice::task<std::unique_ptr<int>>> jobs;
    for (int i = 0; i < 5; ++i) jobs.push_back(boxed(i));
    auto all = co_await sluice::gather(std::move(jobs), 2);
    REQUIRE(all.size() == 5);
    for (int i = 0; i < 5; ++i) {
        REQUIRE(all[static_cast<std::size_t>(i)] != nullptr);
        CHECK(*all[static_cast<std::size_t>(i)] == i);
    }
}

SLUICE_TEST_CASE("gather of a range of task<void> returns void once every child ran", "[gather][range]") {
    tracker t;
    std::vector<sluice::task<void>> jobs;
    for (int i = 0; i < 5; ++i) jobs.push_back(timed_void(i, std::chrono::milliseconds(i), t));
    static_assert(std::is_void_v<decltype(sluice::gather(std::move(jobs)))::value_type>);
    co_await sluice::gather(std::move(jobs));
    CHECK(t.finished == 5);
}

SLUICE_TEST_CASE("bounded gather(range, limit) never runs more than limit children and keeps source order",
                 "[gather][range][limit]") {
    std::mt19937 random(20240613);
    std::uniform_int_distribution<int> micros(0, 400);
    for (int limit : {1, 7, 64}) {
        INFO("limit " << limit);
        probe p;
        std::vector<sluice::task<int>> jobs;
        for (int i = 0; i < 200; ++i) jobs.push_back(probed(i, std::chrono::microseconds(micros(random)), p));
        std::vector<int> all = co_await sluice::gather(std::move(jobs), limit);
        REQUIRE(all.size() == 200);
        bool in_order = true;
        for (int i = 0; i < 200; ++i) in_order = in_order && all[static_cast<std::size_t>(i)] == i;
        CHECK(in_order);
        CHECK(p.max <= limit);
        CHECK(p.max == limit);
        CHECK(p.now == 0);
    }
}

SLUICE_TEST_CASE("bounded gather with limit 1 runs children one after another", "[gather][range][limit]") {
    tracker t;
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 3; ++i) jobs.push_back(timed(i, std::chrono::milliseconds(3 - i), t));
    std::vector<int> all = co_await sluice::gather(std::move(jobs), 1);
    CHECK(all == std::vector<int>{0, 1, 2});
    CHECK(t.log == events{"start 0", "end 0", "start 1", "end 1", "start 2", "end 2"});
}

SLUICE_TEST_CASE("gather(return_exceptions, range) gives a result per child in source order and cancels nothing",
                 "[gather][range][collect]") {
    for (int limit : {2, 100}) {
        INFO("limit " << limit);
        tracker t;
        std::vector<sluice::task<int>> jobs;
        jobs.push_back(timed(0, 6ms, t));
        jobs.push_back(fails_after(1, 1, t));
        jobs.push_back(timed(2, 3ms, t));
        jobs.push_back(fails_after(3, 2, t));
        jobs.push_back(timed(4, 1ms, t));
        std::vector<sluice::result<int>> all = co_await sluice::gather(sluice::return_exceptions, std::move(jobs), limit);
        REQUIRE(all.size() == 5);
        CHECK(all[0].value() == 0);
        CHECK_THROWS_AS(all[1].value(), item_failure);
        CHECK(all[2].value() == 2);
        CHECK_THROWS_AS(all[3].value(), item_failure);
        CHECK(all[4].value() == 4);
        CHECK(t.cancelled == 0);
        CHECK(t.finished == 3);
    }
    tracker t;
    std::vector<sluice::task<int>> unbounded;
    unbounded.push_back(fails_after(0, 1, t));
    unbounded.push_back(timed(1, 2ms, t));
    auto all = co_await sluice::gather(sluice::return_exceptions, std::move(unbounded));
    REQUIRE(all.size() == 2);
    CHECK_FALSE(all[0].has_value());
    CHECK(all[1].value() == 1);
}

SLUICE_TEST_CASE("gather of an empty range returns empty at once, without a loop turn", "[gather][range]") {
    bool other_ran = false;
    auto other = sluice::spawn(set_flag(other_ran));  // runs on the next loop turn
    std::vector<int> none = co_await sluice::gather(std::vector<sluice::task<int>>{});
    CHECK(none.empty());
    std::vector<int> none_bounded = co_await sluice::gather(std::vector<sluice::task<int>>{}, 3);
    CHECK(none_bounded.empty());
    co_await sluice::gather(std::vector<sluice::task<void>>{});
    auto none_collected = co_await sluice::gather(sluice::return_exceptions, std::vector<sluice::task<int>>{});
    CHECK(none_collected.empty());
    CHECK_FALSE(other_ran);
    co_await other;
    CHECK(other_ran);
}

SLUICE_TEST_CASE("gather fail-fast (range): the first error in time wins, siblings are cancelled and awaited first",
                 "[gather][range][error]") {
    counted::reset();
    tracker t;
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(fails_after(0, 2, t));
    jobs.push_back(fails_after(1, 1, t));
    for (int i = 2; i < 5; ++i) jobs.push_back(stuck(i, t));
    int caught = -1;
    int cancelled_when_thrown = -1;
    try {
        co_await sluice::gather(std::move(jobs));
    } catch (const item_failure& failure) {
        caught = failure.id;
        cancelled_when_thrown = t.cancelled;
    }
    CHECK(caught == 1);
    CHECK(cancelled_when_thrown == 4);  // child 0 (in its second yield) and children 2..4 (after cleanup)
    CHECK(position(t.log, "fails 0") == t.log.size());
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("bounded gather fail-fast starts nothing more after the error", "[gather][range][error]") {
    counted::reset();
    tracker t;
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(fails_after(0, 1, t));
    for (int i = 1; i < 50; ++i) jobs.push_back(stuck(i, t));
    int caught = -1;
    try {
        co_await sluice::gather(std::move(jobs), 4);
    } catch (const item_failure& failure) {
        caught = failure.id;
    }
    CHECK(caught == 0);
    CHECK(t.started == 4);
    CHECK(t.cancelled == 3);
    CHECK(counted::alive() == 0);  // the 46 unstarted children were destroyed without running
}

SLUICE_TEST_CASE("gather: a source that throws lets started children finish, then rethrows", "[gather][range][error]") {
    tracker t;
    int source_errors = 0;
    int finished_when_thrown = -1;
    try {
        co_await sluice::gather(three_then_throw(t), 2);
    } catch (const source_failure&) {
        ++source_errors;
        finished_when_thrown = t.finished;
    }
    CHECK(source_errors == 1);
    CHECK(finished_when_thrown == 3);
}

SLUICE_TEST_CASE("cancelling the task awaiting a gather of a range cancels every child, and it sees "
                 "cancelled_error even though every child swallowed the cancel",
                 "[gather][range][cancel]") {
    for (int limit : {3, 100}) {
        INFO("limit " << limit);
        counted::reset();
        tracker t;
        std::vector<sluice::task<int>> jobs;
        for (int i = 0; i < 6; ++i) jobs.push_back(swallows_cancel(i, t));
        auto awaiting = sluice::spawn(sluice::gather(std::move(jobs), limit));
        co_await sluice::yield();
        co_await sluice::yield();
        const int running = std::min(limit, 6);
        REQUIRE(t.started == running);
        awaiting.cancel();
        int cancelled = 0;
        try {
            co_await awaiting;
        } catch (const sluice::cancelled_error&) {
            ++cancelled;
        }
        CHECK(cancelled == 1);
        CHECK(t.cancelled == running);
        CHECK(t.finished == running);  // their values were dropped
        CHECK(t.started == running);   // nothing started after the cancel
        CHECK(counted::alive() == 0);
    }
}


// --- where the results go ---------------------------------------------------------------------------
// Numbers and other trivially copyable results are written straight into the vector gather returns.

SLUICE_TEST_CASE("gather of a sized range of numbers puts its results in one block: the vector's capacity is the "
                 "range's length",
                 "[gather][range][results]") {
    probe running;
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 1000; ++i) jobs.push_back(yields_once(i, running));
    std::vector<int> all = co_await sluice::gather(std::move(jobs));
    REQUIRE(all.size() == 1000);
    CHECK(all.capacity() == 1000);  // not grown as results came (that gives a power of 2 here)
    CHECK(std::is_sorted(all.begin(), all.end()));
    CHECK(all.back() == 999);
}

SLUICE_TEST_CASE("gather over a lazy source keeps each result at its index though later items finish first, while "
                 "its results move to bigger blocks",
                 "[gather][range][results]") {
    // 40,000 results of 24 bytes: through every block move up to the 6 MiB block and several 256 KiB
    // fill steps (each faulted in by one call), with items finishing up to four loop turns out of
    // order.
    constexpr int count = 40'000;
    const auto all = co_await sluice::gather(triples(count));
    REQUIRE(all.size() == count);
    int misplaced = 0;
    for (int i = 0; i < count; ++i) {
        if (all[static_cast<std::size_t>(i)] != std::array<std::int64_t, 3>{i, 2LL * i, 3LL * i}) ++misplaced;
    }
    CHECK(misplaced == 0);
}

SLUICE_TEST_CASE("a gather over a sized source too long to hold at once reserves nothing up front: it runs, and "
                 "ends by its timeout with every started item destroyed",
                 "[gather][range][results][waves]") {
    int pulls = 0;
    probe running;
    const bool timed_out = co_await ended_by_timeout(huge_sized_source(pulls, running));
    CHECK(timed_out);
    CHECK(pulls > 0);
    CHECK(running.now == 0);
}

// --- a long source and the loop ----------------------------------------------------------------------
// An unbounded gather (or a limit far above what the source yields at once) starts its items in
// waves: between two, the loop runs what is ready, so items that finished give their frames back and
// a long source neither holds the loop nor grows memory with its length.

SLUICE_TEST_CASE("an unbounded gather over 100,000 items that yield once keeps a few thousand alive, not the source, "
                 "and lets a task ready before it run while it starts them",
                 "[gather][range][waves]") {
    constexpr int count = 100'000;
    probe running;
    int seen_started = -1;
    auto other = sluice::spawn(record_started(running.max, seen_started));
    std::vector<int> all = co_await sluice::gather(yielding_once(count, running));
    co_await other;
    REQUIRE(all.size() == count);
    CHECK(std::is_sorted(all.begin(), all.end()));
    CHECK(all.back() == count - 1);
    CHECK(running.now == 0);
    // Memory grows with what runs at once, not with the source: a few waves, far below its length.
    CHECK(running.max <= 4096);
    CHECK(seen_started >= 0);
    CHECK(seen_started < count);
}

SLUICE_TEST_CASE("an unbounded gather still runs everything at once: 5,000 items that wait until the last one started "
                 "all finish",
                 "[gather][range][waves]") {
    constexpr int count = 5'000;
    int started = 0;
    sluice::event all_started;
    std::vector<int> all = co_await sluice::gather(waiting_for_all(count, started, all_started));
    CHECK(started == count);
    REQUIRE(all.size() == count);
    CHECK(all.back() == count - 1);
}

SLUICE_TEST_CASE("an unbounded gather over an endless generator ends by its timeout, and every started item is "
                 "destroyed",
                 "[gather][range][waves][cancel]") {
    int pulls = 0;
    probe running;
    const bool timed_out = co_await ended_by_timeout(endless(pulls, running));
    CHECK(timed_out);
    CHECK(pulls > 0);
    CHECK(running.now == 0);
    CHECK(running.max <= 4096);
}

SLUICE_TEST_CASE("an igather with a limit of a million over an endless async_generator hands out results while it "
                 "pulls, keeps a few thousand alive, and a consumer that stops leaves none",
                 "[igather][waves][async]") {
    constexpr int wanted = 10'000;
    int pulls = 0;
    probe running;
    int taken = 0;
    co_await take_from_endless_async(wanted, pulls, running, taken);
    CHECK(taken == wanted);
    CHECK(pulls >= wanted);
    CHECK(running.max <= 4096);
    // The dropped stream's items finish their cancellation on the loop.
    co_await until([&running] { return running.now == 0; });
    CHECK(running.now == 0);
}

SLUICE_TEST_CASE("cancelling an unbounded gather while its next wave waits for its turn pulls nothing more and "
                 "leaks no frame",
                 "[gather][range][waves][cancel]") {
    constexpr int count = 100'000;
    counted::reset();
    tracker t;
    int pulls = 0;
    auto awaiting = sluice::spawn(sluice::gather(cut_short(count, pulls, t)));
    // Until the first wave ran (its items wait 20 s); the rest of the source waits for later turns,
    // a wave per turn at most (a shuffled ready queue may run this task before the gather starts).
    while (t.started == 0) co_await sluice::yield();
    REQUIRE(t.started < count);
    awaiting.cancel();
    int cancelled = 0;
    try {
        (void)co_await awaiting;
    } catch (const sluice::cancelled_error&) {
        ++cancelled;
    }
    CHECK(cancelled == 1);
    CHECK(pulls == t.started);  // nothing pulled after the cancel, nothing pulled and not started
    CHECK(t.cancelled == t.started);
    CHECK(t.finished == t.started);
    CHECK(counted::alive() == 0);
}

// --- invalid arguments ----------------------------------------------------------------------------

SLUICE_TEST_CASE("gather(range, limit) with limit 0 or -1 throws std::invalid_argument at the call", "[gather][args]") {
    tracker t;
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(timed(0, 1ms, t));
    CHECK_THROWS_AS(sluice::gather(jobs, 0), std::invalid_argument);
    CHECK_THROWS_AS(sluice::gather(jobs, -1), std::invalid_argument);
    CHECK_THROWS_AS(sluice::gather(sluice::return_exceptions, jobs, 0), std::invalid_argument);
    CHECK(t.started == 0);
    co_return;
}
