// Tests of sluice::igather (sluice/igather.hpp): completion and submission order, windows, fail-fast
// and collect, every kind of source, and stopping early.
//
// Coroutines are free functions taking what they need as parameters, never capturing lambdas.
// Timing assertions are lower bounds only; the order of events is asserted through a log of
// "start i" / "end i" entries. Items that must be cut short sleep 20 s, so a cancellation that does
// not happen shows as a CTest TIMEOUT (or as a missing "cancelled" record), never as a flaky bound.
// Frames are counted with sluice_test::counted passed *by value* to every item coroutine: the copy
// lives in the frame, so alive() counts frames whether or not they ever ran.
// Never co_await inside a Catch macro: GCC 12 evaluates the operand of the macro's trailing
// `(false) && (expr)` as a second suspension point.

#include <sluice/async_generator.hpp>
#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/generator.hpp>
#include <sluice/igather.hpp>
#include <sluice/result.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <ranges>
#include <stdexcept>
#include <string>
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

/// Item i of the early-stop tests: fast (one yield) for i < fast_count, else stuck.
sluice::task<int> fast_or_stuck(int id, int fast_count, tracker& t) {
    if (id < fast_count) return after_yields(id, 1, t);
    return stuck(id, t);
}

sluice::task<void> no_value(int& done) {
    co_await sluice::yield();
    ++done;
}

/// An infinite source without std::views: item i is fast for i < fast_count, else stuck.
sluice::generator<sluice::task<int>> numbered_forever(int& pulls, int fast_count, tracker& t) {
    counted frame;
    for (int i = 0;; ++i) {
        ++pulls;
        co_yield fast_or_stuck(i, fast_count, t);
    }
}

/// The fail-fast source: item 0 fails after 2 yields, item 1 after 1 yield, the rest are stuck.
sluice::generator<sluice::task<int>> first_error_in_time(int& pulls, tracker& t) {
    ++pulls;
    co_yield fails_after(0, 2, t);
    ++pulls;
    co_yield fails_after(1, 1, t);
    for (int i = 2; i < 20; ++i) {
        ++pulls;
        co_yield stuck(i, t);
    }
}

/// An async source that itself suspends between some items.
sluice::async_generator<sluice::task<int>> async_numbered(int count, int& pulls, tracker& t) {
    counted frame;
    for (int i = 0; i < count; ++i) {
        if (i % 2 == 1) co_await sluice::yield();
        if (i % 5 == 4) co_await sluice::sleep_for(1ms);
        ++pulls;
        co_yield timed(i, std::chrono::microseconds(200 * (i % 4)), t);
    }
}

/// An infinite async source; items as numbered_forever.
sluice::async_generator<sluice::task<int>> async_forever(int& pulls, int fast_count, tracker& t) {
    counted frame;
    for (int i = 0;; ++i) {
        co_await sluice::yield();
        ++pulls;
        co_yield fast_or_stuck(i, fast_count, t);
    }
}

/// An async source that yields five tasks, then throws after a suspension.
sluice::async_generator<sluice::task<int>> async_five_then_throw(tracker& t) {
    for (int i = 0; i < 5; ++i) co_yield timed(i, std::chrono::milliseconds(1 + i), t);
    co_await sluice::yield();
    throw source_failure();
}

/// An infinite async source that sleeps 1 ms before each item; `inside_await` is true while its
/// body is suspended in that sleep (when destroying it would leave a timer pointing into its frame).
sluice::async_generator<sluice::task<int>> sleepy_forever(int& pulls, bool& inside_await, tracker& t) {
    struct flag {
        bool& value;
        explicit flag(bool& v) : value(v) { value = true; }
        flag(const flag&) = delete;
        flag& operator=(const flag&) = delete;
        ~flag() { value = false; }
    };
    for (int i = 0;; ++i) {
        {
            flag sleeping(inside_await);
            co_await sluice::sleep_for(1ms);
        }
        ++pulls;
        co_yield fast_or_stuck(i, 1, t);
    }
}

/// Consumes an igather over 100 items (3 fast, the rest stuck), counting results, until cancelled.
sluice::task<void> consume_until_cancelled(tracker& t, int& received) {
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 100; ++i) jobs.push_back(fast_or_stuck(i, 3, t));
    auto results = sluice::igather(std::move(jobs), 5);
    while (auto r = co_await results.next()) ++received;
}

}  // namespace

// --- sources ------------------------------------------------------------------------------------------

SLUICE_TEST_CASE("igather over an lvalue vector of tasks yields every result once", "[igather][source]") {
    counted::reset();
    tracker t;
    auto items = timed_items({3, 1, 2, 1, 3}, t);
    std::vector<int> got;
    {
        auto results = sluice::igather(items, 2);
        while (auto r = co_await results.next()) got.push_back(*r);
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(std::none_of(items.begin(), items.end(), [](const auto& item) { return item.valid(); }));
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("igather over an rvalue vector of tasks yields every result once", "[igather][source]") {
    counted::reset();
    tracker t;
    std::vector<int> got;
    {
        auto results = sluice::igather(timed_items({3, 1, 2, 1, 3}, t), 2);
        while (auto r = co_await results.next()) got.push_back(*r);
    }
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(counted::alive() == 0);
}

#if !defined(__clang__)
// Clang 14 with libstdc++ 12 cannot compile std::views pipelines (views::iota | views::transform);
// the generator-based test below checks the same behaviour under both compilers.
SLUICE_TEST_CASE("igather over an infinite lazy view: taking 3 results pulls limit + 3 items", "[igather][source][infinite]") {
    counted::reset();
    tracker t;
    int pulls = 0;
    constexpr int limit = 4;
    {
        auto jobs = std::views::iota(0) | std::views::transform([&](int i) {
                        ++pulls;
                        return fast_or_stuck(i, 3, t);
                    });
        auto results = sluice::igather(jobs, limit);
        for (int taken = 0; taken < 3; ++taken) {
            auto r = co_await results.next();
            REQUIRE(r.has_value());
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

SLUICE_TEST_CASE("igather over an infinite generator: taking 3 results pulls limit + 3, the rest is cancelled",
                 "[igather][source][infinite]") {
    counted::reset();
    tracker t;
    int pulls = 0;
    constexpr int limit = 4;
    {
        auto results = sluice::igather(numbered_forever(pulls, 3, t), limit);
        for (int taken = 0; taken < 3; ++taken) {
            auto r = co_await results.next();
            REQUIRE(r.has_value());
        }
        CHECK(pulls == limit + 3);
    }
    co_await until([&] { return t.cancelled == limit; });
    CHECK(pulls == limit + 3);
    CHECK(t.started == limit + 3);
    CHECK(t.finished == 3);
    CHECK(t.cancelled == limit);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("igather over an async_generator of tasks pulls it lazily and yields every result",
                 "[igather][source][async]") {
    counted::reset();
    tracker t;
    int pulls = 0;
    constexpr int limit = 3;
    std::vector<int> got;
    {
        auto results = sluice::igather(async_numbered(30, pulls, t), limit);
        while (auto r = co_await results.next()) {
            got.push_back(*r);
            // Never read ahead: at most one slot's worth beyond what was handed out.
            CHECK(pulls <= static_cast<int>(got.size()) + limit);
        }
    }
    std::sort(got.begin(), got.end());
    CHECK(got.size() == 30);
    CHECK(std::adjacent_find(got.begin(), got.end()) == got.end());
    CHECK(pulls == 30);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("igather over an infinite async_generator: taking 3 results pulls limit + 3, the rest is cancelled",
                 "[igather][source][async][infinite]") {
    counted::reset();
    tracker t;
    int pulls = 0;
    constexpr int limit = 4;
    {
        auto results = sluice::igather(async_forever(pulls, 3, t), limit);
        for (int taken = 0; taken < 3; ++taken) {
            auto r = co_await results.next();
            REQUIRE(r.has_value());
        }
    }
    // The puller may still be suspended inside the source (its yield) when the stream is dropped:
    // it is cancelled there and pulls nothing more.
    const int pulls_at_stop = pulls;
    co_await until([&] { return t.finished + t.cancelled == t.started && counted::alive() == 0; });
    CHECK(pulls == pulls_at_stop);
    CHECK(pulls >= 3);
    CHECK(pulls <= limit + 3);
    CHECK(t.started == pulls);
    CHECK(t.finished == 3);
    CHECK(t.cancelled == pulls - 3);
    CHECK(counted::alive() == 0);  // every item frame and the async generator's frame
}

SLUICE_TEST_CASE("igather over a vector of sleep_for awaitables yields std::monostate", "[igather][source]") {
    // sleep_for reads the clock when it is called: `start` is taken first, so the 5 ms lower bound
    // holds (taken after, it failed by 41 us under load).
    const auto start = steady::now();
    std::vector<decltype(sluice::sleep_for(1ms))> sleeps;
    for (int i = 1; i <= 5; ++i) sleeps.push_back(sluice::sleep_for(std::chrono::milliseconds(i)));
    auto results = sluice::igather(std::move(sleeps), 2);
    static_assert(std::is_same_v<decltype(results), sluice::async_generator<std::monostate>>);
    int count = 0;
    while (auto r = co_await results.next()) ++count;
    CHECK(count == 5);
    CHECK(steady::now() - start >= 5ms);
}

SLUICE_TEST_CASE("igather over task<void> items yields std::monostate", "[igather][source]") {
    int done = 0;
    std::vector<sluice::task<void>> jobs;
    for (int i = 0; i < 7; ++i) jobs.push_back(no_value(done));
    auto results = sluice::igather(std::move(jobs), 3);
    static_assert(std::is_same_v<decltype(results), sluice::async_generator<std::monostate>>);
    int count = 0;
    while (auto r = co_await results.next()) ++count;
    CHECK(count == 7);
    CHECK(done == 7);
}

SLUICE_TEST_CASE("igather moves move-only results out", "[igather][source]") {
    std::vector<sluice::task<std::unique_ptr<int>>> jobs;
    for (int i = 0; i < 10; ++i) jobs.push_back(boxed(i));
    auto results = sluice::igather(std::move(jobs), 3, {.order = sluice::order::submission});
    std::vector<int> got;
    while (auto r = co_await results.next()) {
        std::unique_ptr<int> value = std::move(*r);
        REQUIRE(value != nullptr);
        got.push_back(*value);
    }
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

// --- the limit --------------------------------------------------------------------------------------

SLUICE_TEST_CASE("igather never has more than limit items in flight (limits 1, 3 and 50 over 500 items, both orders)",
                 "[igather][limit]") {
    std::mt19937 random(20240612);
    for (auto order : {sluice::order::completion, sluice::order::submission}) {
        for (int limit : {1, 3, 50}) {
            INFO("limit " << limit << ", submission order " << (order == sluice::order::submission));
            counted::reset();
            probe p;
            std::uniform_int_distribution<int> micros(0, 300);
            std::vector<sluice::task<int>> jobs;
            for (int i = 0; i < 500; ++i) jobs.push_back(probed(i, std::chrono::microseconds(micros(random)), p));
            int count = 0;
            int expected_next = 0;
            bool in_order = true;
            {
                auto results = sluice::igather(std::move(jobs), limit, {.order = order});
                while (auto r = co_await results.next()) {
                    in_order = in_order && *r == expected_next++;
                    ++count;
                }
            }
            CHECK(count == 500);
            CHECK(p.max <= limit);
            CHECK(p.max == limit);
            if (order == sluice::order::submission) CHECK(in_order);
            CHECK(counted::alive() == 0);
        }
    }
}

SLUICE_TEST_CASE("igather refills a freed slot at once, not in batches", "[igather][limit]") {
    // Durations in loop turns, not milliseconds: a stall of the machine cannot reorder them.
    tracker t;
    auto results = sluice::igather(yielding_items({30, 10, 10, 10}, t), 2);
    while (auto r = co_await results.next()) {
    }
    CHECK(position(t.log, start_of(2)) < position(t.log, end_of(0)));
    CHECK(position(t.log, start_of(3)) < position(t.log, end_of(0)));
    CHECK(t.finished == 4);
}

SLUICE_TEST_CASE("igather with limit 1 runs items strictly one after another in source order", "[igather][limit]") {
    tracker t;
    std::vector<int> got;
    auto results = sluice::igather(timed_items({3, 1, 2, 1}, t), 1);
    while (auto r = co_await results.next()) got.push_back(*r);
    CHECK(got == std::vector<int>{0, 1, 2, 3});
    CHECK(t.log == events{"start 0", "end 0", "start 1", "end 1", "start 2", "end 2", "start 3", "end 3"});
}

SLUICE_TEST_CASE("igather with limit >= count starts every item before any finishes", "[igather][limit]") {
    for (int limit : {5, 1000}) {
        INFO("limit " << limit);
        tracker t;
        std::vector<int> got;
        auto results = sluice::igather(yielding_items({5, 1, 4, 2, 3}, t), limit);
        while (auto r = co_await results.next()) got.push_back(*r);
        REQUIRE(t.log.size() == 10);
        CHECK(events(t.log.begin(), t.log.begin() + 5) == events{"start 0", "start 1", "start 2", "start 3", "start 4"});
        CHECK(got == std::vector<int>{1, 3, 4, 2, 0});
    }
}

SLUICE_TEST_CASE("igather processes each of 10,000 items exactly once", "[igather][limit]") {
    constexpr int count = 10'000;
    tracker t;
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < count; ++i) jobs.push_back(after_yields(i, i % 3, t));
    std::vector<int> seen(count, 0);
    std::int64_t sum = 0;
    auto results = sluice::igather(std::move(jobs), 10);
    while (auto r = co_await results.next()) {
        REQUIRE(*r >= 0);
        REQUIRE(*r < count);
        ++seen[static_cast<std::size_t>(*r)];
        sum += *r;
    }
    CHECK(sum == std::int64_t{count} * (count - 1) / 2);
    CHECK(std::all_of(seen.begin(), seen.end(), [](int n) { return n == 1; }));
}

// --- a failing source ---------------------------------------------------------------------------

SLUICE_TEST_CASE("igather: a generator source that throws lets started items finish and be yielded, then rethrows",
                 "[igather][error][source]") {
    tracker t;
    std::vector<int> got;
    int source_errors = 0;
    int finished_when_thrown = -1;
    auto results = sluice::igather(five_then_throw(t), 3);
    try {
        while (auto r = co_await results.next()) got.push_back(*r);
    } catch (const source_failure&) {
        ++source_errors;
        finished_when_thrown = t.finished;
    }
    CHECK(source_errors == 1);
    CHECK(finished_when_thrown == 5);
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
}

SLUICE_TEST_CASE("igather: an async_generator source that throws lets started items finish and be yielded, then "
                 "rethrows",
                 "[igather][error][source][async]") {
    tracker t;
    std::vector<int> got;
    int source_errors = 0;
    int finished_when_thrown = -1;
    auto results = sluice::igather(async_five_then_throw(t), 3);
    try {
        while (auto r = co_await results.next()) got.push_back(*r);
    } catch (const source_failure&) {
        ++source_errors;
        finished_when_thrown = t.finished;
    }
    CHECK(source_errors == 1);
    CHECK(finished_when_thrown == 5);
    std::sort(got.begin(), got.end());
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
}

// --- fail-fast and collect ----------------------------------------------------------------------

SLUICE_TEST_CASE("igather fail-fast: the first error in time wins, in-flight items are cancelled and awaited, nothing "
                 "more is pulled",
                 "[igather][error]") {
    counted::reset();
    tracker t;
    int pulls = 0;
    constexpr int limit = 4;
    int caught = -1;
    int cleaned_up_when_thrown = -1;
    int received = 0;
    {
        auto results = sluice::igather(first_error_in_time(pulls, t), limit);
        try {
            while (auto r = co_await results.next()) ++received;
        } catch (const item_failure& failure) {
            caught = failure.id;
            cleaned_up_when_thrown = t.cancelled;
        }
    }
    CHECK(caught == 1);  // item 1 failed first (after one yield), although item 0 comes first in the source
    CHECK(received == 0);
    // Item 0 (cancelled in its second yield) and items 2 and 3 (2 ms of cleanup) had all finished.
    CHECK(cleaned_up_when_thrown == 3);
    CHECK(position(t.log, "fails 0") == t.log.size());  // item 0 never reached its own failure
    CHECK(pulls == limit);
    CHECK(t.started == limit);
    co_await until([] { return counted::alive() == 0; });
    CHECK(pulls == limit);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("igather fail-fast in completion order first yields the results that completed before the error",
                 "[igather][error]") {
    tracker t;
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(after_yields(0, 1, t));
    jobs.push_back(after_yields(1, 1, t));
    jobs.push_back(fails_after(2, 1, t));  // fails in the same loop turn, after both finished
    jobs.push_back(after_yields(3, 1, t));  // never started: nothing is pulled after the error
    auto results = sluice::igather(std::move(jobs), 3);
    std::vector<int> got;
    int caught = -1;
    try {
        while (auto r = co_await results.next()) got.push_back(*r);
    } catch (const item_failure& failure) {
        caught = failure.id;
    }
    CHECK(got == std::vector<int>{0, 1});
    CHECK(caught == 2);
    CHECK(t.started == 3);
}

SLUICE_TEST_CASE("igather collect yields a result for every item, errors included, and cancels nothing",
                 "[igather][collect]") {
    tracker t;
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 12; ++i) {
        if (i % 4 == 1) {
            jobs.push_back(fails_after(i, 1, t));
        } else {
            jobs.push_back(timed(i, std::chrono::milliseconds(i % 3), t));
        }
    }
    auto results = sluice::igather(std::move(jobs), 3, sluice::collect);
    static_assert(std::is_same_v<decltype(results), sluice::async_generator<sluice::result<int>>>);
    std::vector<int> values;
    std::vector<int> failures;
    while (auto r = co_await results.next()) {
        if (r->has_value()) {
            values.push_back(r->value());
        } else {
            try {
                std::rethrow_exception(r->error());
            } catch (const item_failure& failure) {
                failures.push_back(failure.id);
            }
        }
    }
    std::sort(values.begin(), values.end());
    std::sort(failures.begin(), failures.end());
    CHECK(values == std::vector<int>{0, 2, 3, 4, 6, 7, 8, 10, 11});
    CHECK(failures == std::vector<int>{1, 5, 9});
    CHECK(t.cancelled == 0);
    CHECK(t.finished == 9);
}

SLUICE_TEST_CASE("igather collect in submission order yields results and errors in source order", "[igather][collect]") {
    tracker t;
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(timed(0, 6ms, t));
    jobs.push_back(fails_after(1, 1, t));
    jobs.push_back(timed(2, 2ms, t));
    jobs.push_back(fails_after(3, 3, t));
    jobs.push_back(timed(4, 0ms, t));
    auto results = sluice::igather(std::move(jobs), 5, {.order = sluice::order::submission}, sluice::collect);
    std::vector<std::string> got;
    while (auto r = co_await results.next()) got.push_back(r->has_value() ? std::to_string(r->value()) : "error");
    CHECK(got == std::vector<std::string>{"0", "error", "2", "error", "4"});
    CHECK(t.cancelled == 0);
}

SLUICE_TEST_CASE("igather collect over task<void> items yields result<void>", "[igather][collect]") {
    int done = 0;
    std::vector<sluice::task<void>> jobs;
    for (int i = 0; i < 4; ++i) jobs.push_back(no_value(done));
    auto results = sluice::igather(std::move(jobs), 2, sluice::collect);
    static_assert(std::is_same_v<decltype(results), sluice::async_generator<sluice::result<void>>>);
    int ok = 0;
    while (auto r = co_await results.next()) ok += r->has_value() ? 1 : 0;
    CHECK(ok == 4);
    CHECK(done == 4);
}

// --- submission order -----------------------------------------------------------------------------

SLUICE_TEST_CASE("igather in submission order yields results in source order even when later items finish first",
                 "[igather][submission]") {
    tracker t;
    auto results = sluice::igather(timed_items({12, 2, 8, 1, 4}, t), 5, {.order = sluice::order::submission});
    std::vector<int> got;
    while (auto r = co_await results.next()) got.push_back(*r);
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4});
    // They did finish out of order.
    CHECK(position(t.log, end_of(3)) < position(t.log, end_of(0)));
}

SLUICE_TEST_CASE("igather in submission order with window == limit starts nothing while a slow head fills the window",
                 "[igather][submission]") {
    tracker t;
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(timed(0, 20ms, t));
    for (int i = 1; i < 6; ++i) jobs.push_back(after_yields(i, 1, t));
    auto results = sluice::igather(std::move(jobs), 3, {.order = sluice::order::submission});
    std::vector<int> got;
    while (auto r = co_await results.next()) got.push_back(*r);
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5});
    // Items 1 and 2 finished long before the head, but their results held the window.
    CHECK(position(t.log, end_of(2)) < position(t.log, end_of(0)));
    CHECK(position(t.log, end_of(0)) < position(t.log, start_of(3)));
}

SLUICE_TEST_CASE("igather in submission order with window > limit starts more behind a slow head, never more than limit "
                 "running nor window outstanding",
                 "[igather][submission]") {
    tracker t;
    probe running;
    struct item {
        static sluice::task<int> run(int id, std::chrono::microseconds duration, probe& running, tracker& t) {
            in_flight counted_running(running);
            ++t.started;
            t.log.push_back(start_of(id));
            co_await sluice::sleep_for(duration);
            t.log.push_back(end_of(id));
            co_return id;
        }
    };
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(item::run(0, 50ms, running, t));
    for (int i = 1; i < 12; ++i) jobs.push_back(item::run(i, std::chrono::microseconds(300), running, t));
    constexpr int window = 4;
    auto results = sluice::igather(std::move(jobs), 2, {.order = sluice::order::submission, .window = window});
    std::vector<int> got;
    int outstanding_max = 0;  // started and not yet yielded, as the consumer sees it
    while (auto r = co_await results.next()) {
        got.push_back(*r);
        outstanding_max = std::max(outstanding_max, t.started - static_cast<int>(got.size()));
    }
    CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
    CHECK(running.max == 2);
    CHECK(outstanding_max == window);
    // Items 2 and 3 started while the head was still running; item 4 only once the head was yielded.
    CHECK(position(t.log, start_of(3)) < position(t.log, end_of(0)));
    CHECK(position(t.log, end_of(0)) < position(t.log, start_of(4)));
    CHECK(running.now == 0);
}

SLUICE_TEST_CASE("igather in submission order: an error at position k yields the completed prefix, then the exception",
                 "[igather][submission][error]") {
    counted::reset();
    tracker t;
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(after_yields(0, 1, t));
    jobs.push_back(after_yields(1, 1, t));
    jobs.push_back(fails_after(2, 3, t));
    jobs.push_back(after_yields(3, 1, t));  // completes before the failure, but lies after it
    jobs.push_back(stuck(4, t));
    auto results = sluice::igather(std::move(jobs), 5, {.order = sluice::order::submission});
    std::vector<int> got;
    int caught = -1;
    try {
        while (auto r = co_await results.next()) got.push_back(*r);
    } catch (const item_failure& failure) {
        caught = failure.id;
    }
    CHECK(got == std::vector<int>{0, 1});
    CHECK(caught == 2);
    CHECK(position(t.log, end_of(3)) < position(t.log, "fails 2"));
    CHECK(t.cancelled == 1);  // item 4, awaited before the exception
    co_await sluice::sleep_for(1ms);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("igather in submission order: an error behind an unfinished head yields nothing before the exception",
                 "[igather][submission][error]") {
    tracker t;
    std::vector<sluice::task<int>> jobs;
    jobs.push_back(stuck(0, t));
    jobs.push_back(after_yields(1, 1, t));
    jobs.push_back(fails_after(2, 2, t));
    auto results = sluice::igather(std::move(jobs), 3, {.order = sluice::order::submission});
    std::vector<int> got;
    int caught = -1;
    int cancelled_when_thrown = -1;
    try {
        while (auto r = co_await results.next()) got.push_back(*r);
    } catch (const item_failure& failure) {
        caught = failure.id;
        cancelled_when_thrown = t.cancelled;
    }
    CHECK(got.empty());
    CHECK(caught == 2);
    CHECK(cancelled_when_thrown == 1);
}

// --- stopping early -------------------------------------------------------------------------------

SLUICE_TEST_CASE("destroying an igather generator mid-iteration cancels in-flight items and never runs unstarted ones",
                 "[igather][stop]") {
    counted::reset();
    tracker t;
    constexpr int limit = 5;
    {
        std::vector<sluice::task<int>> jobs;
        for (int i = 0; i < 100; ++i) jobs.push_back(fast_or_stuck(i, 3, t));
        auto results = sluice::igather(std::move(jobs), limit);
        for (int taken = 0; taken < 3; ++taken) {
            auto r = co_await results.next();
            REQUIRE(r.has_value());
        }
    }
    CHECK(t.started == limit + 3);
    co_await until([&] { return t.cancelled == limit; });
    CHECK(t.started == limit + 3);
    CHECK(t.finished == 3);
    CHECK(t.cancelled == limit);  // each after its 2 ms of cleanup
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("cancelling the task consuming an igather cancels and awaits in-flight items, never runs unstarted ones",
                 "[igather][stop]") {
    counted::reset();
    tracker t;
    int received = 0;
    auto consumer = sluice::spawn(consume_until_cancelled(t, received));
    for (int turns = 0; received < 3 && turns < 1000; ++turns) co_await sluice::yield();
    REQUIRE(received == 3);  // the consumer now waits inside next()
    consumer.cancel();
    int cancelled = 0;
    try {
        co_await consumer;
    } catch (const sluice::cancelled_error&) {
        ++cancelled;
    }
    CHECK(cancelled == 1);
    // In-flight items finished their cleanup before the consumer ended; nothing else ever started.
    CHECK(t.started == 5 + 3);
    CHECK(t.cancelled == 5);
    CHECK(counted::alive() == 0);
}

// An async generator source can still be inside its body (a cancelled puller mid-pull) after the
// stream is gone, so igather must own it: an lvalue is rejected at compile time.
template <class Source>
concept igather_accepts = requires(Source&& source) { sluice::igather(std::forward<Source>(source), 4); };
static_assert(!igather_accepts<sluice::async_generator<sluice::task<int>>&>);
static_assert(igather_accepts<sluice::async_generator<sluice::task<int>>>);
static_assert(igather_accepts<std::vector<sluice::task<int>>&>);

SLUICE_TEST_CASE("an async_generator source moved into igather outlives a stream destroyed while its puller is "
                 "inside the source body",
                 "[igather][stop][async]") {
    counted::reset();
    tracker t;
    int pulls = 0;
    bool inside_await = false;
    {
        auto results = sluice::igather(sleepy_forever(pulls, inside_await, t), 4);
        auto r = co_await results.next();
        REQUIRE(r.has_value());
    }
    // The engine (and the source it owns) lives on until the cancelled puller and items finish; the
    // loop keeps them alive and frees them. Nothing is left afterwards.
    co_await until([&] { return !inside_await && counted::alive() == 0; });  // a leak hangs here
    CHECK_FALSE(inside_await);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("wait_for around an igather next() that times out ends the stream after its items finished cancelling",
                 "[igather][stop]") {
    counted::reset();
    tracker t;
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 10; ++i) jobs.push_back(stuck(i, t));
    auto results = sluice::igather(std::move(jobs), 3);
    int timeouts = 0;
    int cleaned_up_when_thrown = -1;
    try {
        co_await sluice::wait_for(results.next(), 5ms);
    } catch (const sluice::timeout_error&) {
        ++timeouts;
        cleaned_up_when_thrown = t.cancelled;
    }
    CHECK(timeouts == 1);
    CHECK(cleaned_up_when_thrown == 3);  // the cancel reached the stream, which closed before rethrowing
    auto after = co_await results.next();
    CHECK_FALSE(after.has_value());
    CHECK(t.started == 3);
}

namespace {
/// Takes one result of an igather whose other items are stuck, then abandons the stream.
sluice::task<void> abandon_igather(tracker& t) {
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 10; ++i) jobs.push_back(fast_or_stuck(i, 1, t));
    auto results = sluice::igather(std::move(jobs), 4);
    auto r = co_await results.next();
    CHECK(r.has_value());
}
}  // namespace

TEST_CASE("run does not return before the items of an abandoned igather finished cancelling", "[igather][stop]") {
    counted::reset();
    tracker t;
    sluice::run(abandon_igather(t));
    CHECK(t.started == 5);
    CHECK(t.cancelled == 4);
    CHECK(counted::alive() == 0);
}

// --- invalid arguments ----------------------------------------------------------------------------

SLUICE_TEST_CASE("igather with limit 0 or -1, or a submission window below the limit, throws std::invalid_argument at "
                 "the call",
                 "[igather][args]") {
    tracker t;
    auto jobs = timed_items({1, 1}, t);
    CHECK_THROWS_AS(sluice::igather(jobs, 0), std::invalid_argument);
    CHECK_THROWS_AS(sluice::igather(jobs, -1), std::invalid_argument);
    CHECK_THROWS_AS(sluice::igather(jobs, 0, sluice::collect), std::invalid_argument);
    CHECK_THROWS_AS(sluice::igather(jobs, 4, {.order = sluice::order::submission, .window = 2}), std::invalid_argument);
    CHECK_THROWS_AS(sluice::igather(jobs, 4, {.order = sluice::order::submission, .window = 3}, sluice::collect),
                    std::invalid_argument);
    CHECK(t.started == 0);
    co_return;
}
