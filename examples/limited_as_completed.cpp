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
#include <cstdio>
#include <cstdlib>

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
    const int count = argc > 1 ? std::atoi(argv[1]) : 100;
    const int limit = argc > 2 ? std::atoi(argv[2]) : 10;
    if (count < 1 || limit < 1) {
        std::fputs("usage: limited_as_completed [count >= 1 [limit >= 1]]\n", stderr);
        return 1;
    }
    sluice::run(main_task(count, limit));
}
