#pragma once
// Machinery of sluice::generator<T>: the promise and the input iterator.
//
// Value storage: each `co_yield` moves (or, for an lvalue of a copyable T, copies) the value into an
// optional held by the promise. The iterator hands out `T&` to that slot, so the consumer may move the
// value out with `std::move(*it)`. The slot is emptied just before the body is resumed, so a yielded
// value the consumer left in place is destroyed promptly and never outlives its turn.
//
// Why store rather than point at the yielded object (as std::generator does): a prvalue yielded as
// `co_yield make_task(i);` would be reachable through a pointer too, but a copied lvalue needs a home
// anyway, and one uniform slot keeps the rules simple: the consumer always gets a mutable object it
// owns for the turn, whatever the body wrote. The price is one move per element.

#include <coroutine>
#include <cstddef>
#include <exception>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace sluice {

template <class T>
class generator;

}  // namespace sluice

namespace sluice::detail {

template <class T>
class generator_promise {
public:
    generator_promise() = default;
    generator_promise(const generator_promise&) = delete;
    generator_promise& operator=(const generator_promise&) = delete;

    generator<T> get_return_object() noexcept;

    // Lazy: nothing of the body runs before begin().
    std::suspend_always initial_suspend() const noexcept { return {}; }
    // Stay suspended at the end so the generator object decides when the frame dies.
    std::suspend_always final_suspend() const noexcept { return {}; }

    std::suspend_always yield_value(T&& value) {
        value_.emplace(std::move(value));
        return {};
    }
    std::suspend_always yield_value(const T& value) requires std::copy_constructible<T> {
        value_.emplace(value);
        return {};
    }

    void return_void() const noexcept {}
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    // A generator is synchronous: there is nobody to resume it after an awaited operation completes.
    // Use async_generator to await inside the body.
    template <class U>
    void await_transform(U&&) = delete;

    /// Empty the slot, run the body to its next co_yield or its end, rethrow what escaped it.
    void advance(std::coroutine_handle<generator_promise> self) {
        value_.reset();
        self.resume();
        if (exception_)
            std::rethrow_exception(std::exchange(exception_, nullptr));
    }

    /// begin() may be called once: a second call would silently skip the element in the slot.
    void mark_started() {
        if (started_)
            throw std::logic_error("sluice::generator: begin() called twice");
        started_ = true;
    }

    [[nodiscard]] T& value() noexcept { return *value_; }

private:
    std::optional<T> value_;
    std::exception_ptr exception_;
    bool started_ = false;
};

/// Input iterator over a generator; copies share the one position of the underlying coroutine.
template <class T>
class generator_iterator {
    using handle_type = std::coroutine_handle<generator_promise<T>>;

public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;

    generator_iterator() noexcept = default;
    explicit generator_iterator(handle_type handle) noexcept : handle_(handle) {}

    /// The element the body last yielded; `std::move(*it)` takes it.
    [[nodiscard]] T& operator*() const noexcept { return handle_.promise().value(); }
    [[nodiscard]] T* operator->() const noexcept { return __builtin_addressof(**this); }  // std::addressof without <memory>

    /// Resume the body up to its next co_yield; rethrows an exception that escaped the body.
    generator_iterator& operator++() {
        handle_.promise().advance(handle_);
        return *this;
    }
    void operator++(int) { ++*this; }

    [[nodiscard]] friend bool operator==(const generator_iterator& it, std::default_sentinel_t) noexcept {
        return !it.handle_ || it.handle_.done();
    }

private:
    handle_type handle_ = nullptr;
};

}  // namespace sluice::detail
