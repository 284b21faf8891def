#pragma once
// The bounded engine's delivery queue: the items whose results the consumer gets next.
//  - completion order: a FIFO of finished items, in the order they finished;
//  - submission order: every item started and not yet handed out, in source order (the window);
//    the head is deliverable once it finished. An item dropped before delivery (a stop, the
//    fail-fast error) leaves an empty entry, so the head shows where the delivered prefix ends.
// Submission order is a ring of handles that holds at most `window` entries: memory grows with the
// window, never with the source. Completion order needs no memory of its own: the finished items
// are linked through their promises (promise_base::set_finished_link), so a fan-out of a million
// sleeping items does not keep a million-entry ring (8 MB) for results that mostly never wait.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine_source.hpp"
#include "task.hpp"

namespace sluice::detail {

template <class T>
class delivery_queue {
public:
    using handle_type = std::coroutine_handle<task_promise<T>>;

    explicit delivery_queue(delivery_order order) noexcept : ordered_(order == delivery_order::submission) {}

    [[nodiscard]] bool ordered() const noexcept { return ordered_; }

    /// `item` started; `outstanding` items (it included) are started and neither handed out nor
    /// dropped. Room for all of them is made here, where an allocation failure can still be
    /// reported: finished() runs in an item's final suspend, which cannot fail.
    void started(handle_type item, std::size_t outstanding) {
        if (!ordered_) return;
        if (ring_.size() < outstanding) grow(outstanding);
        push_back(item);
    }
    void finished(handle_type item) noexcept {
        if (ordered_) return;
        // TRICKY: the item's cancel context is dead once it finished (it is out of the running
        // set, so no stop reaches it, and every coroutine that shared it has ended): its word
        // becomes the link (promise_base::set_finished_link).
        item.promise().set_finished_link(nullptr);
        if (last_) {
            last_.promise().set_finished_link(item.address());
        } else {
            first_ = item;
        }
        last_ = item;
    }
    /// `item`, `offset` places behind the head, will never be delivered (submission order only).
    void dropped(std::size_t offset) noexcept {
        if (ordered_) at(offset) = nullptr;
    }

    /// The item to hand out next, or null when none is ready.
    [[nodiscard]] handle_type deliverable() const noexcept {
        if (!ordered_) return first_;
        if (count_ == 0) return nullptr;
        handle_type head = ring_[head_];
        return head && head.done() ? head : nullptr;
    }
    void pop() noexcept {
        if (!ordered_) {
            first_ = handle_type::from_address(first_.promise().finished_link());
            if (!first_) last_ = nullptr;
            return;
        }
        head_ = (head_ + 1) & (ring_.size() - 1);
        --count_;
    }

    /// Removes every finished entry and hands it to `drop` (a stop: results nobody will take).
    template <class Drop>
    void drop_finished(Drop drop) noexcept {
        if (!ordered_) {
            while (handle_type item = deliverable()) {
                pop();
                drop(item);
            }
            return;
        }
        for (std::size_t i = 0; i < count_; ++i) {
            handle_type& entry = at(i);
            if (entry && entry.done()) drop(std::exchange(entry, nullptr));
        }
    }

private:
    handle_type& at(std::size_t offset) noexcept { return ring_[(head_ + offset) & (ring_.size() - 1)]; }

    void push_back(handle_type item) noexcept {
        at(count_) = item;  // started() made room
        ++count_;
    }
    [[gnu::noinline]] void grow(std::size_t needed) {
        std::size_t capacity = ring_.empty() ? 16 : ring_.size() * 2;
        while (capacity < needed) capacity *= 2;
        std::vector<handle_type> bigger(capacity);
        for (std::size_t i = 0; i < count_; ++i) bigger[i] = at(i);
        ring_ = std::move(bigger);
        head_ = 0;
    }

    std::vector<handle_type> ring_;  // submission order: power-of-two capacity
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    handle_type first_ = nullptr;  // completion order: the oldest finished item, and the newest
    handle_type last_ = nullptr;
    bool ordered_;
};

}  // namespace sluice::detail
