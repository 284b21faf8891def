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
/// - `bounded_semaphore(n)`: a semaphore whose `release()` raising `value()` above n throws
///   `std::logic_error`, leaving the count unchanged (asyncio raises ValueError).
/// - A semaphore belongs to one loop thread and must outlive its waiters and its permits.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>

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
        permit(permit&& other) noexcept : core_(std::exchange(other.core_, nullptr)) {}
        /// Releases the permit held, then takes over `other`'s.
        permit& operator=(permit&& other) noexcept {
            if (this != &other) {
                reset();
                core_ = std::exchange(other.core_, nullptr);
            }
            return *this;
        }
        /// Releases the permit held, if any. A release that throws (only possible on a
        /// bounded_semaphore released by hand beyond its bound) terminates here.
        ~permit() { reset(); }

        /// Gives the permit back now (to the oldest waiter, if any); afterwards this holds nothing.
        /// No effect on a permit that holds nothing.
        void release() {
            if (core_ != nullptr) std::exchange(core_, nullptr)->give();
        }

        /// True while this holds a permit.
        [[nodiscard]] explicit operator bool() const noexcept { return core_ != nullptr; }

    private:
        friend class semaphore;
        template <class>
        friend class detail::acquire_awaiter;

        explicit permit(detail::semaphore_core& core) noexcept : core_(&core) {}
        void reset() noexcept { release(); }

        detail::semaphore_core* core_ = nullptr;
    };

    /// `n` free permits; std::invalid_argument if n < 0.
    explicit semaphore(std::ptrdiff_t n) : core_(n, PTRDIFF_MAX) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;

    /// `co_await acquire()` yields a permit: at once if one is free and nobody waits (not a
    /// cancellation point), else after queueing behind the earlier waiters.
    [[nodiscard]] detail::acquire_awaiter<permit> acquire() noexcept {
        return detail::acquire_awaiter<permit>(core_);
    }

    /// A permit if one is free and nobody waits, else nullopt.
    [[nodiscard]] std::optional<permit> try_acquire() noexcept {
        if (!core_.try_take()) return std::nullopt;
        return permit(core_);
    }

    /// Gives a permit back by hand: to the oldest waiter (scheduled, not resumed here), or to the
    /// count. std::logic_error if that would exceed a bounded_semaphore's bound.
    void release() { core_.give(); }

    /// The number of free permits (0 while tasks wait).
    [[nodiscard]] std::ptrdiff_t value() const noexcept { return core_.value(); }
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
