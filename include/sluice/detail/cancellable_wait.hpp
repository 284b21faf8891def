#pragma once
// The one interface a cancel request calls, and the one-word context that calls it: in a header of
// their own, because the timer queue's nodes implement the interface (a sleep or a deadline is a
// timer and a wait in one object, with one vtable pointer) and every promise keeps a context (an
// engine item's own, in place: promise.hpp), and neither should include the whole cancellation
// machinery (cancellation.hpp).

#include <utility>

namespace sluice::detail {

/// A suspended wait that can be asked to end early.
class cancellable_wait {
public:
    /// Arrange for the waiter to be resumed (through the ready queue, or after the kernel confirms an
    /// I/O cancel). Never resumes inline.
    virtual void cancel_wait() noexcept = 0;

protected:
    ~cancellable_wait() = default;
};

/// TRICKY (layout): one word, since every unit has one (an engine item's is in its promise, and a
/// fan-out keeps a million items). A pending request and a registered wait never coexist: a wait
/// registers only after take_pending() found no request, and a request unregisters the wait it
/// interrupts. So the word holds either nothing, the registered wait, or `requested_mark`.
class cancel_context {
public:
    [[nodiscard]] bool cancel_requested() const noexcept { return state_ == requested_mark(); }

    /// Requests made before the previous one was delivered coalesce into one delivery.
    void request_cancel() noexcept {
        cancellable_wait* const waiting = std::exchange(state_, requested_mark());
        if (waiting != nullptr && waiting != requested_mark()) waiting->cancel_wait();
    }

    /// Called by a cancellation point about to suspend: true means "deliver the pending request now".
    [[nodiscard]] bool take_pending() noexcept {
        if (!cancel_requested()) return false;
        state_ = nullptr;
        return true;
    }

    /// Only after take_pending() returned false (see the TRICKY note).
    void wait_on(cancellable_wait* wait) noexcept { state_ = wait; }
    void wait_done(const cancellable_wait* wait) noexcept {
        if (state_ == wait) state_ = nullptr;
    }
    /// The request was delivered (as cancelled_error) by the wait it interrupted.
    void delivered() noexcept {
        if (cancel_requested()) state_ = nullptr;
    }

private:
    /// A pending request: an address no wait has (never dereferenced).
    static cancellable_wait* requested_mark() noexcept {
        static constinit char mark = 0;
        return reinterpret_cast<cancellable_wait*>(&mark);
    }

    cancellable_wait* state_ = nullptr;  // nothing, the registered wait, or requested_mark()
};

}  // namespace sluice::detail
