// echo_server: port of the asyncio documentation's TCP echo server (asyncio streams):
//
//     async def handle_echo(reader, writer):
//         addr = writer.get_extra_info('peername')
//         print(f"Connection from {addr!r}")
//         while data := await reader.read(100):
//             writer.write(data)
//             await writer.drain()
//         print(f"Closed {addr!r}")
//         writer.close()
//         await writer.wait_closed()
//
//     async def main():
//         server = await asyncio.start_server(handle_echo, '127.0.0.1', 8888)
//         addrs = ', '.join(str(sock.getsockname()) for sock in server.sockets)
//         print(f'Serving on {addrs}')
//         async with server:
//             await server.serve_forever()
//
//     asyncio.run(main())
//
// One listener; every accepted client gets its own handler coroutine (spawned into a task_group,
// so any number run at once on the one thread), which echoes what it reads until end of stream
// and then closes its socket. A client that fails (reset, ...) ends its handler only: the error is
// reported and the server goes on.
//
// Graceful shutdown (asyncio: loop.add_signal_handler + server.close + wait_for): SIGINT or SIGTERM
// stops accepting (the listener is closed: new clients are refused), gives the connections still
// open a grace period to finish, then cancels the rest (their sockets are closed) and exits 0.
//
// Several cores (--cores N, thread-per-core): N loops on N threads (sluice::run_on_cores), each
// with its own SO_REUSEPORT listener on the same port (examples/support/core_listeners.hpp); the
// kernel spreads the clients over them and a client is served entirely by the core that accepted
// it. The cores share only a stop source: the core that receives SIGINT/SIGTERM (or accepts the
// --once'th client) requests stop, and every core then shuts down as above.
//
// Usage: echo_server [-h] [--port P] [--host ADDRESS] [--once N] [--grace S] [--cores N]
//   --port P      port to listen on (default 8888; 0 picks a free port, printed on the first line)
//   --host ADDR   numeric address to listen on (default 127.0.0.1)
//   --once N      stop accepting after N clients, exit once they have all been served (for tests)
//   --grace S     on SIGINT/SIGTERM, seconds open connections may still run (default 5)
//   --cores N     loops (threads) serving clients, 1..256 (default 1)

#include <sluice/sluice.hpp>

#include <cerrno>
#include <chrono>
#include <atomic>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <stop_token>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "support/core_listeners.hpp"
#include "support/listen_arguments.hpp"
#include "support/open_connections.hpp"

namespace {

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8888;
    long long once = 0;  // 0: serve forever
    long long grace = 5;  // seconds
    std::size_t cores = 1;
};

constexpr const char* help =
    "usage: echo_server [-h] [--port P] [--host ADDRESS] [--once N] [--grace S] [--cores N]\n"
    "  -h, --help    show this help and exit\n"
    "  --port P      port to listen on, 0..65535 (default 8888; 0 picks a free port)\n"
    "  --host ADDR   numeric address to listen on (default 127.0.0.1)\n"
    "  --once N      exit after N clients have been served (N >= 1)\n"
    "  --grace S     on SIGINT/SIGTERM, seconds open connections may still run, 0..3600 (default 5)\n"
    "  --cores N     loops (threads) serving clients, each with its own listener, 1..256 (default 1)\n";

void parse_word(args::command_line& line, options& opts) {
    if (line.is("", "--once")) {
        opts.once = line.integer(1, 1'000'000'000);
    } else if (line.is("", "--grace")) {
        opts.grace = line.integer(0, 3600);
    } else if (!args::listen_address(line, opts.host, opts.port) && !support::cores_argument(line, opts.cores)) {
        line.unrecognized();
    }
}

void say(std::string line) {
    line += '\n';  // one write per line: the cores' lines never interleave
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

/// What the cores share: their listeners, the clients accepted so far (for --once), and the stop
/// requested by the core that got a signal (which it records) or accepted the last client.
struct shared_state {
    explicit shared_state(const options& opts) : listeners(opts.cores, opts.host, opts.port) {}
    support::core_listeners listeners;
    std::atomic<long long> accepted{0};
    std::atomic<int> signal_number{0};
    std::stop_source stop;
};

sluice::task<> handle_echo(sluice::tcp_stream stream) {
    std::string address = "?";
    try {
        address = stream.remote_endpoint().to_string();
    } catch (const std::exception&) {
        // The peer may already be gone; echo (and fail) anyway.
    }
    say("Connection from " + address);
    try {
        std::vector<std::byte> buffer(16 * 1024);
        for (;;) {
            const std::size_t n = co_await stream.read_some(std::span<std::byte>(buffer));
            if (n == 0) break;
            co_await stream.write_all(std::span<const std::byte>(buffer.data(), n));
        }
    } catch (const sluice::cancelled_error&) {
        say("Cancelled " + address);
        throw;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_server: %s: %s\n", address.c_str(), e.what());
    }
    stream.close();
    say("Closed " + address);
}

sluice::task<> serve(const options& opts, shared_state& shared, std::size_t core) {
    std::optional<sluice::tcp_listener> listener = shared.listeners.bind(core);
    if (!listener) co_return;  // core 0 could not bind: its error ends the server
    if (core == 0) say("Serving on " + listener->local_endpoint().to_string());
    support::open_connections live;
    co_await sluice::task_group::scope([&](sluice::task_group& group) -> sluice::task<> {
        auto accept_clients = [&]() -> sluice::task<> {
            for (;;) {
                group.spawn(live.serve(handle_echo(co_await listener->accept())));
                if (opts.once != 0 && shared.accepted.fetch_add(1) + 1 >= opts.once) co_return;
            }
        };
        // Whichever ends first: the accept loop (--once N reached), a signal (which cancels the
        // accept loop and its pending accept before the race returns), or another core's stop.
        auto first = co_await sluice::race(accept_clients(), sluice::signal(SIGINT, SIGTERM),
                                           sluice::until_stopped(shared.stop.get_token()));
        listener->close();  // no more clients: new connections are refused from here on
        if (first.index() == 1) shared.signal_number.store(std::get<1>(first));
        shared.stop.request_stop();  // the other cores stop too
        const int number = shared.signal_number.load();
        if (number == 0) co_return;  // --once: the scope waits for the handlers still running
        say(std::string("Shutting down on ") + (number == SIGINT ? "SIGINT" : "SIGTERM") + ": " +
            std::to_string(live.count()) + " connection(s) open, grace period " + std::to_string(opts.grace) + " s");
        const auto finished = co_await sluice::move_on_after(std::chrono::seconds(opts.grace), live.all_closed());
        if (!finished) {
            say("Grace period over: closing " + std::to_string(live.count()) + " connection(s)");
            group.cancel();  // the handlers still running get cancelled_error; their sockets close
        }
    });
}

}  // namespace

int main(int argc, char** argv) {
    options opts;
    const auto each = [&](args::command_line& line) { parse_word(line, opts); };
    if (const auto exit_status = args::parse(argc, argv, help, each)) return *exit_status;
    // SIGINT and SIGTERM are blocked in every thread (the cores' threads inherit this mask), so
    // they stay pending until a core's sluice::signal reads them, instead of killing the process
    // through a thread that does not wait for them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    try {
        shared_state shared(opts);
        sluice::run_on_cores(opts.cores, [&](std::size_t core) { return serve(opts, shared, core); });
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_server: %s\n", e.what());
        return 1;
    }
    return 0;
}
