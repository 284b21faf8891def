#pragma once
// Unit tests of internal building blocks reach sluice::detail through here, and only here (with
// faults.hpp for the fault-injection hooks, ring_setup.hpp for the ring's setup and
// loopless_driver.hpp for coroutines driven without a loop). Each is something no public call shows
// exactly:
// - os_error / throw_errno: the one formatter behind every file and socket error message. Public
//   calls check each throw site's message; this checks the formatter's own promise that building
//   the subject cannot change the errno reported (error_messages_test).
// - saturating_duration: the clamp of every sleep and deadline; that the smallest positive double
//   is one clock tick, not zero (a yield), cannot be told from how long a sleep took (time_test).
// - idle_loop_with_armed_inbox: a loop that run() did not drive, destroyed while its wake-up read is
//   in the kernel, which only an abnormal end of run() leaves behind (thread_pool_test).
// - current_inbox_is_idle: whether the running loop's cross-thread wake-up read is all it waits for
//   (what makes it report a deadlock); a race once made it say so with a post queued, and only this
//   question, asked in the window the race needed, shows it (loop_handle_test).
// - frame_heap, frame_chunk, frame_allocator: the frame arena's chunks (mapped, reused, unmapped at
//   a thread's end), which tasks, whose frames it serves, never show (frame_arena_test).
// - owner_ptr, shared_handle: the owning pointers on the loop's and the combinators' path; that each
//   object is destroyed once, by its last owner, through its base, shows only on them (owner_ptr_test).

#include <sluice/event_loop.hpp>
#include <sluice/detail/backends.hpp>
#include <sluice/detail/frame_allocator.hpp>
#include <sluice/detail/frame_arena.hpp>
#include <sluice/detail/owner_ptr.hpp>
#include <sluice/detail/remote_inbox.hpp>
#include <sluice/detail/system_error.hpp>
#include <sluice/detail/thread_pool.hpp>
#include <sluice/detail/time.hpp>

#include <chrono>
#include <memory>

namespace sluice_test {

using sluice::detail::frame_allocator;
using sluice::detail::frame_chunk;
using sluice::detail::frame_heap;
using sluice::detail::make_owner;
using sluice::detail::make_shared_handle;
using sluice::detail::os_error;
using sluice::detail::owner_ptr;
using sluice::detail::shared_handle;
using sluice::detail::throw_errno;

/// True when the running loop would count its cross-thread wake-up read as all it waits for.
[[nodiscard]] inline bool current_inbox_is_idle() {
    const auto& inbox = *sluice::detail::remote_inbox::of(sluice::detail::event_loop::current());
    return inbox.idle_wakeup_op() == &inbox;
}

/// What sleep_for and wait_for make of `duration`, in steady_clock ticks.
template <class Rep, class Period>
[[nodiscard]] std::chrono::steady_clock::duration saturating_duration(std::chrono::duration<Rep, Period> duration) {
    return sluice::detail::saturating_duration(duration, "test");
}

/// A loop built without run() whose cross-thread inbox (the eventfd read that wakes it) is armed;
/// `loop.reset()` must cancel and reap that read, and give the inbox back.
struct idle_loop_with_armed_inbox {
    std::unique_ptr<sluice::detail::event_loop> loop;
    std::shared_ptr<sluice::detail::remote_inbox> inbox;

    explicit idle_loop_with_armed_inbox(const sluice::event_loop_options& options = {})
        : loop(std::make_unique<sluice::detail::event_loop>(sluice::detail::make_backend(options), options)),
          inbox(sluice::detail::pool_service::of(*loop).inbox()) {
        inbox->expect();  // arms the read; nothing will ever be posted
    }
};

}  // namespace sluice_test
