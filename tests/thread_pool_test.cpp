// Tests of to_thread and thread_pool (sluice/thread_pool.hpp).
//
// Timing assertions are lower bounds only (plus one bound on the loop thread's own CPU time, which
// checks idleness, not speed). A job that must stay queued or running waits for a flag the test
// sets, so a bug shows as a hang that CTest's TIMEOUT reports rather than as a flaky failure.
// No co_await inside CHECK: Catch repeats the expression in never-taken branches, and GCC 12 then
// awaits it twice (a moved-from join_handle the second time).
// One case builds a loop without run() to destroy it with its wake-up read armed (see
// support/internals.hpp: only an abnormal end of run() leaves that state).

#include <sluice/cancellation.hpp>
#include <sluice/event.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>
#include <sluice/thread_pool.hpp>
#include <sluice/time.hpp>

#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/internals.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

/// Sleeps on the loop (1 ms steps) until `done()` holds: lets other tasks and the ring run.
template <class Pred>
sluice::task<void> wait_until(Pred done) {
    while (!done()) co_await sluice::sleep_for(1ms);
}

/// Blocks the calling (worker) thread until `flag` is set.
void block_until(const std::atomic<bool>& flag) {
    while (!flag.load()) std::this_thread::sleep_for(1ms);
}

std::chrono::nanoseconds thread_cpu_time() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

template <class Awaitable>
sluice::task<bool> throws_cancelled(Awaitable awaitable) {
    try {
        co_await std::move(awaitable);
    } catch (const sluice::cancelled_error&) {
        co_return true;
    }
    co_return false;
}

}  // namespace

// --- results ------------------------------------------------------------------------------------------

SLUICE_TEST_CASE("to_thread returns the callable's value", "[to_thread]") {
    const int r = co_await sluice::to_thread([](int a, int b) { return a * b; }, 6, 7);
    CHECK(r == 42);
}

SLUICE_TEST_CASE("to_thread decay-copies its arguments, std::ref shares them", "[to_thread]") {
    std::string text = "abc";
    const std::size_t size = co_await sluice::to_thread(
        [](std::string s) {
            s += "def";
            return s.size();
        },
        text);
    CHECK(size == 6);
    CHECK(text == "abc");

    int counter = 0;
    co_await sluice::to_thread([](int& c) { c = 5; }, std::ref(counter));
    CHECK(counter == 5);
}

namespace {
int triple(int x) { return 3 * x; }
struct accumulator {
    int total = 0;
    int add(int x) { return total += x; }
};
}  // namespace

SLUICE_TEST_CASE("to_thread takes functions and member functions, like std::invoke", "[to_thread]") {
    const int tripled = co_await sluice::to_thread(triple, 4);
    CHECK(tripled == 12);
    accumulator acc;
    const int total = co_await sluice::to_thread(&accumulator::add, &acc, 5);
    CHECK(total == 5);
    CHECK(acc.total == 5);
}

SLUICE_TEST_CASE("to_thread with a void callable", "[to_thread]") {
    std::atomic<bool> ran{false};
    co_await sluice::to_thread([&ran] { ran = true; });
    CHECK(ran.load());
}

SLUICE_TEST_CASE("to_thread moves a move-only result out and takes move-only arguments", "[to_thread]") {
    std::unique_ptr<int> p = co_await sluice::to_thread([](std::unique_ptr<int> in) { return std::make_unique<int>(*in + 1); },
                                                        std::make_unique<int>(41));
    REQUIRE(p != nullptr);
    CHECK(*p == 42);
}

SLUICE_TEST_CASE("to_thread returns an lvalue reference as a reference", "[to_thread]") {
    static int target = 0;
    int& r = co_await sluice::to_thread([]() -> int& { return target; });
    CHECK(&r == &target);
}

SLUICE_TEST_CASE("to_thread rethrows the callable's exception in the awaiting task", "[to_thread]") {
    bool caught = false;
    try {
        co_await sluice::to_thread([]() -> int { throw std::runtime_error("boom"); });
    } catch (const std::runtime_error& error) {
        caught = std::string(error.what()) == "boom";
    }
    CHECK(caught);
}

SLUICE_TEST_CASE("the callable runs on a worker and the result arrives on the loop thread", "[to_thread]") {
    const auto loop_thread = std::this_thread::get_id();
    const auto worker = co_await sluice::to_thread([] { return std::this_thread::get_id(); });
    CHECK(worker != loop_thread);
    CHECK(std::this_thread::get_id() == loop_thread);

    sluice::thread_pool pool(2);
    const auto pool_worker = co_await pool.submit([] { return std::this_thread::get_id(); });
    CHECK(pool_worker != loop_thread);
    CHECK(std::this_thread::get_id() == loop_thread);
    bool caught_on_loop = false;
    try {
        co_await pool.submit([] { throw std::logic_error("x"); });
    } catch (const std::logic_error&) {
        caught_on_loop = std::this_thread::get_id() == loop_thread;
    }
    CHECK(caught_on_loop);
}

// --- concurrency --------------------------------------------------------------------------------------

namespace {

struct probe {
    std::atomic<int> running{0};
    std::atomic<int> peak{0};
    std::atomic<int> entered{0};  // never decreases: a barrier that cannot be missed
    void enter() {
        const int now = ++running;
        int seen = peak.load();
        while (now > seen && !peak.compare_exchange_weak(seen, now)) {
        }
        ++entered;  // last: once `entered` reaches k, k jobs have counted themselves in `running`
    }
    void leave() { --running; }
};

sluice::task<std::int64_t> doubled_on(sluice::thread_pool& pool, probe& p, int i) {
    co_return co_await pool.submit(
        [&p](int x) -> std::int64_t {
            p.enter();
            std::this_thread::sleep_for(std::chrono::microseconds(100));
            p.leave();
            return 2 * static_cast<std::int64_t>(x);
        },
        i);
}

sluice::task<void> ticker(int& ticks, const std::atomic<bool>& jobs_done) {
    // Keeps sleeping while the jobs run: proves timers fire while the loop waits for the workers.
    for (;;) {
        co_await sluice::sleep_for(1ms);
        ++ticks;
        if (ticks >= 10 && jobs_done.load()) co_return;
    }
}

}  // namespace

SLUICE_TEST_CASE("1000 jobs on a pool of 4 while the loop keeps running timers", "[thread_pool]") {
    sluice::thread_pool pool(4);
    CHECK(pool.size() == 4);
    probe p;
    int ticks = 0;
    std::atomic<bool> jobs_done{false};
    auto sleeper = sluice::spawn(ticker(ticks, jobs_done));

    std::vector<sluice::join_handle<std::int64_t>> jobs;
    for (int i = 0; i < 1000; ++i) jobs.push_back(sluice::spawn(doubled_on(pool, p, i)));
    std::int64_t sum = 0;
    for (auto& job : jobs) sum += co_await std::move(job);
    jobs_done = true;
    co_await std::move(sleeper);

    CHECK(sum == 999 * 1000);
    CHECK(ticks >= 10);
    CHECK(p.peak.load() <= 4);
    CHECK(p.peak.load() >= 1);
}

SLUICE_TEST_CASE("an explicit pool of n threads runs n jobs at once, never more", "[thread_pool]") {
    constexpr int n = 3;
    sluice::thread_pool pool(n);
    probe p;
    // First n jobs: each waits until all n run at the same time (a pool running fewer would hang).
    std::vector<sluice::join_handle<void>> jobs;
    auto together = [](sluice::thread_pool& pl, probe& pr) -> sluice::task<void> {
        co_await pl.submit([&pr] {
            pr.enter();
            while (pr.entered.load() < n) std::this_thread::yield();
            std::this_thread::sleep_for(2ms);
            pr.leave();
        });
    };
    for (int i = 0; i < n; ++i) jobs.push_back(sluice::spawn(together(pool, p)));
    for (auto& job : jobs) co_await std::move(job);
    CHECK(p.peak.load() == n);

    // Then many more: never more than n at once.
    jobs.clear();
    auto brief = [](sluice::thread_pool& pl, probe& pr) -> sluice::task<void> {
        co_await pl.submit([&pr] {
            pr.enter();
            std::this_thread::sleep_for(1ms);
            pr.leave();
        });
    };
    for (int i = 0; i < 40; ++i) jobs.push_back(sluice::spawn(brief(pool, p)));
    for (auto& job : jobs) co_await std::move(job);
    CHECK(p.peak.load() == n);
}

SLUICE_TEST_CASE("the loop sleeps while a job runs: its thread uses almost no CPU", "[to_thread]") {
    co_await sluice::to_thread([] {});  // the default pool exists before the measurement
    const auto cpu_before = thread_cpu_time();
    const auto wall_before = steady::now();
    co_await sluice::to_thread([] { std::this_thread::sleep_for(200ms); });
    const auto cpu = thread_cpu_time() - cpu_before;
    CHECK(steady::now() - wall_before >= 200ms);
    // A busy-waiting loop would burn ~200 ms here; a sleeping one a few syscalls.
    CHECK(cpu < 50ms);
}

// --- cancellation -------------------------------------------------------------------------------------

namespace {

sluice::task<int> submit_and_flag(sluice::thread_pool& pool, std::atomic<bool>& ran, bool& suspended) {
    suspended = true;
    co_return co_await pool.submit([&ran] {
        ran = true;
        return 2;
    });
}

}  // namespace

SLUICE_TEST_CASE("cancelling a queued job removes it: cancelled_error at once, the callable never runs",
                 "[to_thread][cancel]") {
    sluice::thread_pool pool(1);
    std::atomic<bool> started{false};
    std::atomic<bool> release{false};
    auto blocker = sluice::spawn([](sluice::thread_pool& pl, std::atomic<bool>& s, std::atomic<bool>& r) -> sluice::task<int> {
        co_return co_await pl.submit([&s, &r] {
            s = true;
            block_until(r);
            return 1;
        });
    }(pool, started, release));
    co_await wait_until([&] { return started.load(); });

    std::atomic<bool> second_ran{false};
    bool second_suspended = false;
    auto second = sluice::spawn(submit_and_flag(pool, second_ran, second_suspended));
    co_await wait_until([&] { return second_suspended; });
    co_await sluice::yield();
    second.cancel();
    // The worker is still blocked: only the removal from the queue can end this wait.
    const bool second_cancelled = co_await throws_cancelled(std::move(second));
    CHECK(second_cancelled);
    CHECK_FALSE(release.load());

    release = true;
    const auto blocker_value = co_await std::move(blocker);
    CHECK(blocker_value == 1);
    // The worker is free again and would have taken the second job by now.
    const auto next_value = co_await pool.submit([] { return 3; });
    CHECK(next_value == 3);
    CHECK_FALSE(second_ran.load());
}

namespace {

sluice::task<sluice_test::counted> running_then_cancelled(std::atomic<bool>& started, std::atomic<bool>& finished,
                                                          bool& finished_when_resumed) {
    try {
        co_return co_await sluice::to_thread([&started, &finished] {
            started = true;
            std::this_thread::sleep_for(50ms);
            finished = true;
            return sluice_test::counted(7);
        });
    } catch (const sluice::cancelled_error&) {
        finished_when_resumed = finished.load();
        throw;
    }
}

}  // namespace

SLUICE_TEST_CASE("cancelling a running job: the awaiter resumes only after it finished, with cancelled_error",
                 "[to_thread][cancel]") {
    sluice_test::counted::reset();
    {
        std::atomic<bool> started{false};
        std::atomic<bool> finished{false};
        bool finished_when_resumed = false;
        auto h = sluice::spawn(running_then_cancelled(started, finished, finished_when_resumed));
        co_await wait_until([&] { return started.load(); });
        h.cancel();
        const bool cancelled = co_await throws_cancelled(std::move(h));
        CHECK(cancelled);
        CHECK(finished_when_resumed);
    }
    // The discarded result was destroyed exactly once (counted traps on a double destruction).
    CHECK(sluice_test::counted::alive() == 0);
    CHECK(sluice_test::counted::constructions >= 1);
}

namespace {

struct race_log {
    int value = 0;
    bool cancelled_at_yield = false;
    bool submitted = false;
};

sluice::task<void> finishes_before_cancel(sluice::thread_pool& pool, race_log& log) {
    log.submitted = true;
    log.value = co_await pool.submit([] { return 42; });
    try {
        co_await sluice::yield();
    } catch (const sluice::cancelled_error&) {
        log.cancelled_at_yield = true;
    }
}

}  // namespace

SLUICE_TEST_CASE("a cancel after the job finished keeps its result and is delivered at the next yield",
                 "[to_thread][cancel]") {
    sluice::thread_pool pool(1);  // FIFO on one worker: the second job starts after the first was posted
    race_log log;
    std::atomic<bool> second_started{false};
    bool second_submitted = false;
    auto first = sluice::spawn(finishes_before_cancel(pool, log));
    auto second = sluice::spawn([](sluice::thread_pool& pl, std::atomic<bool>& s, bool& sub) -> sluice::task<void> {
        sub = true;
        co_await pl.submit([&s] { s = true; });
    }(pool, second_started, second_submitted));
    while (!(log.submitted && second_submitted)) co_await sluice::yield();
    // Block the loop thread (no suspension) until the worker took the second job: the first one
    // has then finished and been posted, but its task has not resumed.
    while (!second_started.load()) std::this_thread::sleep_for(1ms);
    first.cancel();
    co_await std::move(first);
    CHECK(log.value == 42);
    CHECK(log.cancelled_at_yield);
    co_await std::move(second);
}

SLUICE_TEST_CASE("a cancel pending when to_thread is awaited is delivered at once and nothing runs",
                 "[to_thread][cancel]") {
    sluice::event ev;
    std::atomic<bool> ran{false};
    auto h = sluice::spawn([](sluice::event& e, std::atomic<bool>& r) -> sluice::task<void> {
        co_await e.wait();
        co_await sluice::to_thread([&r] { r = true; });
    }(ev, ran));
    co_await sluice::yield();  // h waits on the event
    ev.set();
    h.cancel();  // after the wait completed: pending until the next real suspension, the to_thread
    const bool cancelled = co_await throws_cancelled(std::move(h));
    CHECK(cancelled);
    CHECK_FALSE(ran.load());
}

SLUICE_TEST_CASE("wait_for around a running job raises timeout_error only after the job finished",
                 "[to_thread][cancel]") {
    // The job must be running when the deadline passes (a job still queued then never runs: the
    // case after the next). So `holder` keeps the loop thread busy until the job has started (no
    // timer can fire meanwhile), and the job is released only by holder's timer, due after the
    // deadline. No wall-clock assumption: before, a worker slower than 10 ms to pick the job up
    // (a loaded machine) made the job "queued at the deadline" and the case failed.
    std::atomic<bool> started{false};
    std::atomic<bool> release{false};
    std::atomic<bool> finished{false};
    auto holder = sluice::spawn([](std::atomic<bool>& s, std::atomic<bool>& r) -> sluice::task<void> {
        co_await sluice::yield();  // runs once wait_for below has submitted the job and armed its deadline
        while (!s.load()) std::this_thread::yield();
        co_await sluice::sleep_for(20ms);  // due after wait_for's deadline (10 ms, armed earlier)
        r = true;
    }(started, release));
    bool timed_out = false;
    try {
        co_await sluice::wait_for(sluice::to_thread([&started, &release, &finished] {
                                      started = true;
                                      block_until(release);
                                      finished = true;
                                      return 1;
                                  }),
                                  10ms);
    } catch (const sluice::timeout_error&) {
        timed_out = true;
        CHECK(finished.load());
    }
    co_await holder;
    CHECK(timed_out);
}

SLUICE_TEST_CASE("wait_for around a job that finishes in time returns its value", "[to_thread]") {
    const int r = co_await sluice::wait_for(sluice::to_thread([] { return 5; }), 20s);
    CHECK(r == 5);
}

SLUICE_TEST_CASE("a job awaited through wait_for that stays queued past the deadline never runs",
                 "[thread_pool][cancel]") {
    sluice::thread_pool pool(1);
    std::atomic<bool> started{false};
    std::atomic<bool> release{false};
    auto blocker = sluice::spawn([](sluice::thread_pool& pl, std::atomic<bool>& s, std::atomic<bool>& r) -> sluice::task<void> {
        co_await pl.submit([&s, &r] {
            s = true;
            block_until(r);
        });
    }(pool, started, release));
    co_await wait_until([&] { return started.load(); });
    std::atomic<bool> ran{false};
    bool timed_out = false;
    try {
        co_await sluice::wait_for(pool.submit([&ran] { ran = true; }), 10ms);
    } catch (const sluice::timeout_error&) {
        timed_out = true;
    }
    CHECK(timed_out);
    release = true;
    co_await std::move(blocker);
    co_await pool.submit([] {});
    CHECK_FALSE(ran.load());
}

// --- pools and loops ----------------------------------------------------------------------------------

TEST_CASE("thread_pool with fewer than one thread throws std::invalid_argument", "[thread_pool]") {
    CHECK_THROWS_AS(sluice::thread_pool(0), std::invalid_argument);
    CHECK_THROWS_AS(sluice::thread_pool(-3), std::invalid_argument);
}

TEST_CASE("to_thread outside a running loop throws std::logic_error", "[to_thread]") {
    bool ran = false;
    CHECK_THROWS_AS((void)sluice::to_thread([&ran] { ran = true; }), std::logic_error);
    CHECK_FALSE(ran);
}

namespace {

sluice::task<void> run_and_count(std::atomic<int>& started, std::atomic<int>& finished) {
    co_await sluice::to_thread([&started, &finished] {
        ++started;
        std::this_thread::sleep_for(100ms);
        ++finished;
    });
}

sluice::task<void> leave_jobs_running(std::atomic<int>& started, std::atomic<int>& finished, std::atomic<bool>& queued_ran) {
    for (int i = 0; i < 4; ++i) sluice::spawn(run_and_count(started, finished)).detach();
    co_await wait_until([&] { return started.load() == 4; });  // a pool of fewer than 4 would hang here
    // A fifth job waits in the queue behind the four: run() cancels its task, so it never runs.
    sluice::spawn([](std::atomic<bool>& r) -> sluice::task<void> {
        co_await sluice::to_thread([&r] { r = true; });
    }(queued_ran))
        .detach();
    co_await sluice::yield();
    co_await sluice::yield();
}

}  // namespace

TEST_CASE("run returns only after the jobs its tasks await have finished", "[to_thread][run]") {
    std::atomic<int> started{0};
    std::atomic<int> finished{0};
    std::atomic<bool> queued_ran{false};
    sluice::event_loop_options options;
    options.worker_threads = 4;
    sluice::run(leave_jobs_running(started, finished, queued_ran), options);
    CHECK(finished.load() == 4);
    CHECK_FALSE(queued_ran.load());
}

namespace {

sluice::task<int> sleepy_job(sluice::thread_pool& pool, std::atomic<bool>& started, std::atomic<bool>& done) {
    co_return co_await pool.submit([&started, &done] {
        started = true;
        std::this_thread::sleep_for(50ms);
        done = true;
        return 1;
    });
}

}  // namespace

SLUICE_TEST_CASE("destroying a pool: running jobs finish, queued ones fail with pool_shutdown_error", "[thread_pool]") {
    auto pool = std::make_unique<sluice::thread_pool>(1);
    std::atomic<bool> started{false};
    std::atomic<bool> done{false};
    std::atomic<bool> queued_ran{false};
    bool queued_submitted = false;
    auto running = sluice::spawn(sleepy_job(*pool, started, done));
    co_await wait_until([&] { return started.load(); });
    auto queued = sluice::spawn(submit_and_flag(*pool, queued_ran, queued_submitted));
    co_await wait_until([&] { return queued_submitted; });
    co_await sluice::yield();
    auto unawaited = pool->submit([&queued_ran] { queued_ran = true; });

    pool.reset();  // blocks until the running job returned
    CHECK(done.load());
    const auto running_value = co_await std::move(running);
    CHECK(running_value == 1);
    bool shut_down = false;
    try {
        co_await std::move(queued);
    } catch (const sluice::pool_shutdown_error&) {
        shut_down = true;
    }
    CHECK(shut_down);
    // An awaitable created before the pool died fails when awaited.
    bool unawaited_shut_down = false;
    try {
        co_await std::move(unawaited);
    } catch (const sluice::pool_shutdown_error&) {
        unawaited_shut_down = true;
    }
    CHECK(unawaited_shut_down);
    CHECK_FALSE(queued_ran.load());
}

TEST_CASE("one thread_pool serves the loops of several threads", "[thread_pool]") {
    sluice::thread_pool pool(3);
    auto body = [](sluice::thread_pool& pl, int base) -> sluice::task<std::int64_t> {
        std::vector<sluice::join_handle<std::int64_t>> jobs;
        for (int i = 0; i < 200; ++i) {
            jobs.push_back(sluice::spawn([](sluice::thread_pool& p, int x) -> sluice::task<std::int64_t> {
                co_return co_await p.submit([](int y) -> std::int64_t { return y; }, x);
            }(pl, base + i)));
        }
        std::int64_t sum = 0;
        for (auto& job : jobs) sum += co_await std::move(job);
        co_return sum;
    };
    std::int64_t other_sum = 0;
    std::thread other([&] { other_sum = sluice::run(body(pool, 1000)); });
    const std::int64_t sum = sluice::run(body(pool, 0));
    other.join();
    CHECK(sum == 199 * 200 / 2);
    CHECK(other_sum == 200 * 1000 + 199 * 200 / 2);
}

TEST_CASE("a job withdrawn from the queue leaves the loop idle: deadlock detection still works", "[thread_pool]") {
    // The pool's only worker is held by a job of another thread's loop, so this loop's only job
    // stays queued; once it is withdrawn this loop has nothing in flight.
    sluice::thread_pool pool(1);
    std::atomic<bool> started{false};
    std::atomic<bool> release{false};
    std::thread other([&] {
        sluice::run([](sluice::thread_pool& pl, std::atomic<bool>& s, std::atomic<bool>& r) -> sluice::task<void> {
            co_await pl.submit([&s, &r] {
                s = true;
                block_until(r);
            });
        }(pool, started, release));
    });
    while (!started.load()) std::this_thread::sleep_for(1ms);

    auto main = [](sluice::thread_pool& pl) -> sluice::task<void> {
        std::atomic<bool> ran{false};
        bool submitted = false;
        auto queued = sluice::spawn(submit_and_flag(pl, ran, submitted));
        while (!submitted) co_await sluice::yield();
        co_await sluice::yield();
        queued.cancel();
        const bool cancelled = co_await throws_cancelled(std::move(queued));
        CHECK(cancelled);
        sluice::event never;
        co_await never.wait();
    };
    CHECK_THROWS_AS(sluice::run(main(pool)), std::logic_error);
    release = true;
    other.join();
}

TEST_CASE("a loop destroyed while its wake-up read is armed cancels and reaps the read first", "[thread_pool]") {
    // Only reachable after an abnormal end of run(); the read's buffer must outlive the kernel's use.
    sluice_test::idle_loop_with_armed_inbox idle;
    idle.loop.reset();  // must not hang, and (LeakSanitizer) must not leak the inbox
    CHECK(idle.inbox.use_count() == 1);
}
