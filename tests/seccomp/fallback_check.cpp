// fallback_check: run under tests/seccomp/no_io_uring (io_uring_setup -> EPERM). Checks that
// sluice::run chose the epoll backend by itself and that TCP, files, timers, to_thread and
// cancellation work there, printing one line per check on stdout; the CTest driver
// (tests/seccomp_check.py) also requires an empty stderr. Exit status 0 only if every check passed.

#include <sluice/sluice.hpp>

#include <dirent.h>
#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace std::chrono_literals;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
    std::printf("%-58s %s\n", what, ok ? "ok" : "FAILED");
    if (!ok) ++failures;
}

int open_fd_count() {
    int count = 0;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) return -1;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
    return count - 1;  // the directory stream's own descriptor
}

sluice::task<void> echo_once(sluice::tcp_listener& listener) {
    sluice::tcp_stream peer = co_await listener.accept();
    char buffer[64];
    for (;;) {
        const std::size_t n = co_await peer.read_some(std::span(buffer));
        if (n == 0) break;
        co_await peer.write_all(std::string_view(buffer, n));
    }
}

sluice::task<void> nothing() { co_return; }

sluice::task<void> blocked_accept(sluice::tcp_listener& listener) { (void)co_await listener.accept(); }

sluice::task<void> blocked_read(sluice::tcp_stream& stream) {
    char buffer[16];
    (void)co_await stream.read_some(std::span(buffer));
}

sluice::task<void> checks(std::filesystem::path dir) {
    check(sluice::current_backend() == sluice::backend::epoll, "run() fell back to the epoll backend");

    // TCP: an echo round trip over loopback.
    auto listener = sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0));
    auto server = sluice::spawn(echo_once(listener));
    sluice::tcp_stream client = co_await sluice::tcp_stream::connect(listener.local_endpoint());
    co_await client.write_all("hello, epoll");
    char reply[12];
    const std::size_t got = co_await client.read_exact(std::span(reply));
    client.shutdown(sluice::shutdown_how::write);
    co_await server;
    check(got == 12 && std::string_view(reply, 12) == "hello, epoll", "TCP: connect, accept, write_all, read_exact");
    bool refused = false;
    try {
        (void)co_await sluice::tcp_stream::connect(listener.local_endpoint());
        listener.close();
        (void)co_await sluice::tcp_stream::connect(sluice::endpoint("127.0.0.1", 1));
    } catch (const std::system_error& error) {
        refused = error.code().value() == ECONNREFUSED;
    }
    check(refused, "TCP: ECONNREFUSED as std::system_error");

    // Files: whole-file write and read, and positional I/O, on the worker pool.
    const std::string content(100'000, 'x');
    co_await sluice::write_file(dir / "f", content);
    const std::vector<std::byte> back = co_await sluice::read_file(dir / "f");
    sluice::file f = co_await sluice::file::open(dir / "f", O_RDONLY);
    char head[5];
    const std::size_t n = co_await f.read_at(std::span(head), 99'995);
    co_await f.close();
    check(back.size() == content.size() && n == 5, "files: write_file, read_file, open, read_at, close");

    // Timers: sleep_for lasts at least its duration; wait_for times out.
    const auto start = std::chrono::steady_clock::now();
    co_await sluice::sleep_for(30ms);
    const bool slept = std::chrono::steady_clock::now() - start >= 30ms;
    bool timed_out = false;
    try {
        co_await sluice::wait_for(sluice::sleep_for(1h), 10ms);
    } catch (const sluice::timeout_error&) {
        timed_out = true;
    }
    check(slept && timed_out, "timers: sleep_for, wait_for timing out");

    // to_thread: a result computed on a worker comes back.
    const int answer = co_await sluice::to_thread([] { return 6 * 7; });
    check(answer == 42, "to_thread");

    // Cancellation of a blocked accept and a blocked read, no descriptor leaked.
    const int before = open_fd_count();
    {
        auto quiet = sluice::tcp_listener::bind(sluice::endpoint("127.0.0.1", 0));
        sluice::tcp_stream idle = co_await sluice::tcp_stream::connect(quiet.local_endpoint());
        sluice::tcp_stream silent_peer = co_await quiet.accept();  // never writes
        auto acceptor = sluice::spawn(blocked_accept(quiet));     // no other client comes
        auto reader = sluice::spawn(blocked_read(idle));
        co_await sluice::sleep_for(20ms);
        acceptor.cancel();
        reader.cancel();
        int cancelled = 0;
        for (auto* handle : {&acceptor, &reader}) {
            try {
                co_await *handle;
            } catch (const sluice::cancelled_error&) {
                ++cancelled;
            }
        }
        check(cancelled == 2, "cancellation: blocked accept and read end with cancelled_error");
    }
    check(open_fd_count() == before, "cancellation: no descriptor leaked");
}

}  // namespace

int main() {
    io_uring_params params{};
    const long rc = ::syscall(__NR_io_uring_setup, 1, &params);
    check(rc < 0 && errno == EPERM, "io_uring_setup is refused with EPERM (the seccomp filter)");

    const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sluice_fallback_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    try {
        sluice::run(checks(dir));
    } catch (const std::exception& error) {
        std::printf("unexpected exception: %s\n", error.what());
        ++failures;
    }
    std::filesystem::remove_all(dir);

    bool clear_error = false;
    try {
        sluice::run(nothing(), {.backend = sluice::backend::io_uring});
    } catch (const std::system_error& error) {
        clear_error = error.code().value() == EPERM && std::string_view(error.what()).find("seccomp") != std::string_view::npos;
    }
    check(clear_error, "forcing io_uring here throws the clear system_error");

    std::printf("%s\n", failures == 0 ? "all checks passed" : "SOME CHECKS FAILED");
    return failures == 0 ? 0 : 1;
}
