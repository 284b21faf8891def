// sluice_bench: one workload per invocation, one RESULT line per run (docs/design.md, "Benchmarks").
//
//   sluice_bench w1 M L         M trivial tasks (one yield, return 2i) pulled lazily from a
//                               generator, at most L in flight, results in completion order
//   sluice_bench w2 M L [ms]    M tasks sleeping `ms` (default 100), at most L in flight
//   sluice_bench w3 T P I       T tasks share a semaphore of P permits, each doing I times
//                               acquire / yield / release; ns per acquire-release pair
//   sluice_bench w4 M           gather over M trivial tasks, pulled lazily from a generator
//   sluice_bench w4made M       the same M tasks made first into a vector (as the floor does),
//                               then gathered: every frame exists before the first one runs
//   sluice_bench yield N        one task doing N `co_await yield()` round trips through the loop
//   sluice_bench spawn N        N trivial tasks spawned and joined, 1000 at a time
//
// The workload is timed inside the process (start-up excluded); exit status 1 when the checksum
// is wrong.

#include <sluice/sluice.hpp>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_support.hpp"

namespace {

sluice::task<long long> yield_loop(long long count) {
    long long done = 0;
    for (long long i = 0; i < count; ++i) {
        co_await sluice::yield();
        ++done;
    }
    co_return done;
}

sluice::task<long long> trivial(long long i) { co_return 2 * i; }

sluice::task<long long> yield_then_double(long long i) {
    co_await sluice::yield();
    co_return 2 * i;
}

sluice::task<long long> sleep_then_return(long long i, std::chrono::milliseconds duration) {
    co_await sluice::sleep_for(duration);
    co_return i;
}

// Lazy sources: nothing is built before the engine pulls it, so memory stays with L.
sluice::generator<sluice::task<long long>> yielding_tasks(long long count) {
    for (long long i = 0; i < count; ++i) co_yield yield_then_double(i);
}
sluice::generator<sluice::task<long long>> sleeping_tasks(long long count, std::chrono::milliseconds duration) {
    for (long long i = 0; i < count; ++i) co_yield sleep_then_return(i, duration);
}

template <class Source>
sluice::task<long long> sum_as_completed(Source source, long long limit) {
    long long sum = 0;
    for (auto next : sluice::limited_as_completed(std::move(source), limit)) sum += co_await next;
    co_return sum;
}

sluice::task<long long> contend(sluice::semaphore& semaphore, long long iterations) {
    long long done = 0;
    for (long long i = 0; i < iterations; ++i) {
        auto permit = co_await semaphore.acquire();
        co_await sluice::yield();
        ++done;
    }
    co_return done;
}

sluice::task<long long> semaphore_contention(long long tasks, long long permits, long long iterations) {
    sluice::semaphore semaphore(permits);
    std::vector<sluice::task<long long>> workers;
    workers.reserve(static_cast<std::size_t>(tasks));
    for (long long t = 0; t < tasks; ++t) workers.push_back(contend(semaphore, iterations));
    std::vector<long long> done = co_await sluice::gather(std::move(workers));
    long long sum = 0;
    for (long long value : done) sum += value;
    co_return sum;
}

sluice::task<long long> gather_trivial(long long count) {
    std::vector<long long> results = co_await sluice::gather(yielding_tasks(count));
    long long sum = 0;
    for (long long value : results) sum += value;
    co_return sum;
}

sluice::task<long long> gather_made_first(long long count) {
    std::vector<sluice::task<long long>> tasks;
    tasks.reserve(static_cast<std::size_t>(count));
    for (long long i = 0; i < count; ++i) tasks.push_back(yield_then_double(i));
    std::vector<long long> results = co_await sluice::gather(std::move(tasks));
    long long sum = 0;
    for (long long value : results) sum += value;
    co_return sum;
}

sluice::task<long long> spawn_and_join(long long count) {
    constexpr long long batch = 1000;
    std::vector<sluice::join_handle<long long>> handles;
    handles.reserve(batch);
    long long sum = 0;
    for (long long first = 0; first < count; first += batch) {
        for (long long i = first; i < first + batch && i < count; ++i) handles.push_back(sluice::spawn(trivial(i)));
        for (auto& handle : handles) sum += co_await std::move(handle);
        handles.clear();
    }
    co_return sum;
}

int usage() {
    std::fputs("usage: sluice_bench w1 M L | w2 M L [ms] | w3 T P I | w4 M | w4made M | yield N | spawn N\n", stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string workload = argv[1];
    if (workload == "w1") {
        const long long m = sluice_bench::argument(argc, argv, 2, 1'000'000);
        const long long l = sluice_bench::argument(argc, argv, 3, 1000);
        sluice_bench::stopwatch clock;
        const long long sum = sluice::run(sum_as_completed(yielding_tasks(m), l));
        return sluice_bench::report("sluice", "W1", "M=" + std::to_string(m) + " L=" + std::to_string(l), m, sum, m * (m - 1),
                                    clock.seconds());
    }
    if (workload == "w2") {
        const long long m = sluice_bench::argument(argc, argv, 2, 1'000'000);
        const long long l = sluice_bench::argument(argc, argv, 3, 100'000);
        const std::chrono::milliseconds duration(sluice_bench::argument(argc, argv, 4, 100));
        sluice_bench::stopwatch clock;
        const long long sum = sluice::run(sum_as_completed(sleeping_tasks(m, duration), l));
        return sluice_bench::report("sluice", "W2", "M=" + std::to_string(m) + " L=" + std::to_string(l) +
                                              " ms=" + std::to_string(duration.count()),
                                    m, sum, m * (m - 1) / 2, clock.seconds());
    }
    if (workload == "w3") {
        const long long tasks = sluice_bench::argument(argc, argv, 2, 10'000);
        const long long permits = sluice_bench::argument(argc, argv, 3, 100);
        const long long iterations = sluice_bench::argument(argc, argv, 4, 100);
        sluice_bench::stopwatch clock;
        const long long sum = sluice::run(semaphore_contention(tasks, permits, iterations));
        return sluice_bench::report("sluice", "W3",
                                    "TASKS=" + std::to_string(tasks) + " PERMITS=" + std::to_string(permits) +
                                        " ITERS=" + std::to_string(iterations),
                                    tasks * iterations, sum, tasks * iterations, clock.seconds());
    }
    if (workload == "w4") {
        const long long m = sluice_bench::argument(argc, argv, 2, 1'000'000);
        sluice_bench::stopwatch clock;
        const long long sum = sluice::run(gather_trivial(m));
        return sluice_bench::report("sluice", "W4", "M=" + std::to_string(m), m, sum, m * (m - 1), clock.seconds());
    }
    if (workload == "w4made") {
        const long long m = sluice_bench::argument(argc, argv, 2, 1'000'000);
        sluice_bench::stopwatch clock;
        const long long sum = sluice::run(gather_made_first(m));
        return sluice_bench::report("sluice", "W4", "M=" + std::to_string(m) + " made-first", m, sum, m * (m - 1), clock.seconds());
    }
    if (workload == "yield") {
        const long long n = sluice_bench::argument(argc, argv, 2, 10'000'000);
        sluice_bench::stopwatch clock;
        const long long done = sluice::run(yield_loop(n));
        return sluice_bench::report("sluice", "YIELD", "N=" + std::to_string(n), n, done, n, clock.seconds());
    }
    if (workload == "spawn") {
        const long long n = sluice_bench::argument(argc, argv, 2, 1'000'000);
        sluice_bench::stopwatch clock;
        const long long sum = sluice::run(spawn_and_join(n));
        return sluice_bench::report("sluice", "SPAWN", "N=" + std::to_string(n), n, sum, n * (n - 1), clock.seconds());
    }
    return usage();
}
