#pragma once
// FIFO of coroutines ready to run: a growable power-of-two ring buffer, so the steady state of a
// loop turn (push, pop, resume) allocates nothing.

#include <coroutine>
#include <cstddef>
#include <memory>
#include <utility>

namespace sluice::detail {

class ready_queue {
public:
    [[nodiscard]] bool empty() const noexcept { return head_ == tail_; }
    [[nodiscard]] std::size_t size() const noexcept { return tail_ - head_; }

    void push(std::coroutine_handle<> handle) {
        if (size() == capacity_) grow();
        slots_[tail_++ & (capacity_ - 1)] = handle;
    }
    std::coroutine_handle<> pop() noexcept { return slots_[head_++ & (capacity_ - 1)]; }

private:
    void grow() {
        const std::size_t new_capacity = capacity_ == 0 ? 256 : capacity_ * 2;
        auto bigger = std::make_unique<std::coroutine_handle<>[]>(new_capacity);
        const std::size_t count = size();
        for (std::size_t i = 0; i < count; ++i) bigger[i] = slots_[(head_ + i) & (capacity_ - 1)];
        slots_ = std::move(bigger);
        capacity_ = new_capacity;
        head_ = 0;
        tail_ = count;
    }

    std::unique_ptr<std::coroutine_handle<>[]> slots_;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;  // free-running counters; the slot is counter & (capacity_ - 1)
    std::size_t tail_ = 0;
};

}  // namespace sluice::detail
