// Tests of sluice::signal (sluice/signal.hpp). Signals are raised only once the wait has blocked
// them (checked first): an unblocked SIGUSR1 would end the test process.

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/signal.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <thread>
#include <utility>

#include "support/co_test.hpp"
#include "support/settle.hpp"

namespace {

bool blocked(int number) {
    sigset_t current;
    pthread_sigmask(SIG_BLOCK, nullptr, &current);
    return sigismember(&current, number) == 1;
}

using sluice_test::settle;

}  // namespace

SLUICE_TEST_CASE("signal returns the number of the signal that arrived and the mask is restored after", "[signal]") {
    REQUIRE_FALSE(blocked(SIGUSR1));
    auto waiter = sluice::spawn(sluice::signal(SIGUSR1, SIGUSR2));
    co_await settle();
    REQUIRE(blocked(SIGUSR1));
    REQUIRE(blocked(SIGUSR2));
    ::raise(SIGUSR2);  // thread-directed at the loop thread, where it is blocked: pending, readable
    const int got = co_await std::move(waiter);
    CHECK(got == SIGUSR2);
    CHECK_FALSE(blocked(SIGUSR1));
    CHECK_FALSE(blocked(SIGUSR2));
}

SLUICE_TEST_CASE("signal wakes a sleeping loop for a process-directed signal sent by another thread", "[signal]") {
    auto waiter = sluice::spawn(sluice::signal(SIGUSR1));
    co_await settle();
    REQUIRE(blocked(SIGUSR1));
    std::thread sender([] {
        // This thread must not take the signal itself: block it here, then send to the process.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        ::kill(::getpid(), SIGUSR1);
    });
    const int got = co_await std::move(waiter);
    sender.join();
    CHECK(got == SIGUSR1);
    CHECK_FALSE(blocked(SIGUSR1));
}

SLUICE_TEST_CASE("a signal wait is cancellable and restores the mask", "[signal][cancel]") {
    auto waiter = sluice::spawn(sluice::signal(SIGUSR1));
    co_await settle();
    REQUIRE(blocked(SIGUSR1));
    waiter.cancel();
    bool cancelled = false;
    try {
        (void)co_await std::move(waiter);
    } catch (const sluice::cancelled_error&) {
        cancelled = true;
    }
    CHECK(cancelled);
    CHECK_FALSE(blocked(SIGUSR1));
}

SLUICE_TEST_CASE("overlapping waits keep the signal blocked until the last one ends", "[signal]") {
    auto first = sluice::spawn(sluice::signal(SIGUSR1));
    auto second = sluice::spawn(sluice::signal(SIGUSR1, SIGUSR2));
    co_await settle();
    first.cancel();
    try {
        (void)co_await std::move(first);
    } catch (const sluice::cancelled_error&) {
    }
    CHECK(blocked(SIGUSR1));  // the second wait still needs it blocked
    ::raise(SIGUSR1);
    const int got = co_await std::move(second);
    CHECK(got == SIGUSR1);
    CHECK_FALSE(blocked(SIGUSR1));
    CHECK_FALSE(blocked(SIGUSR2));
}

SLUICE_TEST_CASE("a signal blocked before the wait stays blocked after it", "[signal]") {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    auto waiter = sluice::spawn(sluice::signal(SIGUSR2));
    co_await settle();
    ::raise(SIGUSR2);
    const int got = co_await std::move(waiter);
    CHECK(got == SIGUSR2);
    CHECK(blocked(SIGUSR2));
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

TEST_CASE("signal numbers that cannot be waited for are std::invalid_argument at the call", "[signal]") {
    CHECK_THROWS_AS((void)sluice::signal(0), std::invalid_argument);
    CHECK_THROWS_AS((void)sluice::signal(SIGKILL), std::invalid_argument);
    CHECK_THROWS_AS((void)sluice::signal(SIGINT, SIGSTOP), std::invalid_argument);
    CHECK_THROWS_AS((void)sluice::signal(SIGRTMAX + 1), std::invalid_argument);
    CHECK_THROWS_AS((void)sluice::signal(-3), std::invalid_argument);
}
