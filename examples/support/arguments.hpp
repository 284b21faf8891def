#pragma once
// The option values several examples share: `--scale FACTOR` (multiplies every sleep) and
// `-s/--seed SEED` (names the random streams). One place for the rules: the whole string must be
// the number, a scale is finite and >= 0 (NaN refused), a seed fits 32 bits and is not negative.

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>

/// Parses a sleep scale into `out`; false (out unspecified) on anything else.
inline bool parse_scale(const char* text, double& out) {
    if (text == nullptr || *text == '\0') return false;
    char* end = nullptr;
    errno = 0;
    out = std::strtod(text, &end);
    return *end == '\0' && errno == 0 && out >= 0 && std::isfinite(out);
}

/// Parses a random seed into `out`; false (out unchanged) on anything else.
inline bool parse_seed(const char* text, std::uint32_t& out) {
    if (text == nullptr || *text == '\0' || *text == '-') return false;
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (*end != '\0' || errno != 0 || value > UINT32_MAX) return false;
    out = static_cast<std::uint32_t>(value);
    return true;
}
