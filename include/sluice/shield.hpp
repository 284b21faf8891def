#pragma once
/// sluice/shield.hpp: protect an operation from the awaiting task's cancellation (asyncio.shield,
/// trio's CancelScope(shield=True)).
///
/// - `co_await shield(aw)`: awaits `aw` in a cancellation context of its own that nobody cancels.
///   A cancel of the awaiting task that arrives meanwhile (or was already pending) is not
///   delivered inside: it stays pending and is delivered at the task's next real suspension after
///   `aw` completed, whose value (or exception) is returned first: a completed operation's result
///   is never discarded. Use it for cleanup that must finish (a final write, a commit).
/// - `aw` can still end early by itself (its own wait_for / timeout scope, an error).
/// - Everything that waits for the task waits for the shielded operation too: `wait_for` around a
///   shielded operation waits for it and returns its value (the inner did not give in), and `run()`'s final
///   cancellation of leftover tasks waits for it. An rvalue awaitable is moved into the returned
///   task; an lvalue is referenced and must outlive it.

#include <coroutine>
#include <utility>

#include "detail/awaitable_traits.hpp"
#include "detail/cancellation.hpp"
#include "task.hpp"

namespace sluice {

namespace detail {

/// Runs `inner` with a fresh context of its own as the awaiter's continuation. Not a
/// cancellation point: it never registers with the awaiting task's context, so a request there
/// only stays pending.
template <class T>
class shield_awaiter {
public:
    explicit shield_awaiter(task<T>& inner) noexcept : inner_(inner) {}
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
        return resume_awaited(inner_.handle(), waiter, &own_context_);
    }
    decltype(auto) await_resume() { return inner_.handle().promise().result_slot().take(); }

private:
    task<T>& inner_;
    cancel_context own_context_;  // never requested: nothing can cancel the shielded operation
};

template <class Awaitable>
task<await_result_t<Awaitable>> shielded(Awaitable awaitable) {
    task<await_result_t<Awaitable>> inner = as_task(std::forward<Awaitable>(awaitable));
    co_return co_await shield_awaiter<await_result_t<Awaitable>>(inner);
}

}  // namespace detail

/// Awaits `awaitable` out of reach of the awaiting task's cancellation (delivered afterwards).
template <class Awaitable>
auto shield(Awaitable&& awaitable) {
    return detail::shielded<detail::stored_awaitable_t<Awaitable>>(std::forward<Awaitable>(awaitable));
}

}  // namespace sluice
