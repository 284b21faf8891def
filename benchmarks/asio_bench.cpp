// asio_bench: the Boost.Asio (C++20 coroutines) twin of sluice_bench (docs/design.md, "Benchmarks").
// Same arguments, same RESULT line, peer=asio.
//
//   asio_bench w1 M L         M trivial tasks (one yield, return 2i), at most L in flight, each a
//                             separate co_spawn; results in completion order (see bounded_sum)
//   asio_bench w1cb M L       the same, but the consumer is co_spawn's completion handler itself
//                             (callback chaining, no consumer coroutine): peer=asio-cb
//   asio_bench w2 M L [ms]    M tasks sleeping `ms` (default 100) on a steady_timer, returning i
//   asio_bench w3 T P I       T tasks share a semaphore of P permits (a channel of permits), each
//                             I times acquire / yield / release; ns per acquire-release pair
//   asio_bench w4 M           spawn M trivial tasks, wait for all, sum their results
//   asio_bench yield N        one coroutine doing N yields
//   asio_bench spawn N        N trivial tasks spawned and joined, 1000 at a time
//
// Everything runs on one io_context created with concurrency hint 1 (the idiomatic single-threaded
// set-up; Asio still takes its scheduler mutex, uncontended). A yield is
// `co_await asio::post(asio::deferred)` (see TOKEN below): the coroutine goes to the back of the
// scheduler's queue, as sluice::yield() and asyncio.sleep(0) do. It is written inline, never as a
// nested awaitable<void> call, so that it costs one trip through the queue and no extra frame. The workload is timed inside the process,
// io_context construction and run() included (as sluice::run is in sluice_bench); exit status 1
// when the checksum is wrong.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include "bench_support.hpp"

namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using asio::awaitable;
using asio::use_awaitable;

// The completion token every co_await in this file uses. asio::deferred (no longer experimental
// since 1.80) is awaited directly by an awaitable<> coroutine and skips use_awaitable's handler
// wrapping. On this machine it was 1.4-1.8x faster than use_awaitable on every workload (yield
// 60-100 ns against 120-160 ns) and used less memory, so it is the fair, fast choice. Build with
// -DASIO_BENCH_USE_AWAITABLE to measure the classic spelling (`post(executor, use_awaitable)`).
#ifdef ASIO_BENCH_USE_AWAITABLE
#define TOKEN use_awaitable
#define YIELD co_await asio::post(co_await asio::this_coro::executor, use_awaitable)
#else
#define TOKEN asio::deferred
#define YIELD co_await asio::post(asio::deferred)
#endif

// --- the tasks -------------------------------------------------------------------------------------
awaitable<long long> trivial(long long i) { co_return 2 * i; }

awaitable<long long> yield_then_double(long long i) {
    YIELD;
    co_return 2 * i;
}

awaitable<long long> sleep_then_return(long long i, std::chrono::milliseconds duration) {
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    co_await timer.async_wait(TOKEN);
    co_return i;
}

// A completion handler for co_spawn that rethrows a task's exception out of io_context::run().
template <class OnValue>
auto on_result(OnValue on_value) {
    return [on_value](std::exception_ptr error, long long value) {
        if (error) std::rethrow_exception(error);
        on_value(value);
    };
}

// --- W1/W2: bounded fan-out --------------------------------------------------------------------------
// Each item is its own co_spawn'ed task (an independent "thread" of awaitables, as a sluice task or
// an asyncio Task is). co_spawn's completion handler pushes the result into a channel with room for
// L values, so try_send never fails (at most L tasks are outstanding). The consumer coroutine
// receives results in completion order, adds them up, and spawns the next task for each one.
//
// The channel was chosen over a steady_timer used as a condition variable: both need one
// async_receive/async_wait when the consumer has to sleep, but the channel also carries the value
// and lets the consumer drain everything that completed while it ran with try_receive (no
// suspension, no trip through the scheduler), which a timer cannot.
template <class MakeTask>
awaitable<long long> bounded_sum(long long count, long long limit, MakeTask make_task) {
    auto executor = co_await asio::this_coro::executor;
    asio::experimental::channel<void(error_code, long long)> results(executor, static_cast<std::size_t>(limit));
    long long next = 0;
    long long outstanding = 0;
    long long sum = 0;
    auto launch = [&] {
        asio::co_spawn(executor, make_task(next++),
                       on_result([&results](long long value) { results.try_send(error_code{}, value); }));
        ++outstanding;
    };
    while (outstanding < limit && next < count) launch();
    auto take = [&](error_code, long long value) {
        --outstanding;
        sum += value;
        if (next < count) launch();
    };
    while (outstanding > 0) {
        // Drain whatever is already there, then sleep until the next completion.
        while (results.try_receive(take)) {
        }
        if (outstanding == 0) break;
        take(error_code{}, co_await results.async_receive(TOKEN));
    }
    co_return sum;
}

// W1 variant: no consumer coroutine at all; co_spawn's completion handler adds the value and
// spawns the next task. The cheapest bounded fan-out Asio offers (callback style).
struct chained_sum {
    asio::io_context::executor_type executor;
    long long count;
    long long next = 0;
    long long sum = 0;

    void launch() {
        asio::co_spawn(executor, yield_then_double(next++), on_result([this](long long value) {
                           sum += value;
                           if (next < count) launch();
                       }));
    }
};

// --- W3: semaphore ------------------------------------------------------------------------------------
// Asio has no semaphore; the idiomatic C++20 one is a channel of permits: P void(error_code)
// messages in a buffer of P. acquire = receive a permit, release = try_send it back, which hands it
// straight to the longest-waiting receiver (FIFO, as asyncio.Semaphore's and sluice's are). It is
// spelled in the Asio manner, try_acquire() plus async_acquire(token), so an uncontended acquire
// neither suspends nor allocates a frame (sluice's and asyncio's acquire have the same fast path).
class channel_semaphore {
public:
    channel_semaphore(const asio::any_io_executor& executor, long long permits)
        : permits_(executor, static_cast<std::size_t>(permits)) {
        for (long long i = 0; i < permits; ++i) permits_.try_send(error_code{});
    }
    bool try_acquire() {
        return permits_.try_receive([](error_code) {});
    }
    template <class Token>
    auto async_acquire(Token&& token) {
        return permits_.async_receive(std::forward<Token>(token));
    }
    void release() { permits_.try_send(error_code{}); }

private:
    asio::experimental::channel<void(error_code)> permits_;
};

awaitable<long long> contend(channel_semaphore& semaphore, long long iterations) {
    long long done = 0;
    for (long long i = 0; i < iterations; ++i) {
        if (!semaphore.try_acquire()) co_await semaphore.async_acquire(TOKEN);
        YIELD;
        ++done;
        semaphore.release();
    }
    co_return done;
}

// --- W3/W4: spawn many, wait for all (a counter plus a one-slot channel as the completion signal) ----
// Results land in their slot (like a gather's vector); the last one to finish wakes the waiter.
template <class MakeTask>
awaitable<std::vector<long long>> spawn_all(long long count, MakeTask make_task) {
    auto executor = co_await asio::this_coro::executor;
    std::vector<long long> results(static_cast<std::size_t>(count));
    asio::experimental::channel<void(error_code)> all_done(executor, 1);
    long long remaining = count;
    for (long long i = 0; i < count; ++i) {
        asio::co_spawn(executor, make_task(i), on_result([&, i](long long value) {
                           results[static_cast<std::size_t>(i)] = value;
                           if (--remaining == 0) all_done.try_send(error_code{});
                       }));
    }
    if (remaining > 0) co_await all_done.async_receive(TOKEN);
    co_return results;
}

awaitable<long long> semaphore_contention(long long tasks, long long permits, long long iterations) {
    channel_semaphore semaphore(co_await asio::this_coro::executor, permits);
    std::vector<long long> done =
        co_await spawn_all(tasks, [&](long long) { return contend(semaphore, iterations); });
    long long sum = 0;
    for (long long value : done) sum += value;
    co_return sum;
}

awaitable<long long> gather_trivial(long long count) {
    std::vector<long long> results = co_await spawn_all(count, yield_then_double);
    long long sum = 0;
    for (long long value : results) sum += value;
    co_return sum;
}

// --- loop micro-benchmarks ------------------------------------------------------------------------------
awaitable<long long> yield_loop(long long count) {
    long long done = 0;
    for (long long i = 0; i < count; ++i) {
        YIELD;
        ++done;
    }
    co_return done;
}

awaitable<long long> spawn_and_join(long long count) {
    constexpr long long batch = 1000;
    long long sum = 0;
    for (long long first = 0; first < count; first += batch) {
        const long long size = std::min(batch, count - first);
        std::vector<long long> results = co_await spawn_all(size, [first](long long i) { return trivial(first + i); });
        for (long long value : results) sum += value;
    }
    co_return sum;
}

// Runs `work` as the main coroutine of a fresh single-threaded io_context; returns its value.
template <class Work>
long long run(Work work) {
    asio::io_context context(1);
    long long result = -1;
    asio::co_spawn(context, std::move(work), on_result([&](long long value) { result = value; }));
    context.run();
    return result;
}


int usage() {
    std::fputs("usage: asio_bench w1 M L | w1cb M L | w2 M L [ms] | w3 T P I | w4 M | yield N | spawn N\n", stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string workload = argv[1];
    using sluice_bench::argument;
    if (workload == "w1") {
        const long long m = argument(argc, argv, 2, 1'000'000);
        const long long l = argument(argc, argv, 3, 1000);
        sluice_bench::stopwatch clock;
        const long long sum = run(bounded_sum(m, l, yield_then_double));
        return sluice_bench::report("asio", "W1", "M=" + std::to_string(m) + " L=" + std::to_string(l), m, sum, m * (m - 1),
                      clock.seconds());
    }
    if (workload == "w1cb") {
        const long long m = argument(argc, argv, 2, 1'000'000);
        const long long l = argument(argc, argv, 3, 1000);
        sluice_bench::stopwatch clock;
        asio::io_context context(1);
        chained_sum state{context.get_executor(), m};
        while (state.next < l && state.next < m) state.launch();
        context.run();
        return sluice_bench::report("asio-cb", "W1", "M=" + std::to_string(m) + " L=" + std::to_string(l), m, state.sum,
                      m * (m - 1), clock.seconds());
    }
    if (workload == "w2") {
        const long long m = argument(argc, argv, 2, 1'000'000);
        const long long l = argument(argc, argv, 3, 100'000);
        const std::chrono::milliseconds duration(argument(argc, argv, 4, 100));
        sluice_bench::stopwatch clock;
        const long long sum =
            run(bounded_sum(m, l, [duration](long long i) { return sleep_then_return(i, duration); }));
        return sluice_bench::report("asio", "W2",
                      "M=" + std::to_string(m) + " L=" + std::to_string(l) + " ms=" + std::to_string(duration.count()),
                      m, sum, m * (m - 1) / 2, clock.seconds());
    }
    if (workload == "w3") {
        const long long tasks = argument(argc, argv, 2, 10'000);
        const long long permits = argument(argc, argv, 3, 100);
        const long long iterations = argument(argc, argv, 4, 100);
        sluice_bench::stopwatch clock;
        const long long sum = run(semaphore_contention(tasks, permits, iterations));
        return sluice_bench::report("asio", "W3",
                      "TASKS=" + std::to_string(tasks) + " PERMITS=" + std::to_string(permits) +
                          " ITERS=" + std::to_string(iterations),
                      tasks * iterations, sum, tasks * iterations, clock.seconds());
    }
    if (workload == "w4") {
        const long long m = argument(argc, argv, 2, 1'000'000);
        sluice_bench::stopwatch clock;
        const long long sum = run(gather_trivial(m));
        return sluice_bench::report("asio", "W4", "M=" + std::to_string(m), m, sum, m * (m - 1), clock.seconds());
    }
    if (workload == "yield") {
        const long long n = argument(argc, argv, 2, 10'000'000);
        sluice_bench::stopwatch clock;
        const long long done = run(yield_loop(n));
        return sluice_bench::report("asio", "YIELD", "N=" + std::to_string(n), n, done, n, clock.seconds());
    }
    if (workload == "spawn") {
        const long long n = argument(argc, argv, 2, 1'000'000);
        sluice_bench::stopwatch clock;
        const long long sum = run(spawn_and_join(n));
        return sluice_bench::report("asio", "SPAWN", "N=" + std::to_string(n), n, sum, n * (n - 1), clock.seconds());
    }
    return usage();
}
