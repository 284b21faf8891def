// million: port of bpo-30782's program ("Allow limiting the number of concurrent tasks in
// asyncio.as_completed"), the one that motivated limited_as_completed:
//
//     limit = int(sys.argv[1])
//
//     async def double(x):
//         await asyncio.sleep(1)
//         return x * 2
//
//     async def print_doubles():
//         coros = (double(x) for x in range(1000000))
//         for res in asyncio.as_completed(coros, limit=limit):
//             r = await res
//             if r % 100000 == 0:
//                 print(r)
//
//     loop = asyncio.get_event_loop()
//     loop.run_until_complete(print_doubles())
//
// A million tasks, each sleeping 1 s, from a lazy generator, at most `limit` in flight: the
// generator is pulled only when a slot is free, so memory grows with the limit, not with the
// million. The issue compared wall time and memory across limits; this port prints both: the
// elapsed time beside the ideal ceil(count / limit) sleeps, and the peak resident memory (VmHWM)
// with what it grew by per in-flight task.
//
// Like the original it prints 20 of the results, in completion order: the r that are multiples of
// 2 * (count / 20), for the default million those of 100000. It also checks that every result
// arrived exactly once (count results, summing to count * (count - 1)).
//
// Usage: million [limit [count [sleep_ms]]]   (defaults 100000, 1000000 and 1000, the original's)

#include <sluice/sluice.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "support/arguments.hpp"

namespace {

/// A line of /proc/self/status in kB ("VmHWM", "VmRSS"), or -1 when it cannot be read.
long status_kib(const char* field) {
    long kib = -1;
    if (std::FILE* status = std::fopen("/proc/self/status", "r")) {
        char line[256];
        char name[64];
        long value = 0;
        while (std::fgets(line, sizeof line, status) != nullptr) {
            if (std::sscanf(line, "%63[^:]: %ld kB", name, &value) == 2 && std::string_view(name) == field) {
                kib = value;
                break;
            }
        }
        std::fclose(status);
    }
    return kib;
}

sluice::task<long long> double_it(long long x, std::chrono::milliseconds sleep) {
    co_await sluice::sleep_for(sleep);
    co_return x * 2;
}

sluice::generator<sluice::task<long long>> doubles(long long count, std::chrono::milliseconds sleep) {
    for (long long x = 0; x < count; ++x) co_yield double_it(x, sleep);
}

struct totals {
    long long results = 0;
    long long sum = 0;
};

sluice::task<totals> print_doubles(long long limit, long long count, std::chrono::milliseconds sleep) {
    const long long every = std::max(count / 20, 1LL);  // the original: 1000000 / 20 = 50000 doubles
    totals seen;
    for (auto res : sluice::limited_as_completed(doubles(count, sleep), static_cast<std::ptrdiff_t>(limit))) {
        const long long r = co_await res;
        if (r % (2 * every) == 0) std::printf("%lld\n", r);
        ++seen.results;
        seen.sum += r;
    }
    co_return seen;
}

}  // namespace

int main(int argc, char** argv) {
    long long limit = 100'000;
    long long count = 1'000'000;
    long long sleep_ms = 1000;
    constexpr const char* help =
        "usage: million [-h] [limit [count [sleep_ms]]]\n"
        "  limit        tasks in flight at most, >= 1 (default 100000)\n"
        "  count        tasks in all, 0..1000000000 (default 1000000)\n"
        "  sleep_ms     how long each task sleeps, 0..3600000 (default 1000)\n"
        "  -h, --help   show this help and exit\n";
    int given = 0;
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (line.is_option() || given == 3) line.unrecognized();
            if (given == 0) {
                line.positional("limit");
                limit = line.integer(1, std::numeric_limits<long long>::max());
            } else if (given == 1) {
                line.positional("count");
                count = line.integer(0, 1'000'000'000);
            } else {
                line.positional("sleep_ms");
                sleep_ms = line.integer(0, 3'600'000);
            }
            ++given;
        })) {
        return *exit_status;
    }
    const std::chrono::milliseconds sleep(sleep_ms);
    const long baseline_kib = status_kib("VmRSS");
    const auto start = std::chrono::steady_clock::now();
    const totals seen = sluice::run(print_doubles(limit, count, sleep));
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    const long peak_kib = status_kib("VmHWM");

    const long long expected_sum = count * (count - 1);  // 2 * (0 + 1 + ... + count-1)
    if (seen.results != count || seen.sum != expected_sum) {
        std::fprintf(stderr, "million: got %lld results summing to %lld, expected %lld summing to %lld\n", seen.results,
                     seen.sum, count, expected_sum);
        return 1;
    }
    const long long in_flight = std::min(limit, count);
    const long long rounds = (count + limit - 1) / limit;
    std::printf("%lld tasks sleeping %lld ms, at most %lld in flight: %.2f s (ideal %.2f s)\n", count, sleep_ms, limit,
                elapsed.count(), static_cast<double>(rounds * sleep_ms) / 1000.0);
    if (peak_kib >= 0 && baseline_kib >= 0) {
        const double per_task = in_flight == 0 ? 0.0
                                               : static_cast<double>(peak_kib - baseline_kib) * 1024.0 /
                                                     static_cast<double>(in_flight);
        std::printf("peak RSS %.1f MiB (%.1f MiB at start): %.0f bytes per in-flight task\n", peak_kib / 1024.0,
                    baseline_kib / 1024.0, per_task);
    }
}
