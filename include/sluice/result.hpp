#pragma once
/// sluice/result.hpp: `result<T>`, a value or the exception that stood in its place.
///
/// Returned by the non-throwing await forms (`co_await t.as_result()`), by `gather(return_exceptions,
/// ...)` and by `igather(..., collect)`. `value()` returns the value or rethrows the exception.
/// T may be an object type, an lvalue reference, or void. The one storage of a finished
/// coroutine's result: a promise keeps a `result<T>` in a third, private state, "nothing yet"
/// (detail/outcome.hpp), so it costs no more than the result itself.

#include <exception>
#include <type_traits>
#include <utility>
#include <variant>

namespace sluice {

namespace detail {
template <class T>
class outcome;
/// The state of a result that holds nothing yet: only a detail::outcome (a coroutine's result
/// waiting in its promise) is ever in it; a result handed to user code never is.
struct no_result {};

/// What a result<T>'s value may be built from: T's constructor arguments; for a reference, one
/// lvalue that binds to it (never a temporary, as with std::reference_wrapper).
template <class T, class... Args>
inline constexpr bool result_constructible_from = std::is_constructible_v<T, Args...>;
template <class T, class Arg>
inline constexpr bool result_constructible_from<T&, Arg> =
    std::is_lvalue_reference_v<Arg> && std::is_convertible_v<Arg, T&>;
}  // namespace detail

template <class T>
class result {
    // A reference is kept as a pointer (not std::reference_wrapper: that would cost every includer
    // <functional>).
    using stored = std::conditional_t<std::is_reference_v<T>, std::remove_reference_t<T>*, T>;
public:
    using value_type = T;

    template <class U>
        requires detail::result_constructible_from<T, U&&>
    explicit(false) result(U&& value) : state_(std::in_place_index<0>, to_stored(std::forward<U>(value))) {}
    /// The value, constructed in place from `args` (also the way to hold a std::exception_ptr as
    /// the value: the converting constructor takes one as the error).
    template <class... Args>
        requires detail::result_constructible_from<T, Args&&...>
    explicit result(std::in_place_t, Args&&... args) : state_(std::in_place_index<0>, to_stored(std::forward<Args>(args))...) {}
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
        const std::exception_ptr* error = std::get_if<1>(&state_);
        return error != nullptr ? *error : nullptr;
    }

private:
    template <class>
    friend class detail::outcome;

    explicit result(detail::no_result) noexcept : state_(std::in_place_index<2>) {}
    [[nodiscard]] bool holds_nothing() const noexcept { return state_.index() == 2; }
    [[nodiscard]] bool holds_error() const noexcept { return state_.index() == 1; }
    template <class... Args>
    void emplace_value(Args&&... args) {
        state_.template emplace<0>(to_stored(std::forward<Args>(args))...);
    }
    void emplace_error(std::exception_ptr error) noexcept { state_.template emplace<1>(std::move(error)); }

    /// An argument as it is stored: a reference's address, anything else passed on as it is.
    template <class U>
    static decltype(auto) to_stored(U&& value) noexcept {
        if constexpr (std::is_reference_v<T>) {
            T reference = std::forward<U>(value);
            // std::addressof without <memory> (what GCC's and Clang's std::addressof call).
            return __builtin_addressof(reference);
        } else {
            return std::forward<U>(value);
        }
    }

    template <class Self>
    static decltype(auto) get(Self& self) {
        if (!self.has_value()) std::rethrow_exception(std::get<1>(self.state_));
        if constexpr (std::is_reference_v<T>) {
            return static_cast<T>(**std::get_if<0>(&self.state_));
        } else {
            return (*std::get_if<0>(&self.state_));
        }
    }

    std::variant<stored, std::exception_ptr, detail::no_result> state_;
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
