// Tests of sluice::task_group and sluice::exception_group (sluice/task_group.hpp).
//
// Children are free coroutine functions taking a `counted` by value, so every child frame is counted
// from its creation (also when it never runs) until its destruction; each scenario ends by checking
// that none is left. Bodies are `[&]` lambdas, as users write them: the scope is awaited in place,
// so the captured locals outlive it. "Forever" is a 20 s sleep: a missed cancellation is a CTest
// timeout, never a flaky assertion.

#include <sluice/cancellation.hpp>
#include <sluice/event.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/result.hpp>
#include <sluice/task.hpp>
#include <sluice/task_group.hpp>
#include <sluice/time.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"

using namespace std::chrono_literals;

namespace {

using sluice::task;
using sluice::task_group;
using sluice_test::counted;

/// A member's own failure, identified by `id`.
struct failure : std::runtime_error {
    explicit failure(int which) : std::runtime_error("failure " + std::to_string(which)), id(which) {}
    int id;
};

/// The failure's id, or -1 when `error` is not a `failure`.
int failure_id(const std::exception_ptr& error) {
    try {
        std::rethrow_exception(error);
    } catch (const failure& f) {
        return f.id;
    } catch (...) {
        return -1;
    }
}

template <class Exception>
bool holds(const std::exception_ptr& error) {
    if (!error) return false;
    try {
        std::rethrow_exception(error);
    } catch (const Exception&) {
        return true;
    } catch (...) {
        return false;
    }
}

/// The ids of the failures inside an exception_group (empty when `error` is not one), and its what().
struct group_view {
    std::vector<int> ids;
    std::string what;
    bool has_cancellation = false;
};
group_view inspect_group(const std::exception_ptr& error) {
    group_view view;
    try {
        std::rethrow_exception(error);
    } catch (const sluice::exception_group& group) {
        view.what = group.what();
        for (const auto& inner : group.exceptions()) {
            view.ids.push_back(failure_id(inner));
            view.has_cancellation = view.has_cancellation || holds<sluice::cancelled_error>(inner);
        }
    } catch (...) {
    }
    return view;
}

/// What the members did, in order.
struct journal {
    std::vector<int> started;
    std::vector<int> cancelled;
    std::vector<int> finished;
    std::vector<int> logic_errors;
};

task<void> sleep_then_finish(std::chrono::milliseconds duration, int id, journal& j,
                             [[maybe_unused]] counted frame = counted()) {
    j.started.push_back(id);
    co_await sluice::sleep_for(duration);
    j.finished.push_back(id);
}

task<int> value_after_yields(int yields, int value, [[maybe_unused]] counted frame = counted()) {
    for (int i = 0; i < yields; ++i) co_await sluice::yield();
    co_return value;
}

task<void> fail_after_yields(int yields, int id, journal& j, [[maybe_unused]] counted frame = counted()) {
    j.started.push_back(id);
    for (int i = 0; i < yields; ++i) co_await sluice::yield();
    throw failure(id);
}

/// Sleeps "forever"; records the cancellation and lets it propagate.
task<void> sleep_forever(int id, journal& j, [[maybe_unused]] counted frame = counted()) {
    j.started.push_back(id);
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        j.cancelled.push_back(id);
        throw;
    }
    j.finished.push_back(id);
}

/// Yields `yields` times, then sleeps forever; cancelled (in either), it fails with its own error
/// while cleaning up (a second, later failure of the group).
task<void> fail_when_cancelled(int yields, int id, journal& j, [[maybe_unused]] counted frame = counted()) {
    j.started.push_back(id);
    bool cancelled = false;
    try {
        for (int i = 0; i < yields; ++i) co_await sluice::yield();
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        cancelled = true;
        j.cancelled.push_back(id);
    }
    if (cancelled) throw failure(id);
}

/// Sleeps forever; cancelled, tries to spawn into its group (which is shutting down by then).
task<void> spawn_when_cancelled(task_group& g, int id, journal& j, [[maybe_unused]] counted frame = counted()) {
    j.started.push_back(id);
    bool cancelled = false;
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        cancelled = true;
        j.cancelled.push_back(id);
    }
    if (cancelled) {
        try {
            g.spawn(sleep_forever(100 + id, j));
        } catch (const std::logic_error&) {
            j.logic_errors.push_back(id);
        }
        throw sluice::cancelled_error();
    }
}

/// Sleeps forever in the body; records its cancellation (id 0 stands for the body).
task<void> body_sleeps_forever(journal& j) {
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        j.cancelled.push_back(0);
        throw;
    }
}

/// Counts frames from here on and checks at the end that none is left.
struct frame_audit {
    frame_audit() { counted::reset(); }
    static void check() { CHECK(counted::alive() == 0); }
};

}  // namespace

// --- values and waiting ---------------------------------------------------------------------------

SLUICE_TEST_CASE("a scope returns the body's value", "[task_group]") {
    frame_audit audit;
    const int plain = co_await task_group::scope([](task_group&) -> task<int> { co_return 7; });
    CHECK(plain == 7);

    const std::string after_suspending = co_await task_group::scope([](task_group&) -> task<std::string> {
        co_await sluice::yield();
        co_return std::string("after a yield");
    });
    CHECK(after_suspending == "after a yield");

    int target = 1;
    int& reference = co_await task_group::scope([&](task_group&) -> task<int&> { co_return target; });
    CHECK(&reference == &target);

    bool ran = false;
    co_await task_group::scope([&](task_group&) -> task<void> {
        ran = true;
        co_return;
    });
    CHECK(ran);
    audit.check();
}

SLUICE_TEST_CASE("a scope waits for every child, also when the body returns at once", "[task_group]") {
    frame_audit audit;
    journal j;
    const auto start = std::chrono::steady_clock::now();
    const int value = co_await task_group::scope([&](task_group& g) -> task<int> {
        g.spawn(sleep_then_finish(20ms, 1, j));
        g.spawn(sleep_then_finish(5ms, 2, j));
        g.spawn(sleep_then_finish(10ms, 3, j));
        CHECK(j.started.empty());  // children start on a later loop turn
        co_return 5;
    });
    CHECK(value == 5);
    // Every child finished before the scope ended (in any order: the order of their deadlines is
    // the timers' business, and a loaded machine may start one child milliseconds after another).
    std::vector<int> finished = j.finished;
    std::sort(finished.begin(), finished.end());
    CHECK(finished == std::vector<int>{1, 2, 3});
    CHECK(std::chrono::steady_clock::now() - start >= 20ms);
    audit.check();
}

SLUICE_TEST_CASE("a child that finishes while the body still runs does not end the scope", "[task_group]") {
    frame_audit audit;
    journal j;
    std::vector<std::string> order;
    co_await task_group::scope([&](task_group& g) -> task<void> {
        g.spawn(sleep_then_finish(0ms, 1, j));  // turn 1: starts and yields; turn 2: finishes
        for (int i = 0; i < 3; ++i) co_await sluice::yield();
        order.push_back(j.finished.size() == 1 ? "child finished first" : "child still running");
        co_await sluice::yield();
        order.push_back("body ends");
    });
    order.push_back("scope ended");
    CHECK(order == std::vector<std::string>{"child finished first", "body ends", "scope ended"});
    audit.check();
}

SLUICE_TEST_CASE("awaiting a child's handle inside the body gives its value", "[task_group][handle]") {
    frame_audit audit;
    const int doubled = co_await task_group::scope([](task_group& g) -> task<int> {
        auto handle = g.spawn(value_after_yields(2, 21));
        sluice::join_handle<int> plain = g.spawn(value_after_yields(1, 4));  // it is a join_handle<T>
        const int first = co_await handle;
        const int second = co_await std::move(plain);
        co_return first * 2 + second - 4;
    });
    CHECK(doubled == 42);
    audit.check();
}

SLUICE_TEST_CASE("a child's handle may outlive the scope and still gives the value", "[task_group][handle]") {
    frame_audit audit;
    {
        std::optional<sluice::join_handle<int>> kept;
        co_await task_group::scope([&](task_group& g) -> task<void> {
            kept.emplace(g.spawn(value_after_yields(3, 9)));
            co_return;
        });
        REQUIRE(kept->done());
        CHECK(co_await *kept == 9);
    }
    audit.check();
}

// --- failures --------------------------------------------------------------------------------------

SLUICE_TEST_CASE("the first failure cancels the rest and is rethrown as itself", "[task_group][failure]") {
    frame_audit audit;
    journal j;
    auto outcome = co_await task_group::scope([&](task_group& g) -> task<int> {
                       g.spawn(sleep_forever(1, j));
                       g.spawn(fail_after_yields(1, 2, j));
                       g.spawn(sleep_forever(3, j));
                       co_await body_sleeps_forever(j);
                       co_return 1;
                   }).as_result();
    REQUIRE_FALSE(outcome.has_value());
    CHECK(failure_id(outcome.error()) == 2);  // the type is preserved: a `failure`, not a group
    CHECK_FALSE(holds<sluice::exception_group>(outcome.error()));
    CHECK(j.started == std::vector<int>{1, 2, 3});
    CHECK(j.cancelled.size() == 3);  // the body (0) and both sleepers
    CHECK(std::count(j.cancelled.begin(), j.cancelled.end(), 0) == 1);
    CHECK(std::count(j.cancelled.begin(), j.cancelled.end(), 1) == 1);
    CHECK(std::count(j.cancelled.begin(), j.cancelled.end(), 3) == 1);
    CHECK(j.finished.empty());
    audit.check();
}

SLUICE_TEST_CASE("several failures become an exception_group, in order of occurrence, without cancellations",
                 "[task_group][failure]") {
    frame_audit audit;
    journal j;
    auto outcome = co_await task_group::scope([&](task_group& g) -> task<void> {
                       g.spawn(fail_when_cancelled(2, 20, j));  // fails second, while being cancelled
                       g.spawn(fail_after_yields(1, 10, j));    // fails first
                       g.spawn(sleep_forever(30, j));           // cancelled: not in the group
                       co_await body_sleeps_forever(j);         // cancelled: not in the group
                   }).as_result();
    REQUIRE_FALSE(outcome.has_value());
    const group_view group = inspect_group(outcome.error());
    CHECK(group.ids == std::vector<int>{10, 20});
    CHECK_FALSE(group.has_cancellation);
    CHECK(group.what.find('2') != std::string::npos);
    CHECK(group.what.find("failure 10") != std::string::npos);
    CHECK(std::count(j.cancelled.begin(), j.cancelled.end(), 30) == 1);
    CHECK(std::count(j.cancelled.begin(), j.cancelled.end(), 0) == 1);
    audit.check();
}

SLUICE_TEST_CASE("the body's failure cancels the children", "[task_group][failure]") {
    frame_audit audit;
    journal j;
    auto outcome = co_await task_group::scope([&](task_group& g) -> task<void> {
                       g.spawn(sleep_forever(1, j));
                       g.spawn(sleep_forever(2, j));
                       co_await sluice::yield();  // the children start
                       throw failure(99);
                   }).as_result();
    CHECK(failure_id(outcome.error()) == 99);
    CHECK(j.started == std::vector<int>{1, 2});
    CHECK(j.cancelled == std::vector<int>{1, 2});
    audit.check();
}

SLUICE_TEST_CASE("a body failing before its first suspension: its children never run", "[task_group][failure]") {
    frame_audit audit;
    journal j;
    auto outcome = co_await task_group::scope([&](task_group& g) -> task<void> {
                       g.spawn(sleep_forever(1, j));
                       g.spawn(sleep_forever(2, j));
                       throw failure(5);
                       co_return;
                   }).as_result();
    CHECK(failure_id(outcome.error()) == 5);
    CHECK(j.started.empty());
    audit.check();
}

SLUICE_TEST_CASE("a body and a child failing with the same exception object count once", "[task_group][failure]") {
    frame_audit audit;
    journal j;
    auto outcome = co_await task_group::scope([&](task_group& g) -> task<void> {
                       auto handle = g.spawn(fail_after_yields(1, 4, j));
                       co_await handle;  // rethrows the child's exception object: the body fails with it
                   }).as_result();
    CHECK(failure_id(outcome.error()) == 4);
    CHECK_FALSE(holds<sluice::exception_group>(outcome.error()));
    audit.check();
}

SLUICE_TEST_CASE("a member ending with cancelled_error is not a failure", "[task_group][failure]") {
    frame_audit audit;
    journal j;
    const int value = co_await task_group::scope([&](task_group& g) -> task<int> {
        auto handle = g.spawn(sleep_forever(1, j));
        co_await sluice::yield();
        handle.cancel();
        const bool cancelled = holds<sluice::cancelled_error>((co_await handle.as_result()).error());
        co_return cancelled ? 3 : -1;
    });
    CHECK(value == 3);
    CHECK(j.cancelled == std::vector<int>{1});
    audit.check();
}

// --- spawning rules --------------------------------------------------------------------------------

SLUICE_TEST_CASE("spawning into an aborting group is a logic_error, from a child and from the body",
                 "[task_group][spawn]") {
    frame_audit audit;
    journal j;
    bool body_got_logic_error = false;
    auto outcome = co_await task_group::scope([&](task_group& g) -> task<void> {
                       g.spawn(spawn_when_cancelled(g, 1, j));
                       g.spawn(fail_after_yields(2, 2, j));
                       bool cancelled = false;
                       try {
                           co_await sluice::sleep_for(20s);
                       } catch (const sluice::cancelled_error&) {
                           cancelled = true;
                       }
                       if (cancelled) {
                           try {
                               g.spawn(sleep_forever(3, j));
                           } catch (const std::logic_error&) {
                               body_got_logic_error = true;
                           }
                       }
                   }).as_result();
    CHECK(failure_id(outcome.error()) == 2);
    CHECK(j.logic_errors == std::vector<int>{1});
    CHECK(body_got_logic_error);
    CHECK(j.started == std::vector<int>{1, 2});  // nothing spawned late ever ran
    audit.check();
}

SLUICE_TEST_CASE("spawning into a finished group is a logic_error", "[task_group][spawn]") {
    frame_audit audit;
    journal j;
    {
        task_group* saved = nullptr;
        // Awaited as an lvalue: the scope task, and the group in its frame, live on after the scope.
        auto scope = task_group::scope([&](task_group& g) -> task<void> {
            saved = &g;
            g.spawn(sleep_then_finish(1ms, 1, j));
            co_return;
        });
        co_await scope;
        REQUIRE(saved != nullptr);
        CHECK_THROWS_AS(saved->spawn(sleep_forever(2, j)), std::logic_error);
    }
    CHECK(j.started == std::vector<int>{1});
    audit.check();
}

SLUICE_TEST_CASE("a child cancelled before its first turn never runs its body", "[task_group][spawn]") {
    frame_audit audit;
    journal j;
    co_await task_group::scope([&](task_group& g) -> task<void> {
        auto handle = g.spawn(sleep_forever(1, j));
        handle.cancel();
        CHECK(holds<sluice::cancelled_error>((co_await handle.as_result()).error()));
    });
    CHECK(j.started.empty());
    audit.check();
}

// --- cancellation from outside and leaks --------------------------------------------------------------

namespace {
task<void> scope_with_sleepers(journal& j, [[maybe_unused]] counted frame = counted()) {
    co_await task_group::scope([&](task_group& g) -> task<void> {
        for (int id = 1; id <= 3; ++id) g.spawn(sleep_forever(id, j));
        co_await body_sleeps_forever(j);
    });
    j.finished.push_back(-1);  // never: the scope ends with cancelled_error
}
}  // namespace

SLUICE_TEST_CASE("cancelling the task awaiting a scope cancels the body and every child at once",
                 "[task_group][cancel]") {
    frame_audit audit;
    journal j;
    {
        auto handle = sluice::spawn(scope_with_sleepers(j));
        while (j.started.size() < 3) co_await sluice::yield();
        CHECK(j.cancelled.empty());
        handle.cancel();
        // One cancel of the awaiting task reaches every member: none of them is cancelled by another.
        const sluice::result<void> outcome = co_await handle.as_result();
        CHECK(holds<sluice::cancelled_error>(outcome.error()));
    }
    CHECK(j.cancelled.size() == 4);
    for (int id = 0; id <= 3; ++id) CHECK(std::count(j.cancelled.begin(), j.cancelled.end(), id) == 1);
    CHECK(j.finished.empty());
    audit.check();
}

namespace {
struct self_cancel {
    sluice::join_handle<void> self;
    journal j;
    bool body_ran = false;
    bool got_cancelled = false;
};

task<void> cancel_self_then_open_scope(self_cancel& state) {
    state.self.cancel();  // pending: delivered at the next real suspension, the scope's start
    try {
        co_await task_group::scope([&](task_group&) -> task<void> {
            state.body_ran = true;
            co_return;
        });
    } catch (const sluice::cancelled_error&) {
        state.got_cancelled = true;
    }
    co_await sluice::sleep_for(1ms);  // the request was delivered once, not left pending
}
}  // namespace

SLUICE_TEST_CASE("a cancel pending when the scope is awaited: the body never runs", "[task_group][cancel]") {
    frame_audit audit;
    self_cancel state;
    state.self = sluice::spawn(cancel_self_then_open_scope(state));
    const sluice::result<void> outcome = co_await state.self.as_result();
    CHECK(outcome.has_value());
    CHECK(state.got_cancelled);
    CHECK_FALSE(state.body_ran);
    audit.check();
}

namespace {
struct cancel_and_fail {
    journal j;
    bool caught_failure = false;
    bool next_sleep_cancelled = false;
};

task<void> scope_failing_while_cancelled(cancel_and_fail& state) {
    try {
        co_await task_group::scope([&](task_group& g) -> task<void> {
            g.spawn(fail_when_cancelled(0, 7, state.j));
            co_await body_sleeps_forever(state.j);
        });
    } catch (const failure&) {
        state.caught_failure = true;
    }
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        state.next_sleep_cancelled = true;  // the awaiting task's own cancel was kept for it
    }
}
}  // namespace

SLUICE_TEST_CASE("a failure outranks the awaiter's cancellation, which stays pending for the awaiter",
                 "[task_group][cancel]") {
    frame_audit audit;
    cancel_and_fail state;
    auto handle = sluice::spawn(scope_failing_while_cancelled(state));
    while (state.j.started.empty()) co_await sluice::yield();
    co_await sluice::yield();
    handle.cancel();
    const sluice::result<void> outcome = co_await handle.as_result();
    CHECK(outcome.has_value());
    CHECK(state.caught_failure);
    CHECK(state.next_sleep_cancelled);
    audit.check();
}

SLUICE_TEST_CASE("after catching a group's error the caller is not left cancelled", "[task_group][cancel]") {
    frame_audit audit;
    journal j;
    bool caught_one = false;
    try {
        co_await task_group::scope([&](task_group& g) -> task<void> {
            g.spawn(sleep_forever(1, j));
            g.spawn(fail_after_yields(1, 2, j));
            co_await body_sleeps_forever(j);
        });
    } catch (const failure&) {
        caught_one = true;
    }
    CHECK(caught_one);
    co_await sluice::sleep_for(1ms);  // would throw cancelled_error if a group cancel leaked

    bool caught_group = false;
    try {
        co_await task_group::scope([&](task_group& g) -> task<void> {
            g.spawn(fail_when_cancelled(1, 4, j));
            g.spawn(fail_after_yields(0, 3, j));
            co_await body_sleeps_forever(j);
        });
    } catch (const sluice::exception_group& group) {
        caught_group = group.exceptions().size() == 2;
    }
    CHECK(caught_group);
    co_await sluice::sleep_for(1ms);
    co_await sluice::yield();
    audit.check();
}

// --- nesting -------------------------------------------------------------------------------------------

namespace {
/// A child that opens its own scope, whose child fails.
task<void> child_with_failing_inner_group(journal& j, [[maybe_unused]] counted frame = counted()) {
    co_await task_group::scope([&](task_group& inner) -> task<void> {
        inner.spawn(sleep_forever(11, j));
        inner.spawn(fail_after_yields(1, 12, j));
        co_await sluice::sleep_for(20s);
    });
}
}  // namespace

SLUICE_TEST_CASE("an inner group's failure propagates through the outer group", "[task_group][nested]") {
    frame_audit audit;
    journal j;
    auto outcome = co_await task_group::scope([&](task_group& outer) -> task<void> {
                       outer.spawn(sleep_forever(1, j));
                       outer.spawn(child_with_failing_inner_group(j));
                       co_await body_sleeps_forever(j);
                   }).as_result();
    CHECK(failure_id(outcome.error()) == 12);
    for (int id : {0, 1, 11}) CHECK(std::count(j.cancelled.begin(), j.cancelled.end(), id) == 1);
    audit.check();
}

SLUICE_TEST_CASE("an inner group's exception_group fails the outer body and cancels the outer children",
                 "[task_group][nested]") {
    frame_audit audit;
    journal j;
    auto outcome = co_await task_group::scope([&](task_group& outer) -> task<void> {
                       outer.spawn(sleep_forever(1, j));
                       co_await sluice::yield();
                       co_await task_group::scope([&](task_group& inner) -> task<void> {
                           inner.spawn(fail_after_yields(1, 21, j));
                           inner.spawn(fail_when_cancelled(0, 22, j));
                           co_return;
                       });
                   }).as_result();
    // One failure of the outer group (the inner group's), rethrown as itself.
    CHECK(inspect_group(outcome.error()).ids == std::vector<int>{21, 22});
    CHECK(std::count(j.cancelled.begin(), j.cancelled.end(), 1) == 1);
    audit.check();
}

namespace {
task<void> nested_scopes_sleeping(journal& j, [[maybe_unused]] counted frame = counted()) {
    co_await task_group::scope([&](task_group& outer) -> task<void> {
        outer.spawn(sleep_forever(1, j));
        co_await task_group::scope([&](task_group& inner) -> task<void> {
            inner.spawn(sleep_forever(2, j));
            co_await body_sleeps_forever(j);
        });
    });
}
}  // namespace

SLUICE_TEST_CASE("cancelling the awaiter reaches the children of nested groups", "[task_group][nested][cancel]") {
    frame_audit audit;
    journal j;
    {
        auto handle = sluice::spawn(nested_scopes_sleeping(j));
        while (j.started.size() < 2) co_await sluice::yield();
        handle.cancel();
        CHECK(holds<sluice::cancelled_error>((co_await handle.as_result()).error()));
    }
    for (int id : {0, 1, 2}) CHECK(std::count(j.cancelled.begin(), j.cancelled.end(), id) == 1);
    audit.check();
}

// --- scale ---------------------------------------------------------------------------------------------

namespace {
task<void> add_after_two_yields(int value, long& sum, [[maybe_unused]] counted frame = counted()) {
    co_await sluice::yield();
    co_await sluice::yield();
    sum += value;
}
}  // namespace

SLUICE_TEST_CASE("a group of 10,000 children each yielding twice completes and frees every frame",
                 "[task_group][scale]") {
    frame_audit audit;
    constexpr int children = 10'000;
    long sum = 0;
    const long total = co_await task_group::scope([&](task_group& g) -> task<long> {
        for (int i = 1; i <= children; ++i) g.spawn(add_after_two_yields(i, sum));
        CHECK(counted::alive() == children);
        co_return 0L;
    });
    CHECK(total == 0);
    CHECK(sum == static_cast<long>(children) * (children + 1) / 2);
    CHECK(counted::constructions >= children);
    audit.check();
}

// --- more shapes -----------------------------------------------------------------------------------

namespace {
/// A child that, after a yield, spawns a grandchild into the same group (the body has ended by then).
task<void> spawn_sibling_later(task_group& g, journal& j, [[maybe_unused]] counted frame = counted()) {
    j.started.push_back(1);
    co_await sluice::yield();
    g.spawn(sleep_then_finish(5ms, 2, j));
    j.finished.push_back(1);
}
}  // namespace

SLUICE_TEST_CASE("children may spawn into the group after the body ended, and the scope waits for them too",
                 "[task_group][spawn]") {
    frame_audit audit;
    journal j;
    co_await task_group::scope([&](task_group& g) -> task<void> {
        g.spawn(spawn_sibling_later(g, j));
        co_return;
    });
    CHECK(j.started == std::vector<int>{1, 2});
    CHECK(j.finished == std::vector<int>{1, 2});
    audit.check();
}

SLUICE_TEST_CASE("wait_for around a scope: the members are cancelled and have finished before timeout_error",
                 "[task_group][cancel]") {
    frame_audit audit;
    journal j;
    bool timed_out = false;
    try {
        co_await sluice::wait_for(task_group::scope([&](task_group& g) -> task<void> {
                                      g.spawn(sleep_forever(1, j));
                                      g.spawn(sleep_forever(2, j));
                                      co_await body_sleeps_forever(j);
                                  }),
                                  5ms);
    } catch (const sluice::timeout_error&) {
        timed_out = true;
    }
    CHECK(timed_out);
    // A child still waiting for its first turn when the timeout fires is cancelled unstarted (it
    // never runs, so it records nothing); under load that can happen even after 5 ms. Every child
    // that did start was cancelled, none finished, and the body (0) was cancelled too.
    CHECK(j.started.size() <= 2);
    CHECK(j.cancelled.size() == j.started.size() + 1);
    CHECK(std::find(j.cancelled.begin(), j.cancelled.end(), 0) != j.cancelled.end());
    CHECK(j.finished.empty());
    co_await sluice::sleep_for(1ms);  // nothing leaked into this task
    audit.check();
}

SLUICE_TEST_CASE("100,000 scopes completing without suspending run in constant stack", "[task_group][stack]") {
    frame_audit audit;
    long sum = 0;
    for (int i = 0; i < 100'000; ++i) {
        sum += co_await task_group::scope([i](task_group&) -> task<int> { co_return i % 3; });
    }
    CHECK(sum == 99'999);
    audit.check();
}

namespace {
/// Captures what is written to stderr while it lives.
class stderr_capture {
public:
    stderr_capture() : file_(std::tmpfile()), saved_(::dup(STDERR_FILENO)) {
        std::fflush(stderr);
        ::dup2(::fileno(file_), STDERR_FILENO);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;
    ~stderr_capture() {
        restore();
        std::fclose(file_);
    }
    std::string text() {
        restore();
        std::string out;
        std::rewind(file_);
        for (int c = std::fgetc(file_); c != EOF; c = std::fgetc(file_)) out.push_back(static_cast<char>(c));
        return out;
    }

private:
    void restore() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        saved_ = -1;
    }
    std::FILE* file_;
    int saved_;
};
}  // namespace

SLUICE_TEST_CASE("a failing child whose handle was dropped is reported by the group, not as a lost failure",
                 "[task_group][failure]") {
    frame_audit audit;
    journal j;
    stderr_capture capture;
    auto outcome = co_await task_group::scope([&](task_group& g) -> task<void> {
                       g.spawn(fail_after_yields(1, 8, j));
                       co_return;
                   }).as_result();
    CHECK(capture.text().empty());
    CHECK(failure_id(outcome.error()) == 8);
    audit.check();
}

// --- task_group::cancel ------------------------------------------------------------------------------

namespace {
// Counts itself in `asleep` once sleeping: a test cancels only then, so it does not depend on the
// order the loop starts tasks in (a task cancelled before its first turn never runs its body).
sluice::task<void> sleep_hour_logged(std::vector<std::string>& log, std::string name, int& asleep) {
    try {
        ++asleep;
        co_await sluice::sleep_for(std::chrono::hours(1));
    } catch (const sluice::cancelled_error&) {
        log.push_back(name + " cancelled");
        throw;
    }
}
sluice::task<void> one_yield() { co_await sluice::yield(); }
}  // namespace

SLUICE_TEST_CASE("task_group::cancel from the body cancels every child and the body and the scope ends normally",
                 "[task_group][cancel]") {
    std::vector<std::string> log;
    int asleep = 0;
    co_await task_group::scope([&log, &asleep](task_group& g) -> task<void> {
        g.spawn(sleep_hour_logged(log, "a", asleep));
        g.spawn(sleep_hour_logged(log, "b", asleep));
        while (asleep < 2) co_await sluice::yield();
        g.cancel();
        co_await sleep_hour_logged(log, "body", asleep);
    });
    std::sort(log.begin(), log.end());
    CHECK(log == std::vector<std::string>{"a cancelled", "b cancelled", "body cancelled"});
    co_await sluice::sleep_for(std::chrono::milliseconds(1));  // nothing leaked into this task
}

SLUICE_TEST_CASE("task_group::cancel from a child ends the whole group", "[task_group][cancel]") {
    std::vector<std::string> log;
    int asleep = 0;
    co_await task_group::scope([&log, &asleep](task_group& g) -> task<void> {
        g.spawn(sleep_hour_logged(log, "sibling", asleep));
        g.spawn([&g, &asleep]() -> task<void> {
            while (asleep < 2) co_await sluice::yield();  // the sibling and the body
            g.cancel();
        });
        co_await sleep_hour_logged(log, "body", asleep);
    });
    std::sort(log.begin(), log.end());
    CHECK(log == std::vector<std::string>{"body cancelled", "sibling cancelled"});
}

SLUICE_TEST_CASE("spawning into a cancelled group is a std::logic_error and a child not started never runs",
                 "[task_group][cancel]") {
    bool rejected = false;
    bool ran = false;
    co_await task_group::scope([&](task_group& g) -> task<void> {
        g.spawn([&ran]() -> task<void> {
            ran = true;
            co_return;
        });
        g.cancel();  // before the child's first turn
        try {
            g.spawn(one_yield());
        } catch (const std::logic_error&) {
            rejected = true;
        }
        co_return;
    });
    CHECK(rejected);
    CHECK_FALSE(ran);
}

SLUICE_TEST_CASE("after task_group::cancel a failure during the cleanup is still reported", "[task_group][cancel]") {
    std::string what;
    try {
        co_await task_group::scope([](task_group& g) -> task<void> {
            // The child is asleep when the group is cancelled, whatever order the loop runs them in
            // (a child cancelled before its first turn never runs, so nothing would fail).
            sluice::event asleep;
            g.spawn([&asleep]() -> task<void> {
                try {
                    asleep.set();
                    co_await sluice::sleep_for(std::chrono::hours(1));
                } catch (const sluice::cancelled_error&) {
                    throw std::runtime_error("cleanup failed");
                }
            });
            co_await asleep.wait();
            g.cancel();
            co_return;
        });
    } catch (const std::runtime_error& error) {
        what = error.what();
    }
    CHECK(what == "cleanup failed");
}

SLUICE_TEST_CASE("task_group::cancel with a non-void body: its value if it returned one, else cancelled_error",
                 "[task_group][cancel]") {
    const int value = co_await task_group::scope([](task_group& g) -> task<int> {
        g.spawn(one_yield());
        g.cancel();
        co_return 5;  // returned before any suspension: the value stands
    });
    CHECK(value == 5);
    bool cancelled = false;
    try {
        (void)co_await task_group::scope([](task_group& g) -> task<int> {
            g.cancel();
            co_await sluice::yield();
            co_return 6;
        });
    } catch (const sluice::cancelled_error&) {
        cancelled = true;
    }
    CHECK(cancelled);
    co_await sluice::yield();  // and nothing is pending for this task
}
