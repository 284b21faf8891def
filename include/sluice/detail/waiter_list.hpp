#pragma once
// The intrusive FIFO of suspended waiters behind semaphore, event and queue: one implementation.
//
// A `list_waiter` is a cancellation point (see cancellation.hpp) that lives in the suspended frame
// and links itself into a `waiter_list` owned by the primitive it waits on. Nothing is allocated
// per wait. A wait ends in exactly one of two ways:
//  - the owner completes it: `wake_front`/`wake_all` unlink the waiter, end the wait normally
//    (finish_completed) and schedule it; whatever the wait obtained (a permit, an item) is already
//    the waiter's, and a cancel arriving before it runs stays pending for its next real suspension;
//  - a cancel request ends it: `cancel_wait` unlinks it and schedules it to throw cancelled_error;
//    it obtained nothing.
// Either way the waiter is resumed through the ready queue, never inline.

#include <cassert>
#include <coroutine>

#include "cancellation.hpp"
#include "event_loop.hpp"
#include "intrusive_list.hpp"

namespace sluice::detail {

class waiter_list_base;

/// A cancellable wait queued on a waiter_list: semaphore acquire, event wait, queue get/put/join.
class list_waiter : public cancellation_point {
public:
    /// A cancel request: leave the list and be resumed (later) with cancelled_error. Declared
    /// `inline` here: a virtual function defined out of line but not declared inline in its class
    /// is the class's key function, and every includer would compile it and the vtable.
    inline void cancel_wait() noexcept final;

    [[nodiscard]] bool linked() const noexcept { return list_ != nullptr && list_ != orphaned_mark(); }

protected:
    list_waiter() = default;
    /// Awaitables are moved only before they are awaited (e.g. into wait_for's inner task); a
    /// moved waiter starts unlinked.
    list_waiter(list_waiter&&) noexcept : cancellation_point() {}
    list_waiter& operator=(list_waiter&&) = delete;
    ~list_waiter();

    /// await_suspend's body: false when a pending cancel is delivered now (nothing queued).
    template <class Promise>
    [[nodiscard]] bool suspend_on(waiter_list_base& list, std::coroutine_handle<Promise> waiter);

private:
    friend class waiter_list_base;

    /// `list_` of a waiter whose primitive died while it waited: unlinked, and still registered
    /// with its cancel context. An address no list has (never dereferenced).
    static waiter_list_base* orphaned_mark() noexcept {
        static constinit char mark = 0;
        return reinterpret_cast<waiter_list_base*>(&mark);
    }

    list_links<list_waiter> links_;
    /// TRICKY (layout): one word says whether the waiter waits and on what: null before it
    /// suspends and once it is woken or cancelled, its list while queued, orphaned_mark() if the
    /// list died first. The waiter lives in every suspended frame (W3 of floor_compare.py keeps
    /// 10,000 of them cycling through the cache), so neither a flag beside it nor the loop is
    /// kept: the loop to schedule on is the one running, which owns the primitive.
    waiter_list_base* list_ = nullptr;
};

/// The list itself, untyped; `waiter_list<Node>` gives typed access to the front.
class waiter_list_base {
public:
    waiter_list_base() = default;
    waiter_list_base(const waiter_list_base&) = delete;
    waiter_list_base& operator=(const waiter_list_base&) = delete;
    /// A primitive should outlive its waiters. Any still queued are unlinked, so that neither their
    /// destruction nor their cancellation touches this dead list (a cancel still resumes them).
    ~waiter_list_base() {
        while (!empty()) abandon_front();
    }

    [[nodiscard]] bool empty() const noexcept { return waiters_.empty(); }

    void push_back(list_waiter& waiter) noexcept {
        assert(!waiter.linked());
        waiter.list_ = this;
        waiters_.push_back(waiter);
    }

    void remove(list_waiter& waiter) noexcept {
        assert(waiter.list_ == this);
        waiters_.remove(waiter);
        waiter.list_ = nullptr;
    }

    /// Ends the oldest wait normally: unlinks it, unregisters it from its cancellation context and
    /// schedules it. The caller has already given it what it waited for.
    void wake_front() {
        assert(!empty());
        list_waiter& waiter = *waiters_.front();
        // Scheduling is the only step that can fail (the ready queue grows): do it first, so a
        // failure leaves the waiter queued and the list unchanged.
        event_loop::current().schedule(waiter.waiter_);
        remove(waiter);
        waiter.finish_completed();
    }

    /// Unlinks the oldest waiter without ending its wait: for a primitive dying with waiters
    /// still queued, against its contract. The waiter's destructor or a cancel then ends the wait
    /// without touching the list.
    void abandon_front() noexcept {
        list_waiter& waiter = *waiters_.front();
        remove(waiter);
        waiter.list_ = list_waiter::orphaned_mark();
    }

    /// Ends every wait normally, oldest first (they run in that order).
    void wake_all() {
        while (!empty()) wake_front();
    }

protected:
    [[nodiscard]] list_waiter& front_waiter() const noexcept {
        assert(!empty());
        return *waiters_.front();
    }

private:
    intrusive_list<list_waiter, &list_waiter::links_> waiters_;
};

/// A waiter_list whose members are all `Node`s (classes derived from list_waiter).
template <class Node = list_waiter>
class waiter_list : public waiter_list_base {
public:
    [[nodiscard]] Node& front() const noexcept { return static_cast<Node&>(front_waiter()); }
    void push_back(Node& waiter) noexcept { waiter_list_base::push_back(waiter); }
};

inline void list_waiter::cancel_wait() noexcept {
    // TRICKY: request_cancel calls this only while the wait is registered with its context, and
    // it is registered exactly while it is queued: suspend_on registers (enter) and queues with
    // nothing in between, and wake_front unlinks and unregisters (finish_completed) together. So
    // `list_` is valid here, and a wait the owner already completed (a permit or an item handed
    // over, the waiter scheduled but not yet run) is never cancelled: the request stays pending
    // for the task's next real suspension, and what the wait obtained reaches the task.
    if (linked()) list_->remove(*this);  // not linked only if the primitive died first
    list_ = nullptr;
    finish_cancelled();
    event_loop::current().schedule(waiter_);
}

template <class Promise>
bool list_waiter::suspend_on(waiter_list_base& list, std::coroutine_handle<Promise> waiter) {
    event_loop::current();  // std::logic_error outside a loop: before anything is registered
    if (!enter(waiter)) return false;
    list.push_back(*this);
    return true;
}

inline list_waiter::~list_waiter() {
    // Only reached while waiting if the suspended frame is destroyed without being resumed: leave
    // the list and the cancellation context rather than dangle in them.
    if (list_ != nullptr) {
        if (linked()) list_->remove(*this);
        finish_completed();
    }
}

}  // namespace sluice::detail
