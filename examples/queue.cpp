// queue: port of the asyncio tutorial's asyncq.py (Real Python, "Async IO in Python"):
//
//     async def makeitem(size: int = 5) -> str:
//         return os.urandom(size).hex()
//
//     async def randsleep(caller=None) -> None:
//         i = random.randint(0, 10)
//         if caller:
//             print(f"{caller} sleeping for {i} seconds.")
//         await asyncio.sleep(i)
//
//     async def produce(name: int, q: asyncio.Queue) -> None:
//         n = random.randint(0, 10)
//         for _ in it.repeat(None, n):  # Synchronous loop for each single producer
//             await randsleep(caller=f"Producer {name}")
//             i = await makeitem()
//             t = time.perf_counter()
//             await q.put((i, t))
//             print(f"Producer {name} added <{i}> to queue.")
//
//     async def consume(name: int, q: asyncio.Queue) -> None:
//         while True:
//             await randsleep(caller=f"Consumer {name}")
//             i, t = await q.get()
//             now = time.perf_counter()
//             print(f"Consumer {name} got element <{i}>"
//                   f" in {now-t:0.5f} seconds.")
//             q.task_done()
//
//     async def main(nprod: int, ncon: int):
//         q = asyncio.Queue()
//         producers = [asyncio.create_task(produce(n, q)) for n in range(nprod)]
//         consumers = [asyncio.create_task(consume(n, q)) for n in range(ncon)]
//         await asyncio.gather(*producers)
//         await q.join()  # Implicitly awaits consumers, too
//         for c in consumers:
//             c.cancel()
//
//     random.seed(444)
//     ... -p/--nprod (default 5), -c/--ncon (default 10) ...
//     start = time.perf_counter()
//     asyncio.run(main(**ns.__dict__))
//     elapsed = time.perf_counter() - start
//     print(f"Program completed in {elapsed:0.5f} seconds.")
//
// Producers put a random number of timestamped random items into an unbounded queue; consumers
// take them and mark each one done. main waits for the producers, then for the queue to be fully
// processed (join() returns once task_done() was called for every item put), then cancels the
// consumers, which are all waiting in their sleep or in get(), and waits until they have ended.
// The program only gets to its last line when every item produced was consumed.
//
// One difference: the original shares one random stream (and os.urandom for the items), so what
// each coroutine draws depends on how they interleave. Here every producer and consumer draws
// from a stream of its own, seeded from (SEED, role, name), so a seed always gives each of them
// the same sleeps and items, whatever the timing.
//
// Usage: queue [-p NPROD] [-c NCON] [-s SEED] [--scale FACTOR]
//   -p, --nprod NPROD   number of producers (default 5)
//   -c, --ncon NCON     number of consumers (default 10)
//   -s, --seed SEED     seed of the random streams (default 444, as in the original)
//   --scale FACTOR      multiply every sleep by FACTOR (default 1: the original's seconds)

#include <sluice/sluice.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/arguments.hpp"

#include "support/random_stream.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

enum role : std::uint32_t { producer_role = 1, consumer_role = 2 };

struct item {
    std::string value;
    clock_type::time_point put_at;
};

struct options {
    int nprod = 5;
    int ncon = 10;
    std::uint32_t seed = 444;
    double scale = 1.0;
};

sluice::task<std::string> makeitem(random_stream& random, int size = 5) { co_return random.hex(size); }

sluice::task<> randsleep(random_stream& random, double scale, const std::string& caller) {
    const int i = random.randint(0, 10);
    if (!caller.empty()) std::printf("%s sleeping for %d seconds.\n", caller.c_str(), i);
    co_await sluice::sleep_for(std::chrono::duration<double>(i * scale));
}

// The queue is owned by main_task, which outlives every producer and consumer.
sluice::task<> produce(int name, sluice::queue<item>& q, options opts) {
    random_stream random(opts.seed, producer_role, static_cast<std::uint32_t>(name));
    const std::string caller = "Producer " + std::to_string(name);
    const int n = random.randint(0, 10);
    for (int k = 0; k < n; ++k) {  // Synchronous loop for each single producer
        co_await randsleep(random, opts.scale, caller);
        std::string i = co_await makeitem(random);
        const auto t = clock_type::now();
        // A named item, not `co_await q.put(item{i, t})`: g++ 12 destroys a braced aggregate
        // temporary in a co_await operand twice (a double free; clang++ is fine).
        item made{i, t};
        co_await q.put(std::move(made));
        std::printf("Producer %d added <%s> to queue.\n", name, i.c_str());
    }
}

sluice::task<> consume(int name, sluice::queue<item>& q, options opts) {
    random_stream random(opts.seed, consumer_role, static_cast<std::uint32_t>(name));
    const std::string caller = "Consumer " + std::to_string(name);
    for (;;) {
        co_await randsleep(random, opts.scale, caller);
        const item got = co_await q.get();
        const std::chrono::duration<double> waited = clock_type::now() - got.put_at;
        std::printf("Consumer %d got element <%s> in %0.5f seconds.\n", name, got.value.c_str(), waited.count());
        q.task_done();
    }
}

sluice::task<> main_task(options opts) {
    sluice::queue<item> q;
    std::vector<sluice::join_handle<void>> producers;
    for (int n = 0; n < opts.nprod; ++n) producers.push_back(sluice::spawn(produce(n, q, opts)));
    std::vector<sluice::join_handle<void>> consumers;
    for (int n = 0; n < opts.ncon; ++n) consumers.push_back(sluice::spawn(consume(n, q, opts)));
    co_await sluice::gather(std::move(producers));
    co_await q.join();  // Implicitly awaits consumers, too
    for (auto& c : consumers) c.cancel();
    // asyncio.run would cancel and await them after main; here main does it before q goes away.
    for (auto& c : consumers) {
        try {
            co_await c;
        } catch (const sluice::cancelled_error&) {
        }
    }
}

constexpr const char* help =
    "usage: queue [-h] [-p NPROD] [-c NCON] [-s SEED] [--scale FACTOR]\n"
    "  -h, --help          show this help and exit\n"
    "  -p, --nprod NPROD   number of producers, 0..1000000 (default 5)\n"
    "  -c, --ncon NCON     number of consumers, 0..1000000 (default 10)\n"
    "  -s, --seed SEED     seed of the random streams (default 444)\n"
    "  --scale FACTOR      multiply every sleep by FACTOR >= 0 (default 1)\n";

void parse_word(args::command_line& line, options& opts) {
    if (line.is("-p", "--nprod")) {
        opts.nprod = static_cast<int>(line.integer(0, 1'000'000));
    } else if (line.is("-c", "--ncon")) {
        opts.ncon = static_cast<int>(line.integer(0, 1'000'000));
    } else if (!args::seed_or_scale(line, opts.seed, opts.scale)) {
        line.unrecognized();
    }
}

}  // namespace

int main(int argc, char** argv) {
    options opts;
    const auto each = [&](args::command_line& line) { parse_word(line, opts); };
    if (const auto exit_status = args::parse(argc, argv, help, each)) return *exit_status;
    const auto start = clock_type::now();
    try {
        sluice::run(main_task(opts));
    } catch (const std::exception& error) {  // -c 0: the queue is never drained, run reports a deadlock
        std::fprintf(stderr, "queue: %s\n", error.what());
        return 1;
    }
    const std::chrono::duration<double> elapsed = clock_type::now() - start;
    std::printf("Program completed in %0.5f seconds.\n", elapsed.count());
}
