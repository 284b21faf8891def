// The randomized checker of the bounded-concurrency engine (tests/support/bounded_checker.hpp) over
// 10^6 items: label `stress` (excluded from the default test presets; run with
// `ctest --test-dir build/dev -L stress`). bounded_fuzz_test runs the same checker over ~2,000
// items in the normal suite.
//
// A failure prints the seed and the failing round; rerun it with SLUICE_STRESS_SEED=<seed>.

#include <cstdio>

#include "support/bounded_checker.hpp"
#include "support/co_test.hpp"

SLUICE_TEST_CASE("bounded engine stress: random faces, sources, limits, failures and early stops (10^6 items)",
                 "[bounded][stress]") {
    const std::uint64_t seed = sluice_test::bounded::seed_from_environment(0x5eed'5773);
    INFO("seed " << seed << " (set SLUICE_STRESS_SEED to rerun)");
    std::printf("bounded stress: seed %llu\n", static_cast<unsigned long long>(seed));
    const auto report = co_await sluice_test::bounded::run_bounded_checker({seed, 1'000'000, 2'000});
    std::printf("bounded stress: %d rounds, %lld items\n", report.rounds, static_cast<long long>(report.items));
    CHECK(report.passed);
    CHECK(report.items >= 1'000'000);
}
