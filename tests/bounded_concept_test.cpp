// Tests of the `awaitable` and `awaitable_range` concepts that constrain gather, limited_as_completed,
// as_completed, igather and wait_for (sluice/detail/awaitable_traits.hpp). The compile-fail half (a
// wrong argument fails at the caller's line, naming the concept) is in bounded_concept_test.cmake.

#include <sluice/as_completed.hpp>
#include <sluice/async_generator.hpp>
#include <sluice/gather.hpp>
#include <sluice/generator.hpp>
#include <sluice/igather.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <chrono>
#include <coroutine>
#include <list>
#include <string>
#include <utility>
#include <vector>

#include "support/catch.hpp"

namespace {

struct custom_awaitable {
    bool await_ready() const noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) const noexcept {}
    int await_resume() const noexcept { return 1; }
};

struct via_member_operator {
    custom_awaitable operator co_await() const noexcept { return {}; }
};

struct resume_only {
    int await_resume() const noexcept { return 1; }
};

template <class Source>
concept igather_accepts = requires(Source&& source) { sluice::igather(std::forward<Source>(source), 1); };
template <class Source>
concept limited_accepts = requires(Source&& source) { sluice::limited_as_completed(std::forward<Source>(source), 1); };

}  // namespace

static_assert(sluice::awaitable<sluice::task<int>>);
static_assert(sluice::awaitable<sluice::task<int>&>);
static_assert(sluice::awaitable<sluice::task<void>>);
static_assert(sluice::awaitable<std::suspend_always>);
static_assert(sluice::awaitable<custom_awaitable>);
static_assert(sluice::awaitable<via_member_operator>);
static_assert(sluice::awaitable<decltype(sluice::sleep_for(std::chrono::milliseconds(1)))>);
static_assert(!sluice::awaitable<int>);
static_assert(!sluice::awaitable<std::string>);
static_assert(!sluice::awaitable<resume_only>);

static_assert(sluice::awaitable_range<std::vector<sluice::task<int>>>);
static_assert(sluice::awaitable_range<std::vector<sluice::task<int>>&>);
static_assert(sluice::awaitable_range<std::list<custom_awaitable>>);
static_assert(sluice::awaitable_range<sluice::generator<sluice::task<int>>>);
static_assert(!sluice::awaitable_range<std::vector<int>>);
static_assert(!sluice::awaitable_range<sluice::task<int>>);  // an awaitable, not a range of them

static_assert(limited_accepts<std::vector<sluice::task<int>>>);
static_assert(!limited_accepts<std::vector<int>>);
static_assert(igather_accepts<sluice::async_generator<sluice::task<int>>>);
static_assert(!igather_accepts<sluice::async_generator<int>>);
static_assert(!igather_accepts<std::vector<std::string>>);

TEST_CASE("the awaitable concepts accept every kind of awaitable and reject the rest", "[bounded][concept]") {
    // The checks are the static_asserts above; this case makes the file a registered test.
    SUCCEED("static_asserts compiled");
}
