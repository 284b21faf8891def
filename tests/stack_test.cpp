// Stack depth: awaits that complete synchronously must not grow the stack, also at -O0 and under
// ASan, where GCC does not turn symmetric transfer into tail calls (libcoro #273, cppcoro #31).
//
// Each workload runs sluice::run on a thread with a 256 KiB stack; a loop of 10^6 awaits that
// leaked even a few bytes of stack per iteration would overflow it and crash the test. Catch2
// assertions stay on the main thread (they are not thread-safe); the worker only computes.

#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <pthread.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <utility>

#include "support/catch.hpp"

namespace {

constexpr std::size_t small_stack = 256 * 1024;

struct job {
    std::function<std::int64_t()> work;
    std::int64_t result = 0;
    std::exception_ptr error;
};

void* run_job(void* argument) {
    job& j = *static_cast<job*>(argument);
    try {
        j.result = j.work();
    } catch (...) {
        j.error = std::current_exception();
    }
    return nullptr;
}

/// Runs `work` on a fresh thread whose stack is `small_stack` bytes; returns its result or rethrows.
std::int64_t on_small_stack(std::function<std::int64_t()> work) {
    job j;
    j.work = std::move(work);
    pthread_attr_t attributes;
    REQUIRE(pthread_attr_init(&attributes) == 0);
    REQUIRE(pthread_attr_setstacksize(&attributes, small_stack) == 0);
    pthread_t thread;
    const int created = pthread_create(&thread, &attributes, run_job, &j);
    pthread_attr_destroy(&attributes);
    REQUIRE(created == 0);
    REQUIRE(pthread_join(thread, nullptr) == 0);
    if (j.error) std::rethrow_exception(j.error);
    return j.result;
}

sluice::task<int> immediately(int value) { co_return value; }

sluice::task<std::int64_t> sum_of_immediate_tasks(int count) {
    std::int64_t sum = 0;
    for (int i = 0; i < count; ++i) sum += co_await immediately(i);
    co_return sum;
}

sluice::task<void> increment(std::int64_t& counter) {
    ++counter;
    co_return;
}

sluice::task<std::int64_t> count_void_tasks(int count) {
    std::int64_t counter = 0;
    for (int i = 0; i < count; ++i) co_await increment(counter);
    co_return counter;
}

sluice::task<int> nested_immediately(int value) { co_return co_await immediately(value); }

sluice::task<std::int64_t> sum_of_nested_tasks(int count) {
    co_await sluice::yield();  // the loop now resumes this task from its own shallow stack
    std::int64_t sum = 0;
    for (int i = 0; i < count; ++i) sum += co_await nested_immediately(i);
    co_return sum;
}

sluice::task<std::int64_t> count_yields(int count) {
    std::int64_t yields = 0;
    for (int i = 0; i < count; ++i) {
        co_await sluice::yield();
        ++yields;
    }
    co_return yields;
}

sluice::task<int> yield_once(int value) {
    co_await sluice::yield();
    co_return value;
}

sluice::task<std::int64_t> sum_of_suspending_tasks(int count) {
    std::int64_t sum = 0;
    for (int i = 0; i < count; ++i) sum += co_await yield_once(i);
    co_return sum;
}

sluice::task<std::int64_t> join_spawned_one_by_one(int count) {
    std::int64_t sum = 0;
    for (int i = 0; i < count; ++i) sum += co_await sluice::spawn(immediately(i));
    co_return sum;
}

constexpr std::int64_t sum_below(std::int64_t n) { return n * (n - 1) / 2; }

}  // namespace

TEST_CASE("1,000,000 synchronously completing co_awaits of task<int> on a 256 KiB stack", "[stack]") {
    constexpr int count = 1'000'000;
    const std::int64_t sum = on_small_stack([] { return sluice::run(sum_of_immediate_tasks(count)); });
    CHECK(sum == sum_below(count));
}

TEST_CASE("1,000,000 synchronously completing co_awaits of task<void> on a 256 KiB stack", "[stack]") {
    constexpr int count = 1'000'000;
    const std::int64_t counted = on_small_stack([] { return sluice::run(count_void_tasks(count)); });
    CHECK(counted == count);
}

TEST_CASE("100,000 synchronously completing two-level awaits after a first real suspension, 256 KiB stack",
          "[stack]") {
    constexpr int count = 100'000;
    const std::int64_t sum = on_small_stack([] { return sluice::run(sum_of_nested_tasks(count)); });
    CHECK(sum == sum_below(count));
}

TEST_CASE("100,000 co_await sluice::yield() through the loop on a 256 KiB stack", "[stack]") {
    constexpr int count = 100'000;
    const std::int64_t yields = on_small_stack([] { return sluice::run(count_yields(count)); });
    CHECK(yields == count);
}

TEST_CASE("100,000 awaits of a task that suspends once, resumed by symmetric transfer, on a 256 KiB stack",
          "[stack]") {
    constexpr int count = 100'000;
    const std::int64_t sum = on_small_stack([] { return sluice::run(sum_of_suspending_tasks(count)); });
    CHECK(sum == sum_below(count));
}

TEST_CASE("20,000 spawned tasks joined one by one on a 256 KiB stack", "[stack]") {
    constexpr int count = 20'000;
    const std::int64_t sum = on_small_stack([] { return sluice::run(join_spawned_one_by_one(count)); });
    CHECK(sum == sum_below(count));
}
