#pragma once
// Machinery of sluice/channel.hpp: the shared state of a channel (items, bound, closed flag and two
// lists of waiters, under one mutex), and the awaiters of send and receive.
//
// A waiter lives in its suspended frame on its own loop. Whoever completes it (a send handing it an
// item, a receive making room, close) does so under the channel's mutex: it unlinks the waiter and
// stores the outcome in it (the item in a receiver's slot, `placed_` for a sender). After unlocking
// it wakes the waiter: on the waiter's own loop thread directly (schedule), from any other thread by
// posting the waiter to its loop's inbox (remote_inbox: one eventfd write when that inbox was empty;
// the loop sleeping in the kernel wakes on its armed read). Nothing ever polls, and the waiter is
// resumed on its own loop only: a frame never runs on two threads.
//
// While a waiter waits, its loop's inbox counts it as expected (like a to_thread job): a loop whose
// only task waits on a channel waits for another loop to act rather than reporting a deadlock.
//
// The mutex guards only the channel's state; it is never held while a coroutine runs or while a
// waiter is woken. The inbox's own mutex may be taken after it (post), never the other way round.

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

#include "event_loop.hpp"
#include "queue.hpp"
#include "remote_inbox.hpp"

namespace sluice::detail {

class channel_waiter;

/// An intrusive FIFO of waiters, guarded by the channel's mutex.
class channel_waiter_list {
public:
    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
    inline void push_back(channel_waiter& waiter) noexcept;
    inline void remove(channel_waiter& waiter) noexcept;
    [[nodiscard]] channel_waiter& front() const noexcept {
        assert(head_ != nullptr);
        return *head_;
    }

private:
    channel_waiter* head_ = nullptr;
    channel_waiter* tail_ = nullptr;
};

/// What send and receive have in common: the links, the waiter's loop and inbox, the wake-up.
///
/// TRICKY (cancellation): a cancel is requested on the waiter's own loop thread. If the waiter is
/// still linked, it unlinks itself under the mutex: nobody else can complete it any more, and it
/// resumes with cancelled_error, having obtained nothing. If it is no longer linked, another
/// thread has completed it (an item handed over, its item placed, or close) and a wake-up is on its
/// way: the waiter stays suspended until that wake-up arrives, the other side's last touch of it,
/// and resumes normally; the cancel stays pending for the task's next real suspension, so an item
/// handed over is never dropped and a placed item is never reported as unsent.
class channel_waiter : public remote_wait, public remote_completion {
public:
    /// Loop thread: the wake-up arrived (posted, or called directly on the same loop).
    void deliver() noexcept override {
        waiting_ = false;
        arrived(*inbox_);
    }

    void cancel_wait() noexcept override {
        bool was_linked = false;
        {
            std::lock_guard lock(*mutex_);
            if (list_ != nullptr) {
                list_->remove(*this);
                was_linked = true;
            }
        }
        if (!was_linked) return;  // completed elsewhere: the wake-up resumes us normally
        waiting_ = false;
        withdrawn(*inbox_);
    }

    /// Any thread, after unlocking: wakes a waiter this thread has completed and unlinked.
    void wake() noexcept {
        if (event_loop::current_or_null() == loop_) {
            deliver();  // its own loop: schedule it, no eventfd write
            return;
        }
        // The waiter's loop cannot have ended: its frame is suspended here and counted as expected
        // by the inbox, so the loop waits for this post.
        [[maybe_unused]] const bool posted = inbox_->post(*this);
        assert(posted);
    }

protected:
    explicit channel_waiter(std::mutex& mutex) noexcept : mutex_(&mutex) {}
    channel_waiter(channel_waiter&& other) noexcept
        : remote_wait(), remote_completion(), mutex_(other.mutex_) {}
    ~channel_waiter() {
        // Reached while waiting only if the suspended frame is destroyed without being resumed
        // (a loop that ended in a deadlock leaks its frames instead): leave the list at least.
        if (!waiting_) return;
        std::lock_guard lock(*mutex_);
        if (list_ != nullptr) list_->remove(*this);
    }

    /// await_suspend's slow path, under the mutex: registers the wait and links it. False when a
    /// pending cancel is delivered now (nothing linked).
    template <class Promise>
    bool wait_in(channel_waiter_list& list, std::coroutine_handle<Promise> waiter, event_loop& loop,
                 const std::shared_ptr<remote_inbox>& inbox) {
        inbox_ = inbox;
        if (!enter(waiter)) return false;
        loop_ = &loop;
        inbox_->expect();
        list.push_back(*this);
        waiting_ = true;
        return true;
    }

private:
    friend class channel_waiter_list;

    std::mutex* mutex_;
    std::shared_ptr<remote_inbox> inbox_;  // of the waiter's loop
    bool waiting_ = false;                 // loop thread: suspended, not yet resumed

    // Guarded by the mutex.
    channel_waiter* prev_ = nullptr;
    channel_waiter* next_ = nullptr;
    channel_waiter_list* list_ = nullptr;  // non-null while linked

public:
    /// Set under the mutex by close(), which wakes its waiters after unlocking.
    channel_waiter* wake_next = nullptr;
};

inline void channel_waiter_list::push_back(channel_waiter& waiter) noexcept {
    waiter.list_ = this;
    waiter.prev_ = tail_;
    waiter.next_ = nullptr;
    (tail_ != nullptr ? tail_->next_ : head_) = &waiter;
    tail_ = &waiter;
}

inline void channel_waiter_list::remove(channel_waiter& waiter) noexcept {
    assert(waiter.list_ == this);
    (waiter.prev_ != nullptr ? waiter.prev_->next_ : head_) = waiter.next_;
    (waiter.next_ != nullptr ? waiter.next_->prev_ : tail_) = waiter.prev_;
    waiter.prev_ = waiter.next_ = nullptr;
    waiter.list_ = nullptr;
}

template <class T>
class channel_send_awaiter;
template <class T>
class channel_receive_awaiter;

/// The state every handle of a channel<T> shares.
///
/// Invariants (under the mutex): receivers wait only while no item is buffered, senders only
/// while the buffer is full, and neither after close. So a send while receivers wait hands its item
/// to the oldest receiver, and a receive while senders wait takes the head item and moves the
/// oldest sender's item into the freed place: nobody overtakes a waiter.
template <class T>
class channel_state {
public:
    explicit channel_state(std::size_t capacity) : capacity_(capacity) {}

    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] bool closed() {
        std::lock_guard lock(mutex_);
        return closed_;
    }

    /// Wakes every waiting sender and receiver (they see queue_closed); buffered items remain.
    void close() noexcept {
        channel_waiter* woken = nullptr;
        {
            std::lock_guard lock(mutex_);
            if (closed_) return;
            closed_ = true;
            for (channel_waiter_list* list : {&receivers_, &senders_}) {
                while (!list->empty()) {
                    channel_waiter& waiter = list->front();
                    list->remove(waiter);
                    waiter.wake_next = woken;
                    woken = &waiter;
                }
            }
        }
        while (woken != nullptr) std::exchange(woken, woken->wake_next)->wake();
    }

private:
    friend class channel_send_awaiter<T>;
    friend class channel_receive_awaiter<T>;

    /// Under the mutex: the head item; the oldest waiting sender's item moves into its place, and
    /// that sender is returned, to be woken after unlocking.
    T take_front(channel_waiter*& to_wake);

    std::mutex mutex_;
    std::deque<T> items_;
    const std::size_t capacity_;
    bool closed_ = false;
    channel_waiter_list receivers_;
    channel_waiter_list senders_;
};

/// `co_await ch.send(item)`: see sluice/channel.hpp.
template <class T>
class channel_send_awaiter final : public channel_waiter {
public:
    channel_send_awaiter(channel_state<T>& state, T&& item) noexcept(std::is_nothrow_move_constructible_v<T>)
        : channel_waiter(state.mutex_), state_(&state), item_(std::move(item)) {}
    channel_send_awaiter(channel_send_awaiter&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
        : channel_waiter(std::move(other)), state_(other.state_), item_(std::move(other.item_)) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }  // decided under the mutex
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        channel_waiter* to_wake = nullptr;
        {
            std::lock_guard lock(state_->mutex_);
            if (state_->closed_) return false;  // await_resume throws queue_closed
            if (!state_->receivers_.empty()) {
                auto& receiver = static_cast<channel_receive_awaiter<T>&>(state_->receivers_.front());
                state_->receivers_.remove(receiver);
                receiver.slot_.emplace(std::move(item_));
                to_wake = &receiver;
            } else if (state_->items_.size() < state_->capacity_) {
                state_->items_.push_back(std::move(item_));
            } else {
                event_loop& loop = event_loop::current();  // may throw: nothing registered yet
                return wait_in(state_->senders_, waiter, loop, remote_inbox::of(loop));
            }
            placed_ = true;
        }
        if (to_wake != nullptr) to_wake->wake();
        return false;
    }
    void await_resume() const {
        throw_if_cancelled();
        if (!placed_) throw queue_closed();
    }

private:
    friend class channel_state<T>;

    channel_state<T>* state_;
    T item_;
    bool placed_ = false;  // written under the mutex (by a receiver on any thread) before the wake
};

/// `co_await ch.receive()`: see sluice/channel.hpp.
template <class T>
class channel_receive_awaiter final : public channel_waiter {
public:
    explicit channel_receive_awaiter(channel_state<T>& state) noexcept
        : channel_waiter(state.mutex_), state_(&state) {}
    channel_receive_awaiter(channel_receive_awaiter&& other) noexcept
        : channel_waiter(std::move(other)), state_(other.state_) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }  // decided under the mutex
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        channel_waiter* to_wake = nullptr;
        {
            std::lock_guard lock(state_->mutex_);
            if (!state_->items_.empty()) {
                slot_.emplace(state_->take_front(to_wake));
            } else if (!state_->closed_) {
                event_loop& loop = event_loop::current();  // may throw: nothing registered yet
                return wait_in(state_->receivers_, waiter, loop, remote_inbox::of(loop));
            }
        }
        if (to_wake != nullptr) to_wake->wake();
        return false;
    }
    T await_resume() {
        throw_if_cancelled();
        if (slot_.has_value()) return std::move(*slot_);
        throw queue_closed();  // closed and empty
    }

private:
    friend class channel_state<T>;
    friend class channel_send_awaiter<T>;

    channel_state<T>* state_;
    std::optional<T> slot_;  // written under the mutex (by a sender on any thread) before the wake
};

template <class T>
T channel_state<T>::take_front(channel_waiter*& to_wake) {
    T item = std::move(items_.front());
    items_.pop_front();
    if (!senders_.empty()) {
        auto& sender = static_cast<channel_send_awaiter<T>&>(senders_.front());
        senders_.remove(sender);
        items_.push_back(std::move(sender.item_));
        sender.placed_ = true;
        to_wake = &sender;
    }
    return item;
}

}  // namespace sluice::detail
