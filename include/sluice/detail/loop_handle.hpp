#pragma once
// Machinery of sluice/loop_handle.hpp: a callable posted to a loop, and the awaiter of
// until_stopped (a std::stop_callback that posts to the loop).

#include <atomic>
#include <coroutine>
#include <cstdio>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "cancellation.hpp"
#include "event_loop.hpp"
#include "remote_inbox.hpp"

namespace sluice::detail {

/// A callable travelling to the loop thread: heap-allocated by the poster, run and freed by the
/// loop (deliver), or freed unrun if the loop ends first (discard).
template <class Fn>
class posted_call final : public remote_completion {
public:
    template <class F>
    explicit posted_call(F&& fn) : fn_(std::forward<F>(fn)) {}

    void deliver() noexcept override {
        // Like a detached task's failure, an exception out of a posted callable has nobody to
        // reach: it is reported (asyncio's loop logs it through its exception handler) and the
        // loop goes on.
        try {
            std::invoke(fn_);
        } catch (const cancelled_error&) {
        } catch (const std::exception& error) {
            std::fprintf(stderr, "sluice: a callable posted to the loop threw: %s\n", error.what());
        } catch (...) {
            std::fprintf(stderr, "sluice: a callable posted to the loop threw a non-std exception\n");
        }
        delete this;
    }
    void discard() noexcept override { delete this; }

private:
    Fn fn_;
};

/// Posts `fn` (decayed, moved in) to `inbox`: false, and `fn` destroyed on this thread, when the
/// loop has ended. Throws only what allocating or moving the callable throws.
template <class F>
[[nodiscard]] bool post_call(remote_inbox& inbox, F&& fn) {
    auto call = std::make_unique<posted_call<std::decay_t<F>>>(std::forward<F>(fn));
    if (!inbox.post(*call)) return false;
    call.release();  // the loop owns it now
    return true;
}

/// `co_await until_stopped(token)`: resumes once stop is requested on `token`, from any thread.
///
/// The stop_callback runs on the thread that requests stop and posts this awaiter to the loop,
/// which resumes the waiter. While it waits the loop counts it as work an outside thread will
/// complete (no deadlock is reported).
///
/// TRICKY: the awaiter lives in the suspended frame and the stop_callback may post it at any time.
/// A cancel first destroys the stop_callback: std::stop_callback's destructor waits for a callback
/// running on another thread, and after it no callback can start. If the callback had already
/// fired, the awaiter is (or is about to be) in the inbox: the waiter then stays suspended until
/// deliver() runs on the loop thread, the inbox's last touch of it, and only then resumes with
/// cancelled_error; resuming earlier would free the frame under the inbox.
class stop_awaiter final : public remote_wait, public remote_completion {
public:
    explicit stop_awaiter(std::stop_token token) noexcept : token_(std::move(token)) {}
    stop_awaiter(stop_awaiter&& other) noexcept
        : remote_wait(), remote_completion(), token_(std::move(other.token_)) {}

    [[nodiscard]] bool await_ready() const noexcept { return token_.stop_requested(); }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        event_loop& loop = event_loop::current();
        inbox_ = remote_inbox::of(loop);  // may throw: before enter() registers anything
        if (!enter(waiter)) return false;
        loop_ = &loop;
        inbox_->expect();
        // May run on_stop() inline, here, when stop was requested meanwhile: it then posts us,
        // and the next turn resumes the waiter, the same path as a request from elsewhere.
        callback_.emplace(token_, on_stop{this});
        return true;
    }
    void await_resume() {
        callback_.reset();
        throw_if_cancelled();
    }

    void deliver() noexcept override { arrived(*inbox_); }

    void cancel_wait() noexcept override {
        callback_.reset();  // waits for a callback running elsewhere; none can start afterwards
        if (fired_.load(std::memory_order_acquire)) {
            abandoned_ = true;  // posted: deliver() resumes the waiter with cancelled_error
            return;
        }
        withdrawn(*inbox_);
    }

private:
    struct on_stop {
        stop_awaiter* self;
        void operator()() const noexcept {
            self->fired_.store(true, std::memory_order_release);
            // The loop ends only after this frame was resumed, so the inbox still accepts.
            (void)self->inbox_->post(*self);
        }
    };

    std::stop_token token_;
    std::shared_ptr<remote_inbox> inbox_;
    std::optional<std::stop_callback<on_stop>> callback_;
    std::atomic<bool> fired_{false};
};

}  // namespace sluice::detail
