// limited_as_completed: port of the seed program from bpo-30782's discussion ("limited_as_completed"):
//
//     async def task(n):
//         print("Starting", n)
//         await asyncio.sleep(1 / n)
//         print("Finishing", n)
//         return n
//
//     coros = (task(n) for n in range(1, 101))
//     for next_result in limited_as_completed(coros, 10):
//         print("Result", await next_result)
//
// 100 tasks sleeping 1/n s, at most 10 at a time: the source is a lazy generator, pulled only when
// a slot is free, and each result is printed as soon as it finishes.
//
// Usage: limited_as_completed [count [limit]]   (defaults 100 and 10)

#include <sluice/sluice.hpp>

#include <chrono>
#include <climits>
#include <cstdio>

#include "support/arguments.hpp"

sluice::task<int> job(int n) {
    std::printf("Starting %d\n", n);
    co_await sluice::sleep_for(std::chrono::duration<double>(1.0 / n));
    std::printf("Finishing %d\n", n);
    co_return n;
}

sluice::generator<sluice::task<int>> jobs(int count) {
    for (int n = 1; n <= count; ++n) co_yield job(n);
}

sluice::task<> main_task(int count, int limit) {
    for (auto next_result : sluice::limited_as_completed(jobs(count), limit)) {
        std::printf("Result %d\n", co_await next_result);
    }
}

int main(int argc, char** argv) {
    constexpr const char* help =
        "usage: limited_as_completed [-h] [count [limit]]\n"
        "  count        jobs to run, >= 1 (default 100)\n"
        "  limit        jobs in flight at most, >= 1 (default 10)\n"
        "  -h, --help   show this help and exit\n";
    long long values[2] = {100, 10};
    int given = 0;
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (line.is_option() || given == 2) line.unrecognized();
            line.positional(given == 0 ? "count" : "limit");
            values[given++] = line.integer(1, INT_MAX);
        })) {
        return *exit_status;
    }
    sluice::run(main_task(static_cast<int>(values[0]), static_cast<int>(values[1])));
}
