#pragma once
// `co_await throws<E>(awaitable)`: whether awaiting it throws E. Catch's CHECK_THROWS_AS cannot
// hold a co_await, so tests await through this and CHECK the bool.

#include <sluice/task.hpp>

#include <utility>

/// True if awaiting `awaitable` throws `Exception`; false if it returns or throws something else.
template <class Exception, class Awaitable>
sluice::task<bool> throws(Awaitable&& awaitable) {
    try {
        (void)co_await std::forward<Awaitable>(awaitable);
    } catch (const Exception&) {
        co_return true;
    } catch (...) {
        co_return false;
    }
    co_return false;
}
