#pragma once
// Machinery of sluice/run_on_cores.hpp: the state the cores' threads share (which core's main task
// can be cancelled, the failures, the results), the main coroutine of each core's loop, and pinning.
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
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "../cancellation.hpp"
#include "../event_loop.hpp"
#include "../task.hpp"

namespace sluice::detail {

/// What the cores' threads share: the registered main tasks, the failures and the results.
template <class T>
class core_group {
public:
    explicit core_group(std::size_t n) : running_(n, nullptr), results_(n) {}
    core_group(const core_group&) = delete;
    core_group& operator=(const core_group&) = delete;

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
        if (stopping_) return;
        stopping_ = true;
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
    std::mutex mutex_;
    bool stopping_ = false;
    std::vector<join_handle<T>*> running_;
    std::vector<std::exception_ptr> failures_;
    std::vector<std::optional<std::conditional_t<std::is_void_v<T>, char, T>>> results_;
};

/// The main task of core `i`'s loop: runs `fn(i)` as a spawned task whose handle the group can
/// cancel, and records how it ended. `fn(i)` is called on this core's thread, inside the spawned
/// task, so an exception from the call itself is that core's failure.
template <class T, class Fn>
task<void> core_main(core_group<T>& group, const Fn& fn, std::size_t i) {
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
