#pragma once
/// sluice/async_generator.hpp: `async_generator<T>`, a lazy coroutine that may both `co_await` (sleeps,
/// I/O, tasks, any awaitable) and `co_yield` values (Python: `async def` with `yield`).
///
/// Consuming, from a coroutine:
/// ```cpp
/// while (auto v = co_await gen.next()) use(*v);                    // std::optional<T>; empty at the end
/// for (auto it = co_await gen.begin(); it != gen.end(); co_await ++it) use(*it);
/// ```
/// - Lazy: the body starts with the first `next()`/`begin()` and runs only while a consumer awaits an
///   advance; between elements it stays suspended at its `co_yield`.
/// - `co_yield v` moves `v` into the generator (an lvalue of a copyable T is copied). `next()` moves
///   the element out into the returned `std::optional<T>`, so move-only T (`task<int>`) works; `*it`
///   is a `T&` valid until the next advance.
/// - An exception escaping the body is rethrown from the `co_await` that was advancing it; after that,
///   and after the body returns, every `next()` yields an empty optional (and `begin()`/`++it` the end).
/// - Awaits inside the body run in the consumer's cancellation context: cancelling the consuming task
///   interrupts a sleep or I/O inside the body, and the `cancelled_error` reaches the consumer through
///   `next()` like any other exception.
/// - Constant stack: a body yielding a million values without suspending runs in the consumer's
///   stack frame, one element at a time, also at -O0 and under ASan; a body that really suspends
///   resumes its consumer by symmetric transfer.
/// - One consumer at a time: advancing while another advance is pending throws `std::logic_error`, as
///   does advancing an empty (default-constructed or moved-from) generator.
/// - Move-only. Destroying it while the body is suspended at a `co_yield` (or before it started, or
///   after it finished) destroys the frame: the body's locals are destroyed. Destroying it while the body
///   is inside some other `co_await` (that is, while a consumer is suspended in `next()`) is a bug of the
///   owner: the awaited operation would complete into a dead frame.
///
/// Lifetime: as with task, a coroutine lambda's captures live in the lambda object; keep the lambda
/// alive while the generator is in use, or pass what the body needs as parameters.

#include <coroutine>
#include <iterator>
#include <type_traits>
#include <utility>

#include "detail/unique_coroutine.hpp"
#include "detail/async_generator.hpp"

namespace sluice {

template <class T>
class [[nodiscard]] async_generator {
    static_assert(std::is_object_v<T> && !std::is_array_v<T> && std::is_same_v<T, std::remove_cv_t<T>>,
                  "sluice::async_generator<T>: T must be a cv-unqualified, non-array object type");

public:
    using promise_type = detail::async_generator_promise<T>;
    using iterator = detail::async_generator_iterator<T>;
    using value_type = T;

    /// An empty generator; advancing it throws `std::logic_error`.
    async_generator() noexcept = default;
    explicit async_generator(std::coroutine_handle<promise_type> handle) noexcept : frame_(handle) {}
    async_generator(async_generator&&) noexcept = default;
    async_generator& operator=(async_generator&&) noexcept = default;
    /// Destroys the frame; see the header comment for when that is allowed.
    ~async_generator() = default;

    /// Awaitable yielding `std::optional<T>`: the next element (moved out), or empty once the body has
    /// finished. Rethrows an exception that escaped the body (once).
    [[nodiscard]] auto next() noexcept { return detail::async_generator_next<T>(frame_.get()); }

    /// Awaitable yielding an iterator to the next element (the first, on a fresh generator), or one
    /// equal to `end()` once the body has finished. Each call advances the body.
    [[nodiscard]] auto begin() noexcept { return detail::async_generator_begin<T>(frame_.get()); }
    /// Compares equal to an iterator once the body has finished.
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return std::default_sentinel; }

    /// True when this generator owns a coroutine (it is not default-constructed or moved-from).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(frame_); }

private:
    detail::unique_coroutine<promise_type> frame_;
};

template <class T>
async_generator<T> detail::async_generator_promise<T>::get_return_object() noexcept {
    return async_generator<T>(std::coroutine_handle<async_generator_promise<T>>::from_promise(*this));
}

}  // namespace sluice
