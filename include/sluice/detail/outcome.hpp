#pragma once
// `outcome<T>`: where a coroutine's result waits to be collected: nothing yet, or a `result<T>` (a
// value or an exception). Shared by task, join_handle and the combinators; the storage, the
// reference and void forms and the rethrow are result<T>'s, written once there.

#include <cassert>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "../result.hpp"

namespace sluice::detail {

template <class T>
class outcome {
public:
    [[nodiscard]] bool empty() const noexcept { return !state_.has_value(); }
    [[nodiscard]] bool has_error() const noexcept { return state_.has_value() && !state_->has_value(); }

    template <class... Args>
    void set_value(Args&&... args) {
        if constexpr (std::is_void_v<T>) {
            state_.emplace();
        } else {
            state_.emplace(std::in_place, std::forward<Args>(args)...);  // a value even if T is an exception_ptr
        }
    }
    void set_error(std::exception_ptr error) noexcept { state_.emplace(std::move(error)); }
    [[nodiscard]] std::exception_ptr error() const noexcept { return state_.has_value() ? state_->error() : nullptr; }

    /// The value by reference (void for void); rethrows a stored exception.
    decltype(auto) get() & {
        assert(!empty());
        return state_->value();
    }
    /// The value moved out (a reference for T&); rethrows a stored exception.
    decltype(auto) take() {
        assert(!empty());
        return std::move(*state_).value();
    }
    /// The value or exception as a `result<T>`, moving the value out; an exception is copied and
    /// stays, as take() leaves it to be rethrown again.
    result<T> take_result() {
        assert(!empty());
        if (has_error()) return result<T>(state_->error());
        return std::move(*state_);
    }

private:
    std::optional<result<T>> state_;
};

}  // namespace sluice::detail
