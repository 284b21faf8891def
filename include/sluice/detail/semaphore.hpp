#pragma once
// Machinery of sluice/semaphore.hpp: the permit accounting, the FIFO of waiters, the acquire awaiter.
//
// A plain semaphore (semaphore(n), bounded_semaphore(n)) counts its own permits: a limit and the
// number in use, inline, so that the acquire/release pair of a contended semaphore touches nothing
// else (W3 of benchmarks/floor_compare.py); a `release()` by hand adds one to its limit. A semaphore
// over a concurrency_limit instead shares that limit's limit_state (detail/concurrency_limit.hpp),
// so the limit may move under it (set by hand, or adapting to outcomes) and other semaphores may
// draw on it; its permits carry the ticket the limit learns from. Free permits are `limit - in use`.
//
// Invariant: waiters are queued only while there is no room. Whenever room may have appeared (a
// permit given back, the limit raised) the semaphore hands permits to the oldest waiters while
// there is room (a shared state tells it through room_changed); so a newcomer can never overtake a
// waiter, and a task that releases and acquires again goes to the back. A permit given back to a
// plain semaphore with waiters goes straight to the oldest, staying counted in use. Lowering the
// limit below what is in use leaves no room: nothing is granted until enough permits have come back.

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <utility>

#include "concurrency_limit.hpp"
#include "owner_ptr.hpp"
#include "waiter_list.hpp"

namespace sluice::detail {

/// A task queued in acquire(); under a concurrency_limit, the permit's ticket is written here when
/// it is handed over.
class semaphore_waiter : public list_waiter {
public:
    limit_ticket ticket{};

protected:
    semaphore_waiter() = default;
    semaphore_waiter(semaphore_waiter&& other) noexcept : list_waiter(std::move(other)) {}
};

/// The permits (a count of its own, or a shared limit_state), the optional bound, and the waiters.
class semaphore_core final : public limit_watcher {
public:
    /// A counting semaphore: `initial` permits of its own; `bound` is n for bounded_semaphore(n),
    /// else the largest count representable.
    semaphore_core(std::ptrdiff_t initial, std::ptrdiff_t bound) : limit_(initial), bound_(bound) {
        if (initial < 0) throw std::invalid_argument("sluice::semaphore: negative initial value");
    }
    /// A semaphore over a shared limit.
    explicit semaphore_core(shared_handle<limit_state> shared) : shared_(std::move(shared)) { shared_->watch(*this); }
    semaphore_core(const semaphore_core&) = delete;
    semaphore_core& operator=(const semaphore_core&) = delete;
    ~semaphore_core() {
        if (shared_ != nullptr) shared_->unwatch(*this);
    }

    /// A counting semaphore (its own count; permits carry no ticket), not one over a concurrency_limit.
    [[nodiscard]] bool counting() const noexcept { return shared_ == nullptr; }

    /// Free permits: 0 while tasks wait, and while more are in use than the limit allows.
    [[nodiscard]] std::ptrdiff_t value() const noexcept { return larger<std::ptrdiff_t>(0, limit() - in_use()); }
    [[nodiscard]] std::ptrdiff_t limit() const noexcept { return counting() ? limit_ : shared_->limit(); }
    [[nodiscard]] std::ptrdiff_t in_use() const noexcept { return counting() ? in_use_ : shared_->in_flight(); }

    /// Takes a permit if there is room; never succeeds while tasks wait (they were given the room).
    /// `ticket` is written only under a concurrency_limit.
    [[nodiscard]] bool try_take(limit_ticket& ticket) noexcept {
        if (counting()) {
            if (in_use_ >= limit_) return false;
            assert(waiters_.empty());
            ++in_use_;
            return true;
        }
        if (!shared_->has_room()) return false;
        assert(waiters_.empty());
        ticket = shared_->start(shared_->now_if_needed());
        return true;
    }

    /// Returns a permit of a counting semaphore: straight to the oldest waiter (scheduled, not
    /// resumed) when the limit leaves room for it, which keeps it counted in use; else to the count.
    void give_counted() {
        if (release_exceeds_bound()) released_above_bound();
        if (!waiters_.empty() && in_use_ <= limit_) {
            hand_to_oldest();
            return;
        }
        --in_use_;
    }

    /// Returns a permit of a semaphore over a concurrency_limit with the outcome of what it
    /// guarded; the limit tells its watchers (room_changed), and the freed room goes to the oldest
    /// waiter of whichever semaphore it watches first.
    void give_shared(const limit_ticket& ticket, sluice::outcome result) {
        shared_->finish(ticket, result, shared_->now_if_needed());
    }

    /// `release()` by hand: one more permit for a counting semaphore.
    void add_permit() {
        if (!counting()) {
            throw std::logic_error(
                "sluice::semaphore::release: a semaphore over a concurrency_limit has no count to raise; "
                "use set_limit");
        }
        if (release_exceeds_bound()) released_above_bound();
        ++limit_;
        hand_counted_room();
    }

    void set_limit(std::ptrdiff_t n) {
        if (!counting()) {
            shared_->set_limit(n);  // validates n first
            return;
        }
        if (n < 0) invalid_limit("set_limit: the limit must not be negative");
        limit_ = n;
        if (bound_ != PTRDIFF_MAX) bound_ = n;
        hand_counted_room();
    }

    [[nodiscard]] sluice::outcome classify(const std::exception_ptr& error) const {
        if (counting()) return error ? sluice::outcome::ignored : sluice::outcome::success;  // never looked at
        return shared_->classify(error);
    }
    /// Whether outcomes matter (the limit adapts to them).
    [[nodiscard]] bool adaptive() const noexcept { return !counting() && shared_->adaptive(); }

    waiter_list<semaphore_waiter>& waiters() noexcept { return waiters_; }

    /// The shared limit has room again: hand it to the oldest waiters, in order.
    void room_changed() override {
        while (!waiters_.empty() && shared_->has_room()) hand_to_oldest().ticket = shared_->start(shared_->now_if_needed());
    }

private:
    /// Whether one more free permit (a permit given back, or a release() by hand) would raise
    /// value() above the bound. The difference itself, not value(): while more are held than the
    /// limit (it was lowered), value() is 0 and stays 0 when one comes back. An unbounded
    /// semaphore's bound is PTRDIFF_MAX: only a release() by hand of a full one would overflow.
    [[nodiscard]] bool release_exceeds_bound() const noexcept { return limit_ - in_use_ >= bound_; }
    [[noreturn]] static void released_above_bound() {
        throw std::logic_error("sluice: semaphore released above its bound (more releases than acquires)");
    }

    /// A counting semaphore's limit went up: hand the room to the oldest waiters, in order.
    void hand_counted_room() {
        while (!waiters_.empty() && in_use_ < limit_) {
            hand_to_oldest();
            ++in_use_;
        }
    }

    /// Wakes the oldest waiter, whose permit is already counted in use (or is counted right
    /// after, before the waiter runs). Scheduling it is the only step that can fail (the ready
    /// queue grows), so it comes first and a failure changes nothing.
    semaphore_waiter& hand_to_oldest() {
        semaphore_waiter& next = waiters_.front();
        waiters_.wake_front();
        return next;
    }

    shared_handle<limit_state> shared_;  // null for a counting semaphore
    std::ptrdiff_t limit_ = 0;           // a counting semaphore's own count: its limit...
    std::ptrdiff_t in_use_ = 0;          // ...and the permits held
    std::ptrdiff_t bound_ = PTRDIFF_MAX;
    waiter_list<semaphore_waiter> waiters_;
};

/// `co_await sem.acquire()`: takes a free permit without suspending (not a cancellation point),
/// else queues and waits for a hand-off. Yields a `Permit` constructed from the core and ticket.
///
/// TRICKY: a hand-off is a completed wait (list wake_front → finish_completed) even though the
/// waiter has not run yet. If its task is cancelled in between, the request stays pending: the
/// task still receives its permit here, and the cancel is delivered at its next real suspension,
/// where unwinding destroys the permit and releases it to the next waiter. Were the cancel
/// delivered here instead, the handed-off permit would be lost.
template <class Permit>
class acquire_awaiter final : public semaphore_waiter {
public:
    explicit acquire_awaiter(semaphore_core& core) noexcept : core_(&core) {}
    acquire_awaiter(acquire_awaiter&& other) noexcept : semaphore_waiter(std::move(other)), core_(other.core_) {}

    [[nodiscard]] bool await_ready() noexcept { return core_->try_take(ticket); }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        return suspend_on(core_->waiters(), waiter);
    }
    Permit await_resume() {
        throw_if_cancelled();
        return Permit(*core_, ticket);
    }

private:
    semaphore_core* core_;
};

}  // namespace sluice::detail
