// async_generator: port of the asyncio tutorial's asynchronous generator example (Real Python,
// "Async IO in Python", "Other Features: async for and Async Generators + Comprehensions"):
//
//     async def mygen(u: int = 10):
//         """Yield powers of 2."""
//         i = 0
//         while i < u:
//             yield 2 ** i
//             i += 1
//             await asyncio.sleep(0.1)
//
//     async def main():
//         # This does *not* introduce concurrent execution
//         # It is meant to show syntax only
//         g = [i async for i in mygen()]
//         f = [j async for j in mygen() if not (j // 3 % 5)]
//         return g, f
//
//     g, f = asyncio.run(main())
//     # g == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
//     # f == [1, 2, 16, 32, 256, 512]
//
// An async_generator both awaits (the sleep) and yields (the powers). The two "comprehensions"
// show its two ways of consumption: `while (auto v = co_await gen.next())` and the iterator loop
// `for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it)`, the second one filtering.
// The program prints the two lists as Python prints them.
//
// Usage: async_generator [-u COUNT] [--scale FACTOR]
//   -u COUNT         how many powers of two to generate (default 10, mygen's u)
//   --scale FACTOR   multiply every sleep by FACTOR (default 1: the original's 0.1 s)

#include <sluice/sluice.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

#include "support/arguments.hpp"

namespace {

/// Yield powers of 2.
sluice::async_generator<std::uint64_t> mygen(int u, double scale) {
    int i = 0;
    while (i < u) {
        co_yield std::uint64_t{1} << i;
        i += 1;
        co_await sluice::sleep_for(std::chrono::duration<double>(0.1 * scale));
    }
}

using lists = std::pair<std::vector<std::uint64_t>, std::vector<std::uint64_t>>;

sluice::task<lists> main_task(int u, double scale) {
    // This does *not* introduce concurrent execution; it is meant to show syntax only.
    // g = [i async for i in mygen()]
    std::vector<std::uint64_t> g;
    auto all = mygen(u, scale);
    while (auto i = co_await all.next()) g.push_back(*i);

    // f = [j async for j in mygen() if not (j // 3 % 5)]
    std::vector<std::uint64_t> f;
    auto some = mygen(u, scale);
    for (auto it = co_await some.begin(); it != some.end(); co_await ++it) {
        if (*it / 3 % 5 == 0) f.push_back(*it);
    }
    co_return lists{std::move(g), std::move(f)};
}

/// Prints a list as Python's print() does: [1, 2, 4].
void print_list(const std::vector<std::uint64_t>& values) {
    std::printf("[");
    for (std::size_t k = 0; k < values.size(); ++k) {
        std::printf(k == 0 ? "%llu" : ", %llu", static_cast<unsigned long long>(values[k]));
    }
    std::printf("]\n");
}

constexpr const char* help =
    "usage: async_generator [-h] [-u COUNT] [--scale FACTOR]\n"
    "  -h, --help       show this help and exit\n"
    "  -u COUNT         how many powers of two to generate, 0..64 (default 10)\n"
    "  --scale FACTOR   multiply every sleep by FACTOR >= 0 (default 1: 0.1 s)\n";

}  // namespace

int main(int argc, char** argv) {
    int u = 10;
    double scale = 1.0;
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (line.is("-u", "")) {
                u = static_cast<int>(line.integer(0, 64));  // 2**63 is the largest power a uint64_t holds
            } else if (line.is("", "--scale")) {
                scale = line.scale();
            } else {
                line.unrecognized();
            }
        })) {
        return *exit_status;
    }
    const auto [g, f] = sluice::run(main_task(u, scale));
    print_list(g);
    print_list(f);
}
