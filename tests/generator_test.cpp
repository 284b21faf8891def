// Tests of sluice::generator<T> (sluice/generator.hpp). No event loop is involved: a generator is
// synchronous.

#include <sluice/generator.hpp>

#include <cstdint>
#include <memory>
#include <ranges>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/catch.hpp"
#include "support/counted.hpp"

namespace {

sluice::generator<int> count_to(int n) {
    for (int i = 0; i < n; ++i)
        co_yield i;
}

using sluice_test::counted;

}  // namespace

TEST_CASE("generator yields its values in order", "[generator]") {
    std::vector<int> seen;
    for (int v : count_to(5))
        seen.push_back(v);
    CHECK(seen == std::vector<int>{0, 1, 2, 3, 4});
}

TEST_CASE("generator is lazy: nothing runs before begin()", "[generator]") {
    int started = 0;
    auto gen = [](int& s) -> sluice::generator<int> {
        ++s;
        co_yield 1;
    }(started);
    CHECK(started == 0);
    auto it = gen.begin();
    CHECK(started == 1);
    CHECK(*it == 1);
}

TEST_CASE("generator with no co_yield is an empty range", "[generator]") {
    auto empty = []() -> sluice::generator<int> { co_return; };
    auto gen = empty();
    CHECK(gen.begin() == gen.end());

    sluice::generator<int> defaulted;
    CHECK(defaulted.begin() == defaulted.end());
}

TEST_CASE("generator: begin() twice is a logic_error", "[generator]") {
    auto gen = count_to(3);
    auto it = gen.begin();
    CHECK(*it == 0);
    CHECK_THROWS_AS(gen.begin(), std::logic_error);
}

TEST_CASE("generator: an exception in the body propagates at the right element", "[generator]") {
    auto failing = []() -> sluice::generator<int> {
        co_yield 1;
        co_yield 2;
        throw std::runtime_error("boom");
    };
    auto gen = failing();
    auto it = gen.begin();
    REQUIRE(it != gen.end());
    CHECK(*it == 1);
    ++it;
    REQUIRE(it != gen.end());
    CHECK(*it == 2);
    CHECK_THROWS_AS(++it, std::runtime_error);
    CHECK(it == gen.end());
}

TEST_CASE("generator: an exception before the first co_yield propagates from begin()", "[generator]") {
    auto failing = []() -> sluice::generator<int> {
        throw std::runtime_error("early");
        co_return;
    };
    auto gen = failing();
    CHECK_THROWS_AS(gen.begin(), std::runtime_error);
}

TEST_CASE("generator: move-only element type", "[generator]") {
    auto boxes = []() -> sluice::generator<std::unique_ptr<int>> {
        for (int i = 0; i < 3; ++i)
            co_yield std::make_unique<int>(i * 10);  // prvalue: moved in
        auto last = std::make_unique<int>(99);
        co_yield std::move(last);  // xvalue: moved in
    };
    std::vector<std::unique_ptr<int>> taken;
    auto gen = boxes();
    for (auto it = gen.begin(); it != gen.end(); ++it)
        taken.push_back(std::move(*it));
    REQUIRE(taken.size() == 4);
    CHECK(*taken[0] == 0);
    CHECK(*taken[1] == 10);
    CHECK(*taken[2] == 20);
    CHECK(*taken[3] == 99);
}

TEST_CASE("generator: an lvalue of a copyable type is copied, the body's local untouched", "[generator]") {
    auto words = []() -> sluice::generator<std::string> {
        std::string w = "kept";
        co_yield w;
        co_yield w;  // still intact: the consumer moved out of the copy
        co_yield "converted";
    };
    std::vector<std::string> seen;
    auto gen = words();
    for (auto it = gen.begin(); it != gen.end(); ++it)
        seen.push_back(std::move(*it));
    CHECK(seen == std::vector<std::string>{"kept", "kept", "converted"});
}

TEST_CASE("generator: destroying it mid-iteration destroys the body's locals once", "[generator]") {
    counted::reset();
    {
        auto gen = []() -> sluice::generator<int> {
            counted guard;
            for (int i = 0;; ++i)
                co_yield i;
        }();
        auto it = gen.begin();
        ++it;
        CHECK(*it == 1);
        CHECK(counted::alive() == 1);
        CHECK(counted::destructions == 0);
    }
    CHECK(counted::alive() == 0);
    CHECK(counted::destructions == 1);
}

TEST_CASE("generator: destroying it unstarted runs nothing", "[generator]") {
    counted::reset();
    {
        auto gen = []() -> sluice::generator<int> {
            counted guard;
            co_yield 1;
        }();
    }
    CHECK(counted::destructions == 0);
}

TEST_CASE("generator: a yielded element left in place is destroyed before the next one", "[generator]") {
    counted::reset();
    std::vector<std::int64_t> alive_when_resumed;
    auto gen = [](std::vector<std::int64_t>& log) -> sluice::generator<counted> {
        for (int i = 0; i < 3; ++i) {
            log.push_back(counted::alive());
            co_yield counted{};
        }
    }(alive_when_resumed);
    int steps = 0;
    for (auto it = gen.begin(); it != gen.end(); ++it)
        ++steps;
    CHECK(steps == 3);
    CHECK(alive_when_resumed == std::vector<std::int64_t>{0, 0, 0});
    CHECK(counted::alive() == 0);
}

TEST_CASE("generator: move construction and assignment transfer the frame", "[generator]") {
    auto a = count_to(3);
    auto b = std::move(a);
    CHECK(a.begin() == a.end());  // NOLINT(bugprone-use-after-move): moved-from is empty
    sluice::generator<int> c;
    c = std::move(b);
    std::vector<int> seen;
    for (int v : c)
        seen.push_back(v);
    CHECK(seen == std::vector<int>{0, 1, 2});
}

TEST_CASE("generator models input_range and view", "[generator]") {
    // Checked here, not by a static_assert in generator.hpp that every includer would compile.
    STATIC_REQUIRE(std::ranges::input_range<sluice::generator<int>>);
    STATIC_REQUIRE(std::ranges::view<sluice::generator<int>>);
    STATIC_REQUIRE(std::ranges::input_range<sluice::generator<std::unique_ptr<int>>>);
    STATIC_REQUIRE(std::ranges::view<sluice::generator<std::unique_ptr<int>>>);
    STATIC_REQUIRE(std::same_as<std::ranges::range_reference_t<sluice::generator<int>>, int&>);
    STATIC_REQUIRE(std::same_as<std::ranges::range_value_t<sluice::generator<int>>, int>);
}

// Clang 14 with libstdc++ 12 cannot compile std::views pipelines (its concepts implementation rejects
// libstdc++'s range adaptors), so these two run only under GCC.
#if !defined(__clang__)

namespace {

sluice::generator<int> naturals() {
    for (int i = 0;; ++i)
        co_yield i;
}

}  // namespace

TEST_CASE("generator works with std::views::take and std::views::transform", "[generator]") {
    std::vector<int> seen;
    for (int v : count_to(10) | std::views::take(3) | std::views::transform([](int x) { return x * x; })) {
        seen.push_back(v);
    }
    CHECK(seen == std::vector<int>{0, 1, 4});

    // Like std::generator, a generator is a move-only view: pipe an rvalue (views::all cannot copy it).
    auto gen = count_to(4);
    std::vector<int> doubled;
    for (int v : std::move(gen) | std::views::transform([](int x) { return 2 * x; }))
        doubled.push_back(v);
    CHECK(doubled == std::vector<int>{0, 2, 4, 6});
}

TEST_CASE("an infinite generator under take(3) stops after three elements", "[generator]") {
    int produced = 0;
    auto counting = [](int& p) -> sluice::generator<int> {
        for (int i = 0;; ++i) {
            ++p;
            co_yield i;
        }
    };
    std::vector<int> seen;
    for (int v : counting(produced) | std::views::take(3))
        seen.push_back(v);
    CHECK(seen == std::vector<int>{0, 1, 2});
    // take_view's counted_iterator still increments the underlying iterator after the third element
    // (as it would with std::generator), so the body runs to one more co_yield; then it is destroyed.
    CHECK(produced == 4);

    std::vector<int> naturals_seen;
    for (int v : naturals() | std::views::take(3))
        naturals_seen.push_back(v);
    CHECK(naturals_seen == std::vector<int>{0, 1, 2});
}

#endif  // !defined(__clang__)
