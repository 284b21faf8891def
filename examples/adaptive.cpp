// adaptive: a concurrency limit that finds a server's capacity by itself (issue 14).
//
// A built-in HTTP server on 127.0.0.1 has a *capacity* K: up to K requests at once are answered
// after the normal latency; beyond K it answers 503 Service Unavailable at once (--mode reject),
// or thrashes (--mode slow: with A > K requests inside, each takes (A/K)² times the latency). The client downloads N items
// through a sluice::semaphore over a sluice::concurrency_limit that starts at 1:
//   aimd      grows by one per success (slow start), then one per round, and backs off ×0.9 on
//             each 503 (each reported through permit.report(outcome::overload)); a 503'd item is
//             fetched again after one latency; in --mode slow an answer later than 1.5× the normal
//             latency counts as overload too (aimd's timeout);
//   gradient  watches latency: grows while it stays near its minimum, shrinks when it rises.
// It prints the limit over time as a sparkline (and writes an SVG with --svg FILE), the total time,
// the number of 503s, and with --sweep the same download at fixed limits for comparison.
//
// Usage: adaptive [--items N] [--capacity K] [--latency-ms MS] [--mode reject|slow]
//                 [--limit aimd|gradient|N] [--slow-start X] [--backoff X] [--sweep] [--svg FILE] [--check]
// It prints "converged: yes" when the limit's median over the second half of the run lies within
// [K/2, 3K/2] and fewer than 5% of the requests were rejected (counts, not time); with --check it
// then exits 0, else 1.

#include <sluice/sluice.hpp>

#include <sluice/http.hpp>

#include "support/arguments.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

enum class server_mode { reject, slow };

struct options {
    int items = 676;  // as many as flags has codes AA..ZZ
    int capacity = 16;
    int latency_ms = 20;
    server_mode mode = server_mode::reject;
    std::string limit = "aimd";
    bool sweep = false;
    bool check = false;
    std::string svg;
    double slow_start = 1.5;
    double backoff = 0.9;
};

// ---- the capacity server ------------------------------------------------------------------------

struct server_state {
    int capacity;
    std::chrono::milliseconds latency;
    server_mode mode;
    int active = 0;  // requests being served now
    int peak = 0;
};

/// One request (a sluice::http::server handler): 503 at once or 200 after the latency.
sluice::task<sluice::http::response> answer(sluice::http::request request, server_state& server) {
    sluice::http::response response;
    response.fields = {{"Content-Type", "text/plain"}};
    const bool over = server.active >= server.capacity;
    if (over && server.mode == server_mode::reject) {
        response.status = 503;
        response.body = "busy\n";
        co_return response;
    }
    ++server.active;
    server.peak = std::max(server.peak, server.active);
    struct leave {
        int& active;
        ~leave() { --active; }
    } guard{server.active};
    // Thrashing: with A > K requests inside, each takes (A/K)² times longer, so the server
    // completes fewer requests per second the more it is given.
    const double load = std::max(1.0, static_cast<double>(server.active) / server.capacity);
    co_await sluice::sleep_for(std::chrono::duration<double, std::milli>(
        static_cast<double>(server.latency.count()) * load * load));
    response.body = std::move(request.url);
    co_return response;
}

sluice::task<> serve(sluice::tcp_listener listener, server_state& state) {
    sluice::http::server server(std::move(listener), [&state](sluice::http::request request) {
        return answer(std::move(request), state);
    });
    co_await server.serve();
}

// ---- the client -----------------------------------------------------------------------------------

struct run_report {
    std::string name;
    double seconds = 0;
    int requests = 0;
    int rejected = 0;
    std::vector<std::pair<double, std::ptrdiff_t>> trace;  // (seconds since start, limit)
};

double rejected_share(const run_report& report) {
    return static_cast<double>(report.rejected) / std::max(report.requests, 1);
}

/// Fetches item `i` until it is served: each attempt holds a permit; a 503 reports an overload.
sluice::task<> fetch(sluice::http::client& client, const std::string& base_url, int i, sluice::semaphore& sem,
                     run_report& report, std::chrono::milliseconds retry_after) {
    for (;;) {
        {
            auto permit = co_await sem.acquire();
            ++report.requests;
            const sluice::http::response response = co_await client.get(base_url + "/item/" + std::to_string(i));
            if (response.status == 200) co_return;
            if (response.status != 503) throw std::runtime_error("unexpected HTTP " + std::to_string(response.status));
            ++report.rejected;
            permit.report(sluice::outcome::overload);
        }
        co_await sluice::sleep_for(retry_after);
    }
}

sluice::task<run_report> download(const std::string& base_url, const options& opts, std::string name,
                                  sluice::concurrency_limit limit) {
    // The semaphore is the only bound on requests in flight (the pool allows any number) and no
    // request times out: a thrashing server's slowness is what the limit must see.
    sluice::http::client_options client_options;
    client_options.max_connections_per_host = 1000000;
    client_options.timeout = std::chrono::milliseconds(0);
    sluice::http::client client(client_options);
    run_report report;
    report.name = std::move(name);
    const auto start = steady::now();
    const auto since_start = [&] { return std::chrono::duration<double>(steady::now() - start).count(); };
    report.trace.emplace_back(0.0, limit.limit());
    limit.on_change([&](std::ptrdiff_t n) { report.trace.emplace_back(since_start(), n); });
    sluice::semaphore sem(limit);
    std::vector<sluice::task<>> items;
    items.reserve(static_cast<std::size_t>(opts.items));
    for (int i = 0; i < opts.items; ++i) {
        items.push_back(fetch(client, base_url, i, sem, report, std::chrono::milliseconds(opts.latency_ms)));
    }
    co_await sluice::gather(std::move(items));
    report.seconds = since_start();
    report.trace.emplace_back(report.seconds, limit.limit());
    limit.on_change({});
    co_return report;
}

sluice::concurrency_limit make_limit(const options& opts) {
    const std::string& how = opts.limit;
    if (how == "aimd") {
        // A thrashing server answers every request, only later: without a latency bound AIMD
        // would see no overload at all and grow without end. 1.5× the normal latency is slow.
        // (A rejecting server says so with its 503s; no bound there, so a loaded client machine
        // is not mistaken for an overloaded server.)
        const auto slow = opts.mode == server_mode::slow ? std::chrono::milliseconds(opts.latency_ms) * 3 / 2
                                                         : std::chrono::milliseconds(0);
        return sluice::aimd{.initial = 1, .min = 1, .max = 1000, .backoff = opts.backoff, .slow_start = opts.slow_start,
                            .timeout = slow};
    }
    if (how == "gradient") return sluice::gradient{.initial = 1, .min = 1, .max = 1000};
    return sluice::fixed(std::stoi(how));
}

// ---- the report -----------------------------------------------------------------------------------

/// The limit in force at time t (the trace is in time order).
std::ptrdiff_t limit_at(const run_report& run, double t) {
    std::ptrdiff_t current = run.trace.front().second;
    for (const auto& [when, limit] : run.trace) {
        if (when > t) break;
        current = limit;
    }
    return current;
}

std::string sparkline(const run_report& run, int columns, std::ptrdiff_t top) {
    static constexpr std::array<const char*, 8> bars = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    std::string out;
    for (int c = 0; c < columns; ++c) {
        const std::ptrdiff_t limit = limit_at(run, run.seconds * (c + 0.5) / columns);
        const auto level = std::clamp<std::ptrdiff_t>(limit * 8 / (top + 1), 0, 7);
        out += bars[static_cast<std::size_t>(level)];
    }
    return out;
}

/// The median of the limit sampled at 200 moments of the run's second half.
std::ptrdiff_t settled_limit(const run_report& run) {
    std::vector<std::ptrdiff_t> samples;
    for (int i = 0; i < 200; ++i) samples.push_back(limit_at(run, run.seconds * (0.5 + i / 400.0)));
    std::nth_element(samples.begin(), samples.begin() + 100, samples.end());
    return samples[100];
}

void write_svg(const std::string& path, const run_report& run, int capacity) {
    std::ptrdiff_t top = capacity;
    for (const auto& point : run.trace) top = std::max(top, point.second);
    const double width = 800;
    const double height = 240;
    const auto x = [&](double t) { return 40 + (width - 50) * t / std::max(run.seconds, 1e-9); };
    const auto y = [&](double v) { return height - 20 - (height - 40) * v / static_cast<double>(top); };
    std::ofstream svg(path);
    svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width << "' height='" << height << "'>\n";
    svg << "<line x1='40' x2='" << width - 10 << "' y1='" << y(capacity) << "' y2='" << y(capacity)
        << "' stroke='red' stroke-dasharray='4'/>\n";
    svg << "<text x='42' y='" << y(capacity) - 4 << "' font-size='11' fill='red'>capacity " << capacity << "</text>\n";
    svg << "<polyline fill='none' stroke='black' points='";
    std::ptrdiff_t previous = run.trace.front().second;
    for (const auto& [when, limit] : run.trace) {
        svg << x(when) << ',' << y(static_cast<double>(previous)) << ' ' << x(when) << ','
            << y(static_cast<double>(limit)) << ' ';
        previous = limit;
    }
    svg << "'/>\n<text x='42' y='" << height - 4 << "' font-size='11'>" << run.name << ": limit over "
        << run.seconds << " s (max " << top << ")</text>\n</svg>\n";
}

void print_run(const run_report& run) {
    std::printf("%-10s %7.2f s %6d requests %5d rejected (%4.1f%%)\n", run.name.c_str(), run.seconds, run.requests,
                run.rejected, 100.0 * rejected_share(run));
}

sluice::task<int> main_task(const options& opts, sluice::tcp_listener listener, server_state& state) {
    const sluice::endpoint server = listener.local_endpoint();
    const std::string base_url = "http://" + server.to_string();
    auto server_task = sluice::spawn(serve(std::move(listener), state));
    std::printf("capacity server on %s: K=%d, %d ms per request, beyond K: %s\n", server.to_string().c_str(),
                opts.capacity, opts.latency_ms, opts.mode == server_mode::reject ? "503 at once" : "thrashes, (A/K)^2 slower");

    const run_report adaptive = co_await download(base_url, opts, opts.limit, make_limit(opts));
    std::ptrdiff_t top = opts.capacity;
    for (const auto& point : adaptive.trace) top = std::max(top, point.second);
    const std::ptrdiff_t settled = settled_limit(adaptive);
    std::printf("%s limit from %td, %d items: %zu changes, peak %td, median over the second half %td\n",
                opts.limit.c_str(), adaptive.trace.front().second, opts.items, adaptive.trace.size() - 2, top, settled);
    std::printf("limit over %.2f s (scale 0..%td): %s\n", adaptive.seconds, top, sparkline(adaptive, 60, top).c_str());
    print_run(adaptive);
    if (!opts.svg.empty()) write_svg(opts.svg, adaptive, opts.capacity);

    if (opts.sweep) {
        std::printf("fixed limits:\n");
        std::optional<run_report> best;
        for (const int n : {4, 8, 12, 14, 16, 18, 20, 24, 32, 64}) {
            state.peak = 0;
            const run_report fixed = co_await download(base_url, opts, "fixed " + std::to_string(n), sluice::fixed(n));
            print_run(fixed);
            // A limit that hammers the server with 503s is no candidate, however fast it finished:
            // best is the fastest one under the same < 5% rejected that the adaptive limit must meet.
            if (rejected_share(fixed) < 0.05 && (!best || fixed.seconds < best->seconds)) best = fixed;
        }
        if (best) {
            std::printf("best fixed (< 5%% rejected): %s at %.2f s; %s / best = %.2f\n", best->name.c_str(),
                        best->seconds, opts.limit.c_str(), adaptive.seconds / best->seconds);
        }
    }
    server_task.cancel();
    const bool converged =
        2 * settled >= opts.capacity && 2 * settled <= 3 * opts.capacity && rejected_share(adaptive) < 0.05;
    std::printf("converged: %s\n", converged ? "yes" : "no");
    co_return opts.check && !converged ? 1 : 0;
}

/// A factor given on the command line: a number in (low, high).
double factor(args::command_line& line, double low, double high, const char* expected) {
    const std::string text(line.value());
    char* end = nullptr;
    const double x = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(x > low && x < high)) line.bad_value(text, expected);
    return x;
}

}  // namespace

int main(int argc, char** argv) {
    options opts;
    constexpr const char* help =
        "usage: adaptive [-h] [--items N] [--capacity K] [--latency-ms MS] [--mode reject|slow]\n"
        "                [--limit aimd|gradient|N] [--slow-start X] [--backoff X] [--sweep] [--svg FILE] [--check]\n"
        "  --items N        items to download (default 676)\n"
        "  --capacity K     requests the server serves at once at normal latency (default 16)\n"
        "  --latency-ms MS  the server's normal latency (default 20)\n"
        "  --mode M         beyond K: reject (503 at once, default) or slow (thrashes)\n"
        "  --limit L        aimd (default), gradient, or a fixed number\n"
        "  --slow-start X   aimd's growth factor per round until the first 503, in [1, 16] (default 1.5)\n"
        "  --backoff X      aimd's factor on a 503, in (0, 1) (default 0.9)\n"
        "  --sweep          also download at fixed limits 4..64 and compare the times\n"
        "  --svg FILE       write the limit over time as an SVG plot\n"
        "  --check          exit 1 unless the limit converged near K with < 5% rejected\n"
        "  -h, --help       show this help and exit\n";
    if (const auto exit_status = args::parse(argc, argv, help, [&](args::command_line& line) {
            if (line.is("", "--items")) {
                opts.items = static_cast<int>(line.integer(1, 1'000'000));
            } else if (line.is("", "--capacity")) {
                opts.capacity = static_cast<int>(line.integer(1, 100'000));
            } else if (line.is("", "--latency-ms")) {
                opts.latency_ms = static_cast<int>(line.integer(1, 60'000));
            } else if (line.is("", "--mode")) {
                opts.mode = line.choice("reject|slow") == 0 ? server_mode::reject : server_mode::slow;
            } else if (line.is("", "--limit")) {
                const std::string text(line.value());
                char* end = nullptr;
                const long fixed = std::strtol(text.c_str(), &end, 10);
                if (text != "aimd" && text != "gradient" && (text.empty() || *end != '\0' || fixed < 1 || fixed > 100'000)) {
                    line.bad_value(text, "aimd, gradient or an integer in 1..100000");
                }
                opts.limit = text;
            } else if (line.is("", "--slow-start")) {
                opts.slow_start = factor(line, 0.999, 16.001, "a number in [1, 16]");
            } else if (line.is("", "--backoff")) {
                opts.backoff = factor(line, 0, 1, "a number in (0, 1)");
            } else if (line.is("", "--svg")) {
                opts.svg = line.value();
            } else if (line.is("", "--sweep")) {
                opts.sweep = true;
            } else if (line.is("", "--check")) {
                opts.check = true;
            } else {
                line.unrecognized();
            }
        })) {
        return *exit_status;
    }
    try {
        server_state state{opts.capacity, std::chrono::milliseconds(opts.latency_ms), opts.mode};
        sluice::tcp_listener listener = sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0), 1024);
        return sluice::run(main_task(opts, std::move(listener), state));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "adaptive: %s\n", e.what());
        return 1;
    }
}
