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
#include "intrusive_list.hpp"
#include "queue.hpp"
#include "remote_inbox.hpp"

namespace sluice::detail {

class channel_waiter_list;

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
            was_linked = unlink();
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
        unlink();
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
        link_into(list);
        waiting_ = true;
        return true;
    }

private:
    friend class channel_waiter_list;

    // Under the mutex (defined once the list is).
    inline void link_into(channel_waiter_list& list) noexcept;
    inline bool unlink() noexcept;  // false when not linked

    std::mutex* mutex_;
    std::shared_ptr<remote_inbox> inbox_;  // of the waiter's loop
    bool waiting_ = false;                 // loop thread: suspended, not yet resumed

    // Guarded by the mutex.
    list_links<channel_waiter> links_;
    channel_waiter_list* list_ = nullptr;  // non-null while linked

public:
    /// Set under the mutex by close(), which wakes its waiters after unlocking.
    channel_waiter* wake_next = nullptr;
};

/// An intrusive FIFO of waiters, guarded by the channel's mutex; each waiter knows the list it is
/// in (cancel_wait unlinks it from there).
class channel_waiter_list : intrusive_list<channel_waiter, &channel_waiter::links_> {
    using base = intrusive_list<channel_waiter, &channel_waiter::links_>;

public:
    using base::empty;
    [[nodiscard]] channel_waiter& front() const noexcept {
        assert(!empty());
        return *base::front();
    }
    void push_back(channel_waiter& waiter) noexcept {
        waiter.list_ = this;
        base::push_back(waiter);
    }
    void remove(channel_waiter& waiter) noexcept {
        assert(waiter.list_ == this);
        base::remove(waiter);
        waiter.list_ = nullptr;
    }
};

inline void channel_waiter::link_into(channel_waiter_list& list) noexcept { list.push_back(*this); }

inline bool channel_waiter::unlink() noexcept {
    if (list_ == nullptr) return false;
    list_->remove(*this);
    return true;
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

    /// try_send (any thread): placed, or false when full (the item untouched); queue_closed when
    /// closed.
    template <class U>
    bool offer(U&& item) {
        channel_waiter* to_wake = nullptr;
        {
            std::lock_guard lock(mutex_);
            if (closed_) throw queue_closed();
            if (!place(std::forward<U>(item), to_wake)) return false;
        }
        if (to_wake != nullptr) to_wake->wake();
        return true;
    }

    /// try_receive (any thread): the head item, or nullopt when empty; queue_closed when closed
    /// and empty.
    std::optional<T> poll() {
        channel_waiter* to_wake = nullptr;
        std::optional<T> item;
        {
            std::lock_guard lock(mutex_);
            if (items_.empty()) {
                if (closed_) throw queue_closed();
                return std::nullopt;
            }
            item.emplace(take_front(to_wake));
        }
        if (to_wake != nullptr) to_wake->wake();
        return item;
    }

private:
    friend class channel_send_awaiter<T>;
    friend class channel_receive_awaiter<T>;

    /// Under the mutex, the channel open: hands the item to the oldest waiting receiver (returned
    /// in `to_wake`, to be woken after unlocking) or buffers it; false (the item untouched) when
    /// full.
    template <class U>
    bool place(U&& item, channel_waiter*& to_wake);

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
            if (!state_->place(std::move(item_), to_wake)) {
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
template <class U>
bool channel_state<T>::place(U&& item, channel_waiter*& to_wake) {
    if (!receivers_.empty()) {
        auto& receiver = static_cast<channel_receive_awaiter<T>&>(receivers_.front());
        receiver.slot_.emplace(std::forward<U>(item));  // first: if the move throws, the receiver still waits
        receivers_.remove(receiver);
        to_wake = &receiver;
        return true;
    }
    if (items_.size() == capacity_) return false;
    items_.push_back(std::forward<U>(item));
    return true;
}

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
