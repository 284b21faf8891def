#pragma once
// `outcome<T>`: where a coroutine's result waits to be collected: nothing yet, or a `result<T>` (a
// value or an exception). Shared by task, join_handle and the combinators; the storage, the
// reference and void forms and the rethrow are result<T>'s, written once there. "Nothing yet" is
// result's own private third state, so an outcome is as small as a result (16 B for a long long,
// where an optional<result<T>> took 24: 8 B more in every task's promise).

#include <cassert>
#include <exception>
#include <type_traits>
#include <utility>

#include "../result.hpp"

namespace sluice::detail {

/// The value of a void outcome: result<void> is a bare exception_ptr, with no room for "nothing
/// yet", so a void outcome keeps a result of this empty type instead (16 B, as before).
struct void_value {};

template <class T>
class outcome {
    using held = std::conditional_t<std::is_void_v<T>, void_value, T>;

public:
    [[nodiscard]] bool empty() const noexcept { return state_.holds_nothing(); }
    [[nodiscard]] bool has_error() const noexcept { return state_.holds_error(); }

    template <class... Args>
    void set_value(Args&&... args) {
        state_.emplace_value(std::forward<Args>(args)...);  // a value even if T is an exception_ptr
    }
    void set_error(std::exception_ptr error) noexcept { state_.emplace_error(std::move(error)); }
    [[nodiscard]] std::exception_ptr error() const noexcept { return state_.error(); }

    /// The value by reference (void for void); rethrows a stored exception.
    decltype(auto) get() & {
        assert(!empty());
        if constexpr (std::is_void_v<T>) {
            state_.value();
        } else {
            return state_.value();
        }
    }
    /// The value moved out (a reference for T&); rethrows a stored exception.
    decltype(auto) take() {
        assert(!empty());
        if constexpr (std::is_void_v<T>) {
            state_.value();
        } else {
            return std::move(state_).value();
        }
    }
    /// The value or exception as a `result<T>`, moving the value out; an exception is copied and
    /// stays, as take() leaves it to be rethrown again.
    result<T> take_result() {
        assert(!empty());
        if (has_error()) return result<T>(state_.error());
        if constexpr (std::is_void_v<T>) {
            return result<T>();
        } else {
            return std::move(state_);
        }
    }

private:
    result<held> state_{no_result{}};
};

}  // namespace sluice::detail
