// echo_load: the W5 load generator (docs/design.md, "Benchmarks"): TCP echo over loopback,
// requests/s and latency.
//
// Usage: echo_load --port P [--host 127.0.0.1] [--conns C] [--seconds D] [--size B] [--peer NAME]
//
// Opens C connections to the echo server (one after another, before the clock starts), then runs
// C closed-loop clients at once on one sluice event loop for D seconds: each sends a B-byte
// request (default 64; a sequence number in its first bytes), reads the echo back in full, checks
// it byte for byte and records the round trip, then sends the next. Prints one line:
//
//   RESULT peer=NAME workload=W5 C=100 requests=N wall_s=D req_per_s=R p50_us=.. p99_us=.. ok=1
//
// The server named by --peer (default "sluice") is whatever listens on the port; this program is
// the same client for every server. Exit status 1 (and ok=0, or a message on stderr) when any
// connection fails or an echo differs.

#include <sys/resource.h>

#include <sluice/sluice.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    long long conns = 1;
    double seconds = 3.0;
    std::size_t size = 64;
    std::string peer = "sluice";
};

void usage() {
    std::fputs("usage: echo_load --port P [--host ADDR] [--conns C] [--seconds D] [--size B] [--peer NAME]\n",
               stderr);
}

std::optional<options> parse(int argc, char** argv) {
    options result;
    bool have_port = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (i + 1 >= argc) return std::nullopt;
        const char* value = argv[++i];
        char* end = nullptr;
        errno = 0;
        if (arg == "--host" || arg == "--peer") {
            (arg == "--host" ? result.host : result.peer) = value;
            continue;
        }
        if (arg == "--seconds") {
            result.seconds = std::strtod(value, &end);
            if (errno != 0 || end == value || *end != '\0' || !(result.seconds > 0) || result.seconds > 3600) {
                return std::nullopt;
            }
            continue;
        }
        const long long number = std::strtoll(value, &end, 10);
        if (errno != 0 || end == value || *end != '\0') return std::nullopt;
        if (arg == "--port" && number >= 1 && number <= 65535) {
            result.port = static_cast<std::uint16_t>(number);
            have_port = true;
        } else if (arg == "--conns" && number >= 1 && number <= 100000) {
            result.conns = number;
        } else if (arg == "--size" && number >= 8 && number <= 1 << 20) {
            result.size = static_cast<std::size_t>(number);
        } else {
            return std::nullopt;
        }
    }
    if (!have_port) return std::nullopt;
    return result;
}

/// Lets this process open C sockets (plus a few) when the soft descriptor limit is lower.
void raise_fd_limit(long long needed) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    const auto want = static_cast<rlim_t>(needed + 64);
    if (limit.rlim_cur >= want) return;
    limit.rlim_cur = std::min(want, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
}

struct client_result {
    std::vector<std::uint32_t> latencies_ns;
    std::string error;
};

sluice::task<> client(sluice::tcp_stream& stream, std::size_t size, std::uint64_t id, clock_type::time_point deadline,
                      client_result& result) {
    std::vector<std::byte> request(size);
    std::vector<std::byte> reply(size);
    for (std::size_t i = 0; i < size; ++i) request[i] = static_cast<std::byte>('a' + (i + id) % 26);
    result.latencies_ns.reserve(1 << 12);
    try {
        for (std::uint64_t sequence = 0;; ++sequence) {
            const auto start = clock_type::now();
            if (start >= deadline) break;
            std::memcpy(request.data(), &sequence, sizeof sequence);
            co_await stream.write_all(std::span<const std::byte>(request));
            const std::size_t got = co_await stream.read_exact(std::span<std::byte>(reply));
            const auto elapsed = clock_type::now() - start;
            if (got != size) throw std::runtime_error("end of stream before the whole echo arrived");
            if (reply != request) throw std::runtime_error("echo differs from the request");
            result.latencies_ns.push_back(static_cast<std::uint32_t>(
                std::min<std::int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count(),
                                       UINT32_MAX)));
        }
    } catch (const sluice::cancelled_error&) {
        throw;
    } catch (const std::exception& e) {
        result.error = e.what();
    }
}

struct outcome {
    std::vector<client_result> results;
    double wall_seconds = 0;
};

sluice::task<outcome> load(options opts) {
    const sluice::endpoint server(opts.host, opts.port);
    std::vector<sluice::tcp_stream> streams;
    streams.reserve(static_cast<std::size_t>(opts.conns));  // never moved while operations run
    for (long long i = 0; i < opts.conns; ++i) streams.push_back(co_await sluice::tcp_stream::connect(server));

    outcome out;
    out.results.resize(streams.size());
    const auto start = clock_type::now();
    const auto deadline = start + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(opts.seconds));
    co_await sluice::task_group::scope([&](sluice::task_group& group) -> sluice::task<> {
        for (std::size_t i = 0; i < streams.size(); ++i) {
            group.spawn(client(streams[i], opts.size, i, deadline, out.results[i]));
        }
        co_return;
    });
    out.wall_seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    for (auto& stream : streams) stream.close();
    co_return out;
}

double percentile_us(const std::vector<std::uint32_t>& sorted, double p) {
    if (sorted.empty()) return 0;
    const auto rank = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
    return static_cast<double>(sorted[std::min(rank, sorted.size() - 1)]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
    const std::optional<options> opts = parse(argc, argv);
    if (!opts) {
        usage();
        return 1;
    }
    raise_fd_limit(opts->conns);
    outcome out;
    try {
        out = sluice::run(load(*opts));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "echo_load: %s\n", e.what());
        return 1;
    }
    std::vector<std::uint32_t> all;
    bool ok = true;
    for (std::size_t i = 0; i < out.results.size(); ++i) {
        const client_result& r = out.results[i];
        if (!r.error.empty()) {
            std::fprintf(stderr, "echo_load: connection %zu: %s\n", i, r.error.c_str());
            ok = false;
        }
        all.insert(all.end(), r.latencies_ns.begin(), r.latencies_ns.end());
    }
    if (all.empty()) ok = false;
    std::sort(all.begin(), all.end());
    std::printf("RESULT peer=%s workload=W5 C=%lld requests=%zu wall_s=%.4f req_per_s=%.1f p50_us=%.1f p99_us=%.1f ok=%d\n",
                opts->peer.c_str(), opts->conns, all.size(), out.wall_seconds,
                static_cast<double>(all.size()) / out.wall_seconds, percentile_us(all, 0.50), percentile_us(all, 0.99),
                ok ? 1 : 0);
    return ok ? 0 : 1;
}
