#pragma once
/// sluice/task.hpp: `task<T>`, the lazy coroutine type of sluice (asyncio: `async def`).
///
/// - Lazy: creating a task runs nothing; the body starts when the task is awaited (or handed to
///   `spawn`, `run`, `gather`, `limited_as_completed`, ...).
/// - Move-only; destroying a task that was never started destroys its frame without running it.
/// - `co_await std::move(t)` yields the value (moved out) or rethrows the body's exception;
///   `co_await t` on an lvalue yields a reference to the value kept inside `t`;
///   `co_await t.as_result()` never throws the body's exception and yields a `result<T>`.
/// - T may be an object type, an lvalue reference, or void.
/// - Awaiting an empty (default-constructed or moved-from) task, or a task that another coroutine
///   is already awaiting, throws `std::logic_error`. Awaiting a finished task yields its result
///   again without rerunning it.
/// - Constant stack: awaiting a task starts it by a nested resume, and one that finishes without
///   suspending returns straight to its awaiter; one that suspended resumes its awaiter by
///   symmetric transfer from the loop. So a loop of a million synchronously completing awaits runs
///   in constant stack, also at -O0 and under ASan (detail/promise.hpp says why not symmetric
///   transfer alone).
///
/// Lifetime: a coroutine lambda's captures live in the lambda object, not in the task; keep the
/// lambda alive until the task finishes, or pass what it needs as parameters (they are copied into
/// the frame).

#include <coroutine>
#include <utility>

#include "detail/unique_coroutine.hpp"
#include "detail/task.hpp"

namespace sluice {

template <class T = void>
class [[nodiscard]] task {
public:
    using promise_type = detail::task_promise<T>;
    using value_type = T;

    task() noexcept = default;
    explicit task(std::coroutine_handle<promise_type> handle) noexcept : frame_(handle) {}
    task(task&&) noexcept = default;
    task& operator=(task&&) noexcept = default;
    ~task() = default;

    /// True when this task owns a coroutine (it is not default-constructed or moved-from).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(frame_); }
    /// True when the body has finished (with a value or an exception).
    [[nodiscard]] bool done() const noexcept { return frame_.get() && frame_.get().done(); }

    auto operator co_await() && noexcept { return detail::task_awaiter<T, detail::take_value>(frame_.get()); }
    auto operator co_await() & noexcept { return detail::task_awaiter<T, detail::get_reference>(frame_.get()); }

    /// Awaitable yielding `result<T>`: the value, or the exception the body ended with.
    [[nodiscard]] auto as_result() noexcept { return detail::task_awaiter<T, detail::take_result>(frame_.get()); }

    /// The coroutine handle, for sluice's own machinery; ownership stays with the task.
    [[nodiscard]] std::coroutine_handle<promise_type> handle() const noexcept { return frame_.get(); }
    /// Gives up ownership of the frame, for sluice's own machinery (the bounded engine then
    /// destroys it). The task becomes empty.
    [[nodiscard]] std::coroutine_handle<promise_type> release() noexcept { return frame_.release(); }

private:
    detail::unique_coroutine<promise_type> frame_;
};

template <class T>
task<T> detail::task_promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}

}  // namespace sluice
