// Tests of sluice::limited_as_completed and sluice::as_completed (sluice/as_completed.hpp).
//
// Coroutines are free functions taking what they need as parameters, never capturing lambdas.
// Timing assertions are lower bounds only; the order of events is asserted through a log of
// "start i" / "end i" entries. Items that must be cut short sleep 20 s, so a cancellation that does
// not happen shows as a CTest TIMEOUT (or as a missing "cancelled" record), never as a flaky bound.
// Frames are counted with sluice_test::counted passed *by value* to every item coroutine: the copy
// lives in the frame, so alive() counts frames whether or not they ever ran.
// Never co_await inside a Catch macro: GCC 12 evaluates the operand of the macro's trailing
// `(false) && (expr)` as a second suspension point (a second co_await that waits for another result).

#include <sluice/as_completed.hpp>
#include <sluice/async_generator.hpp>
#include <sluice/cancellation.hpp>
#include <sluice/event.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/generator.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/engine_items.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

using sluice_test::counted;
using namespace sluice_test::engine_items;

/// Returns `id` after a yield when `fast`, else sleeps 20 s; a cancellation is recorded and rethrown.
sluice::task<int> fast_or_stuck(int id, bool fast, tracker& t, [[maybe_unused]] counted frame = counted()) {
    ++t.started;
    t.log.push_back(start_of(id));
    try {
        if (fast) {
            co_await sluice::yield();
        } else {
            co_await sluice::sleep_for(20s);
        }
    } catch (const sluice::cancelled_error&) {
        ++t.cancelled;
        t.log.push_back("cancelled " + std::to_string(id));
        throw;
    }
    ++t.finished;
    t.log.push_back(end_of(id));
    co_return id;
}

/// Fails with item_failure(id) after a yield when `fail`, else returns id.
sluice::task<int> maybe_failing(int id, bool fail) {
    co_await sluice::yield();
    if (fail) throw item_failure(id);
    co_return id;
}

sluice::task<int> after_yields(int id, int yields) {
    for (int i = 0; i < yields; ++i) co_await sluice::yield();
    co_return id;
}

/// An infinite source without std::views: item i is fast for i < fast_count, else stuck for 20 s.
/// `pulls` counts the items it produced; its frame is counted too.
sluice::generator<sluice::task<int>> numbered_forever(int& pulls, int fast_count, tracker& t) {
    counted frame;
    for (int i = 0;; ++i) {
        ++pulls;
        co_yield fast_or_stuck(i, i < fast_count, t);
    }
}

sluice::generator<sluice::task<int>> counting_up(int count, int& pulls, tracker& t) {
    for (int i = 0; i < count; ++i) {
        ++pulls;
        co_yield timed(i, std::chrono::microseconds(100 * (count - i)), t);
    }
}

using sleep_awaitable = decltype(sluice::sleep_for(1ms));

using gate_wait = decltype(std::declval<sluice::event&>().wait());

/// A user-defined, non-task awaitable: completes with `value` once its gate is set, by way of the
/// event's own awaiter; counts in `started` that it began waiting.
class gated_value {
public:
    gated_value(int value, sluice::event& gate, int& started) noexcept : value_(value), gate_(&gate), started_(&started) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        ++*started_;
        wait_.emplace(gate_->wait());
        return !wait_->await_ready() && wait_->await_suspend(waiter);
    }
    int await_resume() {
        wait_->await_resume();
        return value_;
    }

private:
    int value_;
    sluice::event* gate_;
    int* started_;
    std::optional<gate_wait> wait_;
};

/// Opens gates[order[k]] once every item has started and the consumer holds k results: the items
/// complete in `order`, however the loop schedules them (no sleep races another).
sluice::task<void> open_in_order(std::array<sluice::event, 3>& gates, std::array<int, 3> order, const int& started,
                                 const std::vector<int>& got) {
    co_await until([&] { return started == 3; });
    for (std::size_t k = 0; k < order.size(); ++k) {
        co_await until([&] { return got.size() == k; });
        gates[static_cast<std::size_t>(order[k])].set();
    }
}

/// One consumer taking one result of `range` (for the two-consumers test).
template <class Range>
sluice::task<int> take_one(Range& range) {
    co_return co_await *range.begin();
}

}  // namespace

// --- sources ------------------------------------------------------------------------------------------

SLUICE_TEST_CASE("limited_as_completed over an lvalue vector of tasks yields every result once", "[as_completed][source]") {
    counted::reset();
    tracker t;
    auto items = timed_items({3, 1, 2, 1, 3}, t);
    std::vector<int> got;
    for (auto next : sluice::limited_as_completed(items, 2)) got.push_back(co_await next);
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(t.finished == 5);
    // The range used the vector in place and moved every task out of it; their frames are gone.
    CHECK(items.size() == 5);
    CHECK(std::none_of(items.begin(), items.end(), [](const auto& item) { return item.valid(); }));
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("limited_as_completed over an rvalue vector of tasks yields every result once", "[as_completed][source]") {
    counted::reset();
    tracker t;
    std::vector<int> got;
    for (auto next : sluice::limited_as_completed(timed_items({3, 1, 2, 1, 3}, t), 2)) got.push_back(co_await next);
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("limited_as_completed over a finite generator of tasks pulls each item once", "[as_completed][source]") {
    counted::reset();
    tracker t;
    int pulls = 0;
    std::vector<int> got;
    for (auto next : sluice::limited_as_completed(counting_up(20, pulls, t), 4)) got.push_back(co_await next);
    std::sort(got.begin(), got.end());
    std::vector<int> expected(20);
    for (int i = 0; i < 20; ++i) expected[static_cast<std::size_t>(i)] = i;
    CHECK(got == expected);
    CHECK(pulls == 20);
    CHECK(counted::alive() == 0);
}

#if !defined(__clang__)
// Clang 14 with libstdc++ 12 cannot compile std::views pipelines (views::iota | views::transform);
// the generator-based test below checks the same behaviour under both compilers.
SLUICE_TEST_CASE("limited_as_completed over an infinite lazy view: taking 3 results pulls limit + 3 items",
                 "[as_completed][source][infinite]") {
    counted::reset();
    tracker t;
    int pulls = 0;
    constexpr int limit = 4;
    {
        auto jobs = std::views::iota(0) | std::views::transform([&](int i) {
                        ++pulls;
                        return fast_or_stuck(i, i < 3, t);
                    });
        int taken = 0;
        for (auto next : sluice::limited_as_completed(jobs, limit)) {
            co_await next;
            if (++taken == 3) break;
        }
        CHECK(pulls == limit + 3);
    }
    co_await until([&] { return t.cancelled == limit; });
    CHECK(pulls == limit + 3);
    CHECK(t.started == limit + 3);
    CHECK(t.cancelled == limit);
    CHECK(counted::alive() == 0);
}
#endif

SLUICE_TEST_CASE("limited_as_completed over an infinite generator: taking 3 results pulls limit + 3, cancels the rest, "
                 "leaks nothing",
                 "[as_completed][source][infinite]") {
    counted::reset();
    tracker t;
    int pulls = 0;
    constexpr int limit = 4;
    int taken = 0;
    for (auto next : sluice::limited_as_completed(numbered_forever(pulls, 3, t), limit)) {
        co_await next;
        if (++taken == 3) break;
    }
    // Initial fill + one refill per result taken; never a read-ahead.
    CHECK(pulls == limit + 3);
    // The in-flight items (sleeping 20 s) were cancelled; they finish within this run, not in 20 s.
    co_await until([&] { return t.cancelled == limit; });
    CHECK(pulls == limit + 3);
    CHECK(t.started == limit + 3);
    CHECK(t.finished == 3);
    CHECK(t.cancelled == limit);
    CHECK(counted::alive() == 0);  // every item frame and the generator's frame
}

SLUICE_TEST_CASE("limited_as_completed over a vector of sleep_for awaitables yields void results", "[as_completed][source]") {
    std::vector<sleep_awaitable> sleeps;
    for (int i = 1; i <= 5; ++i) sleeps.push_back(sluice::sleep_for(std::chrono::milliseconds(i)));
    const auto start = steady::now();
    int count = 0;
    auto range = sluice::limited_as_completed(std::move(sleeps), 2);
    static_assert(std::is_void_v<decltype(range)::value_type>);
    for (auto next : range) {
        co_await next;
        ++count;
    }
    CHECK(count == 5);
    CHECK(steady::now() - start >= 5ms);
}

SLUICE_TEST_CASE("limited_as_completed over a user-defined awaitable type yields its results in completion order",
                 "[as_completed][source]") {
    // The items finish in the order 1, 2, 0 because their gates open in that order, each only after
    // the consumer took the previous result (sleeps of 4, 8 and 12 ms raced each other on a loaded
    // machine). A range yielding in source order would wait on item 0 forever: a CTest TIMEOUT.
    std::array<sluice::event, 3> gates;
    int started = 0;
    std::vector<gated_value> jobs;
    for (int i = 0; i < 3; ++i) jobs.emplace_back(i, gates[static_cast<std::size_t>(i)], started);
    std::vector<int> got;
    auto opener = sluice::spawn(open_in_order(gates, {1, 2, 0}, started, got));
    for (auto next : sluice::limited_as_completed(jobs, 3)) got.push_back(co_await next);
    co_await opener;
    CHECK(got == std::vector<int>{1, 2, 0});
}

SLUICE_TEST_CASE("limited_as_completed moves move-only results out", "[as_completed][source]") {
    std::vector<sluice::task<std::unique_ptr<int>>> jobs;
    for (int i = 0; i < 10; ++i) jobs.push_back(boxed(i));
    int sum = 0;
    for (auto next : sluice::limited_as_completed(std::move(jobs), 3)) {
        std::unique_ptr<int> value = co_await next;
        REQUIRE(value != nullptr);
        sum += *value;
    }
    CHECK(sum == 45);
}

// --- the limit --------------------------------------------------------------------------------------

SLUICE_TEST_CASE("limited_as_completed never has more than limit items in flight (limits 1, 3 and 50 over 500 items)",
                 "[as_completed][limit]") {
    std::mt19937 random(20240611);
    for (int limit : {1, 3, 50}) {
        INFO("limit " << limit);
        counted::reset();
        probe p;
        std::uniform_int_distribution<int> micros(0, 300);
        std::vector<sluice::task<int>> jobs;
        for (int i = 0; i < 500; ++i) jobs.push_back(probed(i, std::chrono::microseconds(micros(random)), p));
        int count = 0;
        for (auto next : sluice::limited_as_completed(std::move(jobs), limit)) {
            co_await next;
            ++count;
        }
        CHECK(count == 500);
        CHECK(p.max <= limit);
        CHECK(p.max == limit);  // and the limit is actually used
        CHECK(p.now == 0);
        CHECK(counted::alive() == 0);
    }
}

SLUICE_TEST_CASE("limited_as_completed refills a freed slot at once, not in batches", "[as_completed][limit]") {
    // Durations in loop turns, not milliseconds: a stall of the machine cannot reorder them.
    tracker t;
    for (auto next : sluice::limited_as_completed(yielding_items({30, 10, 10, 10}, t), 2)) co_await next;
    // Item 3 waits only for item 2's slot (freed at turn ~20), not for the slow item 0 (turn 30).
    CHECK(position(t.log, start_of(2)) < position(t.log, end_of(0)));
    CHECK(position(t.log, start_of(3)) < position(t.log, end_of(0)));
    CHECK(t.finished == 4);
}

SLUICE_TEST_CASE("limited_as_completed with limit 1 runs items strictly one after another in source order",
                 "[as_completed][limit]") {
    tracker t;
    std::vector<int> got;
    for (auto next : sluice::limited_as_completed(timed_items({3, 1, 2, 1}, t), 1)) got.push_back(co_await next);
    CHECK(got == std::vector<int>{0, 1, 2, 3});
    CHECK(t.log == events{"start 0", "end 0", "start 1", "end 1", "start 2", "end 2", "start 3", "end 3"});
}

SLUICE_TEST_CASE("limited_as_completed with limit >= count starts every item before any finishes", "[as_completed][limit]") {
    for (int limit : {5, 6, 1000}) {
        INFO("limit " << limit);
        tracker t;
        std::vector<int> got;
        for (auto next : sluice::limited_as_completed(yielding_items({5, 1, 4, 2, 3}, t), limit)) got.push_back(co_await next);
        REQUIRE(t.log.size() == 10);
        CHECK(events(t.log.begin(), t.log.begin() + 5) == events{"start 0", "start 1", "start 2", "start 3", "start 4"});
        CHECK(got == std::vector<int>{1, 3, 4, 2, 0});  // completion order
    }
}

SLUICE_TEST_CASE("as_completed starts every item before any finishes and yields in completion order", "[as_completed][limit]") {
    tracker t;
    std::vector<int> got;
    for (auto next : sluice::as_completed(yielding_items({5, 1, 4, 2, 3}, t))) got.push_back(co_await next);
    REQUIRE(t.log.size() == 10);
    CHECK(events(t.log.begin(), t.log.begin() + 5) == events{"start 0", "start 1", "start 2", "start 3", "start 4"});
    CHECK(got == std::vector<int>{1, 3, 4, 2, 0});
}

SLUICE_TEST_CASE("limited_as_completed processes each of 10,000 items exactly once", "[as_completed][limit]") {
    constexpr int count = 10'000;
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < count; ++i) jobs.push_back(after_yields(i, i % 3));
    std::vector<int> seen(count, 0);
    std::int64_t sum = 0;
    for (auto next : sluice::limited_as_completed(std::move(jobs), 10)) {
        const int id = co_await next;
        REQUIRE(id >= 0);
        REQUIRE(id < count);
        ++seen[static_cast<std::size_t>(id)];
        sum += id;
    }
    CHECK(sum == std::int64_t{count} * (count - 1) / 2);
    CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
}

// --- errors -------------------------------------------------------------------------------------------

SLUICE_TEST_CASE("limited_as_completed: a source that throws while being pulled lets started items finish and be "
                 "delivered, then rethrows",
                 "[as_completed][error]") {
    tracker t;
    std::vector<int> got;
    int source_errors = 0;
    int finished_when_thrown = -1;
    try {
        for (auto next : sluice::limited_as_completed(five_then_throw(t), 3)) got.push_back(co_await next);
    } catch (const source_failure&) {
        ++source_errors;
        finished_when_thrown = t.finished;
    }
    CHECK(source_errors == 1);
    CHECK(finished_when_thrown == 5);
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
}

SLUICE_TEST_CASE("limited_as_completed delivers an item's exception at that item and the others carry on",
                 "[as_completed][error]") {
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 8; ++i) jobs.push_back(maybe_failing(i, i == 1 || i == 5));
    std::vector<int> values;
    std::vector<int> failures;
    for (auto next : sluice::limited_as_completed(std::move(jobs), 3)) {
        try {
            values.push_back(co_await next);
        } catch (const item_failure& failure) {
            failures.push_back(failure.id);
        }
    }
    std::sort(values.begin(), values.end());
    CHECK(values == std::vector<int>{0, 2, 3, 4, 6, 7});
    CHECK(failures == std::vector<int>{1, 5});
}

// --- stopping early -------------------------------------------------------------------------------

SLUICE_TEST_CASE("breaking out of limited_as_completed cancels in-flight items and destroys unstarted ones without "
                 "running them",
                 "[as_completed][stop]") {
    counted::reset();
    tracker t;
    constexpr int limit = 5;
    {
        std::vector<sluice::task<int>> jobs;
        for (int i = 0; i < 100; ++i) jobs.push_back(fast_or_stuck(i, i < 3, t));
        int taken = 0;
        for (auto next : sluice::limited_as_completed(std::move(jobs), limit)) {
            co_await next;
            if (++taken == 3) break;
        }
    }
    // Started: the first fill, plus one refill per result taken. The other 92 never ran.
    CHECK(t.started == limit + 3);
    co_await until([&] { return t.cancelled == limit; });
    CHECK(t.started == limit + 3);
    CHECK(t.finished == 3);
    CHECK(t.cancelled == limit);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("breaking out of limited_as_completed over an lvalue vector leaves the unstarted tasks in it unrun",
                 "[as_completed][stop]") {
    counted::reset();
    tracker t;
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 100; ++i) jobs.push_back(fast_or_stuck(i, i < 3, t));
    {
        int taken = 0;
        for (auto next : sluice::limited_as_completed(jobs, 5)) {
            co_await next;
            if (++taken == 3) break;
        }
    }
    co_await until([&] { return t.cancelled == 5; });
    CHECK(t.started == 8);
    CHECK(t.cancelled == 5);
    CHECK(counted::alive() == 92);  // the frames still owned by the vector
    const auto still_owned = std::count_if(jobs.begin(), jobs.end(), [](const auto& job) { return job.valid(); });
    CHECK(still_owned == 92);
    jobs.clear();
    CHECK(counted::alive() == 0);
    CHECK(t.started == 8);
}

namespace {
/// Starts three items that take 2 ms to clean up after a cancel, then abandons them.
sluice::task<void> abandon_three_items(tracker& t) {
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 4; ++i) jobs.push_back(stuck(i, t));
    auto range = sluice::limited_as_completed(std::move(jobs), 3);
    const bool has_results = range.begin() != range.end();  // starts three items
    CHECK(has_results);
    co_return;
}
}  // namespace

TEST_CASE("run does not return before the items of an abandoned limited_as_completed finished cancelling",
          "[as_completed][stop]") {
    counted::reset();
    tracker t;
    sluice::run(abandon_three_items(t));
    CHECK(t.started == 3);
    CHECK(t.cancelled == 3);  // each finished its 2 ms of cleanup before run returned
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("co_await range.close() returns only after in-flight items finished their cancellation",
                 "[as_completed][stop]") {
    counted::reset();
    tracker t;
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(fast_or_stuck(0, true, t));
    for (int i = 1; i < 10; ++i) jobs.push_back(stuck(i, t));
    auto range = sluice::limited_as_completed(std::move(jobs), 4);
    auto it = range.begin();
    REQUIRE(it != range.end());
    const int first = co_await *it;
    CHECK(first == 0);
    // Items 1..4 are in flight (item 4 refilled the slot of item 0).
    co_await range.close();
    CHECK(t.started == 5);
    CHECK(t.cancelled == 4);  // their 2 ms of cleanup is over
    CHECK(std::count_if(t.log.begin(), t.log.end(), [](const std::string& e) { return e.rfind("cleaned up", 0) == 0; }) == 4);
    // The range has ended: nothing more is started or delivered.
    CHECK(range.begin() == range.end());
    CHECK(t.started == 5);
    CHECK(counted::alive() == 5);  // the five unstarted frames, still in the range's vector
}

// --- the consumer -------------------------------------------------------------------------------------

SLUICE_TEST_CASE("wait_for around one co_await next abandons only that retrieval, the items keep running",
                 "[as_completed][consumer]") {
    tracker t;
    auto range = sluice::limited_as_completed(timed_items({20, 20, 20, 20}, t), 2);
    auto it = range.begin();
    REQUIRE(it != range.end());
    auto next = *it;
    int timeouts = 0;
    try {
        co_await sluice::wait_for(next, 5ms);
    } catch (const sluice::timeout_error&) {
        ++timeouts;
    }
    CHECK(timeouts == 1);
    CHECK(t.finished == 0);
    // The next retrieval gets the next finished result; every result is eventually delivered.
    std::vector<int> got;
    for (auto again : range) got.push_back(co_await again);
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 3});
    CHECK(t.finished == 4);
    CHECK(t.cancelled == 0);
}

SLUICE_TEST_CASE("pausing consumption does not pause the items already running", "[as_completed][consumer]") {
    tracker t;
    auto range = sluice::limited_as_completed(timed_items({10, 10, 10, 10, 10, 10}, t), 3);
    auto it = range.begin();
    REQUIRE(it != range.end());  // the first three items start here
    // Wait for the three running items to end while nobody consumes (a sleep of 12 units against
    // items of 10 raced their start on a loaded machine); items that paused with consumption would
    // never end: a CTest TIMEOUT.
    co_await until([&] { return t.finished == 3; });
    CHECK(t.started == 3);  // no slot was refilled: nobody took a result yet
    t.log.push_back("consumer resumes");
    for (auto next : range) t.log.push_back("took " + std::to_string(co_await next));
    // The three finished results came at once: before any item started after the pause finished.
    CHECK(position(t.log, "took 0") < position(t.log, end_of(3)));
    CHECK(position(t.log, "took 1") < position(t.log, end_of(3)));
    CHECK(position(t.log, "took 2") < position(t.log, end_of(3)));
    CHECK(position(t.log, "consumer resumes") < position(t.log, start_of(3)));
    CHECK(t.finished == 6);
}

SLUICE_TEST_CASE("two consumers awaiting one limited_as_completed range at once: the second gets std::logic_error",
                 "[as_completed][consumer]") {
    tracker t;
    auto range = sluice::limited_as_completed(timed_items({10, 10, 10}, t), 2);
    auto first = sluice::spawn(take_one(range));
    co_await sluice::yield();  // the first consumer now waits inside co_await next
    int logic_errors = 0;
    try {
        co_await *range.begin();
    } catch (const std::logic_error&) {
        ++logic_errors;
    }
    CHECK(logic_errors == 1);
    const int first_result = co_await first;
    CHECK((first_result == 0 || first_result == 1));
    int rest = 0;
    for (auto next : range) {
        co_await next;
        ++rest;
    }
    CHECK(rest == 2);
}

SLUICE_TEST_CASE("awaiting a limited_as_completed result past the end throws std::logic_error", "[as_completed][consumer]") {
    tracker t;
    auto range = sluice::limited_as_completed(timed_items({1}, t), 1);
    int count = 0;
    for (auto next : range) {
        co_await next;
        ++count;
    }
    CHECK(count == 1);
    CHECK(range.begin() == range.end());
    int logic_errors = 0;
    try {
        co_await *range.begin();
    } catch (const std::logic_error&) {
        ++logic_errors;
    }
    CHECK(logic_errors == 1);
}

SLUICE_TEST_CASE("a moved-from task in the source is delivered as std::logic_error at that item, the others carry on",
                 "[as_completed][error]") {
    tracker t;
    auto jobs = timed_items({1, 1, 1}, t);
    sluice::task<int> taken = std::move(jobs[1]);
    std::vector<int> values;
    int logic_errors = 0;
    for (auto next : sluice::limited_as_completed(jobs, 2)) {
        try {
            values.push_back(co_await next);
        } catch (const std::logic_error&) {
            ++logic_errors;
        }
    }
    std::sort(values.begin(), values.end());
    CHECK(values == std::vector<int>{0, 2});
    CHECK(logic_errors == 1);
}

namespace {
template <class Source>
concept accepted_by_limited_as_completed = requires(Source&& source) {
    sluice::limited_as_completed(std::forward<Source>(source), 1);
};
}  // namespace

// limited_as_completed takes synchronous ranges only; an async_generator source goes to igather.
static_assert(accepted_by_limited_as_completed<std::vector<sluice::task<int>>>);
static_assert(accepted_by_limited_as_completed<std::vector<sluice::task<int>>&>);
static_assert(accepted_by_limited_as_completed<sluice::generator<sluice::task<int>>>);
static_assert(!accepted_by_limited_as_completed<sluice::async_generator<sluice::task<int>>>);

// --- invalid arguments ----------------------------------------------------------------------------

SLUICE_TEST_CASE("limited_as_completed with limit 0 or -1 throws std::invalid_argument at the call", "[as_completed][args]") {
    tracker t;
    auto jobs = timed_items({1, 1}, t);
    CHECK_THROWS_AS(sluice::limited_as_completed(jobs, 0), std::invalid_argument);
    CHECK_THROWS_AS(sluice::limited_as_completed(jobs, -1), std::invalid_argument);
    CHECK_THROWS_AS(sluice::limited_as_completed(std::move(jobs), 0), std::invalid_argument);
    CHECK(t.started == 0);
    co_return;
}
