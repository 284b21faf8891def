#pragma once
// The one interface a cancel request calls: in a header of its own, because the timer queue's
// nodes implement it too (a sleep or a deadline is a timer and a wait in one object, with one
// vtable pointer) and the event loop should not include the whole cancellation machinery.

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

}  // namespace sluice::detail
