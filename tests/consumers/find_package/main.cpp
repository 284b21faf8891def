// A sluice user's program against the installed headers (<sluice/sluice.hpp>): 20 tasks from a lazy
// generator, at most 4 at a time, in completion order with limited_as_completed, then the same
// sources through gather(range, limit) in source order. Exits 1 on a wrong result.

#include <sluice/sluice.hpp>

#include <chrono>
#include <cstdio>
#include <vector>

namespace {

constexpr int count = 20;
constexpr int limit = 4;

sluice::task<int> triple(int n) {
    co_await sluice::sleep_for(std::chrono::milliseconds(n % 3));
    co_return 3 * n;
}

sluice::generator<sluice::task<int>> triples() {
    for (int n = 1; n <= count; ++n) co_yield triple(n);
}

sluice::task<bool> check() {
    std::vector<int> seen(count + 1, 0);
    int total = 0;
    for (auto next : sluice::limited_as_completed(triples(), limit)) {
        const int r = co_await next;
        if (r % 3 != 0 || r < 3 || r > 3 * count || seen[r / 3]++) co_return false;
        ++total;
    }
    if (total != count) co_return false;

    std::vector<int> in_order = co_await sluice::gather(triples(), limit);
    if (in_order.size() != static_cast<std::size_t>(count)) co_return false;
    for (int n = 1; n <= count; ++n) {
        if (in_order[n - 1] != 3 * n) co_return false;
    }
    co_return true;
}

}  // namespace

int main() {
    if (!sluice::run(check())) {
        std::fputs("FAILED: limited_as_completed/gather gave a wrong result\n", stderr);
        return 1;
    }
    std::puts("OK");
}
