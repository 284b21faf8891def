#pragma once
/// sluice/thread_pool.hpp: running blocking calls on worker threads (asyncio.to_thread,
/// loop.run_in_executor).
///
/// - `co_await to_thread(fn, args...)`: runs `std::invoke(fn, args...)` on a worker of the running
///   loop's default pool and yields its result, or rethrows its exception, on the loop thread.
///   `fn` and `args` are decay-copied into the job (like std::thread: pass std::ref to share) and
///   invoked once, as rvalues. Results may be void, move-only, or lvalue references. The default
///   pool is created on the first to_thread of a loop with `event_loop_options::worker_threads`
///   threads (0, the default: std::thread::hardware_concurrency(), at least 1) and joined when the
///   loop is destroyed, at the end of `run`. Calling to_thread with no loop running on this thread
///   throws `std::logic_error`.
/// - `thread_pool pool(n)`: an explicit pool of n threads (n < 1: std::invalid_argument);
///   `co_await pool.submit(fn, args...)` has the same semantics. It may be shared by the loops of
///   several threads. Its destructor stops it: jobs no worker has taken yet never run, their
///   awaiters get `pool_shutdown_error`; jobs already running are waited for (the destructor
///   blocks its thread meanwhile), then the workers are joined. Do not destroy a pool from one of
///   its own jobs.
///
/// Waiting costs nothing: the loop sleeps in io_uring_enter (or epoll_wait) until a worker wakes it through its
/// eventfd (see detail/remote_inbox.hpp); other tasks, timers and I/O carry on meanwhile. Every
/// waiting coroutine is resumed on its loop thread. `run` does not return while a job one of its
/// tasks awaits is still running.
///
/// Cancellation: awaiting a job is a cancellation point.
///  - Not yet taken by a worker: the job is removed and never runs; `cancelled_error` at once.
///  - Running: a thread cannot be interrupted, and the job writes into the awaiting frame, so the
///    awaiter stays suspended until the job has finished; it then gets `cancelled_error` and the
///    job's result is discarded (destroyed on the loop thread). Hence `wait_for(to_thread(f), d)`
///    raises `timeout_error` only once `f` has returned.
///  - Finished before the cancel arrived (the worker was done, the task not yet resumed): the
///    result is delivered and the cancel stays pending for the task's next real suspension.

#include <concepts>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "detail/thread_pool.hpp"

namespace sluice {

/// A fixed set of worker threads running blocking callables for coroutines.
class thread_pool {
public:
    /// Starts `threads` workers; `threads < 1`: std::invalid_argument.
    explicit thread_pool(std::ptrdiff_t threads) : core_(make_core(threads)) {}
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;
    /// Queued jobs fail with pool_shutdown_error; running ones are waited for; workers joined.
    ~thread_pool() { core_->shutdown(); }

    /// Number of worker threads.
    [[nodiscard]] std::size_t size() const noexcept { return core_->size(); }

    /// Awaitable running `std::invoke(fn, args...)` (decay-copied) on one of the workers; yields its
    /// result or rethrows its exception on the awaiting loop's thread. Nothing runs until awaited.
    template <class Fn, class... Args>
        requires std::invocable<std::decay_t<Fn>, std::decay_t<Args>...>
    [[nodiscard]] detail::thread_job<std::decay_t<Fn>, std::decay_t<Args>...> submit(Fn&& fn, Args&&... args) {
        return detail::thread_job<std::decay_t<Fn>, std::decay_t<Args>...>(core_, std::forward<Fn>(fn),
                                                                          std::forward<Args>(args)...);
    }

private:
    static std::shared_ptr<detail::pool_core> make_core(std::ptrdiff_t threads) {
        if (threads < 1) throw std::invalid_argument("sluice::thread_pool: the number of threads must be at least 1");
        return std::make_shared<detail::pool_core>(static_cast<std::size_t>(threads));
    }

    std::shared_ptr<detail::pool_core> core_;
};

/// Awaitable running `std::invoke(fn, args...)` (decay-copied) on the running loop's default pool
/// (asyncio.to_thread). std::logic_error when no loop runs on this thread.
template <class Fn, class... Args>
    requires std::invocable<std::decay_t<Fn>, std::decay_t<Args>...>
[[nodiscard]] detail::thread_job<std::decay_t<Fn>, std::decay_t<Args>...> to_thread(Fn&& fn, Args&&... args) {
    detail::event_loop& loop = detail::event_loop::current();
    return detail::thread_job<std::decay_t<Fn>, std::decay_t<Args>...>(
        detail::pool_service::of(loop).default_pool(), std::forward<Fn>(fn), std::forward<Args>(args)...);
}

}  // namespace sluice
