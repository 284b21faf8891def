// cores_limited: limited_as_completed's seed program (a lazy source of jobs, at most `limit` in
// flight) spread over several loops, one per thread (sluice::run_on_cores), with the limit global:
// a slot freed by a job on one core can be taken by a job starting on any other.
//
// The limit is a channel of `limit` slots (a cross-loop semaphore): a core takes a slot before it
// starts a job and gives it back when the job ends, from whichever loop; a core waiting for a slot
// sleeps in its loop until another core's send wakes it by message. The source is lazy too: core 0
// feeds the job numbers into a bounded channel, so they are produced only as fast as the cores take
// them. Nothing migrates: a job runs start to end on the core that took it.
//
// Prints one line per job as it ends ("core C: Result N"), then how many jobs each core ran and
// the peak of jobs in flight over all cores, which never exceeds the limit (exit 1 if it did).
//
// Usage: cores_limited [-h] [count [limit [cores]]]   (defaults 100, 10 and 2)

#include <sluice/sluice.hpp>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <optional>
#include <vector>

#include "support/arguments.hpp"

namespace {

struct slot {};  // one unit of the global limit

/// What the cores share: the job numbers, the slots, and counts for the report.
struct shared_state {
    shared_state(int count, int limit, std::size_t cores)
        : count(count), limit(limit), numbers(static_cast<std::size_t>(limit)), slots(static_cast<std::size_t>(limit)),
          ran(cores) {}
    int count;
    int limit;
    sluice::channel<int> numbers;  // the lazy source, fed by core 0
    sluice::channel<slot> slots;   // `limit` slots, taken and given back by every core
    std::atomic<int> in_flight{0};
    std::atomic<int> peak{0};
    std::vector<std::atomic<int>> ran;  // jobs per core
};

sluice::task<int> job(int n) {
    co_await sluice::sleep_for(std::chrono::duration<double>(0.1 / n));
    co_return n;
}

/// Feeds 1..count lazily (the channel's bound holds back the producer), then closes the source.
sluice::task<> feed(shared_state& shared) {
    for (int n = 1; n <= shared.count; ++n) co_await shared.numbers.send(n);
    shared.numbers.close();
}

/// Runs job `n` on this core, then gives its slot back to whichever core takes it next.
sluice::task<> run_job(shared_state& shared, std::size_t core, int n) {
    const int now = shared.in_flight.fetch_add(1) + 1;
    for (int peak = shared.peak.load(); now > peak && !shared.peak.compare_exchange_weak(peak, now);) {
    }
    const int result = co_await job(n);
    shared.in_flight.fetch_sub(1);
    std::printf("core %zu: Result %d\n", core, result);
    shared.ran[core].fetch_add(1);
    co_await shared.slots.send(slot{});
}

/// One core: take a slot (freed on any core), then a job number, and start the job here.
sluice::task<> work(shared_state& shared, std::size_t core) {
    co_await sluice::task_group::scope([&](sluice::task_group& jobs) -> sluice::task<> {
        for (;;) {
            co_await shared.slots.receive();
            std::optional<int> n;
            try {
                n = co_await shared.numbers.receive();
            } catch (const sluice::queue_closed&) {
            }
            if (!n) {
                co_await shared.slots.send(slot{});  // the source is done: pass the slot on
                co_return;
            }
            jobs.spawn(run_job, std::ref(shared), core, *n);
        }
    });
}

sluice::task<> core_main(shared_state& shared, std::size_t core) {
    if (core != 0) {
        co_await work(shared, core);
        co_return;
    }
    for (int i = 0; i < shared.limit; ++i) co_await shared.slots.send(slot{});
    co_await sluice::task_group::scope([&](sluice::task_group& group) -> sluice::task<> {
        group.spawn(feed, std::ref(shared));
        co_await work(shared, core);
    });
}

}  // namespace

int main(int argc, char** argv) {
    constexpr const char* help =
        "usage: cores_limited [-h] [count [limit [cores]]]\n"
        "  count        jobs to run, >= 1 (default 100)\n"
        "  limit        jobs in flight at most, over all cores, >= 1 (default 10)\n"
        "  cores        loops (threads), 1..256 (default 2)\n"
        "  -h, --help   show this help and exit\n";
    long long values[3] = {100, 10, 2};
    int given = 0;
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (line.is_option() || given == 3) line.unrecognized();
            line.positional(given == 0 ? "count" : given == 1 ? "limit" : "cores");
            values[given] = line.integer(1, given == 2 ? 256 : INT_MAX);
            ++given;
        })) {
        return *exit_status;
    }
    const auto cores = static_cast<std::size_t>(values[2]);
    shared_state shared(static_cast<int>(values[0]), static_cast<int>(values[1]), cores);
    sluice::run_on_cores(cores, [&](std::size_t core) { return core_main(shared, core); });
    for (std::size_t core = 0; core < cores; ++core) std::printf("core %zu ran %d jobs\n", core, shared.ran[core].load());
    std::printf("%d jobs on %zu cores, at most %d in flight: peak %d\n", shared.count, cores, shared.limit, shared.peak.load());
    return shared.peak.load() <= shared.limit ? 0 : 1;
}
