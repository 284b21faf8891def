#pragma once
// Python's random.randint on a stream of its own, shared by the examples that draw random numbers
// (rand, chained, queue). std::mt19937 and std::seed_seq are specified bit for bit by the standard,
// and the draw rejects out-of-range top bits as CPython does, so a seed gives the same numbers with
// every standard library, and each coroutine's numbers do not depend on how wake-ups interleave.

#include <bit>
#include <cstdint>
#include <random>
#include <string>

class random_stream {
public:
    /// A stream named by `seed` and any further ids (the coroutine's index, its role, ...).
    template <class... Ids>
    explicit random_stream(std::uint32_t seed, Ids... ids) {
        std::seed_seq sequence{seed, static_cast<std::uint32_t>(ids)...};
        engine_.seed(sequence);
    }

    /// A number in [lo, hi], both included.
    int randint(int lo, int hi) {
        const auto span = static_cast<std::uint32_t>(hi - lo) + 1;
        const int bits = std::bit_width(span);
        for (;;) {
            const auto r = static_cast<std::uint32_t>(engine_()) >> (32 - bits);
            if (r < span) return lo + static_cast<int>(r);
        }
    }

    /// `size` random bytes in hex, like os.urandom(size).hex().
    std::string hex(int size) {
        static constexpr char digits[] = "0123456789abcdef";
        std::string out;
        for (int k = 0; k < size; ++k) {
            const int byte = randint(0, 255);
            out += digits[byte >> 4];
            out += digits[byte & 0xf];
        }
        return out;
    }

private:
    std::mt19937 engine_;
};
