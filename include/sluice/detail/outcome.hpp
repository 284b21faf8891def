#pragma once
// `outcome<T>`: where a coroutine's result waits to be collected: nothing yet, a value, or an
// exception. Shared by task, join_handle and the combinators so there is one such storage.

#include <cassert>
#include <exception>
#include <functional>
#include <type_traits>
#include <utility>
#include <variant>

#include "../result.hpp"

namespace sluice::detail {

template <class T>
class outcome {
    struct nothing {};
    using stored = std::conditional_t<std::is_void_v<T>, nothing,
                                      std::conditional_t<std::is_reference_v<T>,
                                                         std::reference_wrapper<std::remove_reference_t<T>>, T>>;

public:
    [[nodiscard]] bool empty() const noexcept { return state_.index() == 0; }
    [[nodiscard]] bool has_error() const noexcept { return state_.index() == 2; }

    template <class... Args>
    void set_value(Args&&... args) {
        state_.template emplace<1>(std::forward<Args>(args)...);
    }
    void set_error(std::exception_ptr error) noexcept { state_.template emplace<2>(std::move(error)); }
    [[nodiscard]] std::exception_ptr error() const noexcept {
        return has_error() ? std::get<2>(state_) : nullptr;
    }

    /// The value by reference (void for void); rethrows a stored exception.
    decltype(auto) get() & {
        assert(!empty());
        if (has_error()) std::rethrow_exception(std::get<2>(state_));
        if constexpr (std::is_void_v<T>) {
            return;
        } else if constexpr (std::is_reference_v<T>) {
            return static_cast<T>(std::get<1>(state_).get());
        } else {
            return static_cast<T&>(std::get<1>(state_));
        }
    }
    /// The value moved out (a reference for T&); rethrows a stored exception.
    decltype(auto) take() {
        if constexpr (std::is_void_v<T> || std::is_reference_v<T>) {
            return get();
        } else {
            return T(std::move(get()));
        }
    }
    /// The value or exception as a `result<T>`, moving the value out.
    result<T> take_result() {
        assert(!empty());
        if (has_error()) return result<T>(std::get<2>(state_));
        if constexpr (std::is_void_v<T>) {
            return result<T>();
        } else if constexpr (std::is_reference_v<T>) {
            return result<T>(std::get<1>(state_).get());
        } else {
            return result<T>(std::move(std::get<1>(state_)));
        }
    }

private:
    std::variant<std::monostate, stored, std::exception_ptr> state_;
};

}  // namespace sluice::detail
