#pragma once
// Machinery of sluice/semaphore.hpp: the permit count, the FIFO of waiters, the acquire awaiter.
//
// Invariant: waiters are queued only while the count is 0. A release while tasks wait hands the
// permit to the oldest one (the count stays 0), so a newcomer can never overtake a waiter, and a
// task that releases and acquires again goes to the back.

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <stdexcept>
#include <utility>

#include "waiter_list.hpp"

namespace sluice::detail {

/// Count, bound and waiters of a semaphore; `bound` is n for bounded_semaphore(n), else the
/// largest count representable.
class semaphore_core {
public:
    semaphore_core(std::ptrdiff_t initial, std::ptrdiff_t bound) : count_(initial), bound_(bound) {
        if (initial < 0) throw std::invalid_argument("sluice::semaphore: negative initial value");
    }

    [[nodiscard]] std::ptrdiff_t value() const noexcept { return count_; }

    /// Takes a permit if one is free; never succeeds while tasks wait (they hold the count at 0).
    [[nodiscard]] bool try_take() noexcept {
        if (count_ == 0) return false;
        assert(waiters_.empty());
        --count_;
        return true;
    }

    /// Returns a permit: to the oldest waiter if any (scheduled, not resumed), else to the count.
    void give() {
        if (!waiters_.empty()) {
            waiters_.wake_front();
            return;
        }
        if (count_ >= bound_) {
            throw std::logic_error(
                "sluice: semaphore released above its bound (more releases than acquires)");
        }
        ++count_;
    }

    waiter_list<>& waiters() noexcept { return waiters_; }

private:
    std::ptrdiff_t count_;
    std::ptrdiff_t bound_;
    waiter_list<> waiters_;
};

/// `co_await sem.acquire()`: takes a free permit without suspending (not a cancellation point),
/// else queues and waits for a hand-off. Yields a `Permit` constructed from the core.
///
/// TRICKY: a hand-off is a completed wait (list wake_front → finish_completed) even though the
/// waiter has not run yet. If its task is cancelled in between, the request stays pending: the
/// task still receives its permit here, and the cancel is delivered at its next real suspension,
/// where unwinding destroys the permit and releases it to the next waiter. Were the cancel
/// delivered here instead, the handed-off permit would be lost.
template <class Permit>
class acquire_awaiter final : public list_waiter {
public:
    explicit acquire_awaiter(semaphore_core& core) noexcept : core_(&core) {}
    acquire_awaiter(acquire_awaiter&& other) noexcept : list_waiter(std::move(other)), core_(other.core_) {}

    [[nodiscard]] bool await_ready() noexcept { return core_->try_take(); }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        return suspend_on(core_->waiters(), waiter);
    }
    Permit await_resume() {
        throw_if_cancelled();
        return Permit(*core_);
    }

private:
    semaphore_core* core_;
};

}  // namespace sluice::detail
