#pragma once
// Machinery of sluice/signal.hpp: validating a set of signals, blocking them in the loop thread
// for as long as anyone waits (counted per signal and thread), and the wait itself: a signalfd
// read through the loop's backend.

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <system_error>

#include "../task.hpp"
#include "descriptor.hpp"
#include "io_awaitable.hpp"
#include "io_awaitable.hpp"

namespace sluice::detail {

/// The set of `signals`; std::invalid_argument for a number that cannot be waited for.
inline sigset_t signal_set(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (const int number : signals) {
        if (number == SIGKILL || number == SIGSTOP || number < 1 || number > SIGRTMAX || sigaddset(&set, number) != 0) {
            throw std::invalid_argument("sluice::signal: cannot wait for signal " + std::to_string(number));
        }
    }
    return set;
}

/// Blocks `set` in this thread while alive. Counted per signal: the first wait for a signal blocks
/// it and remembers whether it was already blocked; the last one restores that.
///
/// TRICKY: the mask is per thread and the counts are thread_local, and a loop and its coroutines
/// never leave their thread, so a wait always unblocks on the thread where it blocked.
class signal_block {
public:
    explicit signal_block(const sigset_t& set) : set_(set) {
        sigset_t current;
        pthread_sigmask(SIG_BLOCK, nullptr, &current);
        sigset_t to_block;
        sigemptyset(&to_block);
        for (int number = 1; number <= SIGRTMAX; ++number) {
            if (sigismember(&set_, number) != 1) continue;
            slot& s = slots()[static_cast<std::size_t>(number)];
            if (s.waits++ == 0) {
                s.was_blocked = sigismember(&current, number) == 1;
                sigaddset(&to_block, number);
            }
        }
        pthread_sigmask(SIG_BLOCK, &to_block, nullptr);
    }
    signal_block(const signal_block&) = delete;
    signal_block& operator=(const signal_block&) = delete;
    ~signal_block() {
        sigset_t to_unblock;
        sigemptyset(&to_unblock);
        for (int number = 1; number <= SIGRTMAX; ++number) {
            if (sigismember(&set_, number) != 1) continue;
            slot& s = slots()[static_cast<std::size_t>(number)];
            if (--s.waits == 0 && !s.was_blocked) sigaddset(&to_unblock, number);
        }
        pthread_sigmask(SIG_UNBLOCK, &to_unblock, nullptr);
    }

private:
    struct slot {
        unsigned waits = 0;
        bool was_blocked = false;
    };
    static std::array<slot, 65>& slots() noexcept {
        thread_local std::array<slot, 65> instance{};
        return instance;
    }

    sigset_t set_;
};

/// The wait: one read of a signalfd through the loop's backend (io_code::read on a pollable
/// descriptor: on io_uring a read the kernel retries when the signalfd becomes readable, on epoll a
/// read(2) retried on EPOLLIN), on the loop thread either way, so it dequeues this thread's signals
/// and the process's. Several waits each have their own signalfd: a read that finds the signal
/// taken by another one keeps waiting (the backend sees EAGAIN, never the caller).
template <class = void>
task<int> wait_for_signal(sigset_t set) {
    signal_block block(set);
    unique_fd fd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd) throw std::system_error(errno, std::system_category(), "sluice::signal: signalfd");
    signalfd_siginfo info{};
    const int n = co_await make_io_awaitable(
        "sluice::signal: read from signalfd",
        io_request{.code = io_code::read, .fd = fd.get(), .size = sizeof info, .data = &info});
    // @see signalfd(2): a read returns whole signalfd_siginfo structures, at least one.
    if (n != static_cast<int>(sizeof info)) {
        throw std::system_error(EIO, std::system_category(), "sluice::signal: short read from signalfd");
    }
    co_return static_cast<int>(info.ssi_signo);
}

}  // namespace sluice::detail
