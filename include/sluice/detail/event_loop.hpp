#pragma once
// The single-threaded event loop: a FIFO ready queue, user-space timers, one io_uring ring.
//
// One loop turn:
//   1. resume the coroutines that were ready when the turn began (FIFO; what they make ready runs
//      next turn, so `yield()` really goes behind everything ready);
//   2. hand the prepared SQEs to the kernel in one io_uring_enter, waiting only if nothing is
//      ready: until the earliest timer deadline (the wait timeout, no SQE per sleep), or for a CQE;
//   3. record every CQE (ops only schedule their waiter), advance the CQ head once, refill the ring
//      from the pending queue;
//   4. move expired timers' waiters to the ready queue.

#include <cassert>
#include <chrono>
#include <coroutine>
#include <memory>
#include <stdexcept>

#include "io_ring.hpp"
#include "ready_queue.hpp"
#include "timer_queue.hpp"

namespace sluice::detail {

/// A spawned task as the loop sees it: something alive that can be asked to cancel.
class root_node {
public:
    virtual void request_cancel() noexcept = 0;

protected:
    ~root_node() = default;

private:
    friend class event_loop;
    root_node* prev_ = nullptr;
    root_node* next_ = nullptr;
};

/// Per-loop state of an optional feature (the to_thread pool and its wake-up eventfd), created on
/// first use and destroyed with the loop: first of its members, so the ring and the ready queue
/// are still alive in its destructor.
class loop_service {
public:
    virtual ~loop_service() = default;
};

class event_loop {
public:
    explicit event_loop(const ring_options& options = {}) : ring_(options), options_(options) {
        if (current_ != nullptr) {
            throw std::logic_error("sluice: an event loop is already running on this thread (nested sluice::run)");
        }
        current_ = this;
    }
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;
    ~event_loop() { current_ = nullptr; }

    /// The loop running on this thread; std::logic_error outside sluice::run.
    static event_loop& current() {
        if (current_ == nullptr) throw std::logic_error("sluice: no event loop is running on this thread");
        return *current_;
    }
    static event_loop* current_or_null() noexcept { return current_; }

    void schedule(std::coroutine_handle<> handle) { ready_.push(handle); }
    /// Makes room for one more schedule_reserved (may throw bad_alloc), so that an awaiter can do
    /// what can fail before it registers with its cancel context and the rest without failing.
    void reserve_schedule() { ready_.reserve(ready_.size() + 1); }
    /// schedule() after reserve_schedule(): cannot fail.
    void schedule_reserved(std::coroutine_handle<> handle) noexcept { ready_.push_reserved(handle); }

    /// Strong exception safety: on bad_alloc the timer is not armed and the queue is unchanged.
    void add_timer(timer_node& node) { timers_.insert(node); }
    /// Makes room for one more add_reserved_timer (may throw bad_alloc).
    void reserve_timer() { timers_.reserve_one(); }
    /// add_timer() after reserve_timer(): cannot fail.
    void add_reserved_timer(timer_node& node) noexcept { timers_.insert_reserved(node); }
    void remove_timer(timer_node& node) noexcept {
        if (node.armed()) timers_.remove(node);
    }

    io_ring& ring() noexcept { return ring_; }

    /// The options the loop was created with (worker_threads), and the slot where
    /// detail/thread_pool.hpp keeps the loop's wake-up eventfd and default pool.
    [[nodiscard]] const ring_options& options() const noexcept { return options_; }
    std::unique_ptr<loop_service>& thread_pool_service() noexcept { return thread_pool_service_; }

    void adopt(root_node& root) noexcept {
        root.prev_ = nullptr;
        root.next_ = roots_;
        if (roots_ != nullptr) roots_->prev_ = &root;
        roots_ = &root;
    }
    void release(root_node& root) noexcept {
        (root.prev_ ? root.prev_->next_ : roots_) = root.next_;
        if (root.next_ != nullptr) root.next_->prev_ = root.prev_;
    }
    [[nodiscard]] bool has_roots() const noexcept { return roots_ != nullptr; }

    /// Requests cancellation of every live spawned task (they only get scheduled; none runs here).
    void cancel_all_roots() noexcept {
        for (root_node* root = roots_; root != nullptr; root = root->next_) root->request_cancel();
    }

    /// Runs turns until `done()` holds (true) or nothing can ever happen again (false): no ready
    /// coroutine, no timer, no operation in the kernel.
    template <class Done>
    bool run_until(Done done) {
        while (!done()) {
            const std::size_t batch = ready_.size();
            if (ready_shuffle != nullptr) ready_.shuffle_front(batch, *ready_shuffle);
            for (std::size_t i = 0; i < batch; ++i) ready_.pop().resume();
            if (done()) return true;
            if (!poll()) return false;
        }
        return true;
    }

private:
    bool poll() {
        if (!ready_.empty()) {
            if (ring_.has_work()) ring_.submit_and_reap(nullptr, /*wait=*/false);
        } else if (!timers_.empty()) {
            const auto remaining = timers_.earliest().deadline - clock::now();
            if (remaining <= clock::duration::zero()) {
                ring_.submit_and_reap(nullptr, /*wait=*/false);
            } else {
                // Clamped: a far deadline ("never" is time_point::max()) waits in hour-long steps and
                // re-evaluates, rather than asking the kernel for centuries.
                const auto clamped = remaining < std::chrono::hours(1) ? remaining : clock::duration(std::chrono::hours(1));
                const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(clamped).count();
                const __kernel_timespec timeout{ns / 1'000'000'000, ns % 1'000'000'000};
                ring_.submit_and_reap(&timeout, /*wait=*/true);
            }
        } else if (!ring_.idle()) {
            ring_.submit_and_reap(nullptr, /*wait=*/true);
        } else {
            return false;
        }
        fire_timers();
        return true;
    }

    void fire_timers() {
        if (timers_.empty()) return;
        const auto now = clock::now();
        while (!timers_.empty() && timers_.earliest().deadline <= now) {
            timer_node& node = timers_.earliest();
            timers_.remove(node);
            node.expired();
        }
    }

    static inline thread_local event_loop* current_ = nullptr;

    io_ring ring_;
    ready_queue ready_;
    timer_queue timers_;
    root_node* roots_ = nullptr;
    // Declared last: destroyed first, while the members above still live.
    ring_options options_;
    std::unique_ptr<loop_service> thread_pool_service_;
};

}  // namespace sluice::detail
