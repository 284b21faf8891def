#pragma once
/// sluice/spawn.hpp: starting tasks on the running loop (asyncio.create_task). Does no I/O of its
/// own: it needs a running loop (`sluice::run`, event_loop.hpp) but not its backend's headers.
///
/// - `spawn(task)`: schedules the task on the running loop; it starts on a later loop turn, never
///   inline, so a task cancelled before then never runs its body. Returns a `join_handle<T>`.
/// - `spawn(fn, args...)`: the same for the task `fn(args...)`, with `fn` and `args` moved into the
///   task's frame: the safe way to spawn a capturing lambda (`spawn(lambda())` is not: the lambda
///   object, which holds the captures, dies at the end of that statement).
/// - `join_handle<T>`: `co_await h` yields the task's value or rethrows its exception (also
///   `cancelled_error` if it was cancelled); `co_await h.as_result()` never throws it. Cancelling
///   the task that awaits a handle ends only that wait; `h.cancel()` cancels the spawned task.
///   The task's frame (with its by-value parameters) is destroyed as soon as it finishes; the
///   handle keeps only the result. `wait_for(h, d)` on timeout cancels the task and waits for it.
///   Dropping the handle detaches the task: it runs on, its frame is freed when it ends, and a
///   failure nobody will see is reported on stderr (like asyncio's "exception was never retrieved").

#include <memory>
#include <utility>

#include "detail/loop_handle.hpp"
#include "detail/spawn.hpp"
#include "detail/stored_call.hpp"
#include "task.hpp"

namespace sluice {

template <class T>
class [[nodiscard]] join_handle {
public:
    join_handle() noexcept = default;
    /// Loop thread: the handle of `root`, started on the loop whose inbox is `inbox`.
    join_handle(detail::root_handle<T> root, std::shared_ptr<detail::remote_inbox> inbox) noexcept
        : root_(root), inbox_(std::move(inbox)) {}
    join_handle(join_handle&& other) noexcept
        : root_(std::exchange(other.root_, nullptr)), inbox_(std::move(other.inbox_)) {}
    join_handle& operator=(join_handle&& other) noexcept {
        if (this != &other) {
            release();
            root_ = std::exchange(other.root_, nullptr);
            inbox_ = std::move(other.inbox_);
        }
        return *this;
    }
    ~join_handle() { release(); }

    /// True when the task has finished (value, exception or cancellation).
    [[nodiscard]] bool done() const noexcept { return root_ && root_.done(); }

    /// Requests cancellation: `cancelled_error` at the task's next real suspension, or the body never
    /// runs if it has not started. Returns whether a request was made: false for a finished task or
    /// an empty handle (asyncio's Task.cancel()). Repeated requests before the first is delivered
    /// count once (each still returns true).
    ///
    /// Safe from any thread: from a thread other than the loop's the request is posted to the loop
    /// (see loop_handle), which it wakes, and applies there if the task is still alive; it then
    /// returns true if it was posted (the task may still finish first), false if the loop has ended
    /// (or no memory for the request). The handle itself must stay alive (not be moved or
    /// destroyed) during the call, as for any object.
    bool cancel() noexcept {
        if (!root_) return false;
        detail::root_promise<T>& promise = root_.promise();
        // loop() and serial() are written before the handle exists and never change: safe to read.
        if (detail::event_loop::current_or_null() == &promise.loop()) {
            if (root_.done()) return false;
            promise.request_cancel();
            return true;
        }
        // TRICKY: from another thread the root may finish at any moment (done() would be a data
        // race), so the request carries the root's identity, not a reference, and the loop looks it
        // up among its live roots. Allocation failure here means the request is lost: cancel()
        // cannot throw, and the task then simply runs on.
        try {
            return detail::post_call(*inbox_, [loop = &promise.loop(), node = static_cast<const detail::root_node*>(&promise),
                                               serial = promise.serial()] { loop->cancel_if_live(node, serial); });
        } catch (...) {
            return false;
        }
    }

    auto operator co_await() && noexcept { return detail::join_awaiter<T, detail::take_value>(root_); }
    auto operator co_await() & noexcept { return detail::join_awaiter<T, detail::get_reference>(root_); }
    [[nodiscard]] auto as_result() noexcept { return detail::join_awaiter<T, detail::take_result>(root_); }

    /// Lets the task run on unobserved (what the destructor does).
    void detach() noexcept { release(); }

private:
    void release() noexcept {
        if (!root_) return;
        auto root = std::exchange(root_, nullptr);
        if (root.done()) {
            root.destroy();
        } else {
            root.promise().detach();
        }
    }

    detail::root_handle<T> root_ = nullptr;
    std::shared_ptr<detail::remote_inbox> inbox_;  // the loop's, for a cancel from another thread
};

/// Starts `body` on the running loop (on a later turn). std::logic_error outside `run`.
template <class T>
join_handle<T> spawn(task<T> body) {
    detail::event_loop& loop = detail::event_loop::current();
    std::shared_ptr<detail::remote_inbox> inbox = detail::remote_inbox::of(loop);
    auto root = detail::run_as_root(std::move(body)).handle;
    detail::start_or_destroy(root, loop);
    return join_handle<T>(root, std::move(inbox));
}

/// Starts `fn(args...)` on the running loop (on a later turn), `fn` and `args` decay-copied into the
/// task's frame, where they live until the task ends: a capturing lambda is safe here, unlike
/// `spawn(lambda())`, whose lambda object dies at the end of the statement. `fn` must return a
/// task; it is called (with its copies as rvalues, as std::thread does) when the task first runs,
/// so an exception from the call itself ends the task, like one from its body.
template <class Fn, class... Args>
    requires detail::task_callable<Fn, Args...>
auto spawn(Fn&& fn, Args&&... args) {
    return spawn(detail::stored_call<std::decay_t<Fn>, std::decay_t<Args>...>(std::forward<Fn>(fn),
                                                                               std::forward<Args>(args)...));
}

}  // namespace sluice
