#pragma once
// Machinery of sluice/event.hpp: the wait awaiter.

#include <coroutine>
#include <utility>

#include "waiter_list.hpp"

namespace sluice::detail {

/// `co_await ev.wait()`: returns at once while the flag is set (not a cancellation point), else
/// queues until set() wakes every waiter.
class event_awaiter final : public list_waiter {
public:
    event_awaiter(const bool& is_set, waiter_list<>& waiters) noexcept
        : is_set_(&is_set), waiters_(&waiters) {}
    event_awaiter(event_awaiter&& other) noexcept
        : list_waiter(std::move(other)), is_set_(other.is_set_), waiters_(other.waiters_) {}

    [[nodiscard]] bool await_ready() const noexcept { return *is_set_; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        return suspend_on(*waiters_, waiter);
    }
    void await_resume() const { throw_if_cancelled(); }

private:
    const bool* is_set_;
    waiter_list<>* waiters_;
};

}  // namespace sluice::detail
