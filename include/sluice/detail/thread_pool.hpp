#pragma once
// Machinery of sluice/thread_pool.hpp: the worker pool (a mutex-guarded FIFO of jobs and its
// threads), the awaitable that is a job, and the per-loop service holding the loop's wake-up
// inbox and its lazily created default pool.
//
// Life of a job (`thread_job`, living in the awaiting coroutine's frame):
//   await_suspend (loop):  inbox.expect() (the loop now waits for it), pool.enqueue() -> queued
//   a worker pops it:                                                                 -> running
//   the worker runs the callable, stores the outcome in the frame                     -> finished
//   the worker posts it to the loop's inbox; the loop drains the inbox, deliver() withdraws the
//   expectation and schedules the waiter, await_resume (loop) returns the value or rethrows.
// Synchronisation: the queue links and the queued -> running step are guarded by the pool's mutex;
// running -> finished is an atomic store; the outcome travels to the loop under the inbox's mutex.
// Every coroutine is resumed on its loop thread, through the ready queue.

#include <pthread.h>

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "../errors.hpp"
#include "cancellation.hpp"
#include "event_loop.hpp"
#include "intrusive_list.hpp"
#include "outcome.hpp"
#include "remote_inbox.hpp"

namespace sluice::detail {

enum class job_state : unsigned char { queued, running, finished };

/// A job as the pool sees it.
class pool_job : public remote_completion {
public:
    /// Worker thread: run the callable and store its result or exception.
    virtual void execute() noexcept = 0;
    /// The pool shut down before the job ran: store `error` as its outcome.
    virtual void fail(std::exception_ptr error) noexcept = 0;

protected:
    pool_job() = default;
    ~pool_job() = default;

    std::shared_ptr<remote_inbox> inbox_;  // the awaiting loop's; set before enqueue

private:
    friend class pool_core;
    list_links<pool_job> queue_links_;  // guarded by the pool's mutex
    std::atomic<job_state> state_{job_state::queued};
};

/// The pool proper, shared (std::shared_ptr) by its owner and every job awaiting it, so a job can
/// still be asked about its state after the owner shut the pool down.
class pool_core {
public:
    /// Starts `threads` (>= 1) workers; if one cannot be started, joins the others and rethrows.
    explicit pool_core(std::size_t threads) : size_(threads) {
        workers_.reserve(threads);
        try {
            for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
        } catch (...) {
            shutdown();
            throw;
        }
    }
    pool_core(const pool_core&) = delete;
    pool_core& operator=(const pool_core&) = delete;
    ~pool_core() { shutdown(); }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    /// Queues `job` (its inbox set). False when the pool was shut down: nothing was queued.
    [[nodiscard]] bool enqueue(pool_job& job) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_) return false;
            job.state_.store(job_state::queued, std::memory_order_relaxed);
            queue_.push_back(job);
        }
        wake_.notify_one();
        return true;
    }

    /// The job's state when asked; a job still `queued` is removed and will never run.
    [[nodiscard]] job_state withdraw(pool_job& job) noexcept {
        std::lock_guard lock(mutex_);
        const job_state state = job.state_.load(std::memory_order_relaxed);
        if (state == job_state::queued) queue_.remove(job);
        return state;
    }

    /// Stops the pool: jobs no worker took yet fail with pool_shutdown_error (posted to their
    /// loops, never run); jobs running are waited for; the workers are joined. Idempotent. Must
    /// not be called from one of the pool's own workers.
    void shutdown() noexcept {
        job_list abandoned;
        {
            std::lock_guard lock(mutex_);
            if (stopping_ && workers_.empty()) return;
            stopping_ = true;
            abandoned = std::move(queue_);
            // Marked finished under the lock: a concurrent withdraw() (another loop's cancel) sees
            // a job that is no longer queued and leaves it to be delivered.
            for (pool_job* job = abandoned.front(); job != nullptr; job = abandoned.next_of(*job)) {
                job->state_.store(job_state::finished, std::memory_order_relaxed);
            }
        }
        wake_.notify_all();
        while (pool_job* job = abandoned.pop_front()) {
            job->fail(std::make_exception_ptr(pool_shutdown_error()));
            remote_inbox& inbox = *job->inbox_;
            (void)inbox.post(*job);  // false only once the loop has ended: then nobody waits
        }
        for (std::thread& worker : workers_) {
            if (worker.joinable()) worker.join();
        }
        workers_.clear();
    }

private:
    void work() noexcept {
        // Signals are for the loops' threads (sluice::signal blocks them there and reads them
        // from a signalfd): a worker must never be the thread a process-directed signal picks.
        sigset_t all;
        sigfillset(&all);
        pthread_sigmask(SIG_BLOCK, &all, nullptr);
        for (;;) {
            pool_job* job;
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                if (stopping_) return;  // shutdown() took the queue with the same lock
                job = queue_.pop_front();
                job->state_.store(job_state::running, std::memory_order_relaxed);
            }
            job->execute();
            job->state_.store(job_state::finished, std::memory_order_relaxed);
            // After post() the job belongs to its loop again (its frame may be gone at once).
            remote_inbox& inbox = *job->inbox_;
            (void)inbox.post(*job);  // false only once the loop has ended: then nobody waits
        }
    }

    using job_list = intrusive_list<pool_job, &pool_job::queue_links_>;

    std::mutex mutex_;
    std::condition_variable wake_;
    job_list queue_;
    bool stopping_ = false;
    const std::size_t size_;
    std::vector<std::thread> workers_;  // touched by the owner's thread only
};

/// The per-loop service: the loop's default pool (created on first to_thread). Jobs hand their
/// results back through the loop's remote_inbox.
class pool_service final : public loop_service {
public:
    explicit pool_service(event_loop& loop)
        : inbox_(remote_inbox::of(loop)), default_threads_(loop.options().worker_threads) {}
    pool_service(const pool_service&) = delete;
    pool_service& operator=(const pool_service&) = delete;

    /// Runs while the loop is destroyed, before its inbox is closed. After a normal run() nothing
    /// is outstanding; otherwise the default pool's queued jobs fail and its running ones are
    /// waited for.
    ~pool_service() override {
        if (default_pool_) default_pool_->shutdown();
    }

    [[nodiscard]] const std::shared_ptr<remote_inbox>& inbox() const noexcept { return inbox_; }

    [[nodiscard]] const std::shared_ptr<pool_core>& default_pool() {
        if (!default_pool_) {
            std::size_t threads = default_threads_ != 0 ? default_threads_ : std::thread::hardware_concurrency();
            if (threads == 0) threads = 1;
            default_pool_ = std::make_shared<pool_core>(threads);
        }
        return default_pool_;
    }

    /// The loop's service, created on first use (may throw: eventfd).
    static pool_service& of(event_loop& loop) { return loop.use_service<pool_service>(); }

private:
    std::shared_ptr<remote_inbox> inbox_;
    std::shared_ptr<pool_core> default_pool_;
    unsigned default_threads_;
};

/// What awaiting a job yields: references stay references, other results are values.
template <class Fn, class... Args>
using job_result_t = std::conditional_t<std::is_lvalue_reference_v<std::invoke_result_t<Fn, Args...>>,
                                        std::invoke_result_t<Fn, Args...>,
                                        std::remove_cvref_t<std::invoke_result_t<Fn, Args...>>>;

/// `co_await to_thread(fn, args...)` and `co_await pool.submit(fn, args...)`: `Fn` and `Args` are
/// the decayed types; the callable is invoked once, as `std::invoke(std::move(fn), std::move(args)...)`.
///
/// Cancellation (a cancellation point; see docs/design.md, "Cancellation"):
///  - a cancel pending when the job would be submitted: `cancelled_error` at once, nothing runs;
///  - a cancel while the job is queued: it is removed from the pool and never runs; the waiter
///    gets `cancelled_error` on the next loop turn;
///  - a cancel while the job is running: the waiter stays suspended until the job has finished (see
///    TRICKY below), then gets `cancelled_error`; the job's result (or exception) is destroyed;
///  - a cancel after the job finished but before the waiter resumed: the result is delivered and the
///    request stays pending for the task's next real suspension (a completed operation's result is
///    never discarded).
/// The job counts as completed when its worker has finished it (state `finished`), not when the
/// loop drains the inbox. A job still running when the cancel arrives has not completed, so the
/// cancel is delivered at this suspension like at every other cancellation point; keeping its
/// result instead would make `wait_for(to_thread(f), d)` never time out once `f` has started
/// (asyncio raises TimeoutError there too). The result is lost only to a task that asked to stop.
///
/// TRICKY: a running job reads the callable and arguments in this object and writes the outcome
/// into it, i.e. into the suspended coroutine's frame, on a worker thread. Resuming the waiter
/// before the worker is done (for a cancel, say) would unwind the frame and free that memory under
/// the worker. So nothing resumes the waiter but `deliver()`, which runs on the loop thread after
/// the worker posted the job to the inbox, its last touch of the job; a cancel while running only
/// marks the job abandoned. The inbox's mutex orders the worker's writes before the loop's reads.
/// This is why wait_for around a running job raises timeout_error only once the job has finished.
template <class Fn, class... Args>
class thread_job final : public remote_wait, public pool_job {
public:
    using result_type = job_result_t<Fn, Args...>;

    template <class F, class... A>
    explicit thread_job(std::shared_ptr<pool_core> pool, F&& fn, A&&... args)
        : pool_(std::move(pool)), fn_(std::forward<F>(fn)), args_(std::forward<A>(args)...) {}
    /// Only before it is awaited (wait_for and the combinators move awaitables into their frames).
    thread_job(thread_job&& other) noexcept(std::is_nothrow_move_constructible_v<Fn> &&
                                            (std::is_nothrow_move_constructible_v<Args> && ...))
        : remote_wait(), pool_job(), pool_(std::move(other.pool_)), fn_(std::move(other.fn_)),
          args_(std::move(other.args_)) {}

    [[nodiscard]] bool await_ready() const noexcept { return false; }

    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> waiter) {
        // Everything that can throw comes before enter() registers the wait.
        loop_ = &event_loop::current();
        inbox_ = pool_service::of(*loop_).inbox();
        if (!enter(waiter)) return false;  // a pending cancel: delivered now, the job never exists
        inbox_->expect();
        bool queued = false;
        try {
            queued = pool_->enqueue(*this);
        } catch (...) {
            inbox_->withdraw();
            finish_completed();
            throw;
        }
        if (!queued) {  // awaited after its pool was destroyed
            inbox_->withdraw();
            finish_completed();
            fail(std::make_exception_ptr(pool_shutdown_error()));
            return false;
        }
        return true;
    }

    result_type await_resume() {
        throw_if_cancelled();
        return outcome_.take();
    }

    void execute() noexcept override {
        try {
            if constexpr (std::is_void_v<result_type>) {
                invoke();
                outcome_.set_value();
            } else {
                outcome_.set_value(invoke());
            }
        } catch (...) {
            outcome_.set_error(std::current_exception());
        }
    }
    void fail(std::exception_ptr error) noexcept override { outcome_.set_error(std::move(error)); }

    void deliver() noexcept override { arrived(*inbox_); }

    void cancel_wait() noexcept override {
        switch (pool_->withdraw(*this)) {
            case job_state::queued:  // removed: it never runs, nothing else will touch this object
                withdrawn(*inbox_);
                break;
            case job_state::running:  // cannot be stopped: cancelled_error once it has finished
                abandoned_ = true;
                break;
            case job_state::finished:  // won the race: its result is delivered, the request pends
                break;
        }
    }

private:
    decltype(auto) invoke() {
        return std::apply(
            [this](Args&... args) -> decltype(auto) { return std::invoke(std::move(fn_), std::move(args)...); },
            args_);
    }

    std::shared_ptr<pool_core> pool_;
    Fn fn_;
    std::tuple<Args...> args_;
    outcome<result_type> outcome_;
};

}  // namespace sluice::detail
