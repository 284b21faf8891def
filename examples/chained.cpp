// chained: port of the asyncio tutorial's chained.py (Real Python, "Async IO in Python"):
//
//     async def part1(n: int) -> str:
//         i = random.randint(0, 10)
//         print(f"part1({n}) sleeping for {i} seconds.")
//         await asyncio.sleep(i)
//         result = f"result{n}-1"
//         print(f"Returning part1({n}) == {result}.")
//         return result
//
//     async def part2(n: int, arg: str) -> str:
//         i = random.randint(0, 10)
//         print(f"part2{n, arg} sleeping for {i} seconds.")
//         await asyncio.sleep(i)
//         result = f"result{n}-2 derived from {arg}"
//         print(f"Returning part2{n, arg} == {result}.")
//         return result
//
//     async def chain(n: int) -> None:
//         start = time.perf_counter()
//         p1 = await part1(n)
//         p2 = await part2(n, p1)
//         end = time.perf_counter() - start
//         print(f"-->Chained result{n} => {p2} (took {end:0.2f} seconds).")
//
//     async def main(*args):
//         await asyncio.gather(*(chain(n) for n in args))
//
//     random.seed(444)
//     start = time.perf_counter()
//     asyncio.run(main(*args))
//     end = time.perf_counter() - start
//     print(f"Program finished in {end:0.2f} seconds.")
//
// Each chain awaits part1 and then part2 with part1's result: the steps of one chain run in
// order, while gather runs the chains concurrently, so the program takes as long as the slowest
// chain, not the sum of them all.
//
// One difference: the original shares one random stream, so the sleep a part draws depends on
// how the chains interleave. Here chain(n) draws from a stream of its own, seeded from (SEED, n),
// so a seed always gives every chain the same sleeps, whatever the timing.
//
// Usage: chained [-s SEED] [--scale FACTOR] [N...]   (default N: 9 6 3, the tutorial's run)
//   -s SEED          seed of the random streams (default 444, as in the original)
//   --scale FACTOR   multiply every sleep by FACTOR (default 1: the original's seconds)

#include <sluice/sluice.hpp>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "support/arguments.hpp"

#include "support/random_stream.hpp"

namespace {

struct options {
    std::uint32_t seed = 444;
    double scale = 1.0;
    std::vector<int> args;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// random_stream is taken by reference: chain(n) owns it and awaits both parts in place.
sluice::task<std::string> part1(int n, random_stream& random, double scale) {
    const int i = random.randint(0, 10);
    std::printf("part1(%d) sleeping for %d seconds.\n", n, i);
    co_await sluice::sleep_for(std::chrono::duration<double>(i * scale));
    std::string result = "result" + std::to_string(n) + "-1";
    std::printf("Returning part1(%d) == %s.\n", n, result.c_str());
    co_return result;
}

sluice::task<std::string> part2(int n, std::string arg, random_stream& random, double scale) {
    const int i = random.randint(0, 10);
    // Python prints the tuple (n, arg): part2(9, 'result9-1').
    std::printf("part2(%d, '%s') sleeping for %d seconds.\n", n, arg.c_str(), i);
    co_await sluice::sleep_for(std::chrono::duration<double>(i * scale));
    std::string result = "result" + std::to_string(n) + "-2 derived from " + arg;
    std::printf("Returning part2(%d, '%s') == %s.\n", n, arg.c_str(), result.c_str());
    co_return result;
}

sluice::task<> chain(int n, std::uint32_t seed, double scale) {
    random_stream random(seed, static_cast<std::uint32_t>(n));
    const auto start = std::chrono::steady_clock::now();
    std::string p1 = co_await part1(n, random, scale);
    std::string p2 = co_await part2(n, std::move(p1), random, scale);
    std::printf("-->Chained result%d => %s (took %0.2f seconds).\n", n, p2.c_str(), seconds_since(start));
}

sluice::task<> main_task(const options& opts) {
    std::vector<sluice::task<>> chains;
    for (const int n : opts.args) chains.push_back(chain(n, opts.seed, opts.scale));
    co_await sluice::gather(std::move(chains));
}

constexpr const char* help =
    "usage: chained [-h] [-s SEED] [--scale FACTOR] [N...]\n"
    "  N...              the chains to run (default 9 6 3)\n"
    "  -h, --help        show this help and exit\n"
    "  -s, --seed SEED   seed of the random streams (default 444)\n"
    "  --scale FACTOR    multiply every sleep by FACTOR >= 0 (default 1)\n";

void parse_word(args::command_line& line, options& opts) {
    if (args::seed_or_scale(line, opts.seed, opts.scale)) {
        return;
    }
    if (line.is_option()) {
        line.unrecognized();
    } else {
        line.positional("N");  // like Python's int(arg); "-3" is a number
        opts.args.push_back(static_cast<int>(line.integer(INT_MIN, INT_MAX)));
    }
}

}  // namespace

int main(int argc, char** argv) {
    options opts;
    const auto each = [&](args::command_line& line) { parse_word(line, opts); };
    if (const auto exit_status = args::parse(argc, argv, help, each)) return *exit_status;
    if (opts.args.empty()) opts.args = {9, 6, 3};
    const auto start = std::chrono::steady_clock::now();
    sluice::run(main_task(opts));
    std::printf("Program finished in %0.2f seconds.\n", seconds_since(start));
}
