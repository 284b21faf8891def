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
#include <sluice/thread_pool.hpp>
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

// The cores below record what they saw and the test checks it afterwards: Catch's assertions are
// not safe on several threads at once.

TEST_CASE("core_loop: from its first line every core can post to every other core, and the call runs on that core's thread",
          "[run_on_cores]") {
    constexpr std::size_t n = 4;
    struct core_record {
        std::thread::id thread;
        std::size_t count = 0;
        bool own_loop = false;
        bool all_posts_taken = true;
        std::vector<std::size_t> heard_from;        // appended only on this core's thread
        std::vector<std::thread::id> calls_ran_on;  // likewise
        sluice::event all_heard;  // set only on this core's thread
    };
    std::vector<core_record> cores(n);
    sluice::run_on_cores(n, [&](std::size_t core) -> sluice::task<void> {
        core_record& self = cores[core];
        self.thread = std::this_thread::get_id();
        self.count = sluice::core_count();
        self.own_loop = sluice::core_loop(core) == sluice::current_loop();
        // Before any suspension: every other core's loop must already be there to take the post.
        for (std::size_t other = 0; other < n; ++other) {
            if (other == core) continue;
            self.all_posts_taken &= sluice::core_loop(other).post([&cores, core, other] {
                core_record& target = cores[other];
                target.calls_ran_on.push_back(std::this_thread::get_id());
                target.heard_from.push_back(core);
                if (target.heard_from.size() == cores.size() - 1) target.all_heard.set();
            });
        }
        co_await self.all_heard.wait();
    });
    for (std::size_t core = 0; core < n; ++core) {
        core_record& record = cores[core];
        CHECK(record.count == n);
        CHECK(record.own_loop);
        CHECK(record.all_posts_taken);
        CHECK(static_cast<std::size_t>(std::count(record.calls_ran_on.begin(), record.calls_ran_on.end(), record.thread)) == n - 1);
        std::sort(record.heard_from.begin(), record.heard_from.end());
        std::vector<std::size_t> others;
        for (std::size_t other = 0; other < n; ++other) {
            if (other != core) others.push_back(other);
        }
        CHECK(record.heard_from == others);
    }
}

namespace {

/// What `call` threw: "logic_error", "out_of_range" or "nothing" (std::out_of_range is a
/// logic_error too, so it is tested first).
template <class Call>
std::string thrown_by(Call call) {
    try {
        (void)call();
    } catch (const std::out_of_range&) {
        return "out_of_range";
    } catch (const std::logic_error&) {
        return "logic_error";
    }
    return "nothing";
}

}  // namespace

TEST_CASE("core_loop and core_count: std::logic_error off a core's thread, std::out_of_range past the last core",
          "[run_on_cores]") {
    CHECK(thrown_by([] { return sluice::core_count(); }) == "logic_error");
    CHECK(thrown_by([] { return sluice::core_loop(0); }) == "logic_error");
    const std::vector<std::vector<std::string>> seen = sluice::run_on_cores(
        2, [](std::size_t) -> sluice::task<std::vector<std::string>> {
            std::vector<std::string> thrown;
            thrown.push_back(thrown_by([] { return sluice::core_loop(2); }));
            thrown.push_back(thrown_by([] { return sluice::core_loop(1); }));
            // A worker thread of this core's pool is not a core.
            thrown.push_back(co_await sluice::to_thread([] { return thrown_by([] { return sluice::core_loop(0); }); }));
            co_return thrown;
        });
    const std::vector<std::string> expected{"out_of_range", "nothing", "logic_error"};
    CHECK(seen == std::vector<std::vector<std::string>>{expected, expected});
    // After run_on_cores this thread is no core again, and a plain run() is not one either.
    CHECK(thrown_by([] { return sluice::core_count(); }) == "logic_error");
    const std::string in_plain_run = sluice::run([]() -> sluice::task<std::string> {
        co_return thrown_by([] { return sluice::core_count(); });
    }());
    CHECK(in_plain_run == "logic_error");
}

TEST_CASE("core_loop: a handle kept after run_on_cores returned refuses posts", "[run_on_cores]") {
    sluice::loop_handle kept;
    sluice::run_on_cores(2, [&](std::size_t core) -> sluice::task<void> {
        if (core == 0) kept = sluice::core_loop(1);
        co_return;
    });
    REQUIRE(kept);
    CHECK_FALSE(kept.post([] { std::abort(); }));
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

TEST_CASE("run_on_cores: a core stuck for good is reported as a deadlock once it is the last core running",
          "[run_on_cores]") {
    // While core 0 runs it could still post to core 1 (core_loop), so core 1 is not deadlocked
    // then; once core 0 ended, nothing can wake core 1 any more and its loop says so.
    std::atomic<bool> core0_ended{false};
    std::atomic<bool> core1_waited_after_core0{false};
    auto fn = [&](std::size_t core) -> sluice::task<void> {
        if (core == 0) {
            co_await sluice::sleep_for(1ms);
            core0_ended = true;
            co_return;
        }
        sluice::event never;
        co_await never.wait();  // nothing ever sets it
        core1_waited_after_core0 = true;
    };
    REQUIRE_THROWS_WITH(sluice::run_on_cores(2, fn), Catch::Contains("deadlock"));
    CHECK(core0_ended.load());
    CHECK_FALSE(core1_waited_after_core0.load());
}

TEST_CASE("core_loop: a core waiting only for a post that another core makes later is not a deadlock",
          "[run_on_cores]") {
    // Core 1 holds no handle of its own loop and waits for core 0's post, which comes only after
    // core 0's timer: in between, only the directory says that core 1 can still be woken.
    std::atomic<bool> delivered{false};
    sluice::event woken;  // core 1's
    sluice::run_on_cores(2, [&](std::size_t core) -> sluice::task<void> {
        if (core == 0) {
            co_await sluice::sleep_for(20ms);
            sluice::core_loop(1).post([&] { woken.set(); });
            co_return;
        }
        co_await woken.wait();
        delivered = true;
    });
    CHECK(delivered.load());
}

TEST_CASE("run_on_cores: loops that cannot be created fail it with their error, no core waits at the start",
          "[run_on_cores]") {
    std::atomic<int> called{0};
    auto fn = [&](std::size_t) -> sluice::task<void> {
        called.fetch_add(1);
        co_return;
    };
    // An unknown SLUICE_BACKEND is std::invalid_argument from each core's run(), on either backend
    // (the variable is restored: the epoll preset sets it).
    const char* const previous = std::getenv("SLUICE_BACKEND");
    const std::string restore = previous != nullptr ? previous : "";
    ::setenv("SLUICE_BACKEND", "no-such-backend", 1);
    const auto outcome_of = [&](std::size_t n) -> std::string {
        try {
            sluice::run_on_cores(n, fn);
        } catch (const std::invalid_argument&) {
            return "invalid_argument";
        } catch (const sluice::exception_group& group) {
            return "exception_group of " + std::to_string(group.exceptions().size());
        }
        return "nothing";
    };
    const std::string one = outcome_of(1);
    const std::string three = outcome_of(3);
    if (previous != nullptr) {
        ::setenv("SLUICE_BACKEND", restore.c_str(), 1);
    } else {
        ::unsetenv("SLUICE_BACKEND");
    }
    CHECK(one == "invalid_argument");
    CHECK(three == "exception_group of 3");
    CHECK(called.load() == 0);
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
