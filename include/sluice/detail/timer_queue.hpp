#pragma once
// User-space timers. The event loop asks the kernel for a single wake-up at the earliest deadline
// (the wait timeout of io_uring_enter), never one SQE per sleep.
//
// Two structures, one queue: most programs sleep for a few fixed durations, so deadlines are
// mostly armed in increasing order. Such a deadline (not earlier than the newest one in the FIFO)
// is appended to an intrusive FIFO in O(1) and fires from its head without any sifting; any other
// goes into an indexed binary min-heap. The earliest timer is the earlier of the two heads.
// Equal deadlines fire in arming order (a sequence number breaks ties across both). Every node
// knows where it is, so a cancelled sleep is removed in O(1) (FIFO) or O(log n) (heap).
//
// A node is in every sleeping frame (a sleeping fan-out keeps a million of them), so its sequence
// number and heap position are 32 bits: fewer than 2^32 timers are ever armed at once, and sequence
// numbers are compared by their difference, so only two timers armed more than 2^31 arms apart
// and due at the very same nanosecond would be ordered the wrong way round.

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "cancellable_wait.hpp"
#include "intrusive_list.hpp"
#include "std_chrono.hpp"

namespace sluice::detail {

using clock = std::chrono::steady_clock;

/// TRICKY (layout): a timer node is a cancellable_wait too, so a sleep or a deadline (a wait that is
/// also a timer) carries one vtable pointer for both roles (basic_cancellation_point<timer_node>).
/// A timer that no cancel can reach (the rate limiter's refill) says so in its cancel_wait.
class timer_node : public cancellable_wait {
public:
    /// Called by the loop when the deadline has passed; must not resume anything inline.
    virtual void expired() noexcept = 0;

    [[nodiscard]] bool armed() const noexcept { return index_ != not_armed; }

    clock::time_point deadline{};

protected:
    ~timer_node() = default;

private:
    friend class timer_queue;
    static constexpr std::uint32_t not_armed = static_cast<std::uint32_t>(-1);
    static constexpr std::uint32_t in_fifo = static_cast<std::uint32_t>(-2);

    std::uint32_t sequence_ = 0;  // arming order (wraps: see the top)
    std::uint32_t index_ = not_armed;  // heap position, or in_fifo
    list_links<timer_node> fifo_links_;
};

class timer_queue {
public:
    [[nodiscard]] bool empty() const noexcept { return heap_.empty() && fifo_.empty(); }

    [[nodiscard]] timer_node& earliest() const noexcept {
        assert(!empty());
        timer_node* fifo_front = fifo_.front();
        if (fifo_front == nullptr) return *heap_.front();
        if (heap_.empty()) return *fifo_front;
        return before(heap_.front(), fifo_front) ? *heap_.front() : *fifo_front;
    }

    /// Strong exception safety: if growing the heap throws, nothing changed and `node` is not armed.
    void insert(timer_node& node) {
        reserve_one();
        insert_reserved(node);
    }
    /// Makes room so that the next insert_reserved cannot fail.
    void reserve_one() {
        if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.empty() ? 16 : 2 * heap_.size());
    }
    /// insert() after reserve_one(). The node's index is set only once it is in place: an earlier
    /// version set it before a push_back that could throw, leaving a node that looked armed.
    void insert_reserved(timer_node& node) noexcept {
        assert(!node.armed());
        assert(heap_.size() < heap_.capacity());
        node.sequence_ = next_sequence_++;
        if (fifo_.empty() || !(node.deadline < fifo_.back()->deadline)) {
            append_fifo(node);
        } else {
            heap_.push_back(&node);
            node.index_ = static_cast<std::uint32_t>(heap_.size() - 1);
            sift_up(node.index_);
        }
    }

    void remove(timer_node& node) noexcept {
        assert(node.armed());
        if (node.index_ == timer_node::in_fifo) {
            unlink_fifo(node);
            return;
        }
        const std::size_t index = node.index_;
        node.index_ = timer_node::not_armed;
        timer_node* last = heap_.back();
        heap_.pop_back();
        if (index == heap_.size()) return;
        place(index, last);
        sift_down(index);
        sift_up(last->index_);
    }

private:
    static bool before(const timer_node* a, const timer_node* b) noexcept {
        return a->deadline < b->deadline ||
               (a->deadline == b->deadline && static_cast<std::int32_t>(a->sequence_ - b->sequence_) < 0);
    }

    void append_fifo(timer_node& node) noexcept {
        node.index_ = timer_node::in_fifo;
        fifo_.push_back(node);
    }
    void unlink_fifo(timer_node& node) noexcept {
        fifo_.remove(node);
        node.index_ = timer_node::not_armed;
    }

    void place(std::size_t index, timer_node* node) noexcept {
        heap_[index] = node;
        node->index_ = static_cast<std::uint32_t>(index);
    }
    void sift_up(std::size_t index) noexcept {
        timer_node* node = heap_[index];
        while (index > 0) {
            const std::size_t parent = (index - 1) / 2;
            if (!before(node, heap_[parent])) break;
            place(index, heap_[parent]);
            index = parent;
        }
        place(index, node);
    }
    void sift_down(std::size_t index) noexcept {
        timer_node* node = heap_[index];
        const std::size_t count = heap_.size();
        for (;;) {
            std::size_t child = 2 * index + 1;
            if (child >= count) break;
            if (child + 1 < count && before(heap_[child + 1], heap_[child])) ++child;
            if (!before(heap_[child], node)) break;
            place(index, heap_[child]);
            index = child;
        }
        place(index, node);
    }

    std::vector<timer_node*> heap_;
    intrusive_list<timer_node, &timer_node::fifo_links_> fifo_;
    std::uint32_t next_sequence_ = 0;
};

}  // namespace sluice::detail
