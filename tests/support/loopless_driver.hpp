#pragma once
// Driving sluice coroutines by hand, without an event loop (async_generator_test): the driver stands
// in for a task (its promise is sluice's promise core, with a cancellation context of its own), and
// the events are awaitables the test resumes itself. This reaches into sluice::detail on purpose:
// the public cancellable_wait needs a loop to resume its waiter, and these tests take every step
// by hand to check the generator's own protocol (who resumes whom, which context is seen).

#include <sluice/detail/cancellation.hpp>
#include <sluice/detail/promise.hpp>

#include <coroutine>
#include <exception>
#include <utility>

namespace sluice_test {

/// An eager coroutine standing in for a sluice task: it runs until its first real suspension and
/// keeps the exception that escaped its body.
class driver {
public:
    struct promise_type : sluice::detail::promise_base {
        sluice::detail::cancel_context own_context;
        std::exception_ptr error;

        promise_type() noexcept { set_context(&own_context); }
        driver get_return_object() noexcept {
            return driver(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_always final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() noexcept { error = std::current_exception(); }
    };

    driver(driver&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    driver& operator=(driver&&) = delete;
    ~driver() {
        if (handle_)
            handle_.destroy();
    }

    [[nodiscard]] bool done() const noexcept { return handle_.done(); }
    [[nodiscard]] sluice::detail::cancel_context* context() const noexcept {
        return &handle_.promise().own_context;
    }
    /// Rethrows what escaped the body (a failed CHECK-free assertion path shows up here).
    void rethrow_if_failed() const {
        if (handle_.promise().error)
            std::rethrow_exception(handle_.promise().error);
    }

private:
    explicit driver(std::coroutine_handle<promise_type> handle) noexcept : handle_(handle) {}
    std::coroutine_handle<promise_type> handle_;
};

/// An awaitable that always suspends and records who waits; the test resumes the waiter with fire().
class manual_event {
public:
    class awaiter {
    public:
        explicit awaiter(manual_event& event) noexcept : event_(&event) {}
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        template <class Promise>
        void await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
            event_->waiter_ = waiter;
            event_->seen_context_ = sluice::detail::context_of(waiter);
        }
        void await_resume() const noexcept {}

    private:
        manual_event* event_;
    };

    [[nodiscard]] awaiter wait() noexcept { return awaiter(*this); }

    [[nodiscard]] bool waiting() const noexcept { return static_cast<bool>(waiter_); }
    [[nodiscard]] sluice::detail::cancel_context* seen_context() const noexcept { return seen_context_; }
    void fire() { std::exchange(waiter_, nullptr).resume(); }

private:
    std::coroutine_handle<> waiter_ = nullptr;
    sluice::detail::cancel_context* seen_context_ = nullptr;
};

/// A cancellation point the test completes by hand: fire() resumes the waiter normally, or with
/// cancelled_error once the waiter's context asked for a cancel.
class cancellable_event {
public:
    class awaiter : public sluice::detail::cancellation_point {
    public:
        explicit awaiter(cancellable_event& event) noexcept : event_(&event) {}
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> waiter) noexcept {
            if (!enter(waiter))
                return false;
            event_->current_ = this;
            return true;
        }
        void await_resume() const { throw_if_cancelled(); }

        void cancel_wait() noexcept override { cancel_seen_ = true; }  // the test resumes it later

    private:
        friend class cancellable_event;
        cancellable_event* event_;
        bool cancel_seen_ = false;
    };

    [[nodiscard]] awaiter wait() noexcept { return awaiter(*this); }
    [[nodiscard]] bool waiting() const noexcept { return current_ != nullptr; }
    void fire() {
        awaiter* a = std::exchange(current_, nullptr);
        if (a->cancel_seen_) {
            a->finish_cancelled();
        } else {
            a->finish_completed();
        }
        a->waiter_.resume();
    }

private:
    awaiter* current_ = nullptr;
};

}  // namespace sluice_test
