#pragma once
/// sluice/event_loop.hpp: running tasks (asyncio.run, asyncio.create_task).
///
/// - `run(task, options)`: creates this thread's event loop (one io_uring ring), runs the task to
///   completion and returns its value or rethrows its exception. When the main task is done, tasks
///   spawned and still alive are cancelled and awaited (asyncio.run does the same), so `run` never
///   returns while one of its coroutines is still alive. If nothing can ever make progress again
///   (no ready task, no timer, no I/O in flight) while the main task waits, every task is
///   cancelled and `run` throws `std::logic_error` ("deadlock"). Calling `run` while a loop runs
///   on this thread throws `std::logic_error`. `options` choose the backend (sluice/backend.hpp:
///   io_uring, falling back to epoll where io_uring is blocked, silently), the ring's sizes and the
///   worker pool's; forcing io_uring where it is blocked throws `std::system_error` naming the
///   cause and the remedy.
/// - `current_backend()`: the backend of the running loop (io_uring or epoll), for logs and tests.
/// - `spawn(task)`, `spawn(fn, args...)` and `join_handle<T>`: see sluice/spawn.hpp (included here).

#include <utility>

#include "backend.hpp"
#include "detail/backends.hpp"
#include "detail/spawn.hpp"
#include "spawn.hpp"
#include "task.hpp"

namespace sluice {

/// The backend the loop running on this thread uses (io_uring or epoll, never automatic);
/// std::logic_error outside `run`.
[[nodiscard]] inline backend current_backend() { return detail::event_loop::current().io().kind(); }

/// Runs `main` on a fresh event loop on this thread and returns its result (asyncio.run).
template <class T>
T run(task<T> main, const event_loop_options& options = {}) {
    detail::event_loop loop(detail::make_backend(options), options);
    // The way in from other threads (loop_handle, cross-thread cancel, to_thread) exists from the
    // start, so spawning opens no descriptor and a handle's cancel can always wake the loop.
    (void)detail::remote_inbox::of(loop);
    auto root = detail::run_as_root(std::move(main)).handle;
    detail::start_or_destroy(root, loop);
    struct frame_owner {
        detail::root_handle<T> root;
        // A frame that never finished is still referenced by whatever it waits on: leak it rather
        // than free memory someone may still write to (only reachable after a deadlock).
        ~frame_owner() {
            if (root.done()) root.destroy();
        }
    } owner{root};
    const bool finished = loop.run_until([&] { return root.done(); });
    // TRICKY: whatever is still alive (detached tasks, items a stopped consumer handed over) is
    // cancelled and awaited here, before the loop, and the caller's stack frames they may point
    // into, go away. On a deadlock the main task is among them.
    loop.cancel_all_roots();
    const bool drained = loop.run_until([&] { return !loop.has_roots(); });
    if (!finished || !drained) {
        throw std::logic_error(
            "sluice::run: deadlock: tasks wait for something that can never happen (no ready task, no "
            "timer, no I/O in flight)");
    }
    return root.promise().result_slot().take();
}

}  // namespace sluice
