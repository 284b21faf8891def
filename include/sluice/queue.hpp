#pragma once
/// sluice/queue.hpp: `queue<T>`, a FIFO queue between tasks (asyncio.Queue), and `queue_closed`.
///
/// - `queue<T>(maxsize)`: at most maxsize items (0: unbounded). `co_await put(item)` waits while the
///   queue is full; `co_await get()` waits while it is empty; `try_put(item) -> bool` (false when
///   full, the item untouched) and `try_get() -> std::optional<T>` (nullopt when empty) never wait.
///   `size()`, `empty()`, `full()`, `maxsize()`, `closed()`. T may be move-only.
/// - FIFO for items and for waiters, with direct hand-off: a put while getters wait gives its item
///   to the oldest getter; a get while putters wait takes the head item and moves the oldest
///   putter's item into the queue. The other side is scheduled, never resumed inline. Nobody
///   overtakes a waiter.
/// - `task_done()` marks one item put as processed (more calls than items put: std::logic_error);
///   `co_await join()` waits until every item put has been marked done (at once if none is
///   outstanding). It counts task_done() calls, not gets.
/// - `close()`: the getters and putters waiting wake with `queue_closed`; items already queued can
///   still be taken (get, try_get); then get on the empty queue throws `queue_closed`. put and
///   try_put on a closed queue throw `queue_closed` (try_put throws rather than return false, so
///   false always means "full" and a closed queue is never mistaken for a busy one); try_get on a
///   closed empty queue throws it too. Joiners are *not* woken by close(): like asyncio's
///   shutdown(), they keep waiting for task_done() on every item put, so consume (or task_done)
///   what remains before joining a closed queue.
/// - Cancellation: get, put and join are cancellation points only when they suspend. A cancelled
///   get never drops an item: a getter cancelled after an item was handed to it (before it ran)
///   still returns the item, the cancel being delivered at its next real suspension; a getter
///   cancelled while still waiting leaves the waiter list, and the next put goes to the next
///   getter or into the queue. A cancelled put is all-or-nothing: either its item went into the
///   queue and put returns normally (the cancel stays pending), or it did not and put throws
///   `cancelled_error`, its item destroyed with it.
/// - A queue belongs to one loop thread and must outlive its waiters.
/// - `queue_closed` (a std::runtime_error) is declared in errors.hpp, which this header includes.

#include <cstddef>
#include <optional>
#include <type_traits>
#include <utility>

#include "detail/queue.hpp"

namespace sluice {

/// A FIFO queue between tasks, bounded or not (asyncio.Queue).
template <class T>
class queue {
    static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_array_v<T>,
                  "sluice::queue<T>: T must be a non-const object type");

public:
    /// Holds at most `maxsize` items; 0 means unbounded.
    explicit queue(std::size_t maxsize = 0) : core_(maxsize) {}
    queue(const queue&) = delete;
    queue& operator=(const queue&) = delete;

    /// `co_await put(item)` queues the item, or hands it to the oldest waiting getter; waits while
    /// the queue is full. queue_closed if the queue is (or gets) closed before the item went in.
    [[nodiscard]] detail::queue_put_awaiter<T> put(T item) noexcept(std::is_nothrow_move_constructible_v<T>) {
        return detail::queue_put_awaiter<T>(core_, std::move(item));
    }

    /// `co_await get()` yields the head item; waits while the queue is empty. queue_closed once
    /// the queue is closed and empty.
    [[nodiscard]] detail::queue_get_awaiter<T> get() noexcept { return detail::queue_get_awaiter<T>(core_); }

    /// Puts without waiting: false (item untouched) when full; queue_closed when closed.
    [[nodiscard]] bool try_put(const T& item) { return core_.offer(item); }
    /// Puts without waiting: false (item not moved from) when full; queue_closed when closed.
    [[nodiscard]] bool try_put(T&& item) { return core_.offer(std::move(item)); }

    /// The head item without waiting, or nullopt when empty; queue_closed when closed and empty.
    [[nodiscard]] std::optional<T> try_get() { return core_.poll(); }

    /// Marks one item put as processed; wakes the joiners when none is left. std::logic_error when
    /// called more times than items were put.
    void task_done() { core_.task_done(); }

    /// `co_await join()` returns once every item put has been marked done by task_done().
    [[nodiscard]] detail::queue_join_awaiter join() noexcept {
        return detail::queue_join_awaiter(core_.unfinished(), core_.joiners());
    }

    /// Closes the queue: waiting getters and putters wake with queue_closed; queued items remain
    /// available; joiners keep waiting. Closing twice has no further effect.
    void close() { core_.close(); }

    /// Items in the queue (not counting those handed straight to getters).
    [[nodiscard]] std::size_t size() const noexcept { return core_.size(); }
    /// True when no item is queued.
    [[nodiscard]] bool empty() const noexcept { return core_.size() == 0; }
    /// True when maxsize() items are queued (never for an unbounded queue).
    [[nodiscard]] bool full() const noexcept { return core_.full(); }
    /// The bound given at construction (0: unbounded).
    [[nodiscard]] std::size_t maxsize() const noexcept { return core_.maxsize(); }
    /// True once close() was called.
    [[nodiscard]] bool closed() const noexcept { return core_.closed(); }

private:
    detail::queue_core<T> core_;
};

}  // namespace sluice
