#pragma once
/// sluice/loop_handle.hpp: into a running loop from other threads (asyncio's
/// `call_soon_threadsafe`, `run_coroutine_threadsafe`; Asio's `post`).
///
/// - `loop_handle h = sluice::current_loop();` on the loop thread (std::logic_error elsewhere).
///   The handle is copyable and every member is safe from any thread.
/// - `h.post(fn)`: `fn` (decayed and moved into the handle's queue) runs on the loop thread, between
///   loop turns, in posting order. An exception out of `fn` is reported on stderr and the loop goes
///   on (asyncio logs it the same way).
/// - `h.spawn(task)`: the task starts on the loop as by `sluice::spawn` there, detached (its
///   failure is reported on stderr). Use `post` to do more, e.g. to keep the join_handle.
/// - A loop that has ended (its `run` returned or threw): `post` and `spawn` return **false** and
///   destroy what they were given, on the calling thread; nothing runs. A callable accepted (true)
///   runs unless the loop ends before its turn comes; then it is destroyed unrun, on the loop
///   thread. A default-constructed (or moved-from) handle throws `std::logic_error`.
/// - While any loop_handle of a loop exists the loop counts as able to be woken from outside: it
///   waits instead of reporting a deadlock (like asyncio's run_forever). Drop handles you no
///   longer need. `join_handle::cancel()` is safe from any thread too (it is posted).
/// - `co_await sluice::until_stopped(token)`: waits until stop is requested on the
///   `std::stop_token` (from any thread); returns at once if it already was. A cancellation
///   point. To cancel a task on stop, join it with `std::stop_callback cb(token, [&] { h.cancel(); })`
///   (see `until_stopped` in tests/loop_handle_test.cpp).

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "detail/loop_handle.hpp"
#include "spawn.hpp"
#include "task.hpp"

namespace sluice {

class loop_handle;
loop_handle core_loop(std::size_t core);  // run_on_cores.hpp

/// A thread-safe reference to an event loop; copies are cheap (a shared pointer).
class loop_handle {
public:
    /// An empty handle: post and spawn throw std::logic_error.
    loop_handle() noexcept = default;
    loop_handle(const loop_handle& other) noexcept : inbox_(other.inbox_) {
        if (inbox_) inbox_->retain_handle();
    }
    loop_handle(loop_handle&& other) noexcept = default;
    loop_handle& operator=(loop_handle other) noexcept {
        std::swap(inbox_, other.inbox_);
        return *this;
    }
    ~loop_handle() {
        if (inbox_) inbox_->release_handle();
    }

    /// Runs `fn()` on the loop thread. False if the loop has ended (then `fn` is destroyed here
    /// and never runs). Throws std::logic_error on an empty handle, and what allocating or moving
    /// the callable throws.
    template <class F>
        requires std::invocable<std::decay_t<F>&>
    bool post(F&& fn) const {
        return detail::post_call(checked(), std::forward<F>(fn));
    }

    /// Starts `body` on the loop, detached (see sluice::spawn). False if the loop has ended (the
    /// task is then destroyed unstarted, here).
    template <class T>
    bool spawn(task<T> body) const {
        return post([body = std::move(body)]() mutable { sluice::spawn(std::move(body)).detach(); });
    }

    /// True unless the handle is empty.
    explicit operator bool() const noexcept { return static_cast<bool>(inbox_); }
    /// Two handles of the same loop compare equal.
    friend bool operator==(const loop_handle& a, const loop_handle& b) noexcept { return a.inbox_ == b.inbox_; }

private:
    friend loop_handle current_loop();
    friend loop_handle core_loop(std::size_t core);
    explicit loop_handle(std::shared_ptr<detail::remote_inbox> inbox) noexcept : inbox_(std::move(inbox)) {
        inbox_->retain_handle();
    }

    detail::remote_inbox& checked() const {
        if (!inbox_) throw std::logic_error("sluice: loop_handle is empty (default-constructed or moved-from)");
        return *inbox_;
    }

    std::shared_ptr<detail::remote_inbox> inbox_;
};

/// A handle of the loop running on this thread; std::logic_error outside `sluice::run`.
inline loop_handle current_loop() { return loop_handle(detail::remote_inbox::of(detail::event_loop::current())); }

/// Waits until stop is requested on `token` (at once if it already was); a cancellation point.
[[nodiscard]] inline detail::stop_awaiter until_stopped(std::stop_token token) noexcept {
    return detail::stop_awaiter(std::move(token));
}

}  // namespace sluice
