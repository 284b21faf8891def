#pragma once
/// sluice/channel.hpp: `channel<T>`, a bounded FIFO between loops (thread-per-core's message
/// passing; Go's buffered channels, glommio's shared channels).
///
/// - `channel<T> ch(capacity)`: at most `capacity` items buffered (at least 1; 0 is
///   `std::invalid_argument`). The object is a handle: copies share the same channel, and each
///   loop may keep its own copy. The state lives until the last copy goes away (items still
///   buffered are then destroyed).
/// - `co_await ch.send(item)` buffers the item, or hands it to the oldest waiting receiver;
///   suspends while the channel is full (back pressure). `co_await ch.receive()` yields the head
///   item; suspends while the channel is empty. Senders and receivers may be on any loops; several
///   of each may wait. FIFO for items and for waiters, with direct hand-off, as `queue<T>`.
/// - A waiter on another loop is woken by a message to its own loop (its inbox's eventfd, read by
///   the loop's backend), never by polling; a waiter on the same loop is scheduled directly. A
///   task always resumes on its own loop. While a task waits on a channel, its loop waits for
///   another thread to act rather than report a deadlock (as for `to_thread`).
/// - `try_send(item) -> bool` (false when full, the item untouched) and `try_receive() ->
///   std::optional<T>` (nullopt when empty) never wait, and work from any thread, inside a loop or
///   not: a plain thread can feed a loop or drain it. They wake a waiter on the other side as send
///   and receive do.
/// - `close()` (from any thread, also outside a loop): the waiting senders and receivers wake with
///   `queue_closed`; items already buffered can still be received; then receive throws
///   `queue_closed`. send on a closed channel throws `queue_closed` (the item is destroyed with the
///   awaiter). Closing twice has no further effect. `closed()` tells whether it was closed.
/// - Cancellation (as `queue`): send and receive are cancellation points only when they suspend. A
///   cancelled receive never drops an item: one already handed over is returned, the cancel being
///   delivered at the task's next real suspension. A cancelled send is all-or-nothing: either its
///   item was placed and send returns normally (the cancel stays pending), or it throws
///   `cancelled_error` and the item is destroyed with it.
/// - The channel handle a `send`/`receive` was called on must outlive that co_await (as for a
///   queue). Suspending needs a running loop (`std::logic_error` outside `sluice::run`); a send or
///   receive that completes at once does not.
/// - Only the channel's own small state takes a mutex (held for a few pointer moves, never while a
///   coroutine runs); a loop takes no other lock for it.

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "detail/channel.hpp"
#include "queue.hpp"

namespace sluice {

/// A bounded FIFO channel between tasks on any loops; copies are handles of the same channel.
template <class T>
class channel {
    static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_array_v<T>,
                  "sluice::channel<T>: T must be a non-const object type");

public:
    /// Buffers at most `capacity` items; std::invalid_argument when it is 0.
    explicit channel(std::size_t capacity) : state_(make_state(capacity)) {}
    /// Another handle of the same channel. There is no move: a "moved-from" handle is a copy and
    /// stays usable.
    channel(const channel&) = default;
    channel& operator=(const channel&) = default;
    ~channel() = default;

    /// `co_await send(item)` buffers the item or hands it to the oldest waiting receiver; waits
    /// while full. queue_closed if the channel is (or gets) closed before the item went in.
    [[nodiscard]] detail::channel_send_awaiter<T> send(T item) noexcept(std::is_nothrow_move_constructible_v<T>) {
        return detail::channel_send_awaiter<T>(*state_, std::move(item));
    }

    /// `co_await receive()` yields the head item; waits while empty. queue_closed once the channel
    /// is closed and empty.
    [[nodiscard]] detail::channel_receive_awaiter<T> receive() noexcept {
        return detail::channel_receive_awaiter<T>(*state_);
    }

    /// Sends without waiting, from any thread (a loop's or not): true once the item was handed to
    /// the oldest waiting receiver or buffered; false when full, the item untouched;
    /// queue_closed when closed.
    [[nodiscard]] bool try_send(const T& item) { return state_->offer(item); }
    /// As above; the item is moved from only when it was placed.
    [[nodiscard]] bool try_send(T&& item) { return state_->offer(std::move(item)); }

    /// Receives without waiting, from any thread: the head item (a sender waiting on the full
    /// channel then places its item and wakes), or nullopt when empty; queue_closed when closed
    /// and empty.
    [[nodiscard]] std::optional<T> try_receive() { return state_->poll(); }

    /// Closes the channel (any thread): waiting senders and receivers wake with queue_closed;
    /// buffered items remain receivable.
    void close() noexcept { state_->close(); }
    /// True once close() was called (any thread).
    [[nodiscard]] bool closed() const { return state_->closed(); }
    /// The bound given at construction.
    [[nodiscard]] std::size_t capacity() const noexcept { return state_->capacity(); }

private:
    static std::shared_ptr<detail::channel_state<T>> make_state(std::size_t capacity) {
        if (capacity == 0) throw std::invalid_argument("sluice::channel: capacity must be at least 1");
        return std::make_shared<detail::channel_state<T>>(capacity);
    }

    std::shared_ptr<detail::channel_state<T>> state_;
};

}  // namespace sluice
