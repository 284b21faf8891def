// count_async: port of the asyncio tutorial's countasync.py:
//
//     async def count():
//         print("One")
//         await asyncio.sleep(1)
//         print("Two")
//
//     async def main():
//         await asyncio.gather(count(), count(), count())
//
// Three count() coroutines run concurrently on one thread, so the program prints One One One, then
// Two Two Two, and takes about 1 second, not 3.

#include <sluice/sluice.hpp>

#include <chrono>
#include <cstdio>

#include "support/arguments.hpp"

using namespace std::chrono_literals;

sluice::task<> count() {
    std::puts("One");
    co_await sluice::sleep_for(1s);
    std::puts("Two");
}

sluice::task<> main_task() { co_await sluice::gather(count(), count(), count()); }

int main(int argc, char** argv) {
    constexpr const char* help =
        "usage: count_async [-h]\n"
        "Three tasks print One, sleep 1 s, print Two (RealPython's countasync.py).\n"
        "  -h, --help   show this help and exit\n";
    const auto each = [](args::command_line& line) { line.unrecognized(); };
    if (const auto exit_status = args::parse(argc, argv, help, each)) return *exit_status;
    const auto start = std::chrono::steady_clock::now();
    sluice::run(main_task());
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    std::printf("count_async executed in %0.2f seconds.\n", elapsed.count());
}
