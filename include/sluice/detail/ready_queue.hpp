#pragma once
// FIFO of coroutines ready to run: a growable power-of-two ring buffer, so the steady state of a
// loop turn (push, pop, resume) allocates nothing.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>

namespace sluice::detail {

/// A source of uniformly distributed 64-bit numbers for the `ready_shuffle` test hook (an interface,
/// so that every includer does not pay for <random>: tests/support/faults.hpp wraps a mt19937_64).
class shuffle_source {
public:
    virtual std::uint64_t next() noexcept = 0;

protected:
    ~shuffle_source() = default;
};

/// Test hook: when set, each loop turn resumes its batch of ready coroutines in an order drawn from
/// this source instead of FIFO (tests/support/faults.hpp sets it from SLUICE_SHUFFLE_SEED).
/// Null by default: one thread-local load per loop turn.
inline thread_local shuffle_source* ready_shuffle = nullptr;

class ready_queue {
public:
    ready_queue() noexcept = default;
    ready_queue(const ready_queue&) = delete;
    ready_queue& operator=(const ready_queue&) = delete;
    ~ready_queue() { delete[] slots_; }

    [[nodiscard]] bool empty() const noexcept { return head_ == tail_; }
    [[nodiscard]] std::size_t size() const noexcept { return tail_ - head_; }

    void push(std::coroutine_handle<> handle) {
        if (size() == capacity_) [[unlikely]] grow();
        push_reserved(handle);
    }
    /// Room for `count` handles in all, so that that many push_reserved calls cannot fail.
    void reserve(std::size_t count) {
        while (capacity_ < count) grow();
    }
    /// push() when reserve() made room: noexcept.
    void push_reserved(std::coroutine_handle<> handle) noexcept { slots_[tail_++ & (capacity_ - 1)] = handle; }
    std::coroutine_handle<> pop() noexcept { return slots_[head_++ & (capacity_ - 1)]; }

    /// Test hook (randomized interleaving): permutes the first `count` handles with `random`
    /// (Fisher-Yates), so a scenario rerun under several seeds sees coroutines made ready in the same
    /// turn resume in other orders.
    void shuffle_front(std::size_t count, shuffle_source& random) noexcept {
        for (std::size_t i = count; i > 1; --i) {
            const std::size_t j = static_cast<std::size_t>(random.next() % i);
            std::swap(slots_[(head_ + i - 1) & (capacity_ - 1)], slots_[(head_ + j) & (capacity_ - 1)]);
        }
    }

private:
    /// Out of line, so that push() (every wake-up) is inlined into its callers.
    [[gnu::noinline]] void grow() {
        const std::size_t new_capacity = capacity_ == 0 ? 256 : capacity_ * 2;
        auto* bigger = new std::coroutine_handle<>[new_capacity];
        const std::size_t count = size();
        for (std::size_t i = 0; i < count; ++i) bigger[i] = slots_[(head_ + i) & (capacity_ - 1)];
        delete[] slots_;
        slots_ = bigger;
        capacity_ = new_capacity;
        head_ = 0;
        tail_ = count;
    }

    // Owned (a plain array: std::unique_ptr<T[]> would cost every includer <memory>, issue #10).
    std::coroutine_handle<>* slots_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;  // free-running counters; the slot is counter & (capacity_ - 1)
    std::size_t tail_ = 0;
};

}  // namespace sluice::detail
