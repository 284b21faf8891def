#pragma once
// Machinery of sluice/semaphore.hpp: the permit accounting, the FIFO of waiters, the acquire awaiter.
//
// A plain semaphore (semaphore(n), bounded_semaphore(n)) counts its own permits: a limit and the
// number in use, inline, so that the acquire/release pair of a contended semaphore touches nothing
// else (W3 of benchmarks/floor_compare.py); a `release()` by hand adds one to its limit. A semaphore
// over a concurrency_limit instead shares that limit's limit_state (detail/concurrency_limit.hpp),
// so the limit may move under it (set by hand, or adapting to outcomes) and other semaphores may
// draw on it; its permits point to a limit_permit of the semaphore's pool, which holds the ticket
// the limit learns from (a counting semaphore's permit is just a pointer to it). Free permits are
// `limit - in use`.
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
#include <vector>

#include "concurrency_limit.hpp"
#include "owner_ptr.hpp"
#include "waiter_list.hpp"

namespace sluice::detail {

class semaphore_core;

/// What a permit of a semaphore over a concurrency_limit carries besides its semaphore: the ticket
/// the limit learns from, and the outcome reported. The semaphore keeps them in a pool (reused,
/// freed when it dies), so that a permit, and an acquire waiting in a frame, is one word.
struct limit_permit {
    semaphore_core* core;
    limit_ticket ticket{};
    sluice::outcome result = sluice::outcome::success;
    bool reported = false;
    limit_permit* next_free = nullptr;
};

/// What a permit (or an acquire) holds, in one word: a counting semaphore; or, under a
/// concurrency_limit, a limit_permit, marked by the low bit (both are aligned to 8); or nothing.
class permit_ref {
public:
    permit_ref() = default;
    explicit permit_ref(semaphore_core& core) noexcept : word_(reinterpret_cast<std::uintptr_t>(&core)) {}
    explicit permit_ref(limit_permit& record) noexcept
        : word_(reinterpret_cast<std::uintptr_t>(&record) | limited_bit) {}

    [[nodiscard]] bool empty() const noexcept { return word_ == 0; }
    /// Holds a limit_permit (else a counting semaphore, or nothing).
    [[nodiscard]] bool limited() const noexcept { return (word_ & limited_bit) != 0; }
    /// The counting semaphore held: only when !limited() and !empty().
    [[nodiscard]] semaphore_core& core() const noexcept { return *reinterpret_cast<semaphore_core*>(word_); }
    /// The limit_permit held: only when limited().
    [[nodiscard]] limit_permit& record() const noexcept {
        return *reinterpret_cast<limit_permit*>(word_ & ~limited_bit);
    }
    /// What this held; it holds nothing afterwards.
    [[nodiscard]] permit_ref take() noexcept {
        permit_ref taken;
        taken.word_ = std::exchange(word_, 0);
        return taken;
    }

private:
    static constexpr std::uintptr_t limited_bit = 1;
    std::uintptr_t word_ = 0;
};

/// A task queued in acquire(). `held` is its counting semaphore; under a concurrency_limit, the
/// limit_permit reserved for it when it queued (so that handing it a permit allocates nothing),
/// whose ticket is written when the permit is handed over.
class semaphore_waiter : public list_waiter {
public:
    permit_ref held;

protected:
    semaphore_waiter() = default;
    semaphore_waiter(semaphore_waiter&& other) noexcept : list_waiter(std::move(other)), held(other.held) {}
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
    /// Waiters still queued (against the contract) lose what they hold first: a limit_permit of
    /// the pool that dies here must not be given back to it by their ~acquire_awaiter.
    ~semaphore_core() {
        if (shared_ != nullptr) shared_->unwatch(*this);
        while (!waiters_.empty()) {
            waiters_.front().held = permit_ref();
            waiters_.abandon_front();
        }
    }

    /// A counting semaphore (its own count; permits are just a pointer to it), not one over a
    /// concurrency_limit.
    [[nodiscard]] bool counting() const noexcept { return shared_ == nullptr; }

    /// Free permits: 0 while tasks wait, and while more are in use than the limit allows.
    [[nodiscard]] std::ptrdiff_t value() const noexcept { return larger<std::ptrdiff_t>(0, limit() - in_use()); }
    [[nodiscard]] std::ptrdiff_t limit() const noexcept { return counting() ? limit_ : shared_->limit(); }
    [[nodiscard]] std::ptrdiff_t in_use() const noexcept { return counting() ? in_use_ : shared_->in_flight(); }

    /// Takes a permit if there is room; never succeeds while tasks wait (they were given the room).
    /// `held` holds this semaphore; under a concurrency_limit it then holds the permit's
    /// limit_permit (std::bad_alloc if a new one cannot be made: nothing is taken then).
    [[nodiscard]] bool try_take(permit_ref& held) {
        if (!counting()) [[unlikely]] return try_take_limited(held);
        if (in_use_ >= limit_) return false;
        assert(waiters_.empty());
        ++in_use_;
        return true;
    }
    /// try_take under a concurrency_limit; out of line, as give_limited.
    [[gnu::noinline]] bool try_take_limited(permit_ref& held) {
        if (!shared_->has_room()) return false;
        assert(waiters_.empty());
        limit_permit& record = take_record();
        record.ticket = shared_->start(shared_->now_if_needed());
        held = permit_ref(record);
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

    /// Returns a permit of a semaphore over a concurrency_limit, with the outcome of what it
    /// guarded; the limit tells its watchers (room_changed), and the freed room goes to the oldest
    /// waiter of whichever semaphore it tells first. Out of line: a counting semaphore's release
    /// stays small enough to inline where its permit dies.
    [[gnu::noinline]] void give_limited(limit_permit& record) {
        // Only an adaptive limit looks at the outcome; asking whether the stack is unwinding
        // costs a thread-local lookup in the C++ runtime on every release.
        const sluice::outcome result = !shared_->adaptive()            ? sluice::outcome::ignored
                                       : record.reported                ? record.result
                                       : std::uncaught_exceptions() > 0 ? sluice::outcome::ignored
                                                                        : sluice::outcome::success;
        const limit_ticket ticket = record.ticket;
        free_record(record);
        shared_->finish(ticket, result, shared_->now_if_needed());
    }

    /// Under a concurrency_limit: a free limit_permit, or a new one (std::bad_alloc, with nothing
    /// changed). For a permit taken at once, or reserved by a waiter before it queues, so that
    /// handing it a permit later allocates nothing.
    [[gnu::noinline]] limit_permit& take_record() {
        if (free_records_ == nullptr) {
            records_.reserve(records_.size() + 1);
            records_.emplace_back(new limit_permit{this});
            return *records_.back();
        }
        return *std::exchange(free_records_, free_records_->next_free);
    }
    /// A limit_permit back to the pool: from give_limited, or from an acquire that ended without
    /// the permit it was reserved for.
    void free_record(limit_permit& record) noexcept {
        record.result = sluice::outcome::success;
        record.reported = false;
        record.next_free = std::exchange(free_records_, &record);
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

    waiter_list<semaphore_waiter>& waiters() noexcept { return waiters_; }

    /// Under a concurrency_limit: how it classifies a failed operation.
    [[nodiscard]] sluice::outcome classify(const std::exception_ptr& error) const { return shared_->classify(error); }

    /// The shared limit has room again: hand it to the oldest waiters, in order. Each has its
    /// limit_permit already, so nothing here allocates (it runs inside a permit's destructor).
    void room_changed() override {
        while (!waiters_.empty() && shared_->has_room()) {
            hand_to_oldest().held.record().ticket = shared_->start(shared_->now_if_needed());
        }
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
    std::vector<owner_ptr<limit_permit>> records_;  // every limit_permit made (few: the most ever held or waiting at once)
    limit_permit* free_records_ = nullptr;
};

/// `co_await sem.acquire()`: takes a free permit without suspending (not a cancellation point),
/// else queues and waits for a hand-off. Yields a `Permit` constructed from the permit_ref it holds.
///
/// TRICKY: a hand-off is a completed wait (list wake_front → finish_completed) even though the
/// waiter has not run yet. If its task is cancelled in between, the request stays pending: the
/// task still receives its permit here, and the cancel is delivered at its next real suspension,
/// where unwinding destroys the permit and releases it to the next waiter. Were the cancel
/// delivered here instead, the handed-off permit would be lost.
template <class Permit>
class acquire_awaiter final : public semaphore_waiter {
public:
    explicit acquire_awaiter(semaphore_core& core) noexcept { held = permit_ref(core); }
    acquire_awaiter(acquire_awaiter&& other) noexcept = default;
    /// A limit_permit still held was reserved for a wait that ended without a permit (cancelled,
    /// or the frame destroyed): back to the pool.
    ~acquire_awaiter() {
        if (held.limited()) [[unlikely]] held.record().core->free_record(held.record());
    }

    [[nodiscard]] bool await_ready() { return held.core().try_take(held); }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        semaphore_core& core = held.core();
        // Under a concurrency_limit, the limit_permit a hand-off will fill is reserved now, so
        // that a hand-off (inside another permit's release) never allocates. std::bad_alloc
        // here leaves nothing registered.
        if (!core.counting()) held = permit_ref(core.take_record());
        return suspend_on(core.waiters(), waiter);
    }
    Permit await_resume() {
        throw_if_cancelled();
        return Permit(held.take());
    }
};

}  // namespace sluice::detail
