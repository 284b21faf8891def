// Tests of sluice::async_generator<T> (sluice/async_generator.hpp).
//
// These tests do not use the event loop: a `driver` coroutine (support/loopless_driver.hpp: eager,
// with a cancellation context of its own) consumes the generator, and a `manual_event` is an
// awaitable the test resumes by hand. With no real suspension a driver runs to completion inside its
// own construction. This is a deliberate white-box test: every step is taken by hand, and that the
// generator runs in its consumer's cancellation context is checked by identity.
//
// Coroutine lambdas are named locals (never temporaries) and capture nothing the frame outlives:
// a driver may be resumed after the full-expression that created it.

#include <sluice/async_generator.hpp>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/catch.hpp"
#include "support/counted.hpp"
#include "support/loopless_driver.hpp"

namespace {

using sluice_test::cancellable_event;
using sluice_test::driver;
using sluice_test::manual_event;
using sluice_test::counted;

sluice::async_generator<int> count_to(int n) {
    for (int i = 0; i < n; ++i)
        co_yield i;
}

void require_finished(const driver& d) {
    REQUIRE(d.done());
    d.rethrow_if_failed();
}

}  // namespace

TEST_CASE("async_generator: values in order via next(), then empty for good", "[async_generator]") {
    std::vector<int> seen;
    int empties = 0;
    auto consume = [](std::vector<int>& out, int& empty_count) -> driver {
        auto gen = count_to(5);
        while (auto v = co_await gen.next())
            out.push_back(*v);
        if (!(co_await gen.next()))
            ++empty_count;
        if (!(co_await gen.next()))
            ++empty_count;
    };
    driver d = consume(seen, empties);
    require_finished(d);
    CHECK(seen == std::vector<int>{0, 1, 2, 3, 4});
    CHECK(empties == 2);
}

TEST_CASE("async_generator: values in order via begin/end iteration", "[async_generator]") {
    std::vector<int> seen;
    auto consume = [](std::vector<int>& out) -> driver {
        auto gen = count_to(4);
        for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it)
            out.push_back(*it);
    };
    driver d = consume(seen);
    require_finished(d);
    CHECK(seen == std::vector<int>{0, 1, 2, 3});
}

TEST_CASE("async_generator: a body without co_yield ends at once", "[async_generator]") {
    bool empty_next = false;
    bool empty_range = false;
    auto consume = [](bool& by_next, bool& by_range) -> driver {
        auto nothing = []() -> sluice::async_generator<int> { co_return; };
        auto a = nothing();
        by_next = !(co_await a.next());
        auto b = nothing();
        by_range = (co_await b.begin()) == b.end();
    };
    driver d = consume(empty_next, empty_range);
    require_finished(d);
    CHECK(empty_next);
    CHECK(empty_range);
}

TEST_CASE("async_generator is lazy: nothing runs before the first advance", "[async_generator]") {
    int started = 0;
    auto body = [](int& s) -> sluice::async_generator<int> {
        ++s;
        co_yield 7;
    };
    auto gen = body(started);
    CHECK(started == 0);
    std::optional<int> first;
    auto consume = [](sluice::async_generator<int>& g, std::optional<int>& out) -> driver {
        out = co_await g.next();
    };
    driver d = consume(gen, first);
    require_finished(d);
    CHECK(started == 1);
    CHECK(first == 7);
}

TEST_CASE("async_generator: co_await inside the body between yields", "[async_generator]") {
    manual_event event;
    auto body = [](manual_event& ev) -> sluice::async_generator<int> {
        co_yield 1;
        co_await ev.wait();
        co_yield 2;
        co_await ev.wait();
        co_await ev.wait();
        co_yield 3;
    };
    std::vector<int> seen;
    auto consume = [](sluice::async_generator<int> gen, std::vector<int>& out) -> driver {
        while (auto v = co_await gen.next())
            out.push_back(*v);
    };
    driver d = consume(body(event), seen);
    CHECK(seen == std::vector<int>{1});
    REQUIRE(event.waiting());
    CHECK_FALSE(d.done());

    event.fire();
    CHECK(seen == std::vector<int>{1, 2});
    REQUIRE(event.waiting());
    event.fire();
    CHECK(seen == std::vector<int>{1, 2});
    REQUIRE(event.waiting());
    event.fire();
    CHECK_FALSE(event.waiting());
    require_finished(d);
    CHECK(seen == std::vector<int>{1, 2, 3});
}

TEST_CASE("async_generator: the body's awaits see the consumer's cancel context", "[async_generator]") {
    manual_event event;
    auto body = [](manual_event& ev) -> sluice::async_generator<int> {
        for (int i = 0;; ++i) {
            co_await ev.wait();
            co_yield i;
        }
    };
    auto gen = body(event);
    auto take_one = [](sluice::async_generator<int>& g, std::optional<int>& out) -> driver {
        out = co_await g.next();
    };

    std::optional<int> first;
    driver a = take_one(gen, first);
    REQUIRE(event.waiting());
    CHECK(event.seen_context() == a.context());
    event.fire();
    require_finished(a);
    CHECK(first == 0);

    // A second consumer (another unit of work) takes over: its context, not the first one's, is used.
    std::optional<int> second;
    driver b = take_one(gen, second);
    REQUIRE(event.waiting());
    CHECK(event.seen_context() == b.context());
    CHECK(event.seen_context() != a.context());
    event.fire();
    require_finished(b);
    CHECK(second == 1);
}

TEST_CASE("async_generator: cancelling the consumer interrupts an await in the body", "[async_generator]") {
    cancellable_event event;
    auto body = [](cancellable_event& ev) -> sluice::async_generator<int> {
        co_yield 1;
        co_await ev.wait();  // a sluice cancellation point, in the consumer's context
        co_yield 2;
    };
    std::vector<int> seen;
    bool cancelled = false;
    bool empty_after = false;
    auto consume = [](sluice::async_generator<int>& gen, std::vector<int>& out, bool& was_cancelled,
                      bool& empty) -> driver {
        try {
            while (auto v = co_await gen.next())
                out.push_back(*v);
        } catch (const sluice::cancelled_error&) {
            was_cancelled = true;
        }
        empty = !(co_await gen.next());
    };
    auto gen = body(event);
    driver d = consume(gen, seen, cancelled, empty_after);
    REQUIRE(event.waiting());
    d.context()->request_cancel();
    event.fire();
    require_finished(d);
    CHECK(seen == std::vector<int>{1});
    CHECK(cancelled);
    CHECK(empty_after);
    CHECK_FALSE(d.context()->cancel_requested());  // delivered once, consumed
}

TEST_CASE("async_generator: an exception propagates from next(), then next() is empty", "[async_generator]") {
    auto failing = []() -> sluice::async_generator<int> {
        co_yield 1;
        throw std::runtime_error("boom");
    };
    std::vector<int> seen;
    std::string caught;
    bool empty_after = false;
    auto consume = [](sluice::async_generator<int> gen, std::vector<int>& out, std::string& what,
                      bool& empty) -> driver {
        try {
            while (auto v = co_await gen.next())
                out.push_back(*v);
        } catch (const std::runtime_error& e) {
            what = e.what();
        }
        empty = !(co_await gen.next());
    };
    driver d = consume(failing(), seen, caught, empty_after);
    require_finished(d);
    CHECK(seen == std::vector<int>{1});
    CHECK(caught == "boom");
    CHECK(empty_after);
}

TEST_CASE("async_generator: an exception propagates from begin() and ++it", "[async_generator]") {
    auto fail_at = [](int n) -> sluice::async_generator<int> {
        for (int i = 0; i < n; ++i)
            co_yield i;
        throw std::runtime_error("at " + std::to_string(n));
    };
    std::vector<std::string> caught;
    std::vector<int> seen;
    auto consume = [](sluice::async_generator<int> early, sluice::async_generator<int> late,
                      std::vector<int>& out, std::vector<std::string>& errors) -> driver {
        try {
            (void)co_await early.begin();
        } catch (const std::runtime_error& e) {
            errors.emplace_back(e.what());
        }
        try {
            for (auto it = co_await late.begin(); it != late.end(); co_await ++it)
                out.push_back(*it);
        } catch (const std::runtime_error& e) {
            errors.emplace_back(e.what());
        }
        // The end, from now on.
        if ((co_await late.begin()) == late.end())
            errors.emplace_back("end");
    };
    driver d = consume(fail_at(0), fail_at(2), seen, caught);
    require_finished(d);
    CHECK(seen == std::vector<int>{0, 1});
    CHECK(caught == std::vector<std::string>{"at 0", "at 2", "end"});
}

TEST_CASE("async_generator: destroying it mid-iteration destroys locals once", "[async_generator]") {
    counted::reset();
    auto endless = []() -> sluice::async_generator<int> {
        counted guard;
        for (int i = 0;; ++i)
            co_yield i;
    };
    std::vector<int> seen;
    // The generator is a local of the consumer's body (a parameter would live until the driver's
    // frame is destroyed, not until the body ends).
    using make_fn = sluice::async_generator<int> (*)();
    auto take_two = [](make_fn make, std::vector<int>& out) -> driver {
        auto gen = make();
        out.push_back(*co_await gen.next());
        out.push_back(*co_await gen.next());
        CHECK(counted::alive() == 1);
    };  // gen, suspended at its co_yield, is destroyed here
    driver d = take_two(endless, seen);
    require_finished(d);
    CHECK(seen == std::vector<int>{0, 1});
    CHECK(counted::alive() == 0);
    CHECK(counted::destructions == 1);
}

TEST_CASE("async_generator: destroyed at a yield after a co_await: clean", "[async_generator]") {
    counted::reset();
    manual_event event;
    auto body = [](manual_event& ev) -> sluice::async_generator<counted> {
        counted guard;
        co_await ev.wait();
        co_yield counted{};
        co_yield counted{};
    };
    {
        auto gen = body(event);
        bool got = false;
        auto take_one = [](sluice::async_generator<counted>& g, bool& out) -> driver {
            auto v = co_await g.next();
            out = v.has_value();
        };
        driver d = take_one(gen, got);
        REQUIRE(event.waiting());
        event.fire();
        require_finished(d);
        CHECK(got);
        CHECK(counted::alive() == 2);  // guard and the yielded temporary; the element was taken and gone
    }
    CHECK(counted::alive() == 0);
}

TEST_CASE("async_generator: destroying it unstarted runs nothing", "[async_generator]") {
    counted::reset();
    {
        auto gen = []() -> sluice::async_generator<int> {
            counted guard;
            co_yield 1;
        }();
    }
    CHECK(counted::destructions == 0);
}

TEST_CASE("async_generator: an element left in place is destroyed before the next one", "[async_generator]") {
    counted::reset();
    std::vector<std::int64_t> alive_when_resumed;
    auto body = [](std::vector<std::int64_t>& log) -> sluice::async_generator<counted> {
        for (int i = 0; i < 3; ++i) {
            log.push_back(counted::alive());
            co_yield counted{};
        }
    };
    int steps = 0;
    auto consume = [](sluice::async_generator<counted> gen, int& n) -> driver {
        for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it)
            ++n;
    };
    driver d = consume(body(alive_when_resumed), steps);
    require_finished(d);
    CHECK(steps == 3);
    CHECK(alive_when_resumed == std::vector<std::int64_t>{0, 0, 0});
    CHECK(counted::alive() == 0);
}

TEST_CASE("async_generator: a million synchronous yields run in constant stack", "[async_generator]") {
    // Each next() transfers to the body and each co_yield transfers back, both by symmetric transfer:
    // with a nested resume() this would need a million stack frames (run at -O0 with ASan to see it).
    constexpr int count = 1'000'000;
    std::int64_t sum = 0;
    int received = 0;
    auto consume = [](std::int64_t& total, int& n) -> driver {
        auto gen = count_to(count);
        while (auto v = co_await gen.next()) {
            total += *v;
            ++n;
        }
    };
    driver d = consume(sum, received);
    require_finished(d);
    CHECK(received == count);
    CHECK(sum == std::int64_t{count} * (count - 1) / 2);

    std::int64_t sum_it = 0;
    auto consume_it = [](std::int64_t& total) -> driver {
        auto gen = count_to(count);
        for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it)
            total += *it;
    };
    driver d2 = consume_it(sum_it);
    require_finished(d2);
    CHECK(sum_it == sum);
}

TEST_CASE("async_generator: advancing an empty or moved-from one: logic_error", "[async_generator]") {
    int logic_errors = 0;
    auto consume = [](int& errors) -> driver {
        sluice::async_generator<int> empty;
        try {
            (void)co_await empty.next();
        } catch (const std::logic_error&) {
            ++errors;
        }
        auto gen = count_to(3);
        auto other = std::move(gen);
        try {
            (void)co_await gen.next();  // NOLINT(bugprone-use-after-move): that is the point
        } catch (const std::logic_error&) {
            ++errors;
        }
        try {
            (void)co_await gen.begin();
        } catch (const std::logic_error&) {
            ++errors;
        }
        auto v = co_await other.next();  // the frame moved along
        if (v == 0)
            ++errors;
    };
    driver d = consume(logic_errors);
    require_finished(d);
    CHECK(logic_errors == 4);
}

TEST_CASE("async_generator: a second consumer while next() pends: logic_error", "[async_generator]") {
    manual_event event;
    auto body = [](manual_event& ev) -> sluice::async_generator<int> {
        co_await ev.wait();
        co_yield 42;
    };
    auto gen = body(event);
    std::optional<int> first;
    auto take_one = [](sluice::async_generator<int>& g, std::optional<int>& out) -> driver {
        out = co_await g.next();
    };
    driver a = take_one(gen, first);
    REQUIRE(event.waiting());

    bool rejected = false;
    auto intruder = [](sluice::async_generator<int>& g, bool& out) -> driver {
        try {
            (void)co_await g.next();
        } catch (const std::logic_error&) {
            out = true;
        }
    };
    driver b = intruder(gen, rejected);
    require_finished(b);
    CHECK(rejected);

    event.fire();  // the first consumer is unaffected
    require_finished(a);
    CHECK(first == 42);
}

TEST_CASE("async_generator: move-only element type", "[async_generator]") {
    auto boxes = []() -> sluice::async_generator<std::unique_ptr<int>> {
        for (int i = 0; i < 3; ++i)
            co_yield std::make_unique<int>(i);
        auto last = std::make_unique<int>(99);
        co_yield std::move(last);
    };
    std::vector<std::unique_ptr<int>> taken;
    auto consume = [](sluice::async_generator<std::unique_ptr<int>> gen,
                      std::vector<std::unique_ptr<int>>& out) -> driver {
        std::optional<std::unique_ptr<int>> first = co_await gen.next();
        out.push_back(std::move(*first));
        for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it)
            out.push_back(std::move(*it));
    };
    driver d = consume(boxes(), taken);
    require_finished(d);
    REQUIRE(taken.size() == 4);
    CHECK(*taken[0] == 0);
    CHECK(*taken[1] == 1);
    CHECK(*taken[2] == 2);
    CHECK(*taken[3] == 99);
}

TEST_CASE("async_generator: an lvalue of a copyable type is copied", "[async_generator]") {
    auto words = []() -> sluice::async_generator<std::string> {
        std::string w = "kept";
        co_yield w;
        co_yield w;
        co_yield "converted";
    };
    std::vector<std::string> seen;
    auto consume = [](sluice::async_generator<std::string> gen, std::vector<std::string>& out) -> driver {
        while (auto v = co_await gen.next())
            out.push_back(std::move(*v));
    };
    driver d = consume(words(), seen);
    require_finished(d);
    CHECK(seen == std::vector<std::string>{"kept", "kept", "converted"});
}
