// spinner: port of Fluent Python's spinner_asyncio.py (1st edition, chapter 18 "Concurrency with
// asyncio"; shown in today's async/await spelling, the book's slow_function() renamed slow()):
//
//     async def spin(msg):
//         write, flush = sys.stdout.write, sys.stdout.flush
//         for char in itertools.cycle('|/-\\'):
//             status = char + ' ' + msg
//             write(status)
//             flush()
//             write('\x08' * len(status))
//             try:
//                 await asyncio.sleep(.1)
//             except asyncio.CancelledError:
//                 break
//         write(' ' * len(status) + '\x08' * len(status))
//
//     async def slow():
//         await asyncio.sleep(3)
//         return 42
//
//     async def supervisor():
//         spinner = asyncio.create_task(spin('thinking!'))
//         print('spinner object:', spinner)
//         result = await slow()
//         spinner.cancel()
//         return result
//
//     result = asyncio.run(supervisor())
//     print('Answer:', result)
//
// The spinner animates a |/-\ cursor, rewinding it with backspaces, while the supervisor awaits
// the slow computation on the same thread; cancelling the spinner delivers cancelled_error at its
// sleep, where it stops and blanks its line. The supervisor awaits the cancelled spinner, so the
// line is clean before "Answer: 42" is printed.
//
// Usage: spinner [--scale FACTOR]
//   --scale FACTOR   multiply every sleep by FACTOR (default 1: 3 s of thinking, a frame each 0.1 s)

#include <sluice/sluice.hpp>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "support/arguments.hpp"

namespace {

using seconds = std::chrono::duration<double>;

void write(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

sluice::task<> spin(std::string msg, double scale) {
    std::string status;
    for (std::size_t frame = 0;; ++frame) {
        status = std::string(1, "|/-\\"[frame % 4]) + ' ' + msg;
        write(status);
        std::fflush(stdout);
        write(std::string(status.size(), '\b'));
        try {
            co_await sluice::sleep_for(seconds(0.1 * scale));
        } catch (const sluice::cancelled_error&) {
            break;
        }
    }
    write(std::string(status.size(), ' ') + std::string(status.size(), '\b'));
    std::fflush(stdout);
}

sluice::task<int> slow(double scale) {
    co_await sluice::sleep_for(seconds(3 * scale));
    co_return 42;
}

sluice::task<int> supervisor(double scale) {
    sluice::join_handle<void> spinner = sluice::spawn(spin("thinking!", scale));
    std::printf("spinner object: <join_handle %s coro=spin('thinking!')>\n", spinner.done() ? "done" : "pending");
    const int result = co_await slow(scale);
    spinner.cancel();
    // spin() catches the cancellation and returns normally; awaiting it still reports
    // cancelled_error when the cancel came before it ever ran.
    try {
        co_await spinner;
    } catch (const sluice::cancelled_error&) {
    }
    co_return result;
}

}  // namespace

int main(int argc, char** argv) {
    double scale = 1.0;
    constexpr const char* help =
        "usage: spinner [-h] [--scale FACTOR]\n"
        "  -h, --help       show this help and exit\n"
        "  --scale FACTOR   multiply every sleep by FACTOR >= 0 (default 1: 3 s)\n";
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (!line.is("", "--scale")) line.unrecognized();
            scale = line.scale();
        })) {
        return *exit_status;
    }
    const int result = sluice::run(supervisor(scale));
    std::printf("Answer: %d\n", result);
}
