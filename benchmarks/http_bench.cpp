// HTTP client benchmark, sluice side: N GETs of small files from one server, at most `limit` in
// flight, through limited_as_completed + http::client (keep-alive pool of `limit` connections).
// benchmarks/http_compare.py starts nginx and runs this beside http_bench_aiohttp.py.
//
//     http_bench BASE_URL FILES N LIMIT [CA_FILE]
//
// GETs BASE_URL/<i % FILES>.txt for i in [0, N); every body must be "file <i % FILES>\n". Prints
//     RESULT peer=sluice requests=N ok=1 wall_s=... cpu_s=... peak_rss_mb=... connections=...

#include <sluice/as_completed.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/generator.hpp>
#include <sluice/http.hpp>
#include <sluice/task.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "bench_support.hpp"

namespace {

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

sluice::task<long long> fetch(sluice::http::client& client, std::string url, long long file) {
    const sluice::http::response r = co_await client.get(std::move(url));
    co_return r.status == 200 && r.body == "file " + std::to_string(file) + "\n" ? 1 : 0;
}

sluice::generator<sluice::task<long long>> jobs(sluice::http::client& client, const std::string& base, long long files, long long n) {
    for (long long i = 0; i < n; ++i) co_yield fetch(client, base + "/" + std::to_string(i % files) + ".txt", i % files);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 5) {
        std::fprintf(stderr, "usage: http_bench BASE_URL FILES N LIMIT [CA_FILE]\n");
        return 2;
    }
    const std::string base = argv[1];
    const long long files = std::atoll(argv[2]);
    const long long n = std::atoll(argv[3]);
    const long long limit = std::atoll(argv[4]);
    if (files < 1 || n < 1 || limit < 1) {
        std::fprintf(stderr, "http_bench: FILES, N and LIMIT must be >= 1\n");
        return 2;
    }
    sluice::http::client_options options;
    options.max_connections_per_host = static_cast<std::size_t>(limit);
    options.max_idle_per_host = static_cast<std::size_t>(limit);
    if (argc > 5) {
        options.tls = sluice::tls_context::client();
        options.tls->add_trusted(argv[5]);
    }
    const double cpu_before = cpu_seconds();
    const sluice_bench::stopwatch wall;
    long long ok = 0;
    std::uint64_t connections = 0;
    try {
        ok = sluice::run([&]() -> sluice::task<long long> {
            sluice::http::client client(options);
            long long good = 0;
            for (auto next : sluice::limited_as_completed(jobs(client, base, files, n), static_cast<std::size_t>(limit))) {
                good += co_await next;
            }
            connections = client.stats().connections_opened;
            co_return good;
        }());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "http_bench: %s\n", e.what());
        return 1;
    }
    const double seconds = wall.seconds();
    std::printf("RESULT peer=sluice requests=%lld ok=%d wall_s=%.4f cpu_s=%.4f peak_rss_mb=%.1f connections=%llu\n", n,
                ok == n ? 1 : 0, seconds, cpu_seconds() - cpu_before, sluice_bench::peak_rss_mb(),
                static_cast<unsigned long long>(connections));
    return ok == n ? 0 : 1;
}
