#pragma once
/// sluice/run_on_cores.hpp: thread-per-core (seastar, glommio, monoio): one event loop per thread,
/// nothing migrating between them.
///
/// - `run_on_cores(n, fn, options)` starts `n` threads; thread `i` runs `sluice::run(fn(i))` on a
///   loop of its own (its own ring or epoll instance, timers, frame free lists, worker pool), and
///   `run_on_cores` returns when all have ended: nothing for `task<void>`, else a
///   `std::vector<T>` of the values, indexed by core.
/// - `fn` is called once per core, with the core index (0 .. n-1), on that core's thread: several
///   calls may run at once, on a `const` reference to the one `fn` given (kept alive until
///   `run_on_cores` returns, so the tasks may refer to its captures). It must return a
///   `sluice::task<T>` (a static_assert says so otherwise).
/// - Failures follow task_group's rules: the first failure of a core (an exception other than
///   `cancelled_error` out of its task, out of `fn` itself, or out of its loop, e.g. the deadlock
///   `std::logic_error` or the backend's `std::system_error`) cancels every other core's task (the
///   cancel is posted to their loops); once all threads ended, one failure is rethrown as itself,
///   several as `sluice::exception_group` in order of occurrence. A core whose task ended with
///   `cancelled_error` (and no failure anywhere) makes `run_on_cores` throw `cancelled_error`.
/// - `n == 0` is `std::invalid_argument`. `n` may exceed the hardware's CPUs (the threads then
///   share them). Failing to start a thread (`std::system_error`) stops the cores already started
///   and is rethrown once they ended.
/// - `cores_options::pin`: thread `i` is pinned to the i-th CPU of the calling thread's affinity
///   mask (modulo their number); failing to pin is that core's failure.
/// - Work crosses between cores only by message: `loop_handle` (post/spawn) and `channel<T>`.
/// - `core_loop(j)`: the `loop_handle` of core j's loop, from any task on any core's loop (and from
///   `fn` itself). Every core's loop exists before any `fn(i)` is called, so it works from the first
///   line. `core_count()`: n. Both throw std::logic_error on a thread that is not one of
///   run_on_cores' cores (a plain thread, a worker of to_thread); `core_loop(j >= n)` throws
///   std::out_of_range. A handle kept past run_on_cores' end refuses posts (returns false).

#include <cstddef>
#include <exception>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "backend.hpp"
#include "cancellation.hpp"
#include "detail/awaitable_traits.hpp"
#include "detail/run_on_cores.hpp"
#include "event_loop.hpp"
#include "loop_handle.hpp"
#include "task.hpp"
#include "task_group.hpp"

namespace sluice {

/// How run_on_cores starts its loops.
struct cores_options {
    /// The options of every core's loop (backend, ring, worker pool).
    event_loop_options loop{};
    /// Pin core i's thread to one CPU (see run_on_cores).
    bool pin = false;
};

/// Runs `fn(i)` on its own loop and thread for each core i in [0, n); returns when all ended.
template <class Fn>
auto run_on_cores(std::size_t n, Fn fn, const cores_options& options = {}) {
    static_assert(std::is_invocable_v<const Fn&, std::size_t>,
                  "sluice::run_on_cores: fn must be callable as fn(core_index) on a const reference");
    using result_task = std::remove_cvref_t<std::invoke_result_t<const Fn&, std::size_t>>;
    static_assert(detail::is_task_v<result_task>,
                  "sluice::run_on_cores: fn(core_index) must return a sluice::task<T>");
    using T = typename result_task::value_type;

    if (n == 0) throw std::invalid_argument("sluice::run_on_cores: n must be at least 1");
    const std::vector<int> cpus = options.pin ? detail::allowed_cpus() : std::vector<int>{};

    detail::core_group<T> group(n);
    std::vector<std::thread> threads;
    threads.reserve(n);
    try {
        for (std::size_t i = 0; i < n; ++i) {
            threads.emplace_back([&group, &fn, &options, &cpus, i] {
                detail::core_directory::current() = &group;
                try {
                    if (!cpus.empty()) detail::pin_this_thread(cpus[i % cpus.size()]);
                    sluice::run(detail::core_main<T>(group, fn, i), options.loop);
                } catch (const cancelled_error&) {
                } catch (...) {
                    group.failed(std::current_exception());
                }
                detail::core_directory::current() = nullptr;
            });
        }
    } catch (...) {
        // TRICKY: a thread could not start. Report it as a failure, which cancels the cores that
        // did start (those not yet registered cancel themselves when they register), and join
        // them before the group and `fn` go away.
        group.failed(std::current_exception());
    }
    for (std::thread& thread : threads) thread.join();

    std::vector<std::exception_ptr>& failures = group.failures();
    if (failures.size() == 1) std::rethrow_exception(failures.front());
    if (failures.size() > 1) throw exception_group(std::move(failures));
    for (std::size_t i = 0; i < n; ++i) {
        if (!group.result(i).has_value()) throw cancelled_error();
    }
    if constexpr (!std::is_void_v<T>) {
        std::vector<T> values;
        values.reserve(n);
        for (std::size_t i = 0; i < n; ++i) values.push_back(std::move(*group.result(i)));
        return values;
    }
}

namespace detail {
inline core_directory& this_threads_cores(const char* who) {
    core_directory* directory = core_directory::current();
    if (directory == nullptr) {
        throw std::logic_error(std::string("sluice::") + who + ": not on a core of sluice::run_on_cores");
    }
    return *directory;
}
}  // namespace detail

/// The number of cores of the run_on_cores this thread is a core of (std::logic_error elsewhere).
inline std::size_t core_count() { return detail::this_threads_cores("core_count").size(); }

/// The loop of core `core` of the run_on_cores this thread is a core of; std::out_of_range when
/// `core >= core_count()`, std::logic_error on any other thread.
inline loop_handle core_loop(std::size_t core) {
    const detail::core_directory& cores = detail::this_threads_cores("core_loop");
    if (core >= cores.size()) {
        throw std::out_of_range("sluice::core_loop: core " + std::to_string(core) + " of " +
                                std::to_string(cores.size()));
    }
    return loop_handle(cores.inbox(core));
}

}  // namespace sluice
