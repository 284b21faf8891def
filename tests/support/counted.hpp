#pragma once
// `counted`: proves every object (a result, a frame's local, an item) is destroyed exactly once
// (cppcoro's test/counted.hpp idea). Put one in a coroutine frame to count frames. The counters
// are atomic: tests of several loops (run_on_cores, channel) count objects on several threads.

#include <atomic>
#include <cstdint>

namespace sluice_test {

struct counted {
    static inline std::atomic<std::int64_t> constructions{0};
    static inline std::atomic<std::int64_t> destructions{0};
    static void reset() noexcept {
        constructions = 0;
        destructions = 0;
    }
    [[nodiscard]] static std::int64_t alive() noexcept { return constructions - destructions; }

    int id = 0;
    bool destroyed = false;

    counted() noexcept { ++constructions; }
    explicit counted(int value) noexcept : id(value) { ++constructions; }
    counted(const counted& other) noexcept : id(other.id) { ++constructions; }
    counted(counted&& other) noexcept : id(other.id) { ++constructions; }
    counted& operator=(const counted&) noexcept = default;
    counted& operator=(counted&&) noexcept = default;
    ~counted() {
        // A second destruction of the same object is the bug this type exists to catch.
        if (destroyed) __builtin_trap();
        destroyed = true;
        ++destructions;
    }
};

}  // namespace sluice_test
