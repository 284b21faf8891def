// Tests of spawn(fn, args...) and task_group::spawn(fn, args...): the callable and its arguments
// live in the task's frame. Run under ASan: the unsafe form (spawn(lambda())) reads freed memory.

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>
#include <sluice/task_group.hpp>
#include <sluice/time.hpp>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "support/await_error.hpp"
#include "support/co_test.hpp"
#include "support/counted.hpp"

using namespace std::chrono_literals;


SLUICE_TEST_CASE("spawn(lambda) keeps the lambda's captures alive until the task ends", "[spawn][callable]") {
    std::string prefix = "item-";
    std::vector<sluice::join_handle<std::string>> handles;
    for (int i = 0; i < 10; ++i) {
        // The lambda is a temporary: with spawn(lambda()) its captures would be gone by the time
        // the task runs (after the yield below).
        handles.push_back(sluice::spawn([copy = prefix, i]() -> sluice::task<std::string> {
            co_await sluice::yield();
            co_return copy + std::to_string(i);
        }));
    }
    prefix = "changed";
    for (int i = 0; i < 10; ++i) {
        const std::string got = co_await std::move(handles[static_cast<std::size_t>(i)]);
        CHECK(got == "item-" + std::to_string(i));
    }
}

SLUICE_TEST_CASE("spawn(fn, args...) moves the arguments into the frame and destroys them once", "[spawn][callable]") {
    sluice_test::counted::reset();
    {
        auto handle = sluice::spawn(
            [](std::unique_ptr<int> owned, sluice_test::counted c) -> sluice::task<int> {
                co_await sluice::yield();
                co_return *owned + c.id;
            },
            std::make_unique<int>(40), sluice_test::counted(2));
        const int got = co_await std::move(handle);
        CHECK(got == 42);
    }
    CHECK(sluice_test::counted::alive() == 0);
}

SLUICE_TEST_CASE("spawn(fn) copies an lvalue callable: the original may go away", "[spawn][callable]") {
    sluice::join_handle<int> handle;
    {
        auto base = std::make_shared<int>(5);
        auto fn = [base](int x) -> sluice::task<int> {
            co_await sluice::yield();
            co_return *base + x;
        };
        handle = sluice::spawn(fn, 1);
    }
    const int got = co_await std::move(handle);
    CHECK(got == 6);
}

SLUICE_TEST_CASE("a task spawned from a callable and cancelled before it starts never calls it", "[spawn][callable]") {
    sluice_test::counted::reset();
    bool called = false;
    auto handle = sluice::spawn(
        [&called](sluice_test::counted) -> sluice::task<void> {
            called = true;
            co_return;
        },
        sluice_test::counted(1));
    handle.cancel();
    const bool cancelled = co_await sluice_test::ends_cancelled(handle);
    CHECK(cancelled);
    CHECK_FALSE(called);
    handle = {};
    CHECK(sluice_test::counted::alive() == 0);
}

SLUICE_TEST_CASE("a callable that throws when called fails its task with that exception", "[spawn][callable]") {
    auto handle = sluice::spawn([](int) -> sluice::task<int> { throw std::invalid_argument("bad call"); }, 3);
    bool failed = false;
    try {
        (void)co_await std::move(handle);
    } catch (const std::invalid_argument&) {
        failed = true;
    }
    CHECK(failed);
}

SLUICE_TEST_CASE("task_group::spawn(fn, args...) keeps a capturing lambda alive in the child", "[task_group][callable]") {
    int total = 0;
    co_await sluice::task_group::scope([&total](sluice::task_group& group) -> sluice::task<void> {
        for (int i = 1; i <= 4; ++i) {
            std::string label = "x" + std::to_string(i);
            group.spawn(
                [label, &total](int weight) -> sluice::task<void> {
                    co_await sluice::sleep_for(1ms);
                    total += weight * static_cast<int>(label.size());
                },
                i);
        }
        co_return;
    });
    CHECK(total == (1 + 2 + 3 + 4) * 2);
}

SLUICE_TEST_CASE("task_group::spawn(fn, args...): a failing child cancels its siblings", "[task_group][callable]") {
    int finished = 0;
    bool failed = false;
    try {
        co_await sluice::task_group::scope([&finished](sluice::task_group& group) -> sluice::task<void> {
            group.spawn([&finished]() -> sluice::task<void> {
                co_await sluice::sleep_for(1h);
                ++finished;
            });
            group.spawn([](std::string why) -> sluice::task<void> {
                co_await sluice::yield();
                throw std::runtime_error(why);
            }, std::string("child failed"));
            co_return;
        });
    } catch (const std::runtime_error& error) {
        failed = std::string(error.what()) == "child failed";
    }
    CHECK(failed);
    CHECK(finished == 0);
}
