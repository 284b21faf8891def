#pragma once
// `spawn(fn, args...)` and `task_group::spawn(fn, args...)`: the callable and its arguments become
// by-value parameters of a coroutine, so they live in its frame exactly as long as the task does.
// (A coroutine lambda's captures live in the lambda object; a task made by calling a temporary
// lambda outlives it and reads freed memory: the trap these forms remove.)

#include <functional>
#include <type_traits>
#include <utility>

#include "../task.hpp"
#include "awaitable_traits.hpp"

namespace sluice::detail {

/// The task type `fn(args...)` returns, called as spawn calls it (rvalues of the decayed copies).
template <class Fn, class... Args>
using stored_call_result_t = std::invoke_result_t<std::decay_t<Fn>, std::decay_t<Args>...>;

/// `fn(args...)` returns a task when called on the frame's copies.
template <class Fn, class... Args>
concept task_callable = std::invocable<std::decay_t<Fn>, std::decay_t<Args>...> &&
                        is_task_v<std::remove_cvref_t<stored_call_result_t<Fn, Args...>>>;

/// The coroutine that owns `fn` and `args` in its frame. Calling it runs nothing (tasks are lazy);
/// `fn` is invoked, as std::thread does, with its copies moved, when the task first runs, and the
/// task it returns is awaited in place, so its frame may refer to `fn`'s captures and to `args`.
template <class Fn, class... Args>
std::remove_cvref_t<stored_call_result_t<Fn, Args...>> stored_call(Fn fn, Args... args) {
    co_return co_await std::invoke(std::move(fn), std::move(args)...);
}

}  // namespace sluice::detail
