#pragma once
/// sluice/signal.hpp: waiting for POSIX signals on the loop (asyncio's loop.add_signal_handler).
///
/// - `int sig = co_await sluice::signal(SIGINT, SIGTERM);` waits until one of the signals arrives
///   and returns its number. Call it qualified (`sluice::signal`): `::signal` from <csignal> has the
///   same name.
/// - While a wait is in progress the signals are **blocked in the loop thread** and read through a
///   signalfd(2) the loop polls, so they no longer run their default action (terminate) nor a
///   handler; when the last wait for a signal on this thread ends (returned, failed or cancelled)
///   its previous mask state is restored. A signal that arrives while nobody waits therefore has
///   its usual effect.
/// - A process-directed signal (kill(1), Ctrl-C) goes to any thread that does not block it: threads
///   you create yourself should block these signals too (sluice's thread_pool workers block every
///   signal). Several waits for the same signal: each arrival ends one of them.
/// - Cancellable (a cancellation point). A signal number that cannot be waited for (not in
///   1..SIGRTMAX, or SIGKILL/SIGSTOP, which cannot be blocked) is `std::invalid_argument` at the
///   call; failures of signalfd(2) are `std::system_error`.

#include <csignal>
#include <concepts>
#include <initializer_list>

#include "detail/signal.hpp"
#include "task.hpp"

namespace sluice {

/// Waits for one of `signals` (at least one) and returns the number of the one that arrived.
template <class... Signals>
    requires(sizeof...(Signals) > 0 && (std::convertible_to<Signals, int> && ...))
[[nodiscard]] task<int> signal(Signals... signals) {
    return detail::wait_for_signal(detail::signal_set({static_cast<int>(signals)...}));
}

}  // namespace sluice
