// sluice_bench: one workload per invocation, one RESULT line per run (DESIGN §6).
//
//   sluice_bench yield N        one task doing N `co_await yield()` round trips through the loop
//   sluice_bench spawn N        N trivial tasks spawned and joined, 1000 at a time
//
// The workload is timed inside the process (start-up excluded); exit status 1 when the checksum
// is wrong.

#include <sluice/sluice.hpp>

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
    std::fputs("usage: sluice_bench yield N | spawn N\n", stderr);
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string workload = argv[1];
    if (workload == "yield") {
        const long long n = sluice_bench::argument(argc, argv, 2, 10'000'000);
        sluice_bench::stopwatch clock;
        const long long done = sluice::run(yield_loop(n));
        return sluice_bench::report("YIELD", "N=" + std::to_string(n), n, done, n, clock.seconds());
    }
    if (workload == "spawn") {
        const long long n = sluice_bench::argument(argc, argv, 2, 1'000'000);
        sluice_bench::stopwatch clock;
        const long long sum = sluice::run(spawn_and_join(n));
        return sluice_bench::report("SPAWN", "N=" + std::to_string(n), n, sum, n * (n - 1), clock.seconds());
    }
    return usage();
}
