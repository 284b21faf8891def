// Allocation-failure injection (issue 9): this binary replaces the global operator new with one that
// throws std::bad_alloc at the k-th allocation once armed. Coroutine frames come from it too:
// SLUICE_FRAME_ARENA=0 sends them to operator new instead of the frame arena, whose own failure
// (a chunk that cannot be mapped) frame_arena_test covers.
//
// Each scenario (gather, igather stopped early, task_group, queue) is run for k = 0, 1, 2, ...
// until a run completes without reaching the k-th allocation. Every run must end with the
// scenario's value or a std::bad_alloc (or another exception the scenario reports), never a crash,
// a hang (a CTest TIMEOUT), a leaked counted object or frame (ASan's leak check on the asan preset).

#define SLUICE_FRAME_ARENA 0

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/gather.hpp>
#include <sluice/igather.hpp>
#include <sluice/queue.hpp>
#include <sluice/semaphore.hpp>
#include <sluice/task.hpp>
#include <sluice/task_group.hpp>
#include <sluice/time.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"

using namespace std::chrono_literals;
using sluice_test::counted;

namespace {
// Armed: throw when `countdown` reaches 0. Thread-local: only the test's own thread fails.
thread_local long countdown = -1;
thread_local long allocations = 0;

void* allocate(std::size_t size) {
    if (countdown >= 0) {
        ++allocations;
        if (countdown-- == 0) throw std::bad_alloc();
    }
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}

/// Fails the k-th allocation (0-based) from now on this thread, until disarm().
void arm(long k) {
    allocations = 0;
    countdown = k;
}
/// Whether the armed failure happened.
bool disarm() {
    const bool fired = countdown < 0 && allocations > 0;
    countdown = -1;
    return fired;
}
}  // namespace

// Under ASan a few objects are allocated by ASan's own operator new before ours is bound (static
// initialisation in the runtime) and freed by ours: both sit on malloc, so the mismatch is benign.
extern "C" const char* __asan_default_options() { return "alloc_dealloc_mismatch=0"; }

void* operator new(std::size_t size) { return allocate(size); }
void* operator new[](std::size_t size) { return allocate(size); }
void operator delete(void* pointer) noexcept { std::free(pointer); }
void operator delete[](void* pointer) noexcept { std::free(pointer); }
void operator delete(void* pointer, std::size_t) noexcept { std::free(pointer); }
void operator delete[](void* pointer, std::size_t) noexcept { std::free(pointer); }

namespace {

struct loop_report {
    long runs = 0;
    long failed_runs = 0;
};

/// Runs `scenario` (a function returning a task<int> that yields `expected` when nothing fails)
/// with the k-th allocation failing, for k = 0, 1, ... until one run allocates fewer than k + 1
/// times: that run must give `expected`. Each run is on a fresh thread, so it starts with no loop of
/// its own.
template <class Scenario>
loop_report fail_each_allocation(const char* name, Scenario scenario, int expected) {
    loop_report report;
    for (long k = 0;; ++k) {
        INFO(name << ": allocation " << k << " fails");
        bool fired = false;
        bool failed = false;
        int value = -1;
        std::int64_t alive = 0;
        std::thread([&] {
            counted::reset();
            arm(k);
            try {
                value = sluice::run(scenario());
            } catch (const std::bad_alloc&) {
                failed = true;
            } catch (const std::exception&) {
                failed = true;  // e.g. an exception_group holding bad_alloc
            }
            fired = disarm();
            alive = counted::alive();
        }).join();
        CHECK(alive == 0);
        ++report.runs;
        if (failed) ++report.failed_runs;
        if (!fired) {
            CHECK_FALSE(failed);
            CHECK(value == expected);
            break;
        }
        if (k > 100'000) FAIL("no end to the allocations");
    }
    std::printf("%s: %ld runs, the allocation failing at each of k = 0..%ld; %ld runs ended in an exception\n", name,
                report.runs, report.runs - 2, report.failed_runs);
    return report;
}

sluice::task<int> item(int value) {
    counted guard(value);
    co_await sluice::yield();
    co_return value;
}

sluice::task<int> gather_scenario() {
    std::vector<sluice::task<int>> items;
    for (int i = 0; i < 8; ++i) items.push_back(item(i));
    const std::vector<int> values = co_await sluice::gather(std::move(items), 3);
    int sum = 0;
    for (int v : values) sum += v;
    co_return sum;
}

sluice::task<int> igather_early_stop_scenario() {
    std::vector<sluice::task<int>> items;
    for (int i = 0; i < 10; ++i) items.push_back(item(i));
    int taken = 0;
    {
        auto results = sluice::igather(items, 3);
        while (auto r = co_await results.next()) {
            if (++taken == 4) break;  // stop early: the rest is cancelled or never started
        }
    }
    co_return taken;
}

sluice::task<int> task_group_scenario() {
    co_return co_await sluice::task_group::scope([](sluice::task_group& group) -> sluice::task<int> {
        std::vector<sluice::join_handle<int>> children;
        for (int i = 0; i < 5; ++i) children.push_back(group.spawn(item(i)));
        int sum = 0;
        for (auto& child : children) sum += co_await child;
        co_return sum;
    });
}

sluice::task<void> producer(sluice::queue<counted>& q, int count) {
    for (int i = 0; i < count; ++i) co_await q.put(counted(i));
    q.close();
}

sluice::task<int> queue_scenario() {
    sluice::queue<counted> q(2);
    auto feeding = sluice::spawn(producer(q, 6));
    int got = 0;
    try {
        for (;;) {
            counted c = co_await q.get();
            got += c.id;
        }
    } catch (const sluice::queue_closed&) {
    }
    co_await feeding;
    co_return got;
}

/// Set when a semaphore scenario ended by an exception with permits still counted in use.
bool semaphore_permits_lost = false;

sluice::task<int> hold_permit(sluice::semaphore& sem, int value) {
    auto permit = co_await sem.acquire();
    counted guard(value);
    co_await sluice::yield();
    co_return value;
}

sluice::task<int> limited_semaphore_scenario() {
    // Over a concurrency_limit, a permit taken at once and a waiter's reserved one come from the
    // semaphore's pool of limit_permits, which grows here.
    sluice::semaphore sem(sluice::fixed(2));
    int sum = 0;
    try {
        std::vector<sluice::task<int>> items;
        for (int i = 0; i < 6; ++i) items.push_back(hold_permit(sem, i));
        for (const int value : co_await sluice::gather(std::move(items))) sum += value;
        if (auto permit = sem.try_acquire()) sum += 100;
    } catch (...) {
        if (sem.in_use() != 0) semaphore_permits_lost = true;
        throw;
    }
    co_return sum;
}

}  // namespace

TEST_CASE("allocation failure at each allocation of a bounded gather: no leak, crash or hang", "[alloc]") {
    fail_each_allocation("gather(range, 3)", gather_scenario, 28);
}

TEST_CASE("allocation failure at each allocation of an igather stopped early: no leak, crash or hang", "[alloc]") {
    fail_each_allocation("igather stopped after 4", igather_early_stop_scenario, 4);
}

TEST_CASE("allocation failure at each allocation of a task_group: no leak, crash or hang", "[alloc]") {
    fail_each_allocation("task_group of 5", task_group_scenario, 10);
}

TEST_CASE("allocation failure at each allocation of a queue producer/consumer: no leak, crash or hang", "[alloc]") {
    fail_each_allocation("queue(2), 6 items", queue_scenario, 15);
}

TEST_CASE("allocation failure at each allocation of tasks sharing a semaphore over a concurrency_limit: "
          "no leak, crash, hang or lost permit",
          "[alloc][semaphore]") {
    fail_each_allocation("semaphore(fixed(2)), 6 holders", limited_semaphore_scenario, 115);
    CHECK_FALSE(semaphore_permits_lost);
}

// --- issue 9, defect 6 --------------------------------------------------------------------------------

namespace {
sluice::task<void> sleep_long() { co_await sluice::sleep_for(20s); }
sluice::task<void> sleep_10s() { co_await sluice::sleep_for(10s); }

sluice::task<int> victim(sluice::join_handle<int>* self, bool& cancelled_at_next_sleep) {
    bool threw = false;
    arm(0);
    try {
        co_await sluice::sleep_for(1ms);
    } catch (const std::bad_alloc&) {
        threw = true;
    }
    disarm();
    REQUIRE(threw);
    // Before the fix the dead awaiter stayed registered with this task's cancel context (and looked
    // armed): this cancel called into it, which removed a timer that was never in the heap and
    // scheduled this running task (ASan: heap-buffer-overflow / SEGV in timer_queue::remove).
    self->cancel();
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        cancelled_at_next_sleep = true;
    }
    co_return 1;
}

sluice::task<int> sleep_whose_timer_cannot_be_armed() {
    // A 20 s sleeper starts the timers' FIFO, so earlier deadlines go into the heap; 16 sleepers at
    // 10 s fill it to its capacity, and the victim's 1 ms sleep must grow it: the one allocation
    // that fails.
    auto other = sluice::spawn(sleep_long());
    co_await sluice::yield();
    std::vector<sluice::join_handle<void>> fillers;
    for (int i = 0; i < 16; ++i) fillers.push_back(sluice::spawn(sleep_10s()));
    co_await sluice::yield();
    bool cancelled_at_next_sleep = false;
    sluice::join_handle<int> self;
    self = sluice::spawn(victim(&self, cancelled_at_next_sleep));
    const int value = co_await self;
    CHECK(cancelled_at_next_sleep);
    other.cancel();
    (void)co_await other.as_result();
    for (auto& filler : fillers) filler.cancel();
    for (auto& filler : fillers) (void)co_await filler.as_result();
    co_return value;
}
}  // namespace

TEST_CASE("a sleep whose timer cannot be armed throws bad_alloc and leaves nothing registered (defect 6)",
          "[alloc][cancel]") {
    CHECK(sluice::run(sleep_whose_timer_cannot_be_armed()) == 1);
}
