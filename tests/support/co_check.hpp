#pragma once
// Checks inside coroutine test bodies, where Catch's macros cannot hold a co_await:
// - `co_await throws<E>(awaitable)`: whether awaiting it throws E (for CHECK_THROWS_AS);
// - `CO_CHECK_EQ(awaitable, expected)`: CHECK(co_await awaitable == expected). Catch spells the
//   checked expression a second time in its macro's loop condition, and GCC 12 mishandles a
//   co_await there (the check fails or the body hangs).

#include <sluice/task.hpp>

#include <utility>

#include "catch.hpp"

#define CO_CHECK_EQ(awaitable, expected)               \
    do {                                               \
        const auto awaited_value = co_await awaitable; \
        CHECK(awaited_value == (expected));            \
    } while (false)

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
