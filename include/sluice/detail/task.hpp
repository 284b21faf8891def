#pragma once
// Machinery of sluice::task<T>: the promise and the awaiters.

#include <coroutine>
#include <cstdint>
#include <exception>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "cancellation.hpp"
#include "../result.hpp"
#include "frame_allocator.hpp"
#include "outcome.hpp"

namespace sluice {
template <class T>
class task;
}

namespace sluice::detail {

template <class T>
class task_promise_storage : public promise_base {
public:
    template <class U = T>
        requires std::is_convertible_v<U&&, T>
    void return_value(U&& value) {
        outcome_.set_value(std::forward<U>(value));
    }
    outcome<T>& result_slot() noexcept { return outcome_; }

protected:
    outcome<T> outcome_;
};

template <>
class task_promise_storage<void> : public promise_base {
public:
    void return_void() noexcept { outcome_.set_value(); }
    outcome<void>& result_slot() noexcept { return outcome_; }

protected:
    outcome<void> outcome_;
};

/// What the bounded engine keeps per running item, folded into the item's own promise: no separate
/// slot object, no pointer from a slot to the frame and back. The engine is the item's listener and
/// the item's cancel context is promise_base's own (run_as_own_unit): no pointer of its own here.
struct engine_item_state {
    std::uint32_t index = 0;      // submission index, low 32 bits (only differences are used)
    std::uint32_t position = 0;   // the item's place in the engine's running set
};

template <class T>
class task_promise final : public task_promise_storage<T>, public recycled_frame {
public:
    task<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() const noexcept { return {}; }
    struct final_awaiter : transfer_to_continuation {
        // Always inlined into each task's final suspend, for the reason frame_allocator is.
        [[gnu::always_inline]] std::coroutine_handle<> await_suspend(std::coroutine_handle<task_promise> self) const noexcept {
            task_promise& promise = self.promise();
            if (finish_listener* listener = promise.listener()) {
                // TRICKY: an engine item's listener may free the frame in there (it is never run
                // nested, and transfers nowhere), so the frame is read before the call only.
                if (!promise.resumed_inline()) return listener->finished(self);
                (void)listener->finished(self);
                return promise.transfer_unless_nested(std::noop_coroutine());
            }
            return transfer_to_continuation::await_suspend(self);
        }
    };
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { this->outcome_.set_error(std::current_exception()); }

    engine_item_state item;
};

/// Why a task cannot be entered (awaited, started as a combinator's item, run by wait_for), or
/// nullptr. This is the one check every way into a task makes, so none of them resumes a finished
/// frame or one that another coroutine is already running: an empty task, and an unfinished one that
/// already has an awaiter (a continuation) or a watcher (a listener), cannot be entered. A finished
/// task can: its result is delivered again, nothing is resumed.
template <class Promise>
[[nodiscard]] const char* unenterable(std::coroutine_handle<Promise> handle) noexcept {
    if (!handle) return "sluice: awaiting an empty task (default-constructed or moved-from)";
    if (!handle.done() && handle.promise().awaited()) {
        return "sluice: awaiting a task that is already being awaited";
    }
    return nullptr;
}

/// Awaits a task: starts it (see resume_awaited) with the awaiter as its continuation and the
/// awaiter's cancellation context as its own. `Take` extracts the result once it finished.
template <class T, class Take>
class task_awaiter {
public:
    explicit task_awaiter(std::coroutine_handle<task_promise<T>> handle) noexcept : handle_(handle) {}

    [[nodiscard]] bool await_ready() const {
        if (const char* why = unenterable(handle_)) throw std::logic_error(why);
        return handle_.done();  // finished: deliver its result again, resume nothing
    }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
        return resume_awaited(handle_, awaiting);
    }
    decltype(auto) await_resume() { return Take{}(handle_.promise().result_slot()); }

private:
    std::coroutine_handle<task_promise<T>> handle_;
};

struct take_value {
    template <class T>
    decltype(auto) operator()(outcome<T>& slot) const { return slot.take(); }
};
struct get_reference {
    template <class T>
    decltype(auto) operator()(outcome<T>& slot) const { return slot.get(); }
};
struct take_result {
    template <class T>
    result<T> operator()(outcome<T>& slot) const { return slot.take_result(); }
};

}  // namespace sluice::detail
