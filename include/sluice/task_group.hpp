#pragma once
/// sluice/task_group.hpp: structured concurrency (asyncio.TaskGroup, trio's nursery).
///
/// - `co_await task_group::scope([&](task_group& g) -> task<R> { g.spawn(child()); ...; co_return r; })`
///   runs the body, lets it (and the children) spawn children into `g`, and ends only when the
///   body *and* every child have finished; it returns the body's value (R may be void).
/// - `g.spawn(task<T>)` starts the child on a later loop turn, like `sluice::spawn` (a child
///   cancelled before then never runs its body), and returns its handle: a `join_handle<T>`
///   (`task_group::child_handle<T>`) that may also be discarded, since the group watches the child.
///   `g.spawn(fn, args...)` spawns `fn(args...)` with `fn` and `args` kept in the child's frame (a
///   capturing lambda is safe there).
/// - The first failure (an exception other than `cancelled_error`, of the body or of a child)
///   cancels the body and every other child. When all have finished, one failure is rethrown as
///   itself and several as `exception_group`, in order of occurrence. A member ending with
///   `cancelled_error` is never a failure. The same exception object ending two members (a child's
///   error rethrown by the body that awaited its handle) counts once.
/// - Spawning into a group that is shutting down (after a failure, or once the scope was cancelled)
///   or that has finished throws `std::logic_error`.
/// - Cancelling the task that awaits the scope cancels the body and every child at once; once all
///   finished, the awaiter gets `cancelled_error` — unless failures happened too: then the
///   failure(s) are thrown and that cancel stays pending, delivered at the awaiter's next real
///   suspension. The cancels the group sends its own members never leak into the awaiter.
/// - A cancel already pending when the scope is awaited: the body never runs, `cancelled_error`.
/// - `g.cancel()` cancels the body and every child from inside (trio's nursery cancel scope); the
///   scope then ends normally once they all finished (see `cancel()` for non-void bodies).
///
/// Lifetime: the body callable is moved into the scope's frame and lives until the scope task is
/// destroyed; what its captures refer to (with `[&]`, the awaiting frame) must outlive the scope,
/// which holds when the scope is awaited in place. The `task_group` lives in the scope's frame too:
/// keep a pointer to it only while the scope task object exists.

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "detail/task_group.hpp"
#include "spawn.hpp"
#include "task.hpp"

namespace sluice {

/// Several members of a task_group failed: every non-cancellation exception, in order of
/// occurrence (asyncio's ExceptionGroup). Never holds a cancelled_error.
class exception_group : public std::exception {
public:
    explicit exception_group(std::vector<std::exception_ptr> exceptions)
        : state_(std::make_shared<const state>(
              state{detail::describe_failures(exceptions), std::move(exceptions)})) {}

    /// The exceptions, first failure first.
    [[nodiscard]] const std::vector<std::exception_ptr>& exceptions() const noexcept { return state_->exceptions; }
    /// "sluice: N failures in a task_group; the first: <its what()>".
    [[nodiscard]] const char* what() const noexcept override { return state_->message.c_str(); }

private:
    struct state {
        std::string message;
        std::vector<std::exception_ptr> exceptions;
    };
    std::shared_ptr<const state> state_;  // shared: copying the exception never throws
};

/// A scope whose children all end before it does. Only `scope` creates one; the body receives it.
class task_group {
public:
    /// `spawn`'s handle: a `join_handle<T>` in every respect (await it, `cancel()` it, move it into
    /// a `join_handle<T>`), except that discarding it is not a warning. It may outlive the scope.
    template <class T>
    class child_handle final : public join_handle<T> {
    public:
        using join_handle<T>::join_handle;
    };

    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;
    ~task_group() = default;

    /// Runs `body(group)` as the group's body, in a cancel context of its own, and returns its
    /// value once the body and every child have finished. See the header comment for failures and
    /// cancellation. `body` is taken by value and kept in the scope's frame.
    template <class Body>
        requires std::invocable<Body&, task_group&> && detail::is_task_v<std::invoke_result_t<Body&, task_group&>>
    [[nodiscard]] static auto scope(Body body) {
        using result_type = typename std::invoke_result_t<Body&, task_group&>::value_type;
        return run_scope<result_type>(std::move(body), task_group());
    }

    /// Starts `child` on a later loop turn as a member of this group (registered with the loop,
    /// so `run` tracks it too). std::logic_error if the group is shutting down or has finished.
    template <class T>
    child_handle<T> spawn(task<T> child) {
        std::shared_ptr<detail::remote_inbox> inbox = detail::remote_inbox::of(detail::event_loop::current());
        return child_handle<T>(core_.spawn_child(std::move(child)), std::move(inbox));
    }

    /// Cancels the body and every child (trio's `nursery.cancel_scope.cancel()`): each gets
    /// `cancelled_error` at its next real suspension (a child not started yet never runs); the
    /// scope still ends only once all of them finished. Those cancellations are the group's own:
    /// the scope then returns normally (a void body), or the body's value if it returned one; a
    /// non-void body that ended cancelled has no value to return, and the scope rethrows its
    /// `cancelled_error` (the awaiting task itself has nothing pending). Failures still win
    /// (rethrown as usual). Spawning afterwards is a std::logic_error. Callable from the body or a
    /// child; no effect once the group finished.
    void cancel() noexcept { core_.cancel_from_inside(); }

    /// Starts the task `fn(args...)` as a member, `fn` and `args` decay-copied into the child's
    /// frame (see sluice::spawn(fn, args...)): safe with a capturing lambda.
    template <class Fn, class... Args>
        requires detail::task_callable<Fn, Args...>
    auto spawn(Fn&& fn, Args&&... args) {
        return spawn(detail::stored_call<std::decay_t<Fn>, std::decay_t<Args>...>(std::forward<Fn>(fn),
                                                                                   std::forward<Args>(args)...));
    }

private:
    task_group() = default;
    // TRICKY: only for run_scope's parameter: a coroutine copies its by-value parameters into its
    // frame, where they live until the frame is destroyed (unlike body locals, which die before the
    // final suspend), so the group outlives its scope as long as the scope task object does and a
    // late spawn is a clean logic_error. The source is always a fresh, never-used group.
    task_group(task_group&& /*fresh*/) noexcept {}

    template <class R, class Body>
    static task<R> run_scope(Body body, task_group group) {
        task<R> body_task = detail::invoke_body<R>(body, group);
        co_await group.core_.run_body(body_task);
        const std::vector<std::exception_ptr>& failures = group.core_.failures();
        if (failures.size() == 1) std::rethrow_exception(failures.front());
        if (failures.size() > 1) throw exception_group(failures);
        group.core_.throw_if_cancelled_from_outside();
        auto& body_result = body_task.handle().promise().result_slot();
        if constexpr (std::is_void_v<R>) {
            // cancel() from inside: the body's cancelled_error is the group's own, consumed here.
            if (group.core_.cancelled_from_inside() && body_result.has_error() &&
                detail::is_cancelled_error(body_result.error())) {
                co_return;
            }
        }
        co_return body_result.take();
    }

    detail::group_core core_;
};

}  // namespace sluice
