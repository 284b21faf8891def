// Tests of race / when_any (sluice/race.hpp) and shield (sluice/shield.hpp). Losers sleep for an
// hour: a loser that is not cancelled shows as a CTest TIMEOUT.

#include <sluice/cancellation.hpp>
#include <sluice/event.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/race.hpp>
#include <sluice/shield.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "support/await_error.hpp"
#include "support/co_test.hpp"

using namespace std::chrono_literals;

namespace {

/// Sleeps `d`, then returns `value`; records its cleanup when cancelled.
sluice::task<int> after(std::chrono::milliseconds d, int value, std::vector<std::string>* log = nullptr) {
    try {
        co_await sluice::sleep_for(d);
    } catch (const sluice::cancelled_error&) {
        if (log != nullptr) log->push_back("cancelled " + std::to_string(value));
        throw;
    }
    co_return value;
}

sluice::task<void> fail_after(std::chrono::milliseconds d) {
    co_await sluice::sleep_for(d);
    throw std::runtime_error("winner failed");
}

}  // namespace

SLUICE_TEST_CASE("race returns the first to finish as a variant whose index is the winner", "[race]") {
    std::vector<std::string> log;
    auto won = co_await sluice::race(after(1h, 1, &log), after(1ms, 2, &log), sluice::sleep_for(1h));
    REQUIRE(won.index() == 1);
    CHECK(std::get<1>(won) == 2);
    // The losers were cancelled and had finished their cleanup before the race returned.
    CHECK(log == std::vector<std::string>{"cancelled 1"});
}

SLUICE_TEST_CASE("race with repeated and void types", "[race]") {
    auto won = co_await sluice::race(sluice::sleep_for(1ms), after(1h, 5));
    CHECK(won.index() == 0);
    CHECK(std::holds_alternative<std::monostate>(won));
}

SLUICE_TEST_CASE("a winner's error propagates after the losers are drained", "[race]") {
    std::vector<std::string> log;
    std::string what;
    try {
        (void)co_await sluice::race(after(1h, 1, &log), fail_after(1ms), after(1h, 3, &log));
    } catch (const std::runtime_error& error) {
        what = error.what();
        log.push_back("caught");
    }
    CHECK(what == "winner failed");
    CHECK(log == std::vector<std::string>{"cancelled 1", "cancelled 3", "caught"});
}

SLUICE_TEST_CASE("when_any over a range: the winner's position and value", "[race][when_any]") {
    std::vector<sluice::task<int>> tasks;
    tasks.push_back(after(1h, 10));
    tasks.push_back(after(1h, 11));
    tasks.push_back(after(2ms, 12));
    auto [index, value] = co_await sluice::when_any(std::move(tasks));
    CHECK(index == 2);
    CHECK(value == 12);
}

SLUICE_TEST_CASE("when_any of an empty range is std::invalid_argument", "[race][when_any]") {
    bool rejected = false;
    try {
        (void)co_await sluice::when_any(std::vector<sluice::task<int>>{});
    } catch (const std::invalid_argument&) {
        rejected = true;
    }
    CHECK(rejected);
}

SLUICE_TEST_CASE("cancelling the task awaiting a race cancels and awaits every child", "[race][cancel]") {
    std::vector<std::string> log;
    auto racer = sluice::spawn([](std::vector<std::string>& l) -> sluice::task<std::string> {
        try {
            (void)co_await sluice::race(after(1h, 1, &l), after(1h, 2, &l));
        } catch (const sluice::cancelled_error&) {
            co_return "cancelled";
        }
        co_return "value";
    }(log));
    co_await sluice::yield();
    co_await sluice::yield();
    racer.cancel();
    const std::string got = co_await std::move(racer);
    CHECK(got == "cancelled");
    CHECK(log.size() == 2);
}

SLUICE_TEST_CASE("a loser that swallows its cancel is still awaited, and its value dropped", "[race]") {
    bool loser_done = false;
    auto stubborn = [](bool& done) -> sluice::task<int> {
        try {
            co_await sluice::sleep_for(1h);
        } catch (const sluice::cancelled_error&) {
        }
        co_await sluice::sleep_for(5ms);  // keeps running after the cancel
        done = true;
        co_return 99;
    };
    auto won = co_await sluice::race(stubborn(loser_done), after(1ms, 1));
    CHECK(won.index() == 1);
    CHECK(loser_done);
}

// --- shield ----------------------------------------------------------------------------------------

SLUICE_TEST_CASE("shield: the awaiting task's cancel waits for the shielded operation, then is delivered",
                 "[shield][cancel]") {
    std::vector<std::string> log;
    auto worker = sluice::spawn([](std::vector<std::string>& l) -> sluice::task<void> {
        const int v = co_await sluice::shield(after(20ms, 4));
        l.push_back("shielded returned " + std::to_string(v));
        try {
            co_await sluice::yield();  // the next real suspension: the pending cancel lands here
        } catch (const sluice::cancelled_error&) {
            l.push_back("cancelled after");
            throw;
        }
        l.push_back("not cancelled");
    }(log));
    co_await sluice::yield();
    co_await sluice::yield();
    worker.cancel();
    const bool cancelled = co_await sluice_test::ends_cancelled(worker);
    CHECK(cancelled);
    CHECK(log == std::vector<std::string>{"shielded returned 4", "cancelled after"});
}

SLUICE_TEST_CASE("shield with a cancel already pending still runs the operation", "[shield][cancel]") {
    sluice::event go;
    std::vector<std::string> log;
    auto worker = sluice::spawn([](sluice::event& g, std::vector<std::string>& l) -> sluice::task<void> {
        co_await g.wait();
        // The cancel arrived after the wait completed: pending now, not delivered by the shield.
        const int v = co_await sluice::shield(after(1ms, 6));
        l.push_back("shielded returned " + std::to_string(v));
        co_await sluice::yield();
        l.push_back("not cancelled");
    }(go, log));
    co_await sluice::yield();
    co_await sluice::yield();
    go.set();
    worker.cancel();
    const bool cancelled = co_await sluice_test::ends_cancelled(worker);
    CHECK(cancelled);
    CHECK(log == std::vector<std::string>{"shielded returned 6"});
}

SLUICE_TEST_CASE("shield passes the operation's value and its own errors through", "[shield]") {
    const int v = co_await sluice::shield(after(1ms, 8));
    CHECK(v == 8);
    bool failed = false;
    try {
        co_await sluice::shield(fail_after(1ms));
    } catch (const std::runtime_error&) {
        failed = true;
    }
    CHECK(failed);
}

SLUICE_TEST_CASE("wait_for around a shield waits for the operation and returns its value", "[shield]") {
    const int v = co_await sluice::wait_for(sluice::shield(after(20ms, 9)), 1ms);
    CHECK(v == 9);
}
