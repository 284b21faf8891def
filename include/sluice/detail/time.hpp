#pragma once
// Machinery of sluice/time.hpp: the sleep awaitable and wait_for's deadline awaiter.

#include <coroutine>
#include <exception>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "cancellation.hpp"
#include "../task.hpp"
#include "awaitable_traits.hpp"
#include "event_loop.hpp"
#include "is_cancelled.hpp"
#include "spawn.hpp"
#include "std_chrono.hpp"

namespace sluice::detail {

/// `duration` in the clock's unit, rounded up, saturated at clock::duration::max() ("never") and at
/// zero from below (a negative duration is "now"). Compared in long double nanoseconds first, so
/// `hours::max()` or an infinite `duration<double>` never overflows a conversion.
template <class Rep, class Period>
[[nodiscard]] clock::duration saturating_duration(std::chrono::duration<Rep, Period> duration, const char* who) {
    const long double nanoseconds = std::chrono::duration<long double, std::nano>(duration).count();
    if (nanoseconds != nanoseconds) {
        throw std::invalid_argument(std::string("sluice::") + who + ": the duration is NaN");
    }
    if (nanoseconds <= 0) return clock::duration::zero();
    constexpr auto never = clock::duration::max();
    if (nanoseconds >= static_cast<long double>(std::chrono::nanoseconds(never).count())) return never;
    return std::chrono::ceil<clock::duration>(std::chrono::duration<long double, std::nano>(nanoseconds));
}

/// `now + duration`, saturated: time_point::max() ("never") when the sum does not fit.
[[nodiscard]] inline clock::time_point saturating_add(clock::time_point now, clock::duration duration) noexcept {
    if (duration >= clock::time_point::max() - now) return clock::time_point::max();
    return now + duration;
}

/// sleep_for's deadline: time_point::min() (one loop turn, no clock read) for a non-positive
/// duration, time_point::max() ("never") for one too long to add to now.
template <class Rep, class Period>
[[nodiscard]] clock::time_point deadline_after(std::chrono::duration<Rep, Period> duration, const char* who) {
    const clock::duration wait = saturating_duration(duration, who);
    if (wait == clock::duration::zero()) return clock::time_point::min();
    return saturating_add(clock::now(), wait);
}

/// `sleep_until`, `sleep_for` and `yield`: a timer node in the sleeping frame. A deadline that has
/// already passed still suspends for one loop turn (asyncio.sleep(0)), so every sleep is a real
/// suspension and therefore a cancellation point.
/// One vtable pointer for both roles (see timer_node): 56 B in the sleeping frame.
class sleep_awaitable final : public basic_cancellation_point<timer_node> {
public:
    explicit sleep_awaitable(clock::time_point until) noexcept { deadline = until; }
    sleep_awaitable(sleep_awaitable&& other) noexcept : basic_cancellation_point() { deadline = other.deadline; }

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    /// TRICKY: everything that can throw (no loop, bad_alloc growing the ready queue or the timer
    /// heap) happens before `enter` registers us with the cancel context; after it, only noexcept
    /// steps. Otherwise the exception would leave the context pointing at this dead awaiter and a
    /// later cancel would call into it (issue 9, defect 6).
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        event_loop& loop = event_loop::current();
        // time_point::min() is yield() and non-positive sleep_for: no clock read on that hot path.
        const bool yield = deadline == clock::time_point::min() || deadline <= clock::now();
        if (yield) {
            loop.reserve_schedule();
        } else {
            loop.reserve_timer();
        }
        if (!enter(waiter)) return false;
        if (yield) {
            loop.schedule_reserved(waiter);  // a yield: the handle is queued; cancel_wait only marks it
        } else {
            loop.add_reserved_timer(*this);
        }
        return true;
    }
    void await_resume() const { throw_if_cancelled(); }

    // TRICKY: no pointer to the loop is kept (8 B in every sleeping frame). Both calls below come
    // from the thread whose loop holds the timer: expired() from its timer pass, cancel_wait() from
    // a cancel, which runs on the loop's thread while the loop runs (another thread cancels only
    // through the loop's inbox), and only then can the node be armed.
    void expired() noexcept override {
        finish_completed();
        event_loop::current_or_null()->schedule(waiter_);
    }
    void cancel_wait() noexcept override {
        finish_cancelled();
        if (armed()) {
            event_loop& loop = *event_loop::current_or_null();
            loop.remove_timer(*this);
            loop.schedule(waiter_);
        }
    }
};

static_assert(sizeof(sleep_awaitable) == 7 * sizeof(void*),
              "a sleep is in every sleeping frame: vtable, waiter, context, deadline, order, FIFO links");

/// `yield()`: one trip through the ready queue, and a cancellation point. It needs no timer node,
/// nor even a registration with the cancel context: the handle is queued either way, so a cancel
/// requested meanwhile simply stays pending in the context, and await_resume delivers it (one
/// already pending is delivered at once, without suspending). So the awaiter is one pointer (no
/// vtable, no waiter), and a frame suspended here is as small as it can be: a bounded fan-out
/// keeps `limit` of them alive.
class yield_awaitable {
public:
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        event_loop& loop = event_loop::current();
        context_ = context_of(waiter);
        if (context_ != nullptr && context_->cancel_requested()) return false;
        loop.schedule(waiter);  // may throw (bad_alloc): then nothing was queued or registered
        return true;
    }
    /// cancelled_error when a cancel was requested before or during the trip; the request counts as
    /// delivered now (so requests made during the trip coalesce with it, as at any other point).
    void await_resume() const {
        if (context_ != nullptr && context_->cancel_requested()) {
            context_->delivered();
            throw cancelled_error();
        }
    }

private:
    cancel_context* context_ = nullptr;
};

/// wait_for's awaiter: starts the inner task in a cancellation context of its own, arms a timer,
/// and is resumed by the inner task's completion (it is the inner's continuation).
///
/// TRICKY: the awaiting task is resumed only by the inner's final suspend, never by the timer or by
/// a cancel: those only *request* the inner's cancellation. So the inner has always finished its
/// cleanup (its frame, sockets, buffers are settled) when wait_for returns or throws.
template <class T>
class deadline_awaiter final : public basic_cancellation_point<timer_node> {
public:
    deadline_awaiter(task<T>& inner, clock::time_point until) noexcept : inner_(inner) { deadline = until; }

    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        loop_ = &event_loop::current();
        loop_->reserve_timer();  // may throw: before registering (see sleep_awaitable)
        if (!enter(waiter)) return false;
        loop_->add_reserved_timer(*this);
        // Run the inner's first steps now; it resumes us by symmetric transfer when it finishes.
        if (!resume_awaited(inner_.handle(), waiter, &inner_context_)) {
            settle();
            return false;
        }
        return true;
    }

    decltype(auto) await_resume() {
        if (cancelled()) {
            throw_if_cancelled();  // a cancel pending before we started: the inner never ran
        }
        settle();
        auto& slot = inner_.handle().promise().result_slot();
        if (slot.has_error() && (outer_cancelled_ || timed_out_) && is_cancelled_error(slot.error())) {
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

template <class T>
std::true_type join_handle_probe(const join_handle<T>*);
std::false_type join_handle_probe(const void*);
/// A join_handle<T> (or task_group's child handle, derived from it), by value or by reference.
template <class Awaitable>
inline constexpr bool is_join_handle_v =
    decltype(join_handle_probe(static_cast<std::remove_cvref_t<Awaitable>*>(nullptr)))::value;

/// wait_for's inner for a join_handle (asyncio.wait_for(task)): waits for the spawned task; when
/// this wait is cancelled (the deadline, or the caller's cancel), cancels the spawned task too and
/// waits on until it has finished. Then its outcome is returned or rethrown, so deadline_awaiter
/// turns a cancellation into timeout_error while a value or an error of its own wins.
///
/// TRICKY: a wait interrupted by *our* cancel and the task ending with its *own* cancelled_error
/// both throw cancelled_error here; done() tells them apart (a finished task's outcome is kept in
/// the handle, so the final co_await gets it again, without suspending).
template <class Result, bool ByReference, class Handle>
task<Result> join_or_cancel(Handle& handle) {
    while (!handle.done()) {
        try {
            (void)co_await handle;  // lvalue: nothing is taken out of the handle
        } catch (const cancelled_error&) {
            if (!handle.done()) handle.cancel();
        } catch (...) {  // the task's own failure, rethrown below
        }
    }
    if constexpr (ByReference) {
        co_return co_await handle;
    } else {
        co_return co_await std::move(handle);
    }
}

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
    if constexpr (is_join_handle_v<Awaitable>) {
        // A spawned task is not abandoned on timeout, whatever the timeout: with d <= 0 an unfinished
        // one is cancelled and awaited like any other (the deadline has already passed).
        if (timeout <= clock::duration::zero() && awaitable.done()) {
            co_return co_await std::forward<Awaitable>(awaitable);
        }
        task<result_type> inner = join_or_cancel<result_type, std::is_reference_v<Awaitable>>(awaitable);
        co_return co_await deadline_awaiter<result_type>(inner, saturating_add(clock::now(), timeout));
    } else {
        if (timeout <= clock::duration::zero()) {
            if constexpr (!is_task_v<std::remove_cvref_t<Awaitable>>) {
                auto&& awaiter = get_awaiter(std::forward<Awaitable>(awaitable));
                if (awaiter.await_ready()) co_return awaiter.await_resume();
            }
            throw timeout_error();
        }
        const auto deadline = saturating_add(clock::now(), timeout);
        task<result_type> inner = as_task(std::forward<Awaitable>(awaitable));
        co_return co_await deadline_awaiter<result_type>(inner, deadline);
    }
}

}  // namespace sluice::detail
