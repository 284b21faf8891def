// rand: port of the asyncio tutorial's rand.py (Real Python, "Async IO in Python"):
//
//     c = ("\033[0m", "\033[36m", "\033[91m", "\033[35m")   # reset, cyan, red, magenta
//
//     async def makerandom(idx: int, threshold: int = 6) -> int:
//         print(c[idx + 1] + f"Initiated makerandom({idx}).")
//         i = random.randint(0, 10)
//         while i <= threshold:
//             print(c[idx + 1] + f"makerandom({idx}) == {i} too low; retrying.")
//             await asyncio.sleep(idx + 1)
//             i = random.randint(0, 10)
//         print(c[idx + 1] + f"---> Finished: makerandom({idx}) == {i}" + c[0])
//         return i
//
//     async def main():
//         res = await asyncio.gather(*(makerandom(i, 10 - i - 1) for i in range(3)))
//         return res
//
//     random.seed(444)
//     r1, r2, r3 = asyncio.run(main())
//     print()
//     print(f"r1: {r1}, r2: {r2}, r3: {r3}")
//
// Three coroutines draw random numbers until one beats their threshold, sleeping idx + 1 seconds
// between tries; gather runs them concurrently, so their coloured lines interleave, and returns the
// three results in argument order.
//
// One difference: the original shares one random stream, so which coroutine gets which number
// depends on how their wake-ups interleave. Here each makerandom(idx) draws from a stream of its
// own, seeded from (SEED, idx), so a seed always gives the same lines per coroutine and the same
// results, whatever the timing.
//
// Usage: rand [-s SEED] [--scale FACTOR]
//   -s SEED          seed of the random streams (default 444, as in the original)
//   --scale FACTOR   multiply every sleep by FACTOR (default 1: the original's seconds)

#include <sluice/sluice.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "support/arguments.hpp"

#include "support/random_stream.hpp"

namespace {

// ANSI colours: reset, then one per makerandom(idx).
constexpr const char* c[] = {"\033[0m", "\033[36m", "\033[91m", "\033[35m"};

struct options {
    std::uint32_t seed = 444;
    double scale = 1.0;
};

sluice::task<int> makerandom(int idx, int threshold, options opts) {
    random_stream random(opts.seed, static_cast<std::uint32_t>(idx));
    std::printf("%sInitiated makerandom(%d).\n", c[idx + 1], idx);
    int i = random.randint(0, 10);
    while (i <= threshold) {
        std::printf("%smakerandom(%d) == %d too low; retrying.\n", c[idx + 1], idx, i);
        co_await sluice::sleep_for(std::chrono::duration<double>((idx + 1) * opts.scale));
        i = random.randint(0, 10);
    }
    std::printf("%s---> Finished: makerandom(%d) == %d%s\n", c[idx + 1], idx, i, c[0]);
    co_return i;
}

sluice::task<std::vector<int>> main_task(options opts) {
    std::vector<sluice::task<int>> calls;
    for (int i = 0; i < 3; ++i) calls.push_back(makerandom(i, 10 - i - 1, opts));
    co_return co_await sluice::gather(std::move(calls));
}

constexpr const char* help =
    "usage: rand [-h] [-s SEED] [--scale FACTOR]\n"
    "  -h, --help        show this help and exit\n"
    "  -s, --seed SEED   seed of the random streams (default 444)\n"
    "  --scale FACTOR    multiply every sleep by FACTOR >= 0 (default 1)\n";

}  // namespace

int main(int argc, char** argv) {
    options opts;
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (!args::seed_or_scale(line, opts.seed, opts.scale)) line.unrecognized();
        })) {
        return *exit_status;
    }
    const std::vector<int> r = sluice::run(main_task(opts));
    std::printf("\n");
    std::printf("r1: %d, r2: %d, r3: %d\n", r[0], r[1], r[2]);
}
