// Tests of run_on_cores (sluice/run_on_cores.hpp): every core runs on its own thread and loop,
// values come back by core, failures follow task_group's rules (the first cancels the others,
// one is rethrown as itself, several as exception_group), bad input. Also run under
// ThreadSanitizer (.ci/run).
//
// No wall-clock upper bound: a core that is not cancelled sleeps for an hour (a CTest TIMEOUT).

#include <sluice/cancellation.hpp>
#include <sluice/event.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/loop_handle.hpp>
#include <sluice/run_on_cores.hpp>
#include <sluice/task.hpp>
#include <sluice/task_group.hpp>
#include <sluice/time.hpp>

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstddef>
#include <latch>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/catch.hpp"
#include "support/counted.hpp"

using namespace std::chrono_literals;

namespace {

CATCH_TRANSLATE_EXCEPTION(const sluice::cancelled_error& error) { return error.what(); }

/// Counts down `asleep`, then sleeps for an hour unless cancelled; counts the cancellations it
/// saw. The failing core waits on the latch first, so the cancel surely finds this task asleep.
sluice::task<void> sleep_an_hour(std::latch& asleep, std::atomic<int>& cancelled) {
    sluice_test::counted frame;  // proves the frame is destroyed
    asleep.count_down();
    try {
        co_await sluice::sleep_for(1h);
    } catch (const sluice::cancelled_error&) {
        cancelled.fetch_add(1);
        throw;
    }
}

}  // namespace

TEST_CASE("run_on_cores runs fn(i) once per core, each on a thread and loop of its own", "[run_on_cores]") {
    std::mutex mutex;
    std::set<std::thread::id> threads;
    std::vector<sluice::loop_handle> loops;
    std::vector<std::size_t> called;
    const std::vector<std::size_t> values = sluice::run_on_cores(4, [&](std::size_t core) -> sluice::task<std::size_t> {
        co_await sluice::sleep_for(1ms);  // a real suspension on this core's loop
        {
            std::lock_guard lock(mutex);
            threads.insert(std::this_thread::get_id());
            loops.push_back(sluice::current_loop());
            called.push_back(core);
        }
        co_return core * 10;
    });
    CHECK(values == std::vector<std::size_t>{0, 10, 20, 30});
    CHECK(threads.size() == 4);
    CHECK(threads.count(std::this_thread::get_id()) == 0);
    REQUIRE(loops.size() == 4);
    for (std::size_t a = 0; a < 4; ++a) {
        for (std::size_t b = a + 1; b < 4; ++b) CHECK_FALSE(loops[a] == loops[b]);
        // Every loop has ended: a post is refused, and the callable never runs.
        CHECK_FALSE(loops[a].post([] { std::abort(); }));
    }
    std::sort(called.begin(), called.end());
    CHECK(called == std::vector<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("run_on_cores with task<void> returns once every core ended", "[run_on_cores]") {
    std::atomic<int> ended{0};
    sluice::run_on_cores(3, [&](std::size_t core) -> sluice::task<void> {
        co_await sluice::sleep_for(std::chrono::milliseconds(core));
        ended.fetch_add(1);
    });
    CHECK(ended.load() == 3);
}

TEST_CASE("run_on_cores: the first failure cancels the other cores and is rethrown as itself", "[run_on_cores]") {
    sluice_test::counted::reset();
    std::atomic<int> cancelled{0};
    std::latch asleep(3);
    auto fn = [&](std::size_t core) -> sluice::task<int> {
        if (core == 2) {
            co_await sluice::sleep_for(1ms);
            asleep.wait();
            throw std::runtime_error("core 2 failed");
        }
        co_await sleep_an_hour(asleep, cancelled);
        co_return 0;
    };
    REQUIRE_THROWS_WITH(sluice::run_on_cores(4, fn), "core 2 failed");
    CHECK(cancelled.load() == 3);
    CHECK(sluice_test::counted::alive() == 0);
}

TEST_CASE("run_on_cores: several failures are rethrown as one exception_group", "[run_on_cores]") {
    // Both failing cores reach the latch before either throws, so neither can be cancelled first
    // (a cancel is delivered only at a suspension, and they do not suspend again).
    std::latch both(2);
    std::latch asleep(1);
    std::atomic<int> cancelled{0};
    auto fn = [&](std::size_t core) -> sluice::task<void> {
        if (core < 2) {
            co_await sluice::sleep_for(1ms);
            both.arrive_and_wait();
            asleep.wait();
            throw std::runtime_error("core " + std::to_string(core));
        }
        co_await sleep_an_hour(asleep, cancelled);
    };
    try {
        sluice::run_on_cores(3, fn);
        FAIL("no exception");
    } catch (const sluice::exception_group& group) {
        REQUIRE(group.exceptions().size() == 2);
    }
    CHECK(cancelled.load() == 1);
}

TEST_CASE("run_on_cores: fn throwing instead of returning a task is that core's failure", "[run_on_cores]") {
    std::atomic<int> cancelled{0};
    std::latch core_1_sleeps(1);  // core 0 fails only once core 1's task runs, so it is cancelled
    auto fn = [&](std::size_t core) -> sluice::task<void> {
        if (core == 0) {
            core_1_sleeps.wait();
            throw std::invalid_argument("no task for core 0");
        }
        return sleep_an_hour(core_1_sleeps, cancelled);
    };
    REQUIRE_THROWS_AS(sluice::run_on_cores(2, fn), std::invalid_argument);
    CHECK(cancelled.load() == 1);
}

TEST_CASE("run_on_cores: a core's loop failing (deadlock) cancels the others", "[run_on_cores]") {
    std::atomic<int> cancelled{0};
    std::latch asleep(1);
    auto fn = [&](std::size_t core) -> sluice::task<void> {
        if (core == 1) {
            asleep.wait();
            sluice::event never;
            co_await never.wait();  // nothing can ever set it: the loop reports a deadlock
        }
        co_await sleep_an_hour(asleep, cancelled);
    };
    REQUIRE_THROWS_WITH(sluice::run_on_cores(2, fn), Catch::Contains("deadlock"));
    CHECK(cancelled.load() == 1);
}

TEST_CASE("run_on_cores: a core that ends cancelled, with no failure, makes it throw cancelled_error",
          "[run_on_cores]") {
    auto fn = [](std::size_t core) -> sluice::task<int> {
        co_await sluice::sleep_for(1ms);
        if (core == 1) throw sluice::cancelled_error();
        co_return 1;
    };
    REQUIRE_THROWS_AS(sluice::run_on_cores(2, fn), sluice::cancelled_error);
}

TEST_CASE("run_on_cores: n == 0 is std::invalid_argument and calls nothing", "[run_on_cores]") {
    bool called = false;
    auto fn = [&](std::size_t) -> sluice::task<void> {
        called = true;
        co_return;
    };
    REQUIRE_THROWS_AS(sluice::run_on_cores(0, fn), std::invalid_argument);
    CHECK_FALSE(called);
}

TEST_CASE("run_on_cores: more cores than CPUs, pinned, all run and end", "[run_on_cores]") {
    const std::size_t n = 4 * std::max(1u, std::thread::hardware_concurrency());
    std::atomic<std::size_t> pinned_to_one{0};
    const std::vector<int> ran = sluice::run_on_cores(
        n,
        [&](std::size_t) -> sluice::task<int> {
            co_await sluice::sleep_for(1ms);
            cpu_set_t set;
            CPU_ZERO(&set);
            if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) == 1) pinned_to_one.fetch_add(1);
            co_return 1;
        },
        {.pin = true});
    CHECK(ran.size() == n);
    CHECK(std::count(ran.begin(), ran.end(), 1) == static_cast<std::ptrdiff_t>(n));
    CHECK(pinned_to_one.load() == n);
}

TEST_CASE("run_on_cores: a failure while other cores are still starting cancels them before they run",
          "[run_on_cores]") {
    // Core 0 fails at once; the others may register before or after: either way their bodies
    // either never start or are cancelled, and nothing outlives run_on_cores.
    sluice_test::counted::reset();
    std::atomic<int> cancelled{0};
    auto fn = [&](std::size_t core) -> sluice::task<void> {
        if (core == 0) throw std::runtime_error("core 0 failed at once");
        std::latch unused(8);  // whether the others ever start is the race under test
        co_await sleep_an_hour(unused, cancelled);
    };
    for (int round = 0; round < 20; ++round) {
        REQUIRE_THROWS_WITH(sluice::run_on_cores(8, fn), "core 0 failed at once");
    }
    CHECK(sluice_test::counted::alive() == 0);
}
