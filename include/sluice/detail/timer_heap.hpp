#pragma once
// User-space timers: an indexed binary min-heap of deadlines. The event loop asks the kernel for a
// single wake-up at the earliest deadline (the wait timeout of io_uring_enter), never one SQE per
// sleep. Each node knows its heap index so a cancelled sleep is removed in O(log n).

#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace sluice::detail {

using clock = std::chrono::steady_clock;

class timer_node {
public:
    /// Called by the loop when the deadline has passed; must not resume anything inline.
    virtual void expired() noexcept = 0;

    clock::time_point deadline{};

protected:
    ~timer_node() = default;

private:
    friend class timer_heap;
    std::uint64_t sequence_ = 0;  // equal deadlines fire in arming order
    std::size_t index_ = npos;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

public:
    [[nodiscard]] bool armed() const noexcept { return index_ != npos; }
};

class timer_heap {
public:
    [[nodiscard]] bool empty() const noexcept { return nodes_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return nodes_.size(); }
    [[nodiscard]] timer_node& earliest() const noexcept { return *nodes_.front(); }

    void insert(timer_node& node) {
        assert(!node.armed());
        node.sequence_ = next_sequence_++;
        node.index_ = nodes_.size();
        nodes_.push_back(&node);
        sift_up(node.index_);
    }

    void remove(timer_node& node) noexcept {
        assert(node.armed());
        const std::size_t index = node.index_;
        node.index_ = timer_node::npos;
        timer_node* last = nodes_.back();
        nodes_.pop_back();
        if (index == nodes_.size()) return;
        place(index, last);
        sift_down(index);
        sift_up(last->index_);
    }

private:
    static bool before(const timer_node* a, const timer_node* b) noexcept {
        return a->deadline < b->deadline || (a->deadline == b->deadline && a->sequence_ < b->sequence_);
    }
    void place(std::size_t index, timer_node* node) noexcept {
        nodes_[index] = node;
        node->index_ = index;
    }
    void sift_up(std::size_t index) noexcept {
        timer_node* node = nodes_[index];
        while (index > 0) {
            const std::size_t parent = (index - 1) / 2;
            if (!before(node, nodes_[parent])) break;
            place(index, nodes_[parent]);
            index = parent;
        }
        place(index, node);
    }
    void sift_down(std::size_t index) noexcept {
        timer_node* node = nodes_[index];
        const std::size_t count = nodes_.size();
        for (;;) {
            std::size_t child = 2 * index + 1;
            if (child >= count) break;
            if (child + 1 < count && before(nodes_[child + 1], nodes_[child])) ++child;
            if (!before(nodes_[child], node)) break;
            place(index, nodes_[child]);
            index = child;
        }
        place(index, node);
    }

    std::vector<timer_node*> nodes_;
    std::uint64_t next_sequence_ = 0;
};

}  // namespace sluice::detail
