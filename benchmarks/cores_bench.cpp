// cores_bench: several loops (run_on_cores) against one, and messages between loops (channel)
// beside a mutex + condition_variable queue between two plain threads. One RESULT line per run
// (bench_support.hpp); ns_per_task is per item (w1, w4) or per message (one round trip for the
// ping-pongs).
//
//   cores_bench w1 M L C [split] [pin]   W1 (sluice_bench w1) spread over C loops, each core at
//                                        most L/C in flight
//   cores_bench w4 M C [split] [pin]     W4 (gather over M trivial tasks) spread over C loops
//   cores_bench w4 M C made [pin]        W4 with each core's tasks made first into a vector (a
//                                        fixed share each, as `strided`), as the floor's W4 does
//   cores_bench pingpong N      N round trips between two loops through two channels of capacity 1
//   cores_bench stream N        N messages one way from one loop to another, channel capacity 1024
//   cores_bench cv-pingpong N   the same two between two threads over a mutex + condition_variable
//   cores_bench cv-stream N     bounded queue (capacity 1 each way / 1024)
//
// How W1/W4 split the items between the cores (`split`):
//   shared   (default) every core's lazy source claims the next chunk of 1024 item numbers from one
//            atomic counter, so a core that runs faster takes more: the loops finish together even
//            when their CPUs are not equally fast (a VM's vCPUs often are not);
//   strided  core i takes the items i, i+C, i+2C, ...: a fixed half each, so the slowest core sets
//            the time.
// `pin` pins core i to the i-th CPU (run_on_cores' `.pin`); give `taskset -c K` to pin a 1-loop run.
//
// Boost.Asio's post between two io_contexts is in cores_asio_bench.cpp. Exit status 1 when the
// checksum is wrong.

#include <sluice/sluice.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_support.hpp"

namespace {

sluice::task<long long> yield_then_double(long long i) {
    co_await sluice::yield();
    co_return 2 * i;
}

enum class split { shared, strided };

/// Core `core`'s items among 0..m-1 (see the header comment for the two splits). `next_chunk` is
/// the shared counter of the shared split (a plain atomic: the cores exchange no message for it).
sluice::generator<sluice::task<long long>> share_of(long long m, std::size_t core, std::size_t cores, split how,
                                                    std::atomic<long long>& next_chunk) {
    if (how == split::strided) {
        for (auto i = static_cast<long long>(core); i < m; i += static_cast<long long>(cores)) co_yield yield_then_double(i);
        co_return;
    }
    constexpr long long chunk = 1024;
    for (long long first = next_chunk.fetch_add(chunk, std::memory_order_relaxed); first < m;
         first = next_chunk.fetch_add(chunk, std::memory_order_relaxed)) {
        for (long long i = first; i < std::min(first + chunk, m); ++i) co_yield yield_then_double(i);
    }
}

long long sum_of(const std::vector<long long>& values) {
    long long sum = 0;
    for (long long value : values) sum += value;
    return sum;
}

/// When the cores worked: from the first core's fn starting to the last one's ending. Unlike the
/// wall time it leaves out run_on_cores starting and joining the threads (each thread's ring, stack
/// and frame chunks; `cores_bench w4 1000 C` measures that), so it is the throughput of the loops
/// themselves, the other core's start-up included while the first already works.
class work_span {
public:
    void core_started() noexcept {
        const auto now = ticks();
        auto seen = first_start_.load(std::memory_order_relaxed);
        while (now < seen && !first_start_.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
        }
    }
    void core_ended() noexcept {
        const auto now = ticks();
        auto seen = last_end_.load(std::memory_order_relaxed);
        while (now > seen && !last_end_.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
        }
    }
    /// Read after run_on_cores returned (its joins order the cores' writes before this).
    [[nodiscard]] std::string field() const {
        char text[32];
        std::snprintf(text, sizeof text, " work_s=%.4f",
                      static_cast<double>(last_end_.load(std::memory_order_relaxed) -
                                          first_start_.load(std::memory_order_relaxed)) * 1e-9);
        return text;
    }

private:
    static std::int64_t ticks() noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    }
    std::atomic<std::int64_t> first_start_{std::numeric_limits<std::int64_t>::max()};
    std::atomic<std::int64_t> last_end_{std::numeric_limits<std::int64_t>::min()};
};

struct spread {
    std::size_t cores = 1;
    split how = split::shared;
    bool pin = false;
    bool made_first = false;  // w4: every task of a core made before its gather starts
    work_span* span = nullptr;
};

long long w1(long long m, long long limit, const spread& over) {
    const long long per_core = std::max(1LL, limit / static_cast<long long>(over.cores));
    std::atomic<long long> next_chunk{0};
    return sum_of(sluice::run_on_cores(
        over.cores,
        [&](std::size_t core) -> sluice::task<long long> {
            over.span->core_started();
            long long sum = 0;
            for (auto next : sluice::limited_as_completed(share_of(m, core, over.cores, over.how, next_chunk), per_core)) {
                sum += co_await next;
            }
            over.span->core_ended();
            co_return sum;
        },
        {.pin = over.pin}));
}

long long w4(long long m, const spread& over) {
    std::atomic<long long> next_chunk{0};
    return sum_of(sluice::run_on_cores(
        over.cores,
        [&](std::size_t core) -> sluice::task<long long> {
            over.span->core_started();
            std::vector<long long> results;
            if (over.made_first) {
                std::vector<sluice::task<long long>> tasks;
                tasks.reserve(static_cast<std::size_t>(m) / over.cores + 1);
                for (auto&& each : share_of(m, core, over.cores, over.how, next_chunk)) tasks.push_back(std::move(each));
                results = co_await sluice::gather(std::move(tasks));
            } else {
                results = co_await sluice::gather(share_of(m, core, over.cores, over.how, next_chunk));
            }
            const long long sum = sum_of(results);
            over.span->core_ended();
            co_return sum;
        },
        {.pin = over.pin}));
}

/// The words after the numbers of w1/w4: `shared`/`strided`/`made` and `pin`, in any order.
bool parse_spread(int argc, char** argv, int first, spread& over) {
    for (int i = first; i < argc; ++i) {
        const std::string word = argv[i];
        if (word == "shared") {
            over.how = split::shared;
        } else if (word == "strided") {
            over.how = split::strided;
        } else if (word == "made") {
            over.made_first = true;
            over.how = split::strided;
        } else if (word == "pin") {
            over.pin = true;
        } else {
            return false;
        }
    }
    return true;
}

std::string describe(const spread& over) {
    return " cores=" + std::to_string(over.cores) + (over.how == split::shared ? " split=shared" : " split=strided") +
           (over.made_first ? " made-first" : "") + (over.pin ? " pinned" : "");
}

/// n messages between two loops: a round trip each through two channels of capacity 1
/// (ping-pong), or one way through a channel of capacity 1024 (stream).
long long channel_messages(long long n, bool round_trip) {
    sluice::channel<long long> there(round_trip ? 1 : 1024);
    sluice::channel<long long> back(1);
    const std::vector<long long> sums = sluice::run_on_cores(2, [&](std::size_t core) -> sluice::task<long long> {
        long long sum = 0;
        for (long long i = 0; i < n; ++i) {
            if (core == 0) {
                co_await there.send(i);
                if (round_trip) sum += co_await back.receive();
            } else {
                const long long value = co_await there.receive();
                if (round_trip) {
                    co_await back.send(value);
                } else {
                    sum += value;
                }
            }
        }
        co_return sum;
    });
    return round_trip ? sums[0] : sums[1];
}

long long channel_pingpong(long long n) { return channel_messages(n, true); }
long long channel_stream(long long n) { return channel_messages(n, false); }

/// A bounded blocking queue: the textbook mutex + two condition variables.
class cv_queue {
public:
    explicit cv_queue(std::size_t capacity) : capacity_(capacity) {}
    void push(long long value) {
        std::unique_lock lock(mutex_);
        not_full_.wait(lock, [&] { return items_.size() < capacity_; });
        items_.push_back(value);
        not_empty_.notify_one();
    }
    long long pop() {
        std::unique_lock lock(mutex_);
        not_empty_.wait(lock, [&] { return !items_.empty(); });
        const long long value = items_.front();
        items_.pop_front();
        not_full_.notify_one();
        return value;
    }

private:
    std::mutex mutex_;
    std::condition_variable not_empty_;
    std::condition_variable not_full_;
    std::deque<long long> items_;
    std::size_t capacity_;
};

long long cv_pingpong(long long n) {
    cv_queue ping(1);
    cv_queue pong(1);
    std::thread echo([&] {
        for (long long i = 0; i < n; ++i) pong.push(ping.pop());
    });
    long long sum = 0;
    for (long long i = 0; i < n; ++i) {
        ping.push(i);
        sum += pong.pop();
    }
    echo.join();
    return sum;
}

long long cv_stream(long long n) {
    cv_queue stream(1024);
    long long sum = 0;
    std::thread consumer([&] {
        for (long long i = 0; i < n; ++i) sum += stream.pop();
    });
    for (long long i = 0; i < n; ++i) stream.push(i);
    consumer.join();
    return sum;
}

int usage() {
    std::fprintf(stderr, "usage: cores_bench w1 M L C [shared|strided] [pin] | w4 M C [shared|strided|made] [pin] | pingpong N | stream N | cv-pingpong N | cv-stream N\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage();
    const std::string workload = argv[1];
    const long long m = sluice_bench::argument(argc, argv, 2, 1'000'000);
    const long long expected_items = m * (m - 1);  // sum of 2i over 0..m-1
    sluice_bench::stopwatch clock;
    if (workload == "w1" || workload == "w4") {
        const bool is_w1 = workload == "w1";
        const long long l = is_w1 ? sluice_bench::argument(argc, argv, 3, 1000) : 0;
        work_span span;
        spread over;
        over.span = &span;
        over.cores = static_cast<std::size_t>(sluice_bench::argument(argc, argv, is_w1 ? 4 : 3, 1));
        if (!parse_spread(argc, argv, is_w1 ? 5 : 4, over)) return usage();
        const long long sum = is_w1 ? w1(m, l, over) : w4(m, over);
        const std::string parameters =
            "M=" + std::to_string(m) + (is_w1 ? " L=" + std::to_string(l) : std::string()) + describe(over);
        const double wall = clock.seconds();
        return sluice_bench::report("sluice", is_w1 ? "W1" : "W4", parameters, m, sum, expected_items, wall, span.field());
    }
    struct message_workload {
        const char* name;
        const char* peer;
        const char* workload;
        long long (*run)(long long);
    };
    constexpr message_workload message_workloads[] = {
        {"pingpong", "sluice", "pingpong", channel_pingpong}, {"stream", "sluice", "stream", channel_stream},
        {"cv-pingpong", "cv", "pingpong", cv_pingpong},        {"cv-stream", "cv", "stream", cv_stream},
    };
    for (const message_workload& each : message_workloads) {
        if (workload != each.name) continue;
        const long long sum = each.run(m);
        return sluice_bench::report_messages(each.peer, each.workload, m, sum, clock.seconds());
    }
    return usage();
}
