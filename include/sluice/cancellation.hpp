#pragma once
/// sluice/cancellation.hpp: the two exceptions of cancellation.
///
/// - `cancelled_error`: delivered inside a task at its next *real* suspension (sleep, I/O, acquire,
///   get, join, yield) after its cancellation was requested (`join_handle::cancel()`, a failing
///   sibling in `gather`/`task_group`, a `wait_for` deadline, a consumer that stopped early).
///   Fast paths that do not suspend are not cancellation points. Requests made before the previous
///   one was delivered coalesce: one delivery per request. A task may catch it and go on.
/// - `timeout_error`: raised by `wait_for` once the inner awaitable was cancelled *and* finished.

#include <stdexcept>

namespace sluice {

/// The task was asked to stop; thrown from the awaitable it was suspended on.
class cancelled_error : public std::runtime_error {
public:
    cancelled_error() : std::runtime_error("sluice: task cancelled") {}
};

/// `wait_for`'s deadline passed; the inner awaitable has already been cancelled and cleaned up.
class timeout_error : public std::runtime_error {
public:
    timeout_error() : std::runtime_error("sluice: timed out") {}
};

}  // namespace sluice
