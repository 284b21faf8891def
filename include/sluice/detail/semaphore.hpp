#pragma once
// Machinery of sluice/semaphore.hpp: the permit accounting, the FIFO of waiters, the acquire awaiter.
//
// Permits are counted by a limit_state (detail/concurrency_limit.hpp): free permits are
// `limit - in_flight`. A plain semaphore owns a fixed state of its own (a `release()` by hand adds
// one to its limit); a semaphore over a concurrency_limit shares that limit's state, so the limit
// may move under it (set by hand, or adapting to outcomes) and other semaphores may draw on it.
//
// Invariant: waiters are queued only while there is no room. Whenever room may have appeared (a
// permit given back, the limit raised) the state tells the semaphore (room_changed), which hands
// permits to the oldest waiters while there is room; so a newcomer can never overtake a waiter, and
// a task that releases and acquires again goes to the back. Lowering the limit below what is in use
// leaves no room: nothing is granted until enough permits have come back.

#include <algorithm>
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

/// A task queued in acquire(); the permit's ticket is written here when it is handed over.
class semaphore_waiter : public list_waiter {
public:
    limit_ticket ticket{};

protected:
    semaphore_waiter() = default;
    semaphore_waiter(semaphore_waiter&& other) noexcept : list_waiter(std::move(other)) {}
};

/// The permits (a limit_state, owned or shared), the optional bound, and the waiters.
class semaphore_core final : public limit_watcher {
public:
    /// A counting semaphore: `initial` permits of its own; `bound` is n for bounded_semaphore(n),
    /// else the largest count representable.
    semaphore_core(std::ptrdiff_t initial, std::ptrdiff_t bound)
        : state_(make_counting(initial)), bound_(bound), counting_(true) {
        state_->watch(*this);
    }
    /// A semaphore over a shared limit.
    explicit semaphore_core(shared_handle<limit_state> shared) : state_(std::move(shared)) {
        state_->watch(*this);
    }
    semaphore_core(const semaphore_core&) = delete;
    semaphore_core& operator=(const semaphore_core&) = delete;
    ~semaphore_core() { state_->unwatch(*this); }

    /// Free permits: 0 while tasks wait, and while more are in use than the limit allows.
    [[nodiscard]] std::ptrdiff_t value() const noexcept {
        return std::max<std::ptrdiff_t>(0, state_->limit() - state_->in_flight());
    }
    [[nodiscard]] std::ptrdiff_t limit() const noexcept { return state_->limit(); }
    [[nodiscard]] std::ptrdiff_t in_use() const noexcept { return state_->in_flight(); }

    /// Takes a permit if there is room; never succeeds while tasks wait (they were given the room).
    [[nodiscard]] bool try_take(limit_ticket& ticket) noexcept {
        if (!state_->has_room()) return false;
        assert(waiters_.empty());
        ticket = state_->start(state_->now_if_needed());
        return true;
    }

    /// Returns a permit with the outcome of what it guarded; the freed room goes to the oldest
    /// waiter (scheduled, not resumed) through room_changed.
    void give(const limit_ticket& ticket, sluice::outcome result) {
        if (counting_ && release_exceeds_bound()) released_above_bound();
        // A plain semaphore (its own fixed count, no one else watching it) hands the permit
        // straight to the oldest waiter when the limit leaves room for it: what finish() and
        // room_changed() would do, without counting it out and in again.
        if (counting_ && !waiters_.empty() && state_->in_flight() <= state_->limit() && !state_->adaptive()) {
            hand_to_oldest([&] { return ticket; });
            return;
        }
        state_->finish(ticket, result, state_->now_if_needed());
    }

    /// `release()` by hand: one more permit for a counting semaphore.
    void add_permit() {
        if (!counting_) {
            throw std::logic_error(
                "sluice::semaphore::release: a semaphore over a concurrency_limit has no count to raise; "
                "use set_limit");
        }
        if (release_exceeds_bound()) released_above_bound();
        state_->add_one();
    }

    void set_limit(std::ptrdiff_t n) {
        state_->set_limit(n);  // validates n first
        if (counting_ && bound_ != PTRDIFF_MAX) bound_ = n;
    }

    [[nodiscard]] sluice::outcome classify(const std::exception_ptr& error) const { return state_->classify(error); }
    /// Whether outcomes matter (the limit adapts to them).
    [[nodiscard]] bool adaptive() const noexcept { return state_->adaptive(); }

    waiter_list<semaphore_waiter>& waiters() noexcept { return waiters_; }

    /// Hands the room there is to the oldest waiters, in order.
    void room_changed() override {
        while (!waiters_.empty() && state_->has_room()) hand_to_oldest([this] { return state_->start(state_->now_if_needed()); });
    }

private:
    /// Whether one more free permit (a permit given back, or a release() by hand) would raise
    /// value() above the bound. The difference itself, not value(): while more are held than the
    /// limit (it was lowered), value() is 0 and stays 0 when one comes back.
    [[nodiscard]] bool release_exceeds_bound() const noexcept {
        return state_->limit() - state_->in_flight() >= bound_;
    }
    [[noreturn]] static void released_above_bound() {
        throw std::logic_error("sluice: semaphore released above its bound (more releases than acquires)");
    }

    /// Gives the oldest waiter a permit whose ticket `make_ticket` makes. Scheduling it is the only
    /// step that can fail (the ready queue grows), so it comes first and a failure changes nothing;
    /// the ticket is written before the waiter runs.
    template <class MakeTicket>
    void hand_to_oldest(MakeTicket make_ticket) {
        semaphore_waiter& next = waiters_.front();
        waiters_.wake_front();
        next.ticket = make_ticket();
    }

    static shared_handle<limit_state> make_counting(std::ptrdiff_t initial) {
        if (initial < 0) throw std::invalid_argument("sluice::semaphore: negative initial value");
        return make_shared_handle<limit_state>(initial, std::monostate{});
    }

    shared_handle<limit_state> state_;
    std::ptrdiff_t bound_ = PTRDIFF_MAX;
    bool counting_ = false;
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
