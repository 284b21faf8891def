#pragma once
// Machinery of sluice/queue.hpp: the items, the three waiter lists (getters, putters, joiners) and
// their awaiters; also `sluice::queue_closed`, which this machinery throws.
//
// Invariants: getters wait only while no item is queued, putters only while the queue is full, and
// neither after close(). So a put while getters wait hands its item straight to the oldest getter
// (stored in that getter's awaiter), and a get while putters wait takes the head item and moves the
// oldest putter's item into the freed place; either way the other side is scheduled, never resumed
// inline, and nobody overtakes a waiter.

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "../errors.hpp"
#include "waiter_list.hpp"

namespace sluice::detail {

template <class T>
class queue_get_awaiter;
template <class T>
class queue_put_awaiter;

/// Items, bound, unfinished-task count, closed flag and waiters of a queue<T>.
template <class T>
class queue_core {
public:
    explicit queue_core(std::size_t maxsize) : maxsize_(maxsize) {}

    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] std::size_t maxsize() const noexcept { return maxsize_; }
    [[nodiscard]] bool full() const noexcept { return maxsize_ != 0 && items_.size() >= maxsize_; }
    [[nodiscard]] bool closed() const noexcept { return closed_; }
    /// Items put and not yet marked task_done() (items handed straight to a getter included).
    [[nodiscard]] const std::size_t& unfinished() const noexcept { return unfinished_; }

    /// try_put's body and put's fast path: hands the item to the oldest getter or queues it; false
    /// (item untouched) when full; queue_closed when closed.
    template <class U>
    bool offer(U&& item) {
        if (closed_) throw queue_closed();
        if (!getters_.empty()) {
            queue_get_awaiter<T>& getter = getters_.front();
            getter.slot_.emplace(std::forward<U>(item));
            ++unfinished_;
            getters_.wake_front();
            return true;
        }
        if (full()) return false;
        items_.push_back(std::forward<U>(item));
        ++unfinished_;
        return true;
    }

    /// try_get's body: the head item, nullopt when empty, queue_closed when empty and closed.
    std::optional<T> poll() {
        if (!items_.empty()) return take_front();
        if (closed_) throw queue_closed();
        return std::nullopt;
    }

    /// Removes the head item; the oldest putter's item (if any waits) moves into the freed place.
    T take_front() {
        assert(!items_.empty());
        T item = std::move(items_.front());
        items_.pop_front();
        if (!putters_.empty()) {
            queue_put_awaiter<T>& putter = putters_.front();
            items_.push_back(std::move(putter.item_));
            putter.placed_ = true;
            ++unfinished_;
            putters_.wake_front();
        }
        return item;
    }

    void task_done() {
        if (unfinished_ == 0) {
            throw std::logic_error("sluice::queue::task_done() called more times than items were put");
        }
        if (--unfinished_ == 0) joiners_.wake_all();
    }

    /// Wakes the getters and putters with queue_closed; joiners keep waiting for task_done().
    void close() {
        closed_ = true;
        getters_.wake_all();
        putters_.wake_all();
    }

    waiter_list<queue_get_awaiter<T>>& getters() noexcept { return getters_; }
    waiter_list<queue_put_awaiter<T>>& putters() noexcept { return putters_; }
    waiter_list<>& joiners() noexcept { return joiners_; }

private:
    std::deque<T> items_;
    std::size_t maxsize_;
    std::size_t unfinished_ = 0;
    bool closed_ = false;
    waiter_list<queue_get_awaiter<T>> getters_;
    waiter_list<queue_put_awaiter<T>> putters_;
    waiter_list<> joiners_;
};

/// `co_await q.get()`: takes the head item without suspending when there is one (not a
/// cancellation point), else waits for a put to hand one over, or for close().
///
/// TRICKY: a hand-off is a completed wait: the item is already in `slot_` when the getter is
/// scheduled. A cancel arriving before the getter runs stays pending (list_waiter's protocol), so
/// the item is returned here and the cancel is delivered at the task's next real suspension; a
/// getter cancelled while still queued leaves the list and never holds an item. An item is never
/// dropped either way.
template <class T>
class queue_get_awaiter final : public list_waiter {
public:
    explicit queue_get_awaiter(queue_core<T>& core) noexcept : core_(&core) {}
    queue_get_awaiter(queue_get_awaiter&& other) noexcept
        : list_waiter(std::move(other)), core_(other.core_) {}

    [[nodiscard]] bool await_ready() const noexcept { return core_->size() != 0 || core_->closed(); }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        return suspend_on(core_->getters(), waiter);
    }
    T await_resume() {
        throw_if_cancelled();
        if (slot_.has_value()) return std::move(*slot_);
        if (core_->size() != 0) return core_->take_front();
        throw queue_closed();  // woken by close(), or closed and empty at once
    }

private:
    friend class queue_core<T>;

    queue_core<T>* core_;
    std::optional<T> slot_;  // the item a put handed over
};

/// `co_await q.put(item)`: queues the item (or hands it to a waiting getter) without suspending
/// when there is room (not a cancellation point), else waits for a get to make room.
///
/// TRICKY: all-or-nothing under cancellation. While queued, the item stays in `item_`; a get that
/// makes room moves it into the queue, sets `placed_` and completes the wait, so a cancel arriving
/// after that stays pending and the put returns normally. A putter cancelled while still queued
/// leaves the list with its item unplaced, destroyed with the awaiter.
template <class T>
class queue_put_awaiter final : public list_waiter {
public:
    queue_put_awaiter(queue_core<T>& core, T&& item) noexcept(std::is_nothrow_move_constructible_v<T>)
        : core_(&core), item_(std::move(item)) {}
    queue_put_awaiter(queue_put_awaiter&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : list_waiter(std::move(other)), core_(other.core_), item_(std::move(other.item_)) {}

    [[nodiscard]] bool await_ready() {
        placed_ = core_->offer(std::move(item_));  // moves from item_ only when it succeeds
        return placed_;
    }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        return suspend_on(core_->putters(), waiter);
    }
    void await_resume() const {
        throw_if_cancelled();
        if (!placed_) throw queue_closed();  // woken by close()
    }

private:
    friend class queue_core<T>;

    queue_core<T>* core_;
    T item_;
    bool placed_ = false;
};

/// `co_await q.join()`: returns at once when every item put has been marked done (not a
/// cancellation point), else waits for the task_done() that brings the count to zero.
class queue_join_awaiter final : public list_waiter {
public:
    queue_join_awaiter(const std::size_t& unfinished, waiter_list<>& joiners) noexcept
        : unfinished_(&unfinished), joiners_(&joiners) {}
    queue_join_awaiter(queue_join_awaiter&& other) noexcept
        : list_waiter(std::move(other)), unfinished_(other.unfinished_), joiners_(other.joiners_) {}

    [[nodiscard]] bool await_ready() const noexcept { return *unfinished_ == 0; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        return suspend_on(*joiners_, waiter);
    }
    void await_resume() const { throw_if_cancelled(); }

private:
    const std::size_t* unfinished_;
    waiter_list<>* joiners_;
};

}  // namespace sluice::detail
