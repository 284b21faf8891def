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

#include <atomic>
#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstdint>
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
    /// Set when the loop adopts the root: with the node's address, names this root and no later
    /// one allocated at the same address (see event_loop::cancel_if_live).
    [[nodiscard]] std::uint64_t serial() const noexcept { return serial_; }

protected:
    ~root_node() = default;

private:
    friend class event_loop;
    root_node* prev_ = nullptr;
    root_node* next_ = nullptr;
    std::uint64_t serial_ = 0;
};

/// Per-loop state of an optional feature (the to_thread pool and its wake-up eventfd), created on
/// first use and destroyed with the loop: first of its members, so the ring and the ready queue
/// are still alive in its destructor.
class loop_service {
public:
    virtual ~loop_service() = default;
};

/// The loop's view of its remote_inbox (detail/remote_inbox.hpp), the way into the loop from other
/// threads: checked once per turn (one atomic load), drained between turns, never while the ring
/// is being reaped, so what it delivers may run user code (a posted callable).
class remote_wakeup {
public:
    /// Another thread posted something since the last drain.
    [[nodiscard]] bool has_posts() const noexcept { return posted_.load(std::memory_order_acquire); }
    /// Delivers everything posted (schedules waiters, runs posted callables).
    virtual void drain() noexcept = 0;
    /// Ops in the ring that are only the wake-up read (0 or 1): a busy turn need not enter the
    /// kernel for them, since has_posts() already tells it what arrived.
    [[nodiscard]] virtual unsigned wakeup_ops() const noexcept = 0;
    /// Of those, the ones nobody outside will ever complete (no loop_handle alive, no job out): a
    /// loop with only these in flight can never make progress (deadlock).
    [[nodiscard]] virtual unsigned idle_wakeup_ops() const noexcept = 0;

protected:
    ~remote_wakeup() = default;
    std::atomic<bool> posted_{false};  // set under the inbox's mutex, cleared by drain()
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

    void add_timer(timer_node& node) { timers_.insert(node); }
    void remove_timer(timer_node& node) noexcept {
        if (node.armed()) timers_.remove(node);
    }

    io_ring& ring() noexcept { return ring_; }

    /// The options the loop was created with (worker_threads), and the slot where
    /// detail/thread_pool.hpp keeps the loop's wake-up eventfd and default pool.
    [[nodiscard]] const ring_options& options() const noexcept { return options_; }
    std::unique_ptr<loop_service>& thread_pool_service() noexcept { return thread_pool_service_; }
    /// The slot of the loop's remote_inbox service (detail/remote_inbox.hpp), which registers its
    /// remote_wakeup here when created.
    std::unique_ptr<loop_service>& remote_service() noexcept { return remote_service_; }
    void set_wakeup(remote_wakeup* wakeup) noexcept { wakeup_ = wakeup; }

    void adopt(root_node& root) noexcept {
        root.serial_ = ++root_serial_;
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

    /// A cancel that another thread posted (join_handle::cancel): the root may have finished, and
    /// its frame been freed, since; it is cancelled only if still alive. A linear search: a
    /// cross-thread cancel is rare, and the hot paths (adopt, release) stay two pointer writes.
    void cancel_if_live(const root_node* target, std::uint64_t serial) noexcept {
        for (root_node* root = roots_; root != nullptr; root = root->next_) {
            if (root == target && root->serial_ == serial) {
                root->request_cancel();
                return;
            }
        }
    }

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
            for (std::size_t i = 0; i < batch; ++i) ready_.pop().resume();
            if (done()) return true;
            if (wakeup_ != nullptr && wakeup_->has_posts()) wakeup_->drain();
            if (!poll()) return false;
        }
        return true;
    }

private:
    bool poll() {
        if (!ready_.empty()) {
            if (ring_.has_work(wakeup_ != nullptr ? wakeup_->wakeup_ops() : 0)) {
                ring_.submit_and_reap(nullptr, /*wait=*/false);
            }
        } else if (!timers_.empty()) {
            const auto remaining = timers_.earliest().deadline - clock::now();
            if (remaining <= clock::duration::zero()) {
                ring_.submit_and_reap(nullptr, /*wait=*/false);
            } else {
                const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(remaining).count();
                const __kernel_timespec timeout{ns / 1'000'000'000, ns % 1'000'000'000};
                ring_.submit_and_reap(&timeout, /*wait=*/true);
            }
        } else if (!ring_.idle(wakeup_ != nullptr ? wakeup_->idle_wakeup_ops() : 0)) {
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
    std::uint64_t root_serial_ = 0;
    remote_wakeup* wakeup_ = nullptr;
    // Declared last: destroyed first, while the members above still live; the thread pool first
    // (its shutdown may still post to the remote inbox), then the inbox.
    ring_options options_;
    std::unique_ptr<loop_service> remote_service_;
    std::unique_ptr<loop_service> thread_pool_service_;
};

}  // namespace sluice::detail
