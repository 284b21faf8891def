// Tests of sluice::task<T> (sluice/task.hpp) and sluice::result<T> (sluice/result.hpp).
//
// Coroutines are free functions taking what they need as parameters (copied into the frame), never
// capturing lambdas, so no frame outlives what it points to.

#include <sluice/result.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "support/co_test.hpp"
#include "support/counted.hpp"

namespace {

using sluice_test::counted;

sluice::task<int> answer() { co_return 42; }

sluice::task<void> set_flag(bool& flag) {
    flag = true;
    co_return;
}

sluice::task<int> count_runs(int& runs) {
    ++runs;
    co_return 7;
}

sluice::task<int&> reference_to(int& object) { co_return object; }

sluice::task<std::unique_ptr<int>> make_owned(int value) { co_return std::make_unique<int>(value); }

sluice::task<int> fail_with(std::string message) {
    throw std::runtime_error(message);
    co_return 0;
}

sluice::task<void> fail_void(std::string message) {
    throw std::runtime_error(message);
    co_return;
}

sluice::task<void> hold_counted(counted guard, bool& ran) {
    ran = true;
    (void)guard;
    co_return;
}

sluice::task<int> sleep_then_return(int value) {
    co_await sluice::sleep_for(std::chrono::milliseconds(1));
    co_return value;
}

sluice::task<int> await_shared(sluice::task<int>& shared) { co_return co_await shared; }

// Three levels; the innermost suspends for real, so the result travels back up through the
// continuations after a loop turn rather than inline.
sluice::task<int> level3(int x, bool suspend) {
    if (suspend) co_await sluice::yield();
    co_return x + 1;
}
sluice::task<int> level2(int x, bool suspend) { co_return 2 * co_await level3(x, suspend); }
sluice::task<int> level1(int x, bool suspend) {
    const int inner = co_await level2(x, suspend);
    co_return inner + 100;
}

sluice::task<int> level3_fails() {
    co_await sluice::yield();
    throw std::runtime_error("level 3 failed");
}
sluice::task<int> level2_of_failure() { co_return 1 + co_await level3_fails(); }
sluice::task<int> level1_of_failure(bool& after_await) {
    const int value = co_await level2_of_failure();
    after_await = true;
    co_return value;
}

}  // namespace

// --- task: laziness and results ----------------------------------------------------------------------

SLUICE_TEST_CASE("a task does not run its body until it is awaited, not even after a loop turn", "[task]") {
    bool ran = false;
    auto t = set_flag(ran);
    CHECK_FALSE(ran);
    co_await sluice::yield();
    CHECK_FALSE(ran);
    CHECK_FALSE(t.done());
    co_await std::move(t);
    CHECK(ran);
}

SLUICE_TEST_CASE("awaiting a task<int> yields the co_returned value", "[task]") {
    const int value = co_await answer();
    CHECK(value == 42);
}

SLUICE_TEST_CASE("awaiting a task<void> runs its body to completion", "[task]") {
    bool ran = false;
    co_await set_flag(ran);
    CHECK(ran);
}

SLUICE_TEST_CASE("a task<int&> yields a reference to the very object co_returned", "[task]") {
    int object = 1;
    int& ref = co_await reference_to(object);
    CHECK(&ref == &object);
    ref = 5;
    CHECK(object == 5);
}

SLUICE_TEST_CASE("a task<unique_ptr> moves its move-only result out to the awaiter", "[task]") {
    std::unique_ptr<int> owned = co_await make_owned(9);
    REQUIRE(owned != nullptr);
    CHECK(*owned == 9);
}

SLUICE_TEST_CASE("an lvalue task of a move-only type lends its result, awaiting it as an rvalue then takes it",
                 "[task]") {
    auto t = make_owned(3);
    std::unique_ptr<int>& lent = co_await t;
    REQUIRE(lent != nullptr);
    CHECK(*lent == 3);
    std::unique_ptr<int> taken = co_await std::move(t);
    REQUIRE(taken != nullptr);
    CHECK(*taken == 3);
    CHECK(lent == nullptr);  // moved out of the task's storage
}

SLUICE_TEST_CASE("an exception thrown by a task's body propagates to the awaiter", "[task]") {
    std::string caught;
    try {
        (void)co_await fail_with("boom");
    } catch (const std::runtime_error& error) {
        caught = error.what();
    }
    CHECK(caught == "boom");
}

SLUICE_TEST_CASE("an exception thrown by a task<void> propagates to the awaiter", "[task]") {
    std::string caught;
    try {
        co_await fail_void("void boom");
    } catch (const std::runtime_error& error) {
        caught = error.what();
    }
    CHECK(caught == "void boom");
}

SLUICE_TEST_CASE("as_result gives a result holding the body's exception without throwing it", "[task]") {
    bool threw = false;
    sluice::result<int> outcome = 0;
    try {
        outcome = co_await fail_with("kept").as_result();
    } catch (...) {
        threw = true;
    }
    CHECK_FALSE(threw);
    CHECK_FALSE(outcome.has_value());
    CHECK(outcome.error() != nullptr);
    CHECK_THROWS_WITH(outcome.value(), "kept");
}

SLUICE_TEST_CASE("as_result gives a result holding the value of a task that succeeded", "[task]") {
    sluice::result<int> outcome = co_await answer().as_result();
    REQUIRE(outcome.has_value());
    CHECK(outcome.error() == nullptr);
    CHECK(outcome.value() == 42);
}

SLUICE_TEST_CASE("as_result of a failing task<void> holds the exception", "[task]") {
    sluice::result<void> outcome = co_await fail_void("void kept").as_result();
    CHECK_FALSE(outcome.has_value());
    CHECK_THROWS_WITH(outcome.value(), "void kept");
}

// --- task: misuse --------------------------------------------------------------------------------------

SLUICE_TEST_CASE("awaiting a default-constructed task throws std::logic_error", "[task]") {
    sluice::task<int> empty;
    CHECK_FALSE(empty.valid());
    bool lvalue_threw = false;
    try {
        (void)co_await empty;
    } catch (const std::logic_error&) {
        lvalue_threw = true;
    }
    CHECK(lvalue_threw);
    bool rvalue_threw = false;
    try {
        (void)co_await std::move(empty);
    } catch (const std::logic_error&) {
        rvalue_threw = true;
    }
    CHECK(rvalue_threw);
}

SLUICE_TEST_CASE("awaiting a moved-from task throws std::logic_error, the moved-to task still works", "[task]") {
    auto original = answer();
    auto moved_to = std::move(original);
    bool threw = false;
    try {
        (void)co_await original;  // NOLINT(bugprone-use-after-move): the behaviour under test
    } catch (const std::logic_error&) {
        threw = true;
    }
    CHECK(threw);
    const int value = co_await std::move(moved_to);
    CHECK(value == 42);
}

SLUICE_TEST_CASE("awaiting a task that another coroutine is already awaiting throws std::logic_error", "[task]") {
    auto shared = sleep_then_return(5);
    auto first = sluice::spawn(await_shared(shared));
    co_await sluice::yield();  // `first` starts `shared`, which now sleeps
    REQUIRE_FALSE(shared.done());
    bool threw = false;
    try {
        (void)co_await shared;
    } catch (const std::logic_error&) {
        threw = true;
    }
    CHECK(threw);
    const int value = co_await std::move(first);  // the first awaiter is undisturbed
    CHECK(value == 5);
}

SLUICE_TEST_CASE("awaiting a finished lvalue task again returns its result without rerunning the body",
                 "[task]") {
    int runs = 0;
    auto t = count_runs(runs);
    const int first = co_await t;
    REQUIRE(t.done());
    const int second = co_await t;
    CHECK(first == 7);
    CHECK(second == 7);
    CHECK(runs == 1);
}

SLUICE_TEST_CASE("awaiting a failed lvalue task again rethrows its exception without rerunning", "[task]") {
    auto t = fail_with("again");
    int failures = 0;
    for (int i = 0; i < 2; ++i) {
        try {
            (void)co_await t;
        } catch (const std::runtime_error& error) {
            if (std::string(error.what()) == "again") ++failures;
        }
    }
    CHECK(failures == 2);
}

// --- task: frames -------------------------------------------------------------------------------------

TEST_CASE("destroying a task that never started destroys its frame once and never runs the body", "[task]") {
    counted::reset();
    bool ran = false;
    {
        auto t = hold_counted(counted(1), ran);
        CHECK(counted::alive() == 1);  // the parameter's copy in the frame
    }
    CHECK_FALSE(ran);
    CHECK(counted::alive() == 0);
}

TEST_CASE("a moved-to task owns the frame: only its destruction frees it", "[task]") {
    counted::reset();
    bool ran = false;
    {
        sluice::task<void> outer;
        {
            auto t = hold_counted(counted(2), ran);
            outer = std::move(t);
        }
        CHECK(counted::alive() == 1);
    }
    CHECK_FALSE(ran);
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("a finished task's frame is freed when the task is destroyed", "[task]") {
    counted::reset();
    bool ran = false;
    {
        auto t = hold_counted(counted(3), ran);
        co_await t;
        CHECK(ran);
        CHECK(counted::alive() == 1);  // parameters live until the frame is destroyed
    }
    CHECK(counted::alive() == 0);
}

// --- task: nesting ------------------------------------------------------------------------------------

SLUICE_TEST_CASE("nested tasks three deep that complete synchronously return through every level", "[task]") {
    const int value = co_await level1(4, false);
    CHECK(value == 2 * (4 + 1) + 100);
}

SLUICE_TEST_CASE("nested tasks three deep whose innermost suspends resume every level in turn", "[task]") {
    const int value = co_await level1(4, true);
    CHECK(value == 2 * (4 + 1) + 100);
}

SLUICE_TEST_CASE("an exception three levels down skips the rest of every level above", "[task]") {
    bool after_await = false;
    std::string caught;
    try {
        (void)co_await level1_of_failure(after_await);
    } catch (const std::runtime_error& error) {
        caught = error.what();
    }
    CHECK(caught == "level 3 failed");
    CHECK_FALSE(after_await);
}

TEST_CASE("task is move-only", "[task]") {
    STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<sluice::task<int>>);
    STATIC_REQUIRE_FALSE(std::is_copy_assignable_v<sluice::task<int>>);
    STATIC_REQUIRE(std::is_nothrow_move_constructible_v<sluice::task<int>>);
    STATIC_REQUIRE(std::is_nothrow_move_assignable_v<sluice::task<int>>);
}

// --- result<T> ----------------------------------------------------------------------------------------

TEST_CASE("result<int> holding a value", "[result]") {
    sluice::result<int> r = 5;
    CHECK(r.has_value());
    CHECK(static_cast<bool>(r));
    CHECK(r.value() == 5);
    CHECK(*r == 5);
    CHECK(r.error() == nullptr);
}

TEST_CASE("result<int> holding an exception rethrows it from value()", "[result]") {
    sluice::result<int> r = std::make_exception_ptr(std::runtime_error("stored"));
    CHECK_FALSE(r.has_value());
    CHECK_FALSE(static_cast<bool>(r));
    REQUIRE(r.error() != nullptr);
    CHECK_THROWS_AS(r.value(), std::runtime_error);
    CHECK_THROWS_WITH(r.value(), "stored");
    CHECK_THROWS_WITH(*r, "stored");
    // Rethrowing does not consume it.
    CHECK_THROWS_WITH(r.value(), "stored");
}

TEST_CASE("result<void> is empty-handed on success and rethrows on failure", "[result]") {
    sluice::result<void> ok;
    CHECK(ok.has_value());
    CHECK(ok.error() == nullptr);
    CHECK_NOTHROW(ok.value());

    sluice::result<void> failed = std::make_exception_ptr(std::logic_error("void stored"));
    CHECK_FALSE(failed.has_value());
    CHECK(failed.error() != nullptr);
    CHECK_THROWS_AS(failed.value(), std::logic_error);
}

TEST_CASE("result<T&> refers to the original object", "[result]") {
    int object = 1;
    sluice::result<int&> r = object;
    REQUIRE(r.has_value());
    CHECK(&r.value() == &object);
    r.value() = 8;
    CHECK(object == 8);
    const sluice::result<int&> same(std::in_place, object);
    CHECK(&same.value() == &object);  // a const result still refers to a modifiable object
}

namespace {
struct no_address_of {
    int value = 0;
    no_address_of* operator&() = delete;  // a result<T&> must not need it
};
}  // namespace

TEST_CASE("result<T&> binds lvalues only, as a reference would, and needs no operator&", "[result]") {
    STATIC_REQUIRE(std::is_constructible_v<sluice::result<const int&>, int&>);
    STATIC_REQUIRE(std::is_constructible_v<sluice::result<const int&>, const int&>);
    STATIC_REQUIRE_FALSE(std::is_constructible_v<sluice::result<const int&>, int>);  // no temporaries
    STATIC_REQUIRE_FALSE(std::is_constructible_v<sluice::result<int&>, const int&>);
    STATIC_REQUIRE_FALSE(std::is_constructible_v<sluice::result<int&>, int*>);  // stored as a pointer, not built from one
    STATIC_REQUIRE_FALSE(std::is_constructible_v<sluice::result<int&>, std::in_place_t, int>);
    no_address_of object;
    sluice::result<no_address_of&> r = object;
    r.value().value = 3;
    CHECK(object.value == 3);
}

TEST_CASE("result of a move-only type hands its value out by rvalue value()", "[result]") {
    sluice::result<std::unique_ptr<int>> r = std::make_unique<int>(4);
    REQUIRE(r.has_value());
    CHECK(*r.value() == 4);  // lvalue access leaves it in place
    std::unique_ptr<int> taken = std::move(r).value();
    REQUIRE(taken != nullptr);
    CHECK(*taken == 4);
}

TEST_CASE("result built with std::in_place holds a std::exception_ptr as its value", "[result]") {
    const std::exception_ptr failure = std::make_exception_ptr(std::runtime_error("a value here"));
    sluice::result<std::exception_ptr> as_value(std::in_place, failure);
    CHECK(as_value.has_value());
    CHECK(as_value.value() == failure);
    sluice::result<std::exception_ptr> as_error = failure;  // the converting constructor: the error
    CHECK_FALSE(as_error.has_value());
    sluice::result<std::pair<int, std::string>> pair(std::in_place, 2, "two");
    CHECK(pair.value() == std::pair<int, std::string>(2, "two"));
}

namespace {
sluice::task<std::exception_ptr> exception_as_value(std::exception_ptr failure) {
    co_await sluice::yield();
    co_return failure;
}
}  // namespace

SLUICE_TEST_CASE("a task<std::exception_ptr> yields the pointer as its value, and as_result holds it as a value", "[task][result]") {
    const std::exception_ptr failure = std::make_exception_ptr(std::runtime_error("returned, not thrown"));
    const std::exception_ptr returned = co_await exception_as_value(failure);
    CHECK(returned == failure);
    sluice::result<std::exception_ptr> outcome = co_await exception_as_value(failure).as_result();
    CHECK(outcome.has_value());
    CHECK(outcome.error() == nullptr);
}
