#pragma once
/// sluice/semaphore.hpp: counting semaphores (asyncio.Semaphore, asyncio.BoundedSemaphore).
///
/// - `semaphore(n)`: n free permits (n < 0: std::invalid_argument). `co_await sem.acquire()` yields
///   a move-only RAII `semaphore::permit`, given back when it is destroyed or `release()`d;
///   `try_acquire()` takes one without waiting, or returns nullopt; `sem.release()` gives a permit
///   back by hand (a plain, non-blocking call); `value()` counts free permits, `locked()` is
///   `value() == 0`.
/// - Strict FIFO with direct hand-off: a release while tasks wait gives the permit straight to the
///   oldest waiter, which is scheduled (never resumed inline) while `value()` stays 0. Nobody
///   barges: `try_acquire` fails while anyone waits, and a task that releases and acquires again
///   queues behind the others.
/// - Cancellation: `acquire` is a cancellation point only when it suspends; taking a free permit is
///   not. A waiter cancelled while queued leaves the queue with `cancelled_error`, having taken
///   nothing. A waiter cancelled after a permit was handed to it (before it ran again) still
///   receives the permit; the cancel is delivered at its next real suspension and the permit goes
///   back when unwinding destroys it. No permit is lost or duplicated, whatever the interleaving.
/// - Limits that move: `semaphore(limit)` takes its permits from a `concurrency_limit` (fixed,
///   aimd, gradient; see concurrency_limit.hpp), shared with the caller's handle and whatever else
///   uses it; `set_limit(n)` changes the limit at run time (on any semaphore). Raising the limit
///   hands permits to waiters at once, oldest first; lowering it below the permits in use grants
///   nothing until enough come back, and takes nothing from their holders. `limit()` is the limit
///   in force, `in_use()` the permits held. A permit measures the time it was held and reports an
///   outcome to the limit when released: `success` unless `report(...)` said otherwise, or
///   `ignored` if it is destroyed by an exception unwinding (a cancel, an error) that was not
///   reported. `release()` by hand raises a counting semaphore's limit by one; on a semaphore over
///   a concurrency_limit it throws std::logic_error (change the limit instead).
/// - `bounded_semaphore(n)`: a semaphore whose `release()` raising `value()` above n throws
///   `std::logic_error`, leaving the count unchanged (asyncio raises ValueError).
/// - A semaphore belongs to one loop thread and must outlive its waiters and its permits.

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <utility>

#include "concurrency_limit.hpp"
#include "detail/semaphore.hpp"

namespace sluice {

/// A counting semaphore with FIFO hand-off to waiters (asyncio.Semaphore).
class semaphore {
public:
    /// One permit of a semaphore, held until destroyed or released. Move-only; a moved-from or
    /// default-constructed permit holds nothing.
    class [[nodiscard]] permit {
    public:
        /// A permit that holds nothing.
        permit() noexcept = default;
        permit(permit&& other) noexcept : held_(other.held_.take()) {}
        /// Releases the permit held, then takes over `other`'s.
        permit& operator=(permit&& other) noexcept {
            if (this != &other) {
                reset();
                held_ = other.held_.take();
            }
            return *this;
        }
        /// Releases the permit held, if any. A release that throws (only possible on a
        /// bounded_semaphore released by hand beyond its bound) terminates here.
        ~permit() { reset(); }

        /// Gives the permit back now (to the oldest waiter, if any); afterwards this holds nothing.
        /// No effect on a permit that holds nothing.
        void release() {
            const detail::permit_ref held = held_.take();
            if (held.empty()) return;
            if (!held.limited()) [[likely]] {
                held.core().give_counted();
            } else {
                held.record().core->give_limited(held.record());
            }
        }

        /// Tells the limit how the guarded operation ended (reported when the permit is released;
        /// the last report wins). Only adaptive limits take notice.
        void report(outcome result) noexcept {
            if (!held_.limited()) return;  // a counting semaphore's count learns nothing
            held_.record().result = result;
            held_.record().reported = true;
        }
        /// Reports the outcome of a failed operation, classified by the limit (an overload error →
        /// overload, a cancel or other error → ignored); a null error is a success.
        void report(const std::exception_ptr& error) {
            if (held_.limited()) report(held_.record().core->classify(error));
        }

        /// True while this holds a permit.
        [[nodiscard]] explicit operator bool() const noexcept { return !held_.empty(); }

    private:
        friend class semaphore;
        template <class>
        friend class detail::acquire_awaiter;

        /// TRICKY (layout): one word, in every frame holding a permit (W3 of floor_compare.py keeps
        /// 10,000 of them cycling through the cache): a counting semaphore's permit is a pointer
        /// to it; under a concurrency_limit, to a limit_permit of the semaphore's pool holding the
        /// ticket and the outcome reported.
        explicit permit(detail::permit_ref held) noexcept : held_(held) {}
        void reset() noexcept { release(); }

        detail::permit_ref held_;
    };

    /// `n` free permits; std::invalid_argument if n < 0.
    explicit semaphore(std::ptrdiff_t n) : core_(n, PTRDIFF_MAX) {}
    /// As many permits as `limit` allows, following it as it changes. The limit is shared: copies
    /// of the handle see this semaphore's permits in `in_flight()`.
    explicit semaphore(const concurrency_limit& limit) : core_(detail::limit_access::state(limit)) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;

    /// `co_await acquire()` yields a permit: at once if one is free and nobody waits (not a
    /// cancellation point), else after queueing behind the earlier waiters. Over a
    /// concurrency_limit it may throw std::bad_alloc as try_acquire does, before taking or
    /// queueing anything.
    [[nodiscard]] detail::acquire_awaiter<permit> acquire() noexcept {
        return detail::acquire_awaiter<permit>(core_);
    }

    /// A permit if one is free and nobody waits, else nullopt. Over a concurrency_limit, may throw
    /// std::bad_alloc (when more permits are held or awaited at once than ever before on this
    /// semaphore: its pool of tickets grows), having taken nothing.
    [[nodiscard]] std::optional<permit> try_acquire() {
        detail::permit_ref held(core_);
        if (!core_.try_take(held)) return std::nullopt;
        return permit(held);
    }

    /// Adds a permit by hand: to the oldest waiter (scheduled, not resumed here), or to the count.
    /// std::logic_error if that would exceed a bounded_semaphore's bound, or if this semaphore
    /// follows a concurrency_limit.
    void release() { core_.add_permit(); }

    /// Changes the number of permits to `n` in all (held and free): raising hands permits to the
    /// waiters at once (FIFO); lowering grants nothing until fewer than n are held, and cancels
    /// nothing. On a semaphore over a concurrency_limit this sets that (shared) limit. On a
    /// bounded_semaphore n becomes the bound. std::invalid_argument if n < 0 (or outside an
    /// adaptive limit's [min, max]).
    void set_limit(std::ptrdiff_t n) { core_.set_limit(n); }

    /// The number of free permits (0 while tasks wait, and while more are held than the limit).
    [[nodiscard]] std::ptrdiff_t value() const noexcept { return core_.value(); }
    /// The limit in force: permits held and free together (raised by a release() by hand).
    [[nodiscard]] std::ptrdiff_t limit() const noexcept { return core_.limit(); }
    /// The permits held now (for a shared limit, by everything using it).
    [[nodiscard]] std::ptrdiff_t in_use() const noexcept { return core_.in_use(); }
    /// True when no permit is free.
    [[nodiscard]] bool locked() const noexcept { return core_.value() == 0; }

protected:
    semaphore(std::ptrdiff_t n, std::ptrdiff_t bound) : core_(n, bound) {}

private:
    detail::semaphore_core core_;
};

/// A semaphore that refuses to be released above its initial value (asyncio.BoundedSemaphore).
class bounded_semaphore : public semaphore {
public:
    /// `n` free permits, and never more; std::invalid_argument if n < 0.
    explicit bounded_semaphore(std::ptrdiff_t n) : semaphore(n, n) {}
};

}  // namespace sluice
