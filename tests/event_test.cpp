// Tests of event (sluice/event.hpp): set wakes every waiter in FIFO order through the ready queue,
// a set event does not suspend, clear re-arms it, and a cancelled waiter leaves the list.
//
// "Blocks forever" is a 20 s sleep, so a bug shows as a CTest TIMEOUT; no upper bound on time is
// asserted anywhere.

#include <sluice/cancellation.hpp>
#include <sluice/event.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "support/co_test.hpp"
#include "support/settle.hpp"

using namespace std::chrono_literals;

namespace {

using sluice_test::settle;

sluice::task<void> wait_and_log(sluice::event& ev, int id, std::vector<int>& woken) {
    co_await ev.wait();
    woken.push_back(id);
}

sluice::task<void> log_when_run(std::vector<std::string>& log, std::string what) {
    log.push_back(std::move(what));
    co_return;
}

}  // namespace

SLUICE_TEST_CASE("set wakes every waiter, in the order they started waiting, through the ready queue",
                 "[event]") {
    sluice::event ev;
    std::vector<int> woken;
    std::vector<sluice::join_handle<void>> waiters;
    for (int id = 1; id <= 5; ++id) waiters.push_back(sluice::spawn(wait_and_log(ev, id, woken)));
    co_await settle();
    REQUIRE(woken.empty());
    CHECK_FALSE(ev.is_set());

    ev.set();
    CHECK(ev.is_set());
    CHECK(woken.empty());  // scheduled, not resumed inside set()
    for (auto& waiter : waiters) co_await waiter;
    CHECK(woken == std::vector<int>{1, 2, 3, 4, 5});
}

SLUICE_TEST_CASE("wait on a set event returns at once, without suspending", "[event]") {
    sluice::event ev;
    std::vector<std::string> log;
    ev.set();
    auto other = sluice::spawn(log_when_run(log, "other task"));  // ready, runs at our next suspension
    co_await ev.wait();
    log.push_back("returned from wait");
    co_await other;
    CHECK(log == std::vector<std::string>{"returned from wait", "other task"});
}

namespace {
struct self_cancel {
    sluice::join_handle<void> self;
    sluice::event ev;
    std::vector<std::string> log;
};

sluice::task<void> cancel_self_then_wait(self_cancel& state) {
    state.self.cancel();
    co_await state.ev.wait();  // set: not a cancellation point
    state.log.push_back("waited");
    co_await sluice::sleep_for(20s);
    state.log.push_back("slept");
}
}  // namespace

SLUICE_TEST_CASE("wait on a set event is not a cancellation point, the next sleep is", "[event][cancel]") {
    self_cancel state;
    state.ev.set();
    state.self = sluice::spawn(cancel_self_then_wait(state));
    const sluice::result<void> outcome = co_await state.self.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    CHECK(state.log == std::vector<std::string>{"waited"});
}

SLUICE_TEST_CASE("after clear, wait blocks until the event is set again", "[event]") {
    sluice::event ev;
    ev.set();
    ev.clear();
    CHECK_FALSE(ev.is_set());
    std::vector<int> woken;
    auto waiter = sluice::spawn(wait_and_log(ev, 1, woken));
    co_await settle(10);
    CHECK(woken.empty());
    CHECK_FALSE(waiter.done());
    ev.set();
    co_await waiter;
    CHECK(woken == std::vector<int>{1});
}

SLUICE_TEST_CASE("a waiter woken by set returns even if clear runs before it does", "[event]") {
    sluice::event ev;
    std::vector<int> woken;
    auto waiter = sluice::spawn(wait_and_log(ev, 1, woken));
    co_await settle();
    ev.set();
    ev.clear();
    co_await waiter;
    CHECK(woken == std::vector<int>{1});
    CHECK_FALSE(ev.is_set());
}

SLUICE_TEST_CASE("a cancelled waiter leaves the list, set afterwards wakes only the others",
                 "[event][cancel]") {
    sluice::event ev;
    std::vector<int> woken;
    auto first = sluice::spawn(wait_and_log(ev, 1, woken));
    auto second = sluice::spawn(wait_and_log(ev, 2, woken));
    auto third = sluice::spawn(wait_and_log(ev, 3, woken));
    co_await settle();

    second.cancel();
    const sluice::result<void> outcome = co_await second.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    CHECK(woken.empty());

    ev.set();
    co_await first;
    co_await third;
    CHECK(woken == std::vector<int>{1, 3});
}

namespace {
sluice::task<void> wait_then_block(sluice::event& ev, std::vector<std::string>& log) {
    co_await ev.wait();
    log.push_back("wait returned");
    co_await sluice::sleep_for(20s);
    log.push_back("slept");
}
}  // namespace

SLUICE_TEST_CASE("a cancel arriving after set woke the waiter is delivered at its next suspension",
                 "[event][cancel]") {
    sluice::event ev;
    std::vector<std::string> log;
    auto waiter = sluice::spawn(wait_then_block(ev, log));
    co_await settle();
    ev.set();
    waiter.cancel();  // same tick: the wait already completed
    const sluice::result<void> outcome = co_await waiter.as_result();
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
    CHECK(log == std::vector<std::string>{"wait returned"});
}

SLUICE_TEST_CASE("set on a set event and clear on a clear one change nothing", "[event]") {
    sluice::event ev;
    ev.clear();
    CHECK_FALSE(ev.is_set());
    ev.set();
    ev.set();
    CHECK(ev.is_set());
    co_await ev.wait();
    CHECK(ev.is_set());
}
