#pragma once
// Catch's assertion macros must not hold a co_await (GCC 12 evaluates the operand of their
// never-taken trailing branch too), so a test awaits first and asserts on what it got.

#include <sluice/cancellation.hpp>
#include <sluice/task.hpp>

#include <string>
#include <utility>

namespace sluice_test {

/// Awaits `awaitable`; the what() of the `Exception` it threw, or "(no exception)". Any other
/// exception propagates.
template <class Exception, class Awaitable>
sluice::task<std::string> error_of(Awaitable awaitable) {
    try {
        (void)co_await std::move(awaitable);
    } catch (const Exception& e) {
        co_return std::string(e.what());
    }
    co_return std::string("(no exception)");
}

/// Awaits `awaitable` in place (a join_handle another thread may still cancel stays where it is):
/// true if it threw cancelled_error, false if it completed. Any other exception propagates.
template <class Awaitable>
sluice::task<bool> ends_cancelled(Awaitable& awaitable) {
    try {
        (void)co_await std::move(awaitable);
    } catch (const sluice::cancelled_error&) {
        co_return true;
    }
    co_return false;
}

}  // namespace sluice_test
