// A sluice user's program: squares 1..12 from a lazy generator of tasks, at most 3 at a time, taken
// in completion order with limited_as_completed. Exits 1 if a result is missing, wrong or repeated,
// or if more than 3 ran at once. Includes only the headers it uses (each stands alone).

#include <sluice/as_completed.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/generator.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

constexpr int count = 12;
constexpr int limit = 3;
int running = 0;
int peak = 0;

sluice::task<int> square(int n) {
    peak = std::max(peak, ++running);
    co_await sluice::sleep_for(std::chrono::milliseconds((n * 7) % 5));
    --running;
    co_return n * n;
}

sluice::generator<sluice::task<int>> squares() {
    for (int n = 1; n <= count; ++n) co_yield square(n);
}

sluice::task<std::vector<int>> collect() {
    std::vector<int> results;
    for (auto next : sluice::limited_as_completed(squares(), limit)) results.push_back(co_await next);
    co_return results;
}

}  // namespace

int main() {
    std::vector<int> results = sluice::run(collect());
    std::printf("completion order:");
    for (int r : results) std::printf(" %d", r);
    std::printf("\npeak in flight: %d (limit %d)\n", peak, limit);

    std::sort(results.begin(), results.end());
    bool ok = results.size() == static_cast<std::size_t>(count) && peak >= 1 && peak <= limit;
    for (std::size_t i = 0; ok && i < results.size(); ++i) ok = results[i] == static_cast<int>((i + 1) * (i + 1));
    if (!ok) {
        std::fputs("FAILED: expected each of 1, 4, ..., 144 once, at most 3 in flight\n", stderr);
        return 1;
    }
    std::puts("OK");
}
