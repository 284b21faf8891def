#pragma once
// The single-threaded event loop: a FIFO ready queue, user-space timers, one I/O backend
// (io_uring or epoll, behind detail/io_backend.hpp), and a registry of per-loop services.
//
// One loop turn:
//   1. resume the coroutines that were ready when the turn began (FIFO; what they make ready runs
//      next turn, so `yield()` really goes behind everything ready);
//   2. deliver what other threads posted since the last turn (detail/remote_inbox.hpp: one atomic
//      load when nothing was; posted callables run here, never while the backend reaps);
//   3. let the backend submit and reap (one io_uring_enter, or one epoll_wait), waiting only if
//      nothing is ready: until the earliest timer deadline (the wait's timeout, no kernel timer per
//      sleep), or for a completion;
//   4. the backend records every completion (ops only schedule their waiter) before anything runs;
//   5. move expired timers' waiters to the ready queue.

#include <atomic>
#include <cassert>
#include <coroutine>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "../backend.hpp"
#include "intrusive_list.hpp"
#include "io_backend.hpp"
#include "owner_ptr.hpp"
#include "ready_queue.hpp"
#include "std_chrono.hpp"
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
    list_links<root_node> links_;
    std::uint64_t serial_ = 0;
};

/// Per-loop state of an optional feature (the to_thread pool and its wake-up eventfd, ...), created
/// on first use by `event_loop::use_service<S>()` and destroyed with the loop, in reverse order of
/// creation and before the backend and the ready queue, which are still alive in its destructor.
class loop_service {
public:
    virtual ~loop_service() = default;
};

/// One distinct address per service type: the registry's key (no RTTI needed).
template <class Service>
inline constexpr char service_key = 0;

/// The loop's view of its remote_inbox (detail/remote_inbox.hpp), the way into the loop from other
/// threads: checked once per turn (one atomic load), drained between turns, never while the
/// backend is reaping, so what it delivers may run user code (a posted callable).
class remote_wakeup {
public:
    /// Another thread posted something since the last drain.
    [[nodiscard]] bool has_posts() const noexcept { return posted_.load(std::memory_order_acquire); }
    /// Delivers everything posted (schedules waiters, runs posted callables).
    virtual void drain() noexcept = 0;
    /// The wake-up read: a busy turn need not ask the backend about it, since has_posts() already
    /// tells what arrived.
    [[nodiscard]] virtual const io_operation* wakeup_op() const noexcept = 0;
    /// The wake-up read if nobody outside will ever complete it (no loop_handle alive, no job
    /// out), else null: a loop with only that op in flight can never make progress (deadlock).
    [[nodiscard]] virtual const io_operation* idle_wakeup_op() const noexcept = 0;

protected:
    ~remote_wakeup() = default;
    std::atomic<bool> posted_{false};  // set under the inbox's mutex, cleared by drain()
};

class event_loop {
public:
    /// A loop doing its I/O through `io` (see detail/backends.hpp for the choice).
    event_loop(owner_ptr<io_backend> io, const event_loop_options& options)
        : io_(std::move(io)), options_(options) {
        if (current_ != nullptr) {
            throw std::logic_error("sluice: an event loop is already running on this thread (nested sluice::run)");
        }
        io_->attach(*this);
        current_ = this;
    }
    event_loop(const event_loop&) = delete;
    event_loop& operator=(const event_loop&) = delete;
    ~event_loop() {
        while (!services_.empty()) services_.pop_back();  // newest first: it may use older ones
        current_ = nullptr;
    }

    /// The loop running on this thread; std::logic_error outside sluice::run.
    static event_loop& current() {
        if (current_ == nullptr) [[unlikely]] no_loop();
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

    /// The loop's way to the kernel.
    io_backend& io() noexcept { return *io_; }

    /// The options the loop was created with.
    [[nodiscard]] const event_loop_options& options() const noexcept { return options_; }

    /// The loop's `Service` (a loop_service constructible from `event_loop&`), created on first
    /// use (as Asio's use_service<S>(ctx)); the loop knows nothing of its services' types.
    template <class Service>
    Service& use_service() {
        for (const auto& entry : services_) {
            if (entry.key == &service_key<Service>) return static_cast<Service&>(*entry.service);
        }
        auto created = make_owner<Service>(*this);
        Service& service = *created;
        services_.push_back(service_entry{&service_key<Service>, std::move(created)});
        return service;
    }

    /// The loop's remote_inbox (detail/remote_inbox.hpp) registers itself here when created, and
    /// unregisters when closed.
    void set_wakeup(remote_wakeup* wakeup) noexcept { wakeup_ = wakeup; }

    void adopt(root_node& root) noexcept {
        root.serial_ = ++root_serial_;
        roots_.push_front(root);
    }
    void release(root_node& root) noexcept { roots_.remove(root); }
    [[nodiscard]] bool has_roots() const noexcept { return !roots_.empty(); }

    /// A cancel that another thread posted (join_handle::cancel): the root may have finished, and
    /// its frame been freed, since; it is cancelled only if still alive. A linear search: a
    /// cross-thread cancel is rare, and the hot paths (adopt, release) stay two pointer writes.
    void cancel_if_live(const root_node* target, std::uint64_t serial) noexcept {
        for (root_node* root = roots_.front(); root != nullptr; root = roots_.next_of(*root)) {
            if (root == target && root->serial_ == serial) {
                root->request_cancel();
                return;
            }
        }
    }

    /// Requests cancellation of every live spawned task (they only get scheduled; none runs here).
    void cancel_all_roots() noexcept {
        for (root_node* root = roots_.front(); root != nullptr; root = roots_.next_of(*root)) {
            root->request_cancel();
        }
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
            if (wakeup_ != nullptr && wakeup_->has_posts()) wakeup_->drain();
            if (!poll()) return false;
        }
        return true;
    }

private:
    /// Out of line, so that current() (on every suspension's path) is inlined: a throw in it kept
    /// GCC from inlining it, a call per wait.
    [[noreturn, gnu::cold, gnu::noinline]] static void no_loop() {
        throw std::logic_error("sluice: no event loop is running on this thread");
    }

    bool poll() {
        using std::chrono::nanoseconds;
        if (!ready_.empty()) {
            if (io_->has_work(wakeup_ != nullptr ? wakeup_->wakeup_op() : nullptr)) {
                io_->submit_and_reap(nanoseconds::zero());
            }
        } else if (!timers_.empty()) {
            const auto remaining = timers_.earliest().deadline - clock::now();
            if (remaining <= clock::duration::zero()) {
                io_->submit_and_reap(nanoseconds::zero());
            } else {
                // Clamped: a far deadline ("never" is time_point::max()) waits in hour-long steps and
                // re-evaluates, rather than asking the kernel for centuries.
                const auto clamped = remaining < std::chrono::hours(1) ? remaining : clock::duration(std::chrono::hours(1));
                io_->submit_and_reap(std::chrono::duration_cast<nanoseconds>(clamped));
            }
        } else if (!io_->idle(wakeup_ != nullptr ? wakeup_->idle_wakeup_op() : nullptr)) {
            io_->submit_and_reap(wait_forever);
        } else {
            return false;
        }
        fire_timers();
        return true;
    }

    /// Fires the timers that are due, at most `timers_per_turn` of them: a million sleeps due at
    /// once (a sleeping fan-out) would otherwise all be queued as ready in one pass, and the ready
    /// queue's ring grow to 8 MB (16 B per sleeper at its peak, with the copy) where a few thousand
    /// at a time do. The rest stay armed, in deadline order, and fire on the next turns; poll()
    /// does not block while one is due. A bound per pass, not on the queue's length, so timers
    /// still fire while many other coroutines are ready.
    void fire_timers() {
        if (timers_.empty()) return;
        const auto now = clock::now();
        for (std::size_t fired = 0; fired < timers_per_turn && !timers_.empty() && timers_.earliest().deadline <= now;
             ++fired) {
            timer_node& node = timers_.earliest();
            timers_.remove(node);
            node.expired();
        }
    }

    static constexpr std::size_t timers_per_turn = 4096;

    static inline thread_local event_loop* current_ = nullptr;

    struct service_entry {
        const void* key;  // &service_key<S>
        owner_ptr<loop_service> service;
    };

    owner_ptr<io_backend> io_;
    ready_queue ready_;
    timer_queue timers_;
    intrusive_list<root_node, &root_node::links_> roots_;
    std::uint64_t root_serial_ = 0;
    remote_wakeup* wakeup_ = nullptr;
    event_loop_options options_;
    // Emptied first thing in the destructor, while the members above still live.
    std::vector<service_entry> services_;
};

}  // namespace sluice::detail
