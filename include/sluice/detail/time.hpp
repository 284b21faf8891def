#pragma once
// Machinery of sluice/time.hpp: the sleep awaitable and wait_for's deadline awaiter.

#include <chrono>
#include <coroutine>
#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "cancellation.hpp"
#include "../task.hpp"
#include "awaitable_traits.hpp"
#include "event_loop.hpp"

namespace sluice::detail {

/// `sleep_until`, `sleep_for` and `yield`: a timer node in the sleeping frame. A deadline that has
/// already passed still suspends for one loop turn (asyncio.sleep(0)), so every sleep is a real
/// suspension and therefore a cancellation point.
class sleep_awaitable final : public cancellation_point, public timer_node {
public:
    explicit sleep_awaitable(clock::time_point until) noexcept { deadline = until; }
    sleep_awaitable(sleep_awaitable&& other) noexcept : cancellation_point() { deadline = other.deadline; }

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        if (!enter(waiter)) return false;
        loop_ = &event_loop::current();
        // time_point::min() is yield() and non-positive sleep_for: no clock read on that hot path.
        if (deadline == clock::time_point::min() || deadline <= clock::now()) {
            loop_->schedule(waiter);  // a yield: the handle is queued; cancel_wait only marks it
        } else {
            loop_->add_timer(*this);
        }
        return true;
    }
    void await_resume() const { throw_if_cancelled(); }

    void expired() noexcept override {
        finish_completed();
        loop_->schedule(waiter_);
    }
    void cancel_wait() noexcept override {
        finish_cancelled();
        if (armed()) {
            loop_->remove_timer(*this);
            loop_->schedule(waiter_);
        }
    }

private:
    event_loop* loop_ = nullptr;
};

/// `yield()`: one trip through the ready queue. No timer node, so a frame suspended here is as
/// small as it can be (a bounded fan-out keeps `limit` of them alive).
class yield_awaitable final : public cancellation_point {
public:
    yield_awaitable() noexcept = default;
    yield_awaitable(yield_awaitable&&) noexcept : cancellation_point() {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        if (!enter(waiter)) return false;
        event_loop::current().schedule(waiter);
        return true;
    }
    void await_resume() const { throw_if_cancelled(); }

    // The handle is already queued: a cancel only changes what await_resume does.
    void cancel_wait() noexcept override { finish_cancelled(); }
};

/// wait_for's awaiter: starts the inner task in a cancellation context of its own, arms a timer,
/// and is resumed by the inner task's completion (it is the inner's continuation).
///
/// TRICKY: the awaiting task is resumed only by the inner's final suspend, never by the timer or by
/// a cancel: those only *request* the inner's cancellation. So the inner has always finished its
/// cleanup (its frame, sockets, buffers are settled) when wait_for returns or throws.
template <class T>
class deadline_awaiter final : public cancellation_point, public timer_node {
public:
    deadline_awaiter(task<T>& inner, clock::time_point until) noexcept : inner_(inner) { deadline = until; }

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        if (!enter(waiter)) return false;
        loop_ = &event_loop::current();
        loop_->add_timer(*this);
        // Run the inner's first steps now; it resumes us by symmetric transfer when it finishes.
        if (!resume_awaited(inner_.handle(), waiter, &inner_context_)) {
            settle();
            return false;
        }
        return true;
    }

    decltype(auto) await_resume() {
        if (cancelled_) {
            throw_if_cancelled();  // a cancel pending before we started: the inner never ran
        }
        settle();
        auto& slot = inner_.handle().promise().result_slot();
        if (slot.has_error() && (outer_cancelled_ || timed_out_) && is_cancellation(slot.error())) {
            if (outer_cancelled_) {
                finish_cancelled();
                throw_if_cancelled();
            }
            throw timeout_error();
        }
        // A value (the inner swallowed the cancel) or an error of its own wins; an outer cancel that
        // was routed into the inner stays pending for the next real suspension.
        return slot.take();
    }

    void expired() noexcept override {
        timed_out_ = true;
        inner_context_.request_cancel();
    }
    void cancel_wait() noexcept override {
        outer_cancelled_ = true;
        inner_context_.request_cancel();
    }

private:
    static bool is_cancellation(const std::exception_ptr& error) noexcept {
        try {
            std::rethrow_exception(error);
        } catch (const cancelled_error&) {
            return true;
        } catch (...) {
            return false;
        }
    }
    void settle() noexcept {
        if (armed()) loop_->remove_timer(*this);
        finish_completed();
    }

    task<T>& inner_;
    cancel_context inner_context_;
    event_loop* loop_ = nullptr;
    bool timed_out_ = false;
    bool outer_cancelled_ = false;
};

/// wait_for's coroutine. `Awaitable` is a value type for rvalues (the frame owns it, so a task
/// stored and awaited later does not dangle) and an lvalue reference otherwise.
template <class Awaitable>
task<await_result_t<Awaitable>> wait_for_stored(Awaitable awaitable, clock::duration timeout) {
    using result_type = await_result_t<Awaitable>;
    if constexpr (is_task_v<std::remove_cvref_t<Awaitable>>) {
        // The check task_awaiter makes: a finished task is complete (its result at once, whatever
        // the timeout), one already being awaited is a logic_error; never resume either.
        if (const char* why = unenterable(awaitable.handle())) throw std::logic_error(why);
        if (awaitable.done()) co_return co_await std::forward<Awaitable>(awaitable);
    }
    if (timeout <= clock::duration::zero()) {
        if constexpr (!is_task_v<std::remove_cvref_t<Awaitable>>) {
            auto&& awaiter = get_awaiter(std::forward<Awaitable>(awaitable));
            if (awaiter.await_ready()) co_return awaiter.await_resume();
        }
        throw timeout_error();
    }
    const auto deadline = clock::now() + timeout;
    task<result_type> inner = as_task(std::forward<Awaitable>(awaitable));
    co_return co_await deadline_awaiter<result_type>(inner, deadline);
}

}  // namespace sluice::detail
