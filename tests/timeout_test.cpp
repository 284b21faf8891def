// Tests of with_timeout / with_deadline / move_on_after / move_on_at and timeout_scope
// (sluice/timeout.hpp). Deadlines that must not pass are an hour away; the ones that must pass are
// a few milliseconds, and a body that should be cancelled sleeps for an hour: a missing expiry is
// a CTest TIMEOUT, never a flaky wall-clock assertion.

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>
#include <sluice/timeout.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "support/co_test.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

template <class Awaitable>
sluice::task<std::string> outcome_of(Awaitable awaitable) {
    try {
        co_await std::move(awaitable);
        co_return "value";
    } catch (const sluice::timeout_error&) {
        co_return "timeout";
    } catch (const sluice::cancelled_error&) {
        co_return "cancelled";
    } catch (const std::logic_error&) {
        co_return "logic_error";
    } catch (const std::runtime_error& error) {
        co_return error.what();
    }
}

}  // namespace

SLUICE_TEST_CASE("with_timeout returns the body's value when it finishes in time", "[timeout]") {
    const int got = co_await sluice::with_timeout(1h, [](sluice::timeout_scope&) -> sluice::task<int> {
        co_await sluice::sleep_for(1ms);
        co_return 42;
    });
    CHECK(got == 42);
}

SLUICE_TEST_CASE("with_timeout raises timeout_error only after the body finished its cleanup", "[timeout]") {
    std::vector<std::string> events;
    const auto start = steady::now();
    try {
        co_await sluice::with_timeout(10ms, [&events](sluice::timeout_scope&) -> sluice::task<void> {
            try {
                co_await sluice::sleep_for(1h);
            } catch (const sluice::cancelled_error&) {
                events.push_back("body cancelled");
                throw;
            }
        });
    } catch (const sluice::timeout_error&) {
        events.push_back("timeout_error");
    }
    CHECK(steady::now() - start >= 10ms);
    CHECK(events == std::vector<std::string>{"body cancelled", "timeout_error"});
}

SLUICE_TEST_CASE("move_on_after gives an empty optional on expiry and the value otherwise", "[timeout][move_on]") {
    std::optional<int> expired = co_await sluice::move_on_after(5ms, [](sluice::timeout_scope&) -> sluice::task<int> {
        co_await sluice::sleep_for(1h);
        co_return 1;
    });
    CHECK_FALSE(expired.has_value());
    std::optional<int> in_time = co_await sluice::move_on_after(1h, [](sluice::timeout_scope&) -> sluice::task<int> {
        co_await sluice::yield();
        co_return 2;
    });
    CHECK(in_time == 2);
    std::optional<std::monostate> void_body = co_await sluice::move_on_at(
        steady::now() + 1h, [](sluice::timeout_scope&) -> sluice::task<void> { co_await sluice::yield(); });
    CHECK(void_body.has_value());
    std::optional<std::monostate> void_expired = co_await sluice::move_on_after(1ms, sluice::sleep_for(1h));
    CHECK_FALSE(void_expired.has_value());
}

SLUICE_TEST_CASE("reschedule moves the deadline later and earlier", "[timeout][reschedule]") {
    const int later = co_await sluice::with_timeout(5ms, [](sluice::timeout_scope& scope) -> sluice::task<int> {
        scope.reschedule_after(1h);
        co_await sluice::sleep_for(20ms);  // past the first deadline
        co_return 1;
    });
    CHECK(later == 1);
    const std::string earlier =
        co_await outcome_of(sluice::with_timeout(1h, [](sluice::timeout_scope& scope) -> sluice::task<void> {
            scope.reschedule(steady::now() + 5ms);
            co_await sluice::sleep_for(1h);
        }));
    CHECK(earlier == "timeout");
    const std::string never =
        co_await outcome_of(sluice::with_timeout(1ms, [](sluice::timeout_scope& scope) -> sluice::task<void> {
            scope.reschedule(steady::time_point::max());
            CHECK(scope.deadline() == steady::time_point::max());
            co_await sluice::sleep_for(10ms);
        }));
    CHECK(never == "value");
}

SLUICE_TEST_CASE("reschedule after the deadline passed is a std::logic_error", "[timeout][reschedule]") {
    bool rejected = false;
    const std::string what =
        co_await outcome_of(sluice::with_timeout(1ms, [&rejected](sluice::timeout_scope& scope) -> sluice::task<void> {
            try {
                co_await sluice::sleep_for(1h);
            } catch (const sluice::cancelled_error&) {
                CHECK(scope.expired());
                try {
                    scope.reschedule_after(1h);
                } catch (const std::logic_error&) {
                    rejected = true;
                }
                throw;
            }
        }));
    CHECK(rejected);
    CHECK(what == "timeout");
}

SLUICE_TEST_CASE("nested scopes: an inner deadline that passes first is reported by the inner scope only",
                 "[timeout][nested]") {
    const std::string got = co_await sluice::with_timeout(1h, [](sluice::timeout_scope& outer) -> sluice::task<std::string> {
        const std::string inner = co_await outcome_of(sluice::with_timeout(5ms, sluice::sleep_for(1h)));
        CHECK_FALSE(outer.expired());
        co_await sluice::sleep_for(1ms);  // the outer scope is untouched: no cancel leaked into it
        co_return inner;
    });
    CHECK(got == "timeout");
}

SLUICE_TEST_CASE("nested scopes: an outer deadline is never reported as the inner's", "[timeout][nested]") {
    bool inner_reported_timeout = false;
    bool inner_saw_cancel = false;
    const std::string got = co_await outcome_of(
        sluice::with_timeout(5ms, [&](sluice::timeout_scope&) -> sluice::task<void> {
            try {
                co_await sluice::with_timeout(1h, [&](sluice::timeout_scope&) -> sluice::task<void> {
                    try {
                        co_await sluice::sleep_for(1h);
                    } catch (const sluice::cancelled_error&) {
                        inner_saw_cancel = true;
                        throw;
                    }
                });
            } catch (const sluice::timeout_error&) {
                inner_reported_timeout = true;
            }
        }));
    CHECK(got == "timeout");
    CHECK(inner_saw_cancel);
    CHECK_FALSE(inner_reported_timeout);
}

SLUICE_TEST_CASE("nested move_on_after: only the scope whose deadline passed moves on", "[timeout][nested][move_on]") {
    std::optional<int> outer = co_await sluice::move_on_after(5ms, [](sluice::timeout_scope&) -> sluice::task<int> {
        std::optional<int> inner = co_await sluice::move_on_after(1h, [](sluice::timeout_scope&) -> sluice::task<int> {
            co_await sluice::sleep_for(1h);
            co_return 1;
        });
        co_return inner.has_value() ? 2 : 3;  // never reached: the outer cancel goes through the inner
    });
    CHECK_FALSE(outer.has_value());
}

SLUICE_TEST_CASE("a timeout_error out of the body propagates through move_on_after", "[timeout][move_on]") {
    const std::string got = co_await outcome_of(sluice::move_on_after(1h, [](sluice::timeout_scope&) -> sluice::task<void> {
        co_await sluice::with_timeout(1ms, sluice::sleep_for(1h));
    }));
    CHECK(got == "timeout");
}

SLUICE_TEST_CASE("the scope's cancel never leaks: a body swallowing it returns its value", "[timeout]") {
    const int got = co_await sluice::with_timeout(1ms, [](sluice::timeout_scope&) -> sluice::task<int> {
        try {
            co_await sluice::sleep_for(1h);
        } catch (const sluice::cancelled_error&) {
            co_return 7;
        }
        co_return 0;
    });
    CHECK(got == 7);
    co_await sluice::sleep_for(1ms);  // would throw cancelled_error if the scope's cancel leaked
    co_await sluice::yield();
}

SLUICE_TEST_CASE("an error the body raises while being cancelled wins over the expiry", "[timeout]") {
    const std::string got = co_await outcome_of(sluice::with_timeout(1ms, [](sluice::timeout_scope&) -> sluice::task<void> {
        try {
            co_await sluice::sleep_for(1h);
        } catch (const sluice::cancelled_error&) {
            throw std::runtime_error("cleanup failed");
        }
    }));
    CHECK(got == "cleanup failed");
}

SLUICE_TEST_CASE("cancelling the awaiting task cancels the body and ends with cancelled_error", "[timeout][cancel]") {
    bool body_cancelled = false;
    auto waiter = sluice::spawn([](bool& flag) -> sluice::task<std::string> {
        co_return co_await outcome_of(sluice::with_timeout(1h, [&flag](sluice::timeout_scope&) -> sluice::task<void> {
            try {
                co_await sluice::sleep_for(1h);
            } catch (const sluice::cancelled_error&) {
                flag = true;
                throw;
            }
        }));
    }(body_cancelled));
    co_await sluice::yield();
    co_await sluice::yield();
    waiter.cancel();
    const std::string got = co_await std::move(waiter);
    CHECK(got == "cancelled");
    CHECK(body_cancelled);
}

SLUICE_TEST_CASE("a cancel pending when the scope is awaited: the body never runs", "[timeout][cancel]") {
    bool ran = false;
    auto waiter = sluice::spawn([](bool& flag) -> sluice::task<std::string> {
        co_return co_await outcome_of(sluice::with_timeout(1h, [&flag](sluice::timeout_scope&) -> sluice::task<void> {
            flag = true;
            co_return;
        }));
    }(ran));
    waiter.cancel();
    std::string got;
    try {
        got = co_await std::move(waiter);
    } catch (const sluice::cancelled_error&) {
        got = "cancelled before start";
    }
    CHECK((got == "cancelled" || got == "cancelled before start"));
    CHECK_FALSE(ran);
}

SLUICE_TEST_CASE("a zero timeout cancels the body at its first real suspension and a body that never suspends returns",
                 "[timeout]") {
    const std::string suspended = co_await outcome_of(sluice::with_timeout(0s, sluice::sleep_for(1h)));
    CHECK(suspended == "timeout");
    const int immediate = co_await sluice::with_timeout(-5s, [](sluice::timeout_scope&) -> sluice::task<int> { co_return 3; });
    CHECK(immediate == 3);
}

SLUICE_TEST_CASE("duration::max() means no deadline and overflows nothing", "[timeout]") {
    const int got = co_await sluice::with_timeout(std::chrono::hours::max(), [](sluice::timeout_scope& scope) -> sluice::task<int> {
        CHECK(scope.deadline() == steady::time_point::max());
        co_await sluice::sleep_for(1ms);
        co_return 5;
    });
    CHECK(got == 5);
}

SLUICE_TEST_CASE("a callable body that throws when called fails the scope with that error", "[timeout]") {
    const std::string got = co_await outcome_of(sluice::with_timeout(1h, [](sluice::timeout_scope&) -> sluice::task<void> {
        throw std::runtime_error("no body");
    }));
    CHECK(got == "no body");
}
