// rate_check: does a sluice::rate_limit hold its promise over a long run? (issue 14)
//
// JOBS trivial jobs (default 10,000) each take a token from one rate_limit{RATE, 1 s, BURST}
// (default 1000 per second, burst 50) before they start, all queued at once. The program records
// every start, then checks the token bucket's two bounds:
//   - the run takes at least (JOBS − BURST) / RATE seconds (the burst is free, the rest is paced);
//   - no window of one second holds more than RATE + BURST starts.
// It prints both figures and exits 1 if either bound is broken.
//
// Usage: rate_check [-h] [jobs [rate [burst]]]

#include <sluice/sluice.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "support/arguments.hpp"

namespace {

using steady = std::chrono::steady_clock;

sluice::task<> job(sluice::rate_limit& limiter, std::vector<steady::time_point>& starts) {
    co_await limiter.acquire();
    starts.push_back(steady::now());
}

sluice::task<int> check(long long jobs, long long rate, long long burst) {
    sluice::rate_limit limiter(rate, std::chrono::seconds(1), burst);
    std::vector<steady::time_point> starts;
    starts.reserve(static_cast<std::size_t>(jobs));
    std::vector<sluice::task<>> all;
    all.reserve(static_cast<std::size_t>(jobs));
    for (long i = 0; i < jobs; ++i) all.push_back(job(limiter, starts));
    const auto begin = steady::now();
    co_await sluice::gather(std::move(all));
    const double elapsed = std::chrono::duration<double>(steady::now() - begin).count();

    // The largest number of starts within any window [t, t + 1 s]: two pointers over sorted times.
    std::size_t most = 0;
    for (std::size_t first = 0, last = 0; last < starts.size(); ++last) {
        while (starts[last] - starts[first] > std::chrono::seconds(1)) ++first;
        most = std::max(most, last - first + 1);
    }
    const double floor_s = static_cast<double>(std::max(0LL, jobs - burst)) / static_cast<double>(rate);
    const bool slow_enough = elapsed >= floor_s;
    const bool never_over = most <= static_cast<std::size_t>(rate + burst);
    std::printf("%lld jobs under rate_limit{%lld, 1s, burst %lld}: %.3f s (bound >= %.3f s: %s)\n", jobs, rate, burst,
                elapsed, floor_s, slow_enough ? "ok" : "BROKEN");
    std::printf("most starts in any 1 s window: %zu (bound <= %lld: %s)\n", most, rate + burst,
                never_over ? "ok" : "BROKEN");
    co_return slow_enough && never_over ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    long long values[3] = {10'000, 1000, 50};
    constexpr const char* help =
        "usage: rate_check [-h] [jobs [rate [burst]]]\n"
        "  jobs         trivial jobs to start, 1..100000000 (default 10000)\n"
        "  rate         tokens per second, 1..100000000 (default 1000)\n"
        "  burst        tokens saved up at most, 1..100000000 (default 50)\n"
        "  -h, --help   show this help and exit\n";
    int given = 0;
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (line.is_option() || given == 3) line.unrecognized();
            static constexpr const char* names[] = {"jobs", "rate", "burst"};
            line.positional(names[given]);
            values[given++] = line.integer(1, 100'000'000);
        })) {
        return *exit_status;
    }
    return sluice::run(check(values[0], values[1], values[2]));
}
