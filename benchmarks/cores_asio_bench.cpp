// cores_asio_bench: Boost.Asio's side of cores_bench's cross-loop messages: two io_contexts, each
// run by its own thread, exchanging work with boost::asio::post (the Asio way to hand work to
// another loop). One RESULT line per run (bench_support.hpp).
//
//   cores_asio_bench pingpong N   N round trips: a handler posted to the other context posts back
//   cores_asio_bench stream N     N handlers posted one way, from a handler running on the first
//                                 context to the second (Asio's queue is unbounded: no back pressure)

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <string>
#include <thread>

#include "bench_support.hpp"

namespace {

namespace asio = boost::asio;

/// Two contexts, each run on a thread of its own until `work` is done.
struct two_loops {
    asio::io_context a{1};
    asio::io_context b{1};
};

struct pingpong {
    two_loops& loops;
    long long n;
    long long sum = 0;
    long long round = 0;

    void ping() {
        if (round == n) {
            loops.a.stop();
            loops.b.stop();
            return;
        }
        const long long value = round++;
        asio::post(loops.b, [this, value] { asio::post(loops.a, [this, value] { pong(value); }); });
    }
    void pong(long long value) {
        sum += value;
        ping();
    }
};

long long run_pingpong(long long n) {
    two_loops loops;
    auto guard_a = asio::make_work_guard(loops.a);
    auto guard_b = asio::make_work_guard(loops.b);
    pingpong game{loops, n};
    asio::post(loops.a, [&] { game.ping(); });
    std::thread other([&] { loops.b.run(); });
    loops.a.run();
    other.join();
    return game.sum;
}

long long run_stream(long long n) {
    two_loops loops;
    auto guard_b = asio::make_work_guard(loops.b);
    long long sum = 0;
    long long received = 0;
    asio::post(loops.a, [&] {
        for (long long i = 0; i < n; ++i) {
            asio::post(loops.b, [&, i] {
                sum += i;
                if (++received == n) loops.b.stop();
            });
        }
    });
    std::thread other([&] { loops.b.run(); });
    loops.a.run();
    other.join();
    return sum;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return 2;
    const std::string workload = argv[1];
    const long long n = sluice_bench::argument(argc, argv, 2, 1'000'000);
    sluice_bench::stopwatch clock;
    if (workload == "pingpong" || workload == "stream") {
        const long long sum = workload == "pingpong" ? run_pingpong(n) : run_stream(n);
        return sluice_bench::report_messages("asio", workload, n, sum, clock.seconds());
    }
    return 2;
}
