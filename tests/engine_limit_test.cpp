// The bounded combinators under a concurrency_limit (sluice/concurrency_limit.hpp): the limit is
// obeyed as it moves, shared between faces and semaphores, fed each item's outcome, and never
// makes the engine read ahead or lose a result.

#include <sluice/as_completed.hpp>
#include <sluice/concurrency_limit.hpp>
#include <sluice/event.hpp>
#include <sluice/gather.hpp>
#include <sluice/generator.hpp>
#include <sluice/igather.hpp>
#include <sluice/semaphore.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"

namespace {

using sluice_test::counted;

/// What the items of one test saw.
struct watch {
    int running = 0;
    int max_running = 0;
    int started = 0;
    std::vector<std::string> problems;  // recorded inside items, asserted by the test
};

/// An item that checks the engine's rule at its start: it may start only while fewer than the
/// limit run (so, counting itself, running <= limit), then waits `turns` loop turns.
sluice::task<int> item(int id, int turns, watch& w, const sluice::concurrency_limit& limit,
                       [[maybe_unused]] counted frame = counted()) {
    ++w.started;
    w.max_running = std::max(w.max_running, ++w.running);
    if (w.running > limit.limit()) {
        w.problems.push_back("item " + std::to_string(id) + " started with " + std::to_string(w.running) +
                             " running under a limit of " + std::to_string(limit.limit()));
    }
    for (int i = 0; i < turns; ++i) co_await sluice::yield();
    --w.running;
    co_return id;
}

/// Waits on `gate` instead of a number of turns.
sluice::task<int> gated(int id, sluice::event& gate, watch& w, [[maybe_unused]] counted frame = counted()) {
    ++w.started;
    w.max_running = std::max(w.max_running, ++w.running);
    co_await gate.wait();
    --w.running;
    co_return id;
}

sluice::task<int> overloaded(int id) {
    co_await sluice::yield();
    if (id % 2 == 0) throw sluice::timeout_error();
    co_return id;
}

std::vector<sluice::task<int>> items(int count, int turns, watch& w, const sluice::concurrency_limit& limit) {
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < count; ++i) jobs.push_back(item(i, turns, w, limit));
    return jobs;
}

std::vector<sluice::task<int>> gated_items(int count, sluice::event& gate, watch& w) {
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < count; ++i) jobs.push_back(gated(i, gate, w));
    return jobs;
}

}  // namespace

SLUICE_TEST_CASE("limited_as_completed under fixed(3) runs at most 3, delivers everything, counts every item out",
                 "[limit][as_completed]") {
    counted::reset();
    auto limit = sluice::fixed(3);
    watch w;
    std::vector<int> got;
    for (auto next : sluice::limited_as_completed(items(50, 2, w, limit), limit)) got.push_back(co_await next);
    std::sort(got.begin(), got.end());
    CHECK(got.size() == 50);
    CHECK(got.front() == 0);
    CHECK(got.back() == 49);
    CHECK(w.max_running == 3);
    CHECK(limit.in_flight() == 0);
    CHECK(w.problems.empty());
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("raising the limit starts items at once, lowering it starts nothing until fewer run and cancels nothing",
                 "[limit][as_completed]") {
    counted::reset();
    auto limit = sluice::fixed(1);
    sluice::event gate;
    watch w;
    auto jobs = gated_items(10, gate, w);
    auto range = sluice::limited_as_completed(jobs, limit);
    auto it = range.begin();
    CHECK_FALSE(it == range.end());  // the first pull starts one item
    CHECK(w.started == 1);
    limit.set_limit(4);
    CHECK(w.started == 4);  // inside set_limit, before anything else runs
    CHECK(limit.in_flight() == 4);
    limit.set_limit(2);  // four stay running; nothing new until fewer than two run
    CHECK(w.started == 4);
    gate.set();
    std::vector<int> got;
    for (; !(it == range.end()); ++it) {
        got.push_back(co_await *it);
        CHECK(limit.in_flight() <= 4);
    }
    CHECK(got.size() == 10);
    CHECK(w.max_running == 4);
    CHECK(limit.in_flight() == 0);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("fixed(0) starts nothing until another task raises it", "[limit][igather]") {
    counted::reset();
    auto limit = sluice::fixed(0);
    watch w;
    auto raiser = sluice::spawn([](sluice::concurrency_limit l, watch& seen) -> sluice::task<void> {
        for (int i = 0; i < 5; ++i) co_await sluice::yield();
        if (seen.started == 0) l.set_limit(2);
    }(limit, w));
    int count = 0;
    auto results = sluice::igather(items(6, 1, w, limit), limit);
    while (auto r = co_await results.next()) ++count;
    co_await raiser;
    CHECK(count == 6);
    CHECK(w.max_running == 2);
    CHECK(w.problems.empty());
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("one concurrency_limit shared by an igather, a limited_as_completed and a semaphore bounds them together",
                 "[limit][shared]") {
    counted::reset();
    auto limit = sluice::fixed(4);
    sluice::semaphore permits(limit);
    watch w;  // one watch for all three: the sum of what runs
    auto by_semaphore = [](sluice::semaphore& s, watch& seen, const sluice::concurrency_limit& l) -> sluice::task<int> {
        int done = 0;
        for (int i = 0; i < 10; ++i) {
            auto permit = co_await s.acquire();
            done += co_await item(100 + i, 1, seen, l);
        }
        co_return done;
    };
    auto semaphore_user = sluice::spawn(by_semaphore(permits, w, limit));
    auto igather_user = sluice::spawn([](watch& seen, const sluice::concurrency_limit& l) -> sluice::task<int> {
        int n = 0;
        auto results = sluice::igather(items(30, 3, seen, l), l);
        while (auto r = co_await results.next()) ++n;
        co_return n;
    }(w, limit));
    int from_range = 0;
    for (auto next : sluice::limited_as_completed(items(30, 2, w, limit), limit)) {
        (void)co_await next;
        ++from_range;
    }
    CHECK(co_await igather_user == 30);
    CHECK(co_await semaphore_user == 1045);
    CHECK(from_range == 30);
    CHECK(w.max_running <= 4);
    CHECK(w.problems.empty());
    CHECK(limit.in_flight() == 0);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("gather under an aimd limit: overload errors shrink it, every result is still returned",
                 "[limit][gather][aimd]") {
    sluice::concurrency_limit limit = sluice::aimd{.initial = 8, .min = 1, .max = 8, .backoff = 0.5};
    std::vector<std::ptrdiff_t> changes;
    limit.on_change([&](std::ptrdiff_t n) { changes.push_back(n); });
    std::vector<sluice::task<int>> jobs;
    for (int i = 0; i < 40; ++i) jobs.push_back(overloaded(i));
    const auto results = co_await sluice::gather(sluice::return_exceptions, std::move(jobs), limit);
    REQUIRE(results.size() == 40);
    int timeouts = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (i % 2 == 0) {
            timeouts += results[i].has_value() ? 0 : 1;
        } else {
            CHECK(results[i].value() == static_cast<int>(i));
        }
    }
    CHECK(timeouts == 20);
    REQUIRE_FALSE(changes.empty());
    CHECK(*std::min_element(changes.begin(), changes.end()) < 8);  // the overloads were counted
    CHECK(limit.limit() < 8);
    CHECK(limit.in_flight() == 0);
}

SLUICE_TEST_CASE("a cancelled item reports nothing to the limit: breaking out of the range leaves its limit untouched",
                 "[limit][as_completed][stop]") {
    counted::reset();
    sluice::concurrency_limit limit = sluice::aimd{.initial = 4, .min = 1, .max = 64, .backoff = 0.5};
    sluice::event never;
    watch w;
    auto jobs = gated_items(10, never, w);
    {
        auto range = sluice::limited_as_completed(jobs, limit);
        auto it = range.begin();
        CHECK_FALSE(it == range.end());
        CHECK(limit.in_flight() == 4);
        co_await range.close();  // cancels the four, waits for them
    }
    CHECK(limit.in_flight() == 0);
    CHECK(limit.limit() == 4);  // cancellations are no overload
    jobs.clear();
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("igather in submission order with a window under a moving limit keeps order and the window",
                 "[limit][igather]") {
    counted::reset();
    auto limit = sluice::fixed(2);
    watch w;
    std::vector<int> got;
    auto results = sluice::igather(items(40, 3, w, limit), limit, {.order = sluice::order::submission, .window = 6});
    int taken = 0;
    while (auto r = co_await results.next()) {
        got.push_back(*r);
        if (++taken == 10) limit.set_limit(5);
        if (taken == 25) limit.set_limit(1);
    }
    std::vector<int> expected(40);
    for (int i = 0; i < 40; ++i) expected[static_cast<std::size_t>(i)] = i;
    CHECK(got == expected);
    CHECK(w.max_running == 5);
    CHECK(w.problems.empty());
    CHECK(counted::alive() == 0);
}

namespace {

/// Moves `limit` to a random value in [0, 12] every few turns until `done`.
sluice::task<void> shake(sluice::concurrency_limit limit, std::uint64_t seed, const bool& done) {
    std::mt19937_64 random(seed);
    while (!done) {
        const int turns = static_cast<int>(random() % 4);
        for (int i = 0; i < turns; ++i) co_await sluice::yield();
        // Never stay at 0 for good: the items could never finish then.
        limit.set_limit(static_cast<std::ptrdiff_t>(random() % 12) + (random() % 8 == 0 ? 0 : 1));
        co_await sluice::yield();
    }
}

sluice::task<int> random_face(int face, std::vector<sluice::task<int>> jobs, const sluice::concurrency_limit& limit) {
    int count = 0;
    switch (face) {
        case 0:
            for (auto next : sluice::limited_as_completed(std::move(jobs), limit)) {
                (void)co_await next;
                ++count;
            }
            break;
        case 1: {
            auto results = sluice::igather(std::move(jobs), limit);
            while (auto r = co_await results.next()) ++count;
            break;
        }
        case 2: {
            auto results = sluice::igather(std::move(jobs), limit, {.order = sluice::order::submission, .window = 16});
            int expected = 0;
            while (auto r = co_await results.next()) {
                if (*r != expected++) throw std::logic_error("submission order broken");
                ++count;
            }
            break;
        }
        default:
            count = static_cast<int>((co_await sluice::gather(std::move(jobs), limit)).size());
            break;
    }
    co_return count;
}

}  // namespace

SLUICE_TEST_CASE("stress: with the limit moving at random, no item starts while the limit is reached, and all finish",
                 "[limit][stress]") {
    counted::reset();
    for (std::uint64_t seed = 1; seed <= 60; ++seed) {
        const int face = static_cast<int>(seed % 4);
        INFO("seed " << seed << ", face " << face);
        auto limit = sluice::fixed(3);
        watch w;
        bool done = false;
        auto shaker = sluice::spawn(shake(limit, seed, done));
        std::mt19937_64 random(seed * 7919);
        std::vector<sluice::task<int>> jobs;
        for (int i = 0; i < 200; ++i) jobs.push_back(item(i, static_cast<int>(random() % 5), w, limit));
        const int count = co_await random_face(face, std::move(jobs), limit);
        done = true;
        limit.set_limit(1);  // the shaker may have left it at 0
        co_await shaker;
        CHECK(count == 200);
        CHECK(w.started == 200);
        CHECK(w.problems.empty());
        CHECK(limit.in_flight() == 0);
        CHECK(w.max_running <= 12);
    }
    CHECK(counted::alive() == 0);
}
