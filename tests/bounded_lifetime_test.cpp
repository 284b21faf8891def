// Tests of the bounded engine's item lifetimes (issue 8): a stream kept outside `run` or passed to
// the main task by value, an async source that yields after a stop, a task that already finished
// (or is already awaited) used as an item or handed to wait_for, and the empty variadic gather.
//
// Built with ASan, this file turns on detect_stack_use_after_return (see __asan_default_options):
// the event loop lives on run()'s stack, so a write into a dead loop is reported as such instead of
// landing in reused stack memory.

#include <sluice/as_completed.hpp>
#include <sluice/async_generator.hpp>
#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/gather.hpp>
#include <sluice/igather.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/engine_items.hpp"

extern "C" const char* __asan_default_options();
extern "C" const char* __asan_default_options() { return "detect_stack_use_after_return=1"; }

using namespace std::chrono_literals;
using namespace sluice_test::engine_items;
using sluice_test::counted;

namespace {

sluice::task<int> quick(int id, tracker& t, [[maybe_unused]] counted frame = counted()) {
    ++t.started;
    co_await sluice::yield();
    ++t.finished;
    co_return id;
}

/// One quick item, then four that sleep 20 s and take 2 ms to clean up after a cancel. At limit 3,
/// taking the first result leaves items 1..3 asleep and item 4 unstarted.
std::vector<sluice::task<int>> one_quick_four_stuck(tracker& t) {
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(quick(0, t));
    for (int i = 1; i < 5; ++i) jobs.push_back(stuck(i, t));
    return jobs;
}

using completion_range_t = decltype(sluice::limited_as_completed(std::vector<sluice::task<int>>{}, 1));
using igather_stream_t = decltype(sluice::igather(std::vector<sluice::task<int>>{}, 1));

sluice::task<void> keep_range_outside(std::optional<completion_range_t>& range, tracker& t) {
    range.emplace(sluice::limited_as_completed(one_quick_four_stuck(t), 3));
    auto it = range->begin();
    const int first = co_await *it;  // items 1..3 now sleep
    CHECK(first == 0);
}

sluice::task<void> consume_by_value(completion_range_t range) {
    auto it = range.begin();
    const int first = co_await *it;
    CHECK(first == 0);
}

sluice::task<void> keep_stream_outside(std::optional<igather_stream_t>& stream) {
    auto first = co_await stream->next();
    CHECK(first.has_value());
}

}  // namespace

// --- defect 1: run() returns while a stored or by-value stream's items are alive ---------------------

TEST_CASE("a limited_as_completed range kept outside run: run waits for its items and destroying it later touches no loop",
          "[bounded][lifetime]") {
    counted::reset();
    tracker t;
    std::optional<completion_range_t> range;
    sluice::run(keep_range_outside(range, t));
    // The main task ended with three items asleep: run cancelled them and waited for their cleanup.
    CHECK(t.started == 4);
    CHECK(t.cancelled == 3);
    CHECK(counted::alive() == 1);  // item 4, never started, still in the range's vector
    range.reset();                 // the loop is gone: this must not touch it
    CHECK(counted::alive() == 0);
}

TEST_CASE("a limited_as_completed range passed by value to the main task: run waits for its items and none leaks",
          "[bounded][lifetime]") {
    counted::reset();
    tracker t;
    sluice::run(consume_by_value(sluice::limited_as_completed(one_quick_four_stuck(t), 3)));
    CHECK(t.started == 4);
    CHECK(t.cancelled == 3);
    CHECK(counted::alive() == 0);  // the range, item 4 with it, died with the main task's frame
}

TEST_CASE("an igather stream kept outside run: run waits for its items and destroying it later touches no loop",
          "[bounded][lifetime]") {
    counted::reset();
    tracker t;
    std::optional<igather_stream_t> stream;
    stream.emplace(sluice::igather(one_quick_four_stuck(t), 3));
    sluice::run(keep_stream_outside(stream));
    CHECK(t.started == 4);
    CHECK(t.cancelled == 3);
    CHECK(counted::alive() == 1);
    stream.reset();
    CHECK(counted::alive() == 0);
}

// --- defect 2: igather over an async_generator starts an item pulled after a stop -------------------

namespace {

/// Swallows the cancel of its first pull and yields an item anyway, then an item that must never run.
sluice::async_generator<sluice::task<int>> yields_after_cancel(tracker& t) {
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        t.log.push_back("pull cancelled");
    }
    co_yield timed(0, 50ms, t);
    co_yield timed(1, 50ms, t);
}

sluice::task<void> first_result(sluice::async_generator<int>& stream) {
    auto r = co_await stream.next();
    (void)r;
}

}  // namespace

SLUICE_TEST_CASE("igather over an async_generator: an item pulled after the consumer was cancelled is destroyed unstarted",
                 "[bounded][lifetime][igather]") {
    counted::reset();
    tracker t;
    {
        auto stream = sluice::igather(yields_after_cancel(t), 2);
        bool timed_out = false;
        try {
            co_await sluice::wait_for(first_result(stream), 5ms);
        } catch (const sluice::timeout_error&) {
            timed_out = true;
        }
        CHECK(timed_out);
        REQUIRE(t.log.size() == 1);
        CHECK(t.log[0] == "pull cancelled");
        CHECK(t.started == 0);  // the item yielded after the stop never ran
    }
    // (The generator, suspended at its co_yield, kept that expression's temporaries until now.)
    CHECK(counted::alive() == 0);
}

// --- defect 3: a finished or already-awaited task as an item or wait_for's inner --------------------

namespace {

sluice::task<sluice::task<int>> make_finished(int value) {
    sluice::task<int> done = [](int v) -> sluice::task<int> { co_return v; }(value);
    const int seen = co_await done;
    CHECK(seen == value);
    co_return std::move(done);
}

sluice::task<sluice::task<int>> make_failed() {
    sluice::task<int> done = []() -> sluice::task<int> {
        co_await std::suspend_never{};
        throw item_failure(7);
    }();
    try {
        (void)co_await done;
    } catch (const item_failure&) {
    }
    co_return std::move(done);
}

sluice::task<void> await_ref(sluice::task<int>& t, bool& resumed) {
    (void)co_await t;
    resumed = true;
}

}  // namespace

SLUICE_TEST_CASE("a finished task as an item delivers its value or exception at once on every face",
                 "[bounded][lifetime][item]") {
    {
        std::vector<sluice::task<int>> jobs;
        jobs.push_back(co_await make_finished(1));
        jobs.push_back(co_await make_failed());
        int values = 0;
        int errors = 0;
        for (auto next : sluice::limited_as_completed(std::move(jobs), 2)) {
            try {
                values += co_await next;
            } catch (const item_failure& e) {
                CHECK(e.id == 7);
                ++errors;
            }
        }
        CHECK(values == 1);
        CHECK(errors == 1);
    }
    {
        std::vector<sluice::task<int>> jobs;
        jobs.push_back(co_await make_finished(2));
        jobs.push_back(co_await make_finished(3));
        auto results = sluice::igather(std::move(jobs), 1, {.order = sluice::order::submission});
        int sum = 0;
        while (auto r = co_await results.next()) sum = sum * 10 + *r;
        CHECK(sum == 23);
    }
    {
        std::vector<sluice::task<int>> jobs;
        jobs.push_back(co_await make_finished(5));
        jobs.push_back(co_await make_finished(6));
        const std::vector<int> all = co_await sluice::gather(std::move(jobs));
        CHECK(all == std::vector<int>{5, 6});
    }
    {
        const int value = co_await sluice::wait_for(co_await make_finished(8), 1s);
        CHECK(value == 8);
        // A finished task is complete: even a non-positive timeout returns its value.
        const int at_once = co_await sluice::wait_for(co_await make_finished(9), 0s);
        CHECK(at_once == 9);
        bool failed = false;
        try {
            (void)co_await sluice::wait_for(co_await make_failed(), 1s);
        } catch (const item_failure&) {
            failed = true;
        }
        CHECK(failed);
    }
}

SLUICE_TEST_CASE("a task already being awaited as an item or as the inner of wait_for is a std::logic_error at that item",
                 "[bounded][lifetime][item]") {
    tracker t;
    sluice::task<int> busy = timed(0, 10ms, t);
    bool resumed = false;
    auto watcher = sluice::spawn(await_ref(busy, resumed));
    co_await sluice::yield();
    co_await sluice::yield();
    REQUIRE(t.started == 1);  // `busy` now runs on behalf of the watcher
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(std::move(busy));
    jobs.push_back(timed(1, 1ms, t));
    auto range = sluice::limited_as_completed(std::move(jobs), 2);
    int logic_errors = 0;
    int values = 0;
    for (auto next : range) {
        try {
            values += co_await next;
        } catch (const std::logic_error&) {
            ++logic_errors;
        }
    }
    CHECK(logic_errors == 1);
    CHECK(values == 1);
    co_await watcher;  // the first awaiter still gets its result
    CHECK(resumed);
    CHECK(t.started == 2);

    sluice::task<int> busy2 = timed(2, 10ms, t);
    bool resumed2 = false;
    auto watcher2 = sluice::spawn(await_ref(busy2, resumed2));
    co_await sluice::yield();
    co_await sluice::yield();
    {
        // The wait_for task owns `busy2` (its frame): keep it alive until the watcher is done.
        auto waiting = sluice::wait_for(std::move(busy2), 1s);
        bool logic_error = false;
        try {
            (void)co_await waiting;
        } catch (const std::logic_error&) {
            logic_error = true;
        }
        CHECK(logic_error);
        co_await watcher2;
        CHECK(resumed2);
    }
}

// --- defect 4: empty variadic gather ------------------------------------------------------------------

SLUICE_TEST_CASE("gather() and gather(return_exceptions) with no arguments give std::tuple<>{} at once",
                 "[bounded][gather]") {
    auto none = co_await sluice::gather();
    static_assert(std::is_same_v<decltype(none), std::tuple<>>);
    auto none_collected = co_await sluice::gather(sluice::return_exceptions);
    static_assert(std::is_same_v<decltype(none_collected), std::tuple<>>);
    CHECK(none == std::tuple<>{});
}
