#pragma once
/// sluice/cancellation.hpp: the two exceptions of cancellation.
///
/// - `cancelled_error`: delivered inside a task at its next *real* suspension (sleep, I/O, acquire,
///   get, join, yield) after its cancellation was requested (`join_handle::cancel()`, a failing
///   sibling in `gather`/`task_group`, a `wait_for` deadline, a consumer that stopped early).
///   Fast paths that do not suspend are not cancellation points. Requests made before the previous
///   one was delivered coalesce: one delivery per request. A task may catch it and go on.
///   It does **not** derive from `std::exception` (asyncio moved CancelledError to BaseException
///   for the same reason): the common retry loop `try { co_await op(); } catch (const
///   std::exception&) { retry; }` must not swallow a cancel, or a `wait_for` deadline would turn
///   into an endless retry. Catch it by name (`catch (const sluice::cancelled_error&)`) or with
///   `catch (...)` and rethrow.
/// - `timeout_error`: raised by `wait_for` once the inner awaitable was cancelled *and* finished.
///   An ordinary `std::runtime_error`: a timeout is a failure the caller handles like any other.

#include <stdexcept>

namespace sluice {

/// The task was asked to stop; thrown from the awaitable it was suspended on. Deliberately not a
/// `std::exception` (see above).
class cancelled_error {
public:
    /// A fixed description, for logs and test reports (there is no `std::exception::what` to call).
    [[nodiscard]] const char* what() const noexcept { return "sluice: task cancelled"; }
};

/// `wait_for`'s deadline passed; the inner awaitable has already been cancelled and cleaned up.
class timeout_error : public std::runtime_error {
public:
    timeout_error() : std::runtime_error("sluice: timed out") {}
};

}  // namespace sluice
