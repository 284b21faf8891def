#pragma once
// The intrusive lists of the engine and runtime: one doubly-linked list, one singly-linked FIFO.
//
// Every queue of suspended things in sluice (waiters on a semaphore, ops waiting for a ring slot or
// for readiness, timers due in order, a loop's root tasks, pool jobs, task-group members, posts to
// a loop) links nodes that live elsewhere -- in a suspended coroutine frame, an op, a job -- so
// linking never allocates and therefore never fails. The node carries the links as a member; the
// list names that member as a template argument (as stdexec's `__intrusive_queue<&T::next>`), so one
// node can sit in two lists through two members and no base class is imposed.
//
// Neither list owns its nodes or checks membership beyond debug asserts: a node is in at most one
// list per link member, and whoever links it unlinks it before it dies.

#include <cassert>
#include <utility>

namespace sluice::detail {

/// The links a node of an `intrusive_list` carries: `list_links<Node> links_;`.
template <class Node>
struct list_links {
    Node* prev = nullptr;
    Node* next = nullptr;
};

/// The two ends both lists keep. Not copyable; movable: the nodes point at each other, never at
/// the list, so a list may live in a growing vector or be handed over whole.
template <class Node>
class list_ends {
public:
    list_ends() = default;
    list_ends(const list_ends&) = delete;
    list_ends& operator=(const list_ends&) = delete;
    list_ends(list_ends&& other) noexcept
        : head_(std::exchange(other.head_, nullptr)), tail_(std::exchange(other.tail_, nullptr)) {}
    list_ends& operator=(list_ends&& other) noexcept {
        assert(empty());
        head_ = std::exchange(other.head_, nullptr);
        tail_ = std::exchange(other.tail_, nullptr);
        return *this;
    }

    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
    /// The oldest node, or null.
    [[nodiscard]] Node* front() const noexcept { return head_; }
    /// The newest node, or null.
    [[nodiscard]] Node* back() const noexcept { return tail_; }

protected:
    ~list_ends() = default;

    Node* head_ = nullptr;
    Node* tail_ = nullptr;
};

/// A doubly-linked FIFO of `Node`s through their `Links` member: O(1) push, pop and removal of any
/// node. A list must be empty (or its nodes abandoned on purpose) when it dies.
template <class Node, list_links<Node> Node::*Links>
class intrusive_list : public list_ends<Node> {
    using list_ends<Node>::head_;
    using list_ends<Node>::tail_;

public:
    /// The node after `node` in this list, or null (for walking it: `for (Node* n = front(); n; n = next_of(*n))`).
    [[nodiscard]] static Node* next_of(const Node& node) noexcept { return (node.*Links).next; }

    void push_back(Node& node) noexcept {
        list_links<Node>& links = node.*Links;
        assert(links.prev == nullptr && links.next == nullptr && head_ != &node);
        links.prev = tail_;
        links.next = nullptr;
        (tail_ != nullptr ? (tail_->*Links).next : head_) = &node;
        tail_ = &node;
    }

    void push_front(Node& node) noexcept {
        list_links<Node>& links = node.*Links;
        assert(links.prev == nullptr && links.next == nullptr && head_ != &node);
        links.prev = nullptr;
        links.next = head_;
        (head_ != nullptr ? (head_->*Links).prev : tail_) = &node;
        head_ = &node;
    }

    /// Unlinks `node`, which must be in this list.
    void remove(Node& node) noexcept {
        list_links<Node>& links = node.*Links;
        (links.prev != nullptr ? (links.prev->*Links).next : head_) = links.next;
        (links.next != nullptr ? (links.next->*Links).prev : tail_) = links.prev;
        links.prev = links.next = nullptr;
    }

    /// Unlinks and returns the oldest node, or null when empty.
    Node* pop_front() noexcept {
        Node* node = head_;
        if (node != nullptr) remove(*node);
        return node;
    }
};

/// A singly-linked FIFO of `Node`s through their `Next` member (`Node* next_;`): push at the back,
/// pop at the front, or take everything at once (what a producer/consumer handoff under a mutex
/// needs: the consumer takes the whole batch and walks it outside the lock).
template <class Node, Node* Node::*Next>
class intrusive_queue : public list_ends<Node> {
    using list_ends<Node>::head_;
    using list_ends<Node>::tail_;

public:

    void push_back(Node& node) noexcept {
        node.*Next = nullptr;
        (tail_ != nullptr ? tail_->*Next : head_) = &node;
        tail_ = &node;
    }

    /// Unlinks and returns the oldest node, or null when empty.
    Node* pop_front() noexcept {
        Node* node = head_;
        if (node == nullptr) return nullptr;
        head_ = node->*Next;
        if (head_ == nullptr) tail_ = nullptr;
        node->*Next = nullptr;
        return node;
    }

    /// Everything queued, in order; this queue is left empty.
    [[nodiscard]] intrusive_queue take_all() noexcept { return std::move(*this); }
};

}  // namespace sluice::detail
