#pragma once
/// sluice/result.hpp: `result<T>`, a value or the exception that stood in its place.
///
/// Returned by the non-throwing await forms (`co_await t.as_result()`), by `gather(return_exceptions,
/// ...)` and by `igather(..., collect)`. `value()` returns the value or rethrows the exception.
/// T may be an object type, an lvalue reference, or void. The one storage of a finished
/// coroutine's result: the promises keep an optional `result<T>` (detail/outcome.hpp).

#include <exception>
#include <functional>
#include <type_traits>
#include <utility>
#include <variant>

namespace sluice {

template <class T>
class result {
    using stored = std::conditional_t<std::is_reference_v<T>, std::reference_wrapper<std::remove_reference_t<T>>, T>;

public:
    using value_type = T;

    template <class U>
        requires std::is_constructible_v<stored, U&&>
    explicit(false) result(U&& value) : state_(std::in_place_index<0>, std::forward<U>(value)) {}
    /// The value, constructed in place from `args` (also the way to hold a std::exception_ptr as
    /// the value: the converting constructor takes one as the error).
    template <class... Args>
        requires std::is_constructible_v<stored, Args&&...>
    explicit result(std::in_place_t, Args&&... args) : state_(std::in_place_index<0>, std::forward<Args>(args)...) {}
    explicit(false) result(std::exception_ptr error) : state_(std::in_place_index<1>, std::move(error)) {}

    [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The value; rethrows the stored exception.
    decltype(auto) value() & { return get(*this); }
    decltype(auto) value() const& { return get(*this); }
    decltype(auto) value() && {
        if constexpr (std::is_reference_v<T>) {
            return get(*this);
        } else {
            return T(std::move(get(*this)));
        }
    }
    decltype(auto) operator*() & { return value(); }
    decltype(auto) operator*() && { return std::move(*this).value(); }

    /// The stored exception, or null when there is a value.
    [[nodiscard]] std::exception_ptr error() const noexcept {
        return has_value() ? nullptr : std::get<1>(state_);
    }

private:
    template <class Self>
    static decltype(auto) get(Self& self) {
        if (!self.has_value()) std::rethrow_exception(std::get<1>(self.state_));
        if constexpr (std::is_reference_v<T>) {
            return static_cast<T>(std::get<0>(self.state_).get());
        } else {
            return (std::get<0>(self.state_));
        }
    }

    std::variant<stored, std::exception_ptr> state_;
};

template <>
class result<void> {
public:
    using value_type = void;

    result() noexcept = default;
    explicit(false) result(std::exception_ptr error) noexcept : error_(std::move(error)) {}

    [[nodiscard]] bool has_value() const noexcept { return error_ == nullptr; }
    explicit operator bool() const noexcept { return has_value(); }
    void value() const {
        if (error_) std::rethrow_exception(error_);
    }
    void operator*() const { value(); }
    [[nodiscard]] std::exception_ptr error() const noexcept { return error_; }

private:
    std::exception_ptr error_;
};

}  // namespace sluice
