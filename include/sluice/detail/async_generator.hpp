#pragma once
// Machinery of sluice::async_generator<T>: the promise, the awaiters that resume the body, and the
// iterator.
//
// Control flow. The consumer's `co_await gen.next()` (or `begin()`, `++it`) runs the body through
// `resume_awaited` (detail/cancellation.hpp): the consumer becomes the promise's continuation and
// lends the body its cancellation context, and the body runs until a `co_yield` or its end, both of
// which suspend through `transfer_to_continuation`. A body that gets there without a real suspension
// hands control straight back to the awaiting `await_suspend`, which then declines to suspend the
// consumer; a body that really suspends (a sleep, I/O) later resumes the consumer by symmetric
// transfer. Either way a body yielding a million values without suspending runs in constant stack,
// also where GCC does not turn symmetric transfer into tail calls (-O0, ASan).
//
// Value storage. `co_yield v` moves `v` (or copies an lvalue of a copyable T) into an optional slot in
// the promise. `next()` moves it out into the `std::optional<T>` it returns; the iterator hands out
// `T&` to the slot. The slot is emptied before the body resumes, so an element the consumer did not
// take is destroyed before the next one is produced.
//
// Who is running. `pending_` is true from the start of an advance until the consumer goes on with
// its result (await_resume). It is the guard against a second consumer, and it says "the body may be
// running", which matters because `done()` may only be asked of a suspended coroutine.

#include <concepts>
#include <coroutine>
#include <exception>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "cancellation.hpp"

namespace sluice {

template <class T>
class async_generator;

}  // namespace sluice

namespace sluice::detail {

template <class T>
class async_generator_promise : public promise_base {
public:
    async_generator_promise() = default;
    async_generator_promise(const async_generator_promise&) = delete;
    async_generator_promise& operator=(const async_generator_promise&) = delete;

    async_generator<T> get_return_object() noexcept;

    // Lazy: the body starts with the first next()/begin().
    std::suspend_always initial_suspend() const noexcept { return {}; }
    // TRICKY: the frame stays alive after the body ends (transfer_to_continuation always suspends):
    // the consumer's await_resume still reads the exception slot and done(), and only the
    // async_generator object destroys the frame.
    transfer_to_continuation final_suspend() const noexcept { return {}; }

    transfer_to_continuation yield_value(T&& value) {
        value_.emplace(std::move(value));
        return {};
    }
    transfer_to_continuation yield_value(const T& value) requires std::copy_constructible<T> {
        value_.emplace(value);
        return {};
    }

    void return_void() const noexcept {}
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    // --- used by the awaiters below ---

    /// Throws std::logic_error unless the body may be advanced by `handle`'s owner right now.
    static void check_can_advance(std::coroutine_handle<async_generator_promise> handle) {
        if (!handle) {
            throw std::logic_error("sluice::async_generator: empty (default-constructed or moved-from)");
        }
        if (handle.promise().pending_) {
            throw std::logic_error("sluice::async_generator: next() while another next() is pending");
        }
    }

    /// Run the body for `consumer` up to its next co_yield or its end. True: the body suspended for
    /// real and will resume `consumer` later; false: it already got there and `consumer` goes on.
    template <class Promise>
    [[nodiscard]] static bool advance(std::coroutine_handle<async_generator_promise> body,
                                      std::coroutine_handle<Promise> consumer) noexcept {
        auto& promise = body.promise();
        promise.value_.reset();
        promise.pending_ = true;
        // Awaits in the body run in the consumer's context: cancelling the consumer reaches them.
        return resume_awaited(body, consumer);
    }

    /// Called first thing when the consumer resumes. Rethrows what escaped the body (once).
    void finish_advance() {
        pending_ = false;
        set_context(nullptr);
        if (exception_)
            std::rethrow_exception(std::exchange(exception_, nullptr));
    }

    [[nodiscard]] bool has_value() const noexcept { return value_.has_value(); }
    [[nodiscard]] T& value() noexcept { return *value_; }

    [[nodiscard]] std::optional<T> take_value() {
        if (!value_)
            return std::nullopt;
        std::optional<T> out(std::move(*value_));
        value_.reset();
        return out;
    }

private:
    std::optional<T> value_;
    std::exception_ptr exception_;
    bool pending_ = false;
};

/// Common part of next(), begin() and ++it: run the body to its next co_yield, then (in the
/// consumer) rethrow what escaped it. A finished body is not resumed again.
template <class T>
class async_generator_advance {
protected:
    using handle_type = std::coroutine_handle<async_generator_promise<T>>;

    explicit async_generator_advance(handle_type body) noexcept : body_(body) {}

public:
    [[nodiscard]] bool await_ready() const {
        async_generator_promise<T>::check_can_advance(body_);
        // Not pending, hence suspended: done() may be asked. A finished body completes at once.
        return body_.done();
    }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> consumer) noexcept {
        return async_generator_promise<T>::advance(body_, consumer);
    }

protected:
    /// In the consumer, once the advance is over: true when the body yielded an element, false when
    /// it has finished. Rethrows what escaped the body.
    bool end_advance() {
        body_.promise().finish_advance();
        return !body_.done();
    }

    handle_type body_;
};

/// `co_await gen.next()`: the next element, or an empty optional once the body has finished.
template <class T>
class async_generator_next : public async_generator_advance<T> {
public:
    explicit async_generator_next(typename async_generator_advance<T>::handle_type body) noexcept
        : async_generator_advance<T>(body) {}

    [[nodiscard]] std::optional<T> await_resume() {
        if (!this->end_advance())
            return std::nullopt;
        return this->body_.promise().take_value();
    }
};

/// Iterator of an async_generator: `*it` is the current element; `co_await ++it` advances.
template <class T>
class async_generator_iterator {
    using handle_type = std::coroutine_handle<async_generator_promise<T>>;

public:
    using value_type = T;
    using difference_type = std::ptrdiff_t;

    async_generator_iterator() noexcept = default;
    explicit async_generator_iterator(handle_type body) noexcept : body_(body) {}

    /// The current element, valid until the next advance; `std::move(*it)` takes it.
    [[nodiscard]] T& operator*() const noexcept { return body_.promise().value(); }
    [[nodiscard]] T* operator->() const noexcept { return __builtin_addressof(**this); }  // std::addressof without <memory>

    /// Awaitable: resumes the body to its next co_yield; yields this iterator (at the end once the body
    /// has finished) or rethrows what escaped the body.
    [[nodiscard]] auto operator++() noexcept;

    /// At the end once the body has finished (or an element was taken with next() meanwhile).
    [[nodiscard]] friend bool operator==(const async_generator_iterator& it,
                                         std::default_sentinel_t) noexcept {
        return !it.body_ || !it.body_.promise().has_value();
    }

private:
    handle_type body_ = nullptr;
};

/// `co_await gen.begin()`: advance once and yield an iterator to the new element (or the end).
template <class T>
class async_generator_begin : public async_generator_advance<T> {
public:
    explicit async_generator_begin(typename async_generator_advance<T>::handle_type body) noexcept
        : async_generator_advance<T>(body) {}

    [[nodiscard]] async_generator_iterator<T> await_resume() {
        this->end_advance();
        return async_generator_iterator<T>(this->body_);
    }
};

/// `co_await ++it`.
template <class T>
class async_generator_increment : public async_generator_advance<T> {
public:
    async_generator_increment(typename async_generator_advance<T>::handle_type body,
                              async_generator_iterator<T>& it) noexcept
        : async_generator_advance<T>(body), it_(&it) {}

    async_generator_iterator<T>& await_resume() {
        this->end_advance();
        return *it_;
    }

private:
    async_generator_iterator<T>* it_;
};

template <class T>
auto async_generator_iterator<T>::operator++() noexcept {
    return async_generator_increment<T>(body_, *this);
}

}  // namespace sluice::detail
