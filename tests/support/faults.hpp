#pragma once
// Seeded fault injection for whole test binaries (issue 9: find the next defects without a reviewer).
//
//   SLUICE_FAULT_SEED=<n> ./net_test
//
// installs, for every test case of the binary, a `seeded_faults` injector (see
// sluice/detail/io_faults.hpp) whose generator restarts from <n> at each test case: every
// retryable io op may first "complete" with -EINTR or -EAGAIN without reaching the kernel (sluice
// must submit it again) and every read/write/send/recv may be issued shorter than asked (a real
// short transfer, which the looping operations must continue). These faults are ones sluice must
// hide, so the unchanged tests must still pass. On a failing test case the seed and the counts of
// injected faults are printed, so the run can be repeated exactly. The CTest entries `*.faults.*`
// (tests/CMakeLists.txt) rerun the net, file, engine and cancellation binaries this way.
//
// `hard_faults` adds -ENOMEM, which surfaces: tests/faults_test.cpp checks it ends cleanly.
//
//   SLUICE_SHUFFLE_SEED=<n> ./queue_test
//
// likewise makes every loop turn resume its ready coroutines in a seeded random order instead of
// FIFO (randomized interleaving, like Boost.Cobalt's brute-force tests); the `*.shuffle.*` CTest
// entries rerun the engine, task_group and queue binaries under a few seeds.

#include <sluice/detail/io_faults.hpp>
#include <sluice/detail/ready_queue.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>

#include "catch.hpp"
#if SLUICE_CATCH2_V3
#include <catch2/reporters/catch_reporter_event_listener.hpp>
#include <catch2/reporters/catch_reporter_registrars.hpp>
#endif

namespace sluice_test {

/// The hook itself, for tests that inject one fault of their own (faults_test): every io op asks it
/// before it is submitted and when it completes.
using sluice::detail::io_fault_injector;
/// Installs an injector for one scope.
using sluice::detail::io_fault_scope;

class seeded_faults final : public sluice::detail::io_fault_injector {
public:
    struct counts {
        long eintr = 0;
        long eagain = 0;
        long enomem = 0;
        long shortened = 0;
        long ops = 0;
    };

    explicit seeded_faults(std::uint64_t seed, bool hard_faults = false) noexcept
        : random_(seed), seed_(seed), hard_(hard_faults) {}

    int before_submit(const char*, bool retryable) noexcept override {
        if (!retryable) return 0;  // close: the kernel never fails it before doing anything
        ++counts_.ops;
        switch (random_() % 16) {
            case 0:
            case 1:
                ++counts_.eintr;
                return -EINTR;
            case 2:
                ++counts_.eagain;
                return -EAGAIN;
            case 3:
                if (!hard_) return 0;
                ++counts_.enomem;
                return -ENOMEM;
            default:
                return 0;
        }
    }
    unsigned transfer_length(const char*, unsigned length) noexcept override {
        if (random_() % 4 != 0) return length;
        ++counts_.shortened;
        return 1 + static_cast<unsigned>(random_() % (length - 1));
    }

    [[nodiscard]] const counts& injected() const noexcept { return counts_; }
    [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }

private:
    std::mt19937_64 random_;
    std::uint64_t seed_;
    bool hard_;
    counts counts_;
};

/// For a test that checks one exact kernel ordering (e.g. an accept submitted just before its
/// cancel): no fault is injected while it lives, even in SLUICE_FAULT_SEED mode.
class without_faults {
public:
    without_faults() = default;
    without_faults(const without_faults&) = delete;
    without_faults& operator=(const without_faults&) = delete;

private:
    struct none final : sluice::detail::io_fault_injector {};
    none none_;
    sluice::detail::io_fault_scope scope_{none_};
};

/// The ready-queue shuffle of SLUICE_SHUFFLE_SEED mode: a seeded mt19937_64.
class mt_shuffle final : public sluice::detail::shuffle_source {
public:
    explicit mt_shuffle(std::uint64_t seed) : engine_(seed) {}
    std::uint64_t next() noexcept override { return engine_(); }

private:
    std::mt19937_64 engine_;
};

/// The environment variable `name` as a number, if set.
inline std::optional<std::uint64_t> seed_from_environment(const char* name) {
    const char* text = std::getenv(name);
    if (text == nullptr || *text == '\0') return std::nullopt;
    return std::strtoull(text, nullptr, 10);
}

#if SLUICE_CATCH2_V3
using listener_base = Catch::EventListenerBase;
#else
using listener_base = Catch::TestEventListenerBase;
#endif

/// The per-test-case injector of SLUICE_FAULT_SEED mode.
struct fault_mode_listener : listener_base {
    using listener_base::listener_base;

    void testCaseStarting(const Catch::TestCaseInfo& info) override {
        listener_base::testCaseStarting(info);
        if (const auto seed = seed_from_environment("SLUICE_FAULT_SEED")) {
            faults_.emplace(*seed);
            sluice::detail::io_faults = &*faults_;
        }
        if (const auto seed = seed_from_environment("SLUICE_SHUFFLE_SEED")) {
            shuffle_seed_ = *seed;
            shuffle_.emplace(*seed);
            sluice::detail::ready_shuffle = &*shuffle_;
        }
    }
    void testCaseEnded(const Catch::TestCaseStats& stats) override {
        if (shuffle_) {
            sluice::detail::ready_shuffle = nullptr;
            shuffle_.reset();
            if (!stats.totals.assertions.allPassed()) {
                std::fprintf(stderr, "FAILED with the ready queue shuffled: SLUICE_SHUFFLE_SEED=%llu\n",
                             static_cast<unsigned long long>(shuffle_seed_));
            }
        }
        if (faults_) {
            sluice::detail::io_faults = nullptr;
            const seeded_faults::counts& c = faults_->injected();
            if (!stats.totals.assertions.allPassed() || std::getenv("SLUICE_FAULT_VERBOSE") != nullptr) {
                std::fprintf(stderr,
                             "%s: SLUICE_FAULT_SEED=%llu (ops %ld: EINTR %ld, EAGAIN %ld, short %ld)\n",
                             stats.totals.assertions.allPassed() ? "fault mode" : "FAILED under fault injection",
                             static_cast<unsigned long long>(faults_->seed()), c.ops, c.eintr, c.eagain,
                             c.shortened);
            }
            faults_.reset();
        }
        listener_base::testCaseEnded(stats);
    }

private:
    std::optional<seeded_faults> faults_;
    std::optional<mt_shuffle> shuffle_;
    std::uint64_t shuffle_seed_ = 0;
};

}  // namespace sluice_test

using sluice_test_fault_mode_listener = sluice_test::fault_mode_listener;
CATCH_REGISTER_LISTENER(sluice_test_fault_mode_listener)
