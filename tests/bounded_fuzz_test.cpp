// The randomized checker of the bounded-concurrency engine (tests/support/bounded_checker.hpp) in a
// small configuration that runs in the normal suite: ~2,000 items over every face, source kind,
// early stop and failure mode. bounded_stress_test runs the same checker over 10^6 items.
//
// A failure prints the seed and the failing round; rerun it with SLUICE_STRESS_SEED=<seed>.

#include "support/bounded_checker.hpp"
#include "support/co_test.hpp"

SLUICE_TEST_CASE("bounded engine fuzz: random faces, sources, limits, failures and early stops (2,000 items)",
                 "[bounded][fuzz]") {
    const std::uint64_t seed = sluice_test::bounded::seed_from_environment(0x5eed'f022);
    INFO("seed " << seed << " (set SLUICE_STRESS_SEED to rerun)");
    const auto report = co_await sluice_test::bounded::run_bounded_checker({seed, 2'000, 40});
    CHECK(report.passed);
    CHECK(report.items >= 2'000);
}
