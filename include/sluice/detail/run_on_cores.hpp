#pragma once
// Machinery of sluice/run_on_cores.hpp: the state the cores' threads share (every core's loop, which
// core's main task can be cancelled, the failures, the results), the main coroutine of each core's
// loop, and pinning.
//
// Every core's loop is known before any fn(i) is called: core_main first registers its loop's inbox
// in the group's directory and waits (blocking its own thread, before its loop has anything else to
// do) until all n cores registered or the group stops. So `core_loop(j)` works from the first line
// of every fn(i), and the directory never changes afterwards: lookups read it without a lock.
// TRICKY: a loop reports a deadlock when nothing can wake it, and a loop_handle alive anywhere counts
// as "someone can still post". Under run_on_cores any other core can post at any time through
// core_loop(), even one that holds no handle yet, so a core waiting only for such a post is not
// deadlocked: while two or more cores run, the directory holds one handle's worth (retain_handle) on
// every core's loop. When all but one core have ended, nobody else can reach the last one through
// the directory: the retains are released (which wakes the loops to look again), and a core stuck
// for good is reported as before.
//
// Each core runs `sluice::run(core_main(...))` on its own thread. core_main spawns `fn(i)` on its
// loop and awaits its join_handle; while it waits, the handle is registered here, so the first
// failure anywhere can cancel every other core's main task through join_handle::cancel(), which is
// safe from any thread (it is posted to the core's loop through its inbox, the one way in).
//
// TRICKY: a cross-thread cancel() needs the join_handle alive during the call. The handle lives in
// core_main's frame; it is registered and unregistered under the group's mutex, and cancels are
// sent while holding that same mutex, so a handle is never cancelled after core_main let go of it.
// A core that registers after the group began stopping cancels its own main task at once (on its
// own loop thread): its body never runs.

#include <pthread.h>
#include <sched.h>

#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "../cancellation.hpp"
#include "../event_loop.hpp"
#include "../task.hpp"
#include "remote_inbox.hpp"

namespace sluice::detail {

/// Every core's loop (its inbox), by core index; the part of a core_group that does not depend on
/// the cores' value type, so a core's thread can find it through `current_directory()`.
class core_directory {
public:
    explicit core_directory(std::size_t n) : inboxes_(n) {}
    core_directory(const core_directory&) = delete;
    core_directory& operator=(const core_directory&) = delete;

    /// The directory of the run_on_cores whose core runs on this thread; null elsewhere.
    static core_directory*& current() noexcept {
        thread_local core_directory* directory = nullptr;
        return directory;
    }

    [[nodiscard]] std::size_t size() const noexcept { return inboxes_.size(); }
    /// Core `i`'s inbox. Read without a lock: fn(i) runs only after the start barrier, after which
    /// the directory never changes. A core that never registered (the group stopped while it was
    /// starting) has none; its fn never runs, so this is only reachable from another core's code.
    [[nodiscard]] const std::shared_ptr<remote_inbox>& inbox(std::size_t i) const {
        if (inboxes_[i] == nullptr) throw std::logic_error("sluice::core_loop: that core never started");
        return inboxes_[i];
    }

protected:
    /// Loop thread of core `i`: records its loop, then blocks until every core did or the group
    /// stops.
    void register_and_wait(std::size_t i, std::shared_ptr<remote_inbox> inbox) {
        std::unique_lock lock(mutex_);
        inboxes_[i] = std::move(inbox);
        if (++registered_ == inboxes_.size()) {
            if (inboxes_.size() > 1) {
                for (const auto& each : inboxes_) each->retain_handle();
                retained_ = true;
            }
            all_registered_.notify_all();
        }
        all_registered_.wait(lock, [&] { return registered_ == inboxes_.size() || stopping_; });
    }
    /// The first failure: the group stops, and the cores waiting at the start barrier go on (to be
    /// cancelled). False if it had already stopped. Caller holds mutex_.
    [[nodiscard]] bool begin_stopping() noexcept {
        if (stopping_) return false;
        stopping_ = true;
        all_registered_.notify_all();
        return true;
    }
    /// A core's main task ended. Caller holds mutex_.
    void core_ended() noexcept {
        if (++ended_ + 1 < inboxes_.size() || !retained_) return;
        retained_ = false;
        for (const auto& each : inboxes_) each->release_handle();
    }

    std::mutex mutex_;
    bool stopping_ = false;  // see begin_stopping; guarded by mutex_

private:
    std::vector<std::shared_ptr<remote_inbox>> inboxes_;
    std::size_t registered_ = 0;
    std::size_t ended_ = 0;
    bool retained_ = false;  // every inbox carries one retain_handle() of ours
    std::condition_variable all_registered_;
};

/// What the cores' threads share: the directory of loops, the registered main tasks, the failures
/// and the results.
template <class T>
class core_group : public core_directory {
public:
    explicit core_group(std::size_t n) : core_directory(n), running_(n, nullptr), results_(n) {}

    /// Loop thread of core `i`, before anything else: see core_directory::register_and_wait.
    void arrive(std::size_t i) { register_and_wait(i, remote_inbox::of(event_loop::current())); }

    /// Loop thread of core `i`: its main task was spawned; cancelled at once if the group stops.
    void started(std::size_t i, join_handle<T>& main) {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            main.cancel();
        } else {
            running_[i] = &main;
        }
    }
    /// Loop thread of core `i`: its main task finished; no cancel reaches its handle any more.
    void ended(std::size_t i) {
        std::lock_guard lock(mutex_);
        running_[i] = nullptr;
        core_ended();
    }

    /// Any core's thread: that core failed. The first failure cancels every other core.
    void failed(std::exception_ptr error) noexcept {
        std::lock_guard lock(mutex_);
        try {
            failures_.push_back(std::move(error));
        } catch (...) {
            // No memory to keep the failure: the cores are still stopped and, with no failure
            // left to report, run_on_cores reports the cancellation.
        }
        if (!begin_stopping()) return;
        for (join_handle<T>* main : running_) {
            if (main != nullptr) main->cancel();
        }
    }

    /// Core `i`'s value (non-void T); written by its thread, read after every thread was joined.
    std::optional<std::conditional_t<std::is_void_v<T>, char, T>>& result(std::size_t i) noexcept {
        return results_[i];
    }

    /// After every thread was joined: the failures in order of occurrence.
    [[nodiscard]] std::vector<std::exception_ptr>& failures() noexcept { return failures_; }

private:
    std::vector<join_handle<T>*> running_;
    std::vector<std::exception_ptr> failures_;
    std::vector<std::optional<std::conditional_t<std::is_void_v<T>, char, T>>> results_;
};

/// The main task of core `i`'s loop: runs `fn(i)` as a spawned task whose handle the group can
/// cancel, and records how it ended. `fn(i)` is called on this core's thread, inside the spawned
/// task, so an exception from the call itself is that core's failure.
template <class T, class Fn>
task<void> core_main(core_group<T>& group, const Fn& fn, std::size_t i) {
    group.arrive(i);
    join_handle<T> main = sluice::spawn(std::cref(fn), i);
    group.started(i, main);
    std::exception_ptr failure;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await main;
            group.result(i).emplace();
        } else {
            group.result(i).emplace(co_await main);
        }
    } catch (const cancelled_error&) {
        // Not a failure (task_group's rule): cancelled by the group, or by itself.
    } catch (...) {
        failure = std::current_exception();
    }
    group.ended(i);
    if (failure) group.failed(std::move(failure));
}

/// The CPUs this thread may run on (its affinity mask), in increasing order.
inline std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) != 0) {
        throw std::system_error(errno, std::system_category(), "sluice::run_on_cores: sched_getaffinity");
    }
    std::vector<int> cpus;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
    return cpus;
}

/// Pins the calling thread to `cpu`.
inline void pin_this_thread(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    // pthread_setaffinity_np returns the error number instead of setting errno.
    if (const int error = ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set); error != 0) {
        throw std::system_error(error, std::system_category(),
                                "sluice::run_on_cores: pinning a core's thread to CPU " + std::to_string(cpu));
    }
}

}  // namespace sluice::detail
