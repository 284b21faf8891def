#pragma once
// Shared by every sluice benchmark program: argument parsing, timing, peak RSS, the RESULT line.

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace sluice_bench {

inline long long argument(int argc, char** argv, int index, long long fallback) {
    return index < argc ? std::atoll(argv[index]) : fallback;
}

/// Peak resident memory of this process in MiB. VmHWM, not getrusage's ru_maxrss: Linux carries
/// ru_maxrss over fork and exec, so a benchmark started by a bigger parent (the Python runner)
/// would report the parent's peak as its floor. VmHWM belongs to this address space alone.
inline double peak_rss_mb() {
    if (std::FILE* status = std::fopen("/proc/self/status", "r")) {
        char line[256];
        long kib = -1;
        while (std::fgets(line, sizeof line, status) != nullptr) {
            if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
        }
        std::fclose(status);
        if (kib >= 0) return static_cast<double>(kib) / 1024.0;
    }
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

class stopwatch {
public:
    [[nodiscard]] double seconds() const {
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    }

private:
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

/// Prints the RESULT line of docs/design.md, "Benchmarks", for `peer` and returns the process exit
/// status (non-zero when the checksum is wrong).
/// `extra` is appended to the line as it is (more `name=value` fields).
inline int report(const char* peer, const std::string& workload, const std::string& parameters, long long operations,
                  long long sum, long long expected, double wall_seconds, const std::string& extra = {}) {
    const bool ok = sum == expected;
    std::printf("RESULT peer=%s workload=%s %s sum=%lld expected=%lld ok=%d wall_s=%.4f ns_per_task=%.1f "
                "peak_rss_mb=%.1f%s\n",
                peer, workload.c_str(), parameters.c_str(), sum, expected, ok ? 1 : 0, wall_seconds,
                wall_seconds * 1e9 / static_cast<double>(operations), peak_rss_mb(), extra.c_str());
    return ok ? 0 : 1;
}

/// report() for `n` messages carrying 0 .. n-1 (cores_bench, cores_asio_bench): the sum expected
/// is n(n-1)/2.
inline int report_messages(const char* peer, const std::string& workload, long long n, long long sum,
                           double wall_seconds) {
    return report(peer, workload, "N=" + std::to_string(n), n, sum, n * (n - 1) / 2, wall_seconds);
}

}  // namespace sluice_bench
