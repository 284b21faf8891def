#pragma once
// Machinery of spawn, join_handle and run: a spawned task runs inside a small root coroutine that
// owns its cancellation context and its result, and is registered with the loop while alive.

#include <coroutine>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <utility>

#include "cancellation.hpp"
#include "../task.hpp"
#include "event_loop.hpp"

namespace sluice {
template <class T>
class join_handle;
}

namespace sluice::detail {

/// The awaiter of a join_handle, as the root sees it.
class join_waiter {
public:
    /// The root finished: returns the coroutine to transfer to.
    virtual std::coroutine_handle<> joined() noexcept = 0;

protected:
    ~join_waiter() = default;
};

/// task_group's hook into a root (see detail/task_group.hpp): told when the root has finished.
class root_observer {
public:
    /// The root reached its final suspend with `error` (null: it returned a value). Called once,
    /// after its joiner (if any) was told but before that joiner resumes, and before a detached
    /// root frees itself; must neither resume a coroutine inline nor destroy the root.
    virtual void root_finished(const std::exception_ptr& error) noexcept = 0;

protected:
    ~root_observer() = default;
};

template <class T>
class root_promise;

template <class T>
using root_handle = std::coroutine_handle<root_promise<T>>;

/// The root coroutine's return object: only the handle matters.
template <class T>
struct root_coroutine {
    using promise_type = root_promise<T>;
    root_handle<T> handle;
};

template <class T>
class root_promise final : public task_promise_storage<T>, public root_node {
public:
    root_promise() noexcept { this->set_context(&own_context_); }

    root_coroutine<T> get_return_object() noexcept { return {root_handle<T>::from_promise(*this)}; }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { this->outcome_.set_error(std::current_exception()); }

    struct final_awaiter {
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(root_handle<T> self) const noexcept {
            root_promise& promise = self.promise();
            promise.loop_->release(promise);
            // task_group: the joiner is told first (joined() only ends its wait and names it), so a
            // cancel the group's observer sends it next stays pending instead of replacing this
            // result; a failure the group observed is not reported as lost.
            join_waiter* joiner = std::exchange(promise.joiner_, nullptr);
            std::coroutine_handle<> next = joiner != nullptr ? joiner->joined() : std::noop_coroutine();
            const bool observed = promise.observer_ != nullptr;
            if (observed) std::exchange(promise.observer_, nullptr)->root_finished(promise.outcome_.error());
            if (joiner == nullptr && promise.detached_) {
                if (!observed) promise.report_unobserved_error();
                self.destroy();
            }
            return next;
        }
        void await_resume() const noexcept {}
    };
    final_awaiter final_suspend() const noexcept { return {}; }

    void request_cancel() noexcept override { own_context_.request_cancel(); }

    void start(event_loop& loop) {
        loop_ = &loop;
        loop.schedule(root_handle<T>::from_promise(*this));
        loop.adopt(*this);
    }

    outcome<T>& result_slot() noexcept { return this->outcome_; }
    /// The loop the root was started on (set by start(), then constant).
    [[nodiscard]] event_loop& loop() const noexcept { return *loop_; }
    join_waiter*& joiner() noexcept { return joiner_; }
    /// The join_handle was dropped: the root frees itself when it finishes.
    void detach() noexcept { detached_ = true; }
    /// task_group only, before start(): `observer` is told when the root finishes.
    void observe(root_observer& observer) noexcept { observer_ = &observer; }

private:
    // asyncio logs "Task exception was never retrieved"; a detached task's failure is reported the
    // same way rather than lost silently. Cancellation is not a failure.
    void report_unobserved_error() noexcept {
        if (!this->outcome_.has_error()) return;
        try {
            std::rethrow_exception(this->outcome_.error());
        } catch (const cancelled_error&) {
        } catch (const std::exception& error) {
            std::fprintf(stderr, "sluice: a detached task failed and nobody joined it: %s\n", error.what());
        } catch (...) {
            std::fprintf(stderr, "sluice: a detached task failed with a non-std exception and nobody joined it\n");
        }
    }

    cancel_context own_context_;
    event_loop* loop_ = nullptr;
    join_waiter* joiner_ = nullptr;
    root_observer* observer_ = nullptr;  // task_group's membership hook; null for plain spawn
    bool detached_ = false;
};

/// First statement of every root: a task cancelled before its first turn never runs its body.
struct start_gate {
    bool cancelled = false;
    [[nodiscard]] bool await_ready() const noexcept { return false; }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> root) noexcept {
        cancelled = root.promise().context()->take_pending();
        return false;
    }
    void await_resume() const {
        if (cancelled) throw cancelled_error();
    }
};

/// TRICKY: the body is moved out of the parameter into a local first thing. A coroutine's
/// parameters live as long as its frame, and the root's frame lives until the join_handle is
/// dropped (it holds the result); a local dies when the body's scope is left, before the final
/// suspend. So the spawned task's frame, and every by-value parameter in it (a semaphore permit, a
/// socket), is destroyed as soon as the task finishes or is cancelled before it starts, not when
/// its handle goes (issue 9, defect 2).
template <class T>
root_coroutine<T> run_as_root(task<T> spawned) {
    task<T> body = std::move(spawned);
    co_await start_gate{};
    co_return co_await std::move(body);
}

/// Starts a root that was just created; if scheduling it fails (bad_alloc growing the ready queue)
/// the root, which nothing references yet, is destroyed with its body before the exception goes
/// on. Found by tests/alloc_failure_test.cpp: run() and spawn() used to leak both frames then.
template <class T>
void start_or_destroy(root_handle<T> root, event_loop& loop) {
    try {
        root.promise().start(loop);
    } catch (...) {
        root.destroy();
        throw;
    }
}

/// Awaits a spawned task's end. A cancellation point for the awaiting task: cancelling it ends only
/// the wait, the spawned task carries on (call join_handle::cancel() to stop it).
template <class T, class Take>
class join_awaiter final : public cancellation_point, public join_waiter {
public:
    explicit join_awaiter(root_handle<T> root) noexcept : root_(root) {}

    [[nodiscard]] bool await_ready() const {
        if (!root_) throw std::logic_error("sluice: awaiting an empty join_handle (default-constructed or moved-from)");
        if (!root_.done() && root_.promise().joiner() != nullptr) {
            throw std::logic_error("sluice: a spawned task can be awaited by one task at a time");
        }
        return root_.done();
    }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) noexcept {
        if (!enter(awaiting)) return false;
        root_.promise().joiner() = this;
        return true;
    }
    decltype(auto) await_resume() {
        throw_if_cancelled();
        return Take{}(root_.promise().result_slot());
    }

    std::coroutine_handle<> joined() noexcept override {
        finish_completed();
        return waiter_;
    }
    void cancel_wait() noexcept override {
        root_.promise().joiner() = nullptr;
        finish_cancelled();
        event_loop::current().schedule(waiter_);
    }

private:
    root_handle<T> root_;
};

}  // namespace sluice::detail
