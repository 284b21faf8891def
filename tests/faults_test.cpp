// Tests of the fault-injection hook (sluice/detail/io_faults.hpp) and of what sluice does with the
// faults it injects: transient errors retried, hard errors reported cleanly, short transfers
// continued, a cancel racing a real result, a close interrupted after it released the descriptor.
//
// Anything that must be cut short blocks on a 20 s timer, so a bug is a CTest TIMEOUT.
// The hook is a test seam, not an API: reached through support/faults.hpp.

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/file.hpp>
#include <sluice/net.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/co_test.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using sluice_test::io_fault_injector;
using sluice_test::io_fault_scope;

namespace {

/// A fresh file under /tmp holding `size` patterned bytes, removed at the end of the test.
struct temp_file {
    fs::path path;
    std::vector<std::byte> content;
    explicit temp_file(std::size_t size) {
        char pattern[] = "/tmp/sluice_faults_test.XXXXXX";
        const int fd = ::mkstemp(pattern);
        REQUIRE(fd >= 0);
        path = pattern;
        for (std::size_t i = 0; i < size; ++i) content.push_back(static_cast<std::byte>(i * 7 + i / 251));
        REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
        ::close(fd);
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    ~temp_file() {
        std::error_code ignored;
        fs::remove(path, ignored);
    }
};

std::size_t open_descriptors() {
    std::size_t count = 0;
    for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/fd")) ++count;
    return count;
}

/// Fails the first `count` submissions of the op named `name` with `error`.
struct fail_first final : io_fault_injector {
    const char* name;
    int error;
    int count;
    int injected = 0;
    fail_first(const char* op, int err, int n) : name(op), error(err), count(n) {}
    int before_submit(const char* what, bool) noexcept override {
        if (std::strcmp(what, name) != 0 || injected == count) return 0;
        ++injected;
        return -error;
    }
};

}  // namespace

SLUICE_TEST_CASE("an op refused with EINTR or EAGAIN before reaching the kernel is submitted again", "[faults]") {
    temp_file source(3000);
    for (int error : {EINTR, EAGAIN}) {
        fail_first faults("read", error, 5);
        io_fault_scope scope(faults);
        const std::vector<std::byte> data = co_await sluice::read_file(source.path);
        CHECK(faults.injected == 5);
        CHECK(data == source.content);
    }
}

SLUICE_TEST_CASE("an op failing with ENOMEM is a std::system_error ENOMEM, and the descriptor is not leaked",
                 "[faults]") {
    temp_file source(100);
    const std::size_t before = open_descriptors();
    fail_first faults("read", ENOMEM, 1);
    io_fault_scope scope(faults);
    int error = 0;
    try {
        (void)co_await sluice::read_file(source.path);
    } catch (const std::system_error& failure) {
        error = failure.code().value();
    }
    CHECK(error == ENOMEM);
    CHECK(open_descriptors() == before);
}

namespace {
/// Every read and write of more than one byte moves at most a third of what it was asked for.
struct a_third final : io_fault_injector {
    long shortened = 0;
    unsigned transfer_length(const char*, unsigned length) noexcept override {
        ++shortened;
        return length / 3 > 0 ? length / 3 : 1;
    }
};
}  // namespace

SLUICE_TEST_CASE("short reads and writes are continued: write_file and read_file round-trip 100 kB", "[faults]") {
    temp_file target(0);
    std::vector<std::byte> bytes(100'000);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i % 253);
    a_third faults;
    io_fault_scope scope(faults);
    co_await sluice::write_file(target.path, bytes);
    const std::vector<std::byte> back = co_await sluice::read_file(target.path);
    CHECK(back == bytes);
    CHECK(faults.shortened > 10);
}

namespace {
/// Calls `action` when the op named `name` delivers a result, and delivers `replacement` (or the
/// real result when it is 1) instead.
struct on_result final : io_fault_injector {
    const char* name;
    std::function<void()> action;
    int replacement = 1;
    int seen = 0;
    int on_complete(const char* what, int result) noexcept override {
        if (std::strcmp(what, name) != 0 || seen++ != 0) return result;
        action();
        return replacement == 1 ? result : replacement;
    }
};

sluice::task<std::size_t> read_then_sleep(sluice::file& f, std::size_t size, bool& cancelled_at_sleep) {
    std::vector<std::byte> buffer(size);
    const std::size_t n = co_await f.read_at(std::span(buffer), 0);
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        cancelled_at_sleep = true;
    }
    co_return n;
}
}  // namespace

namespace {
/// The code of the std::system_error `operation` ends with; no error if it succeeds.
sluice::task<std::error_code> system_error_of(sluice::task<void> operation) {
    try {
        co_await std::move(operation);
    } catch (const std::system_error& e) {
        co_return e.code();
    }
    co_return std::error_code();
}
}  // namespace

SLUICE_TEST_CASE("a write that transfers nothing is EIO, for a file and a socket alike (never retried forever)",
                 "[faults]") {
    const std::vector<std::byte> bytes(64, std::byte{7});
    {
        temp_file target(0);
        sluice::file f = co_await sluice::file::open(target.path, O_WRONLY);
        on_result nothing_written;
        nothing_written.name = "write";
        nothing_written.action = [] {};
        nothing_written.replacement = 0;
        io_fault_scope scope(nothing_written);
        const std::error_code error = co_await system_error_of(f.write_at(std::span(bytes), 0));
        CHECK(error == std::error_code(EIO, std::system_category()));
    }
    {
        int pair[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
        sluice::unix_stream writer = sluice::unix_stream::from_fd(pair[0]);
        sluice::unix_stream reader = sluice::unix_stream::from_fd(pair[1]);
        on_result nothing_sent;
        nothing_sent.name = "send";
        nothing_sent.action = [] {};
        nothing_sent.replacement = 0;
        io_fault_scope scope(nothing_sent);
        const std::error_code error = co_await system_error_of(writer.write_all(std::span(bytes)));
        CHECK(error == std::error_code(EIO, std::system_category()));
        CHECK(nothing_sent.seen == 1);  // given up at once, not retried
    }
}

SLUICE_TEST_CASE("a cancel racing a read's real result keeps the bytes and is delivered at the next suspension",
                 "[faults][cancel]") {
    temp_file source(512);
    sluice::file f = co_await sluice::file::open(source.path);
    bool cancelled_at_sleep = false;
    sluice::join_handle<std::size_t> reader;
    on_result faults{};
    faults.name = "read";
    faults.action = [&] { reader.cancel(); };  // the cancel arrives while the CQE is being delivered
    io_fault_scope scope(faults);
    reader = sluice::spawn(read_then_sleep(f, source.content.size(), cancelled_at_sleep));
    const std::size_t n = co_await reader;
    CHECK(faults.seen >= 1);
    CHECK(n == source.content.size());
    CHECK(cancelled_at_sleep);
}

namespace {
sluice::task<void> close_file(sluice::file& f) { co_await f.close(); }
}  // namespace

SLUICE_TEST_CASE("a close interrupted (EINTR, ERESTARTSYS) after it released the descriptor never closes it twice",
                 "[faults][close]") {
    // close(2) frees the number first; another thread may get it at once. The interrupted close
    // must then not close it again. The hook plays that thread: it opens /dev/null (which takes
    // the freed number), cancels the closing task, and delivers the interruption.
    for (int interruption : {-EINTR, -512}) {
        temp_file source(16);
        sluice::file f = co_await sluice::file::open(source.path);
        const int number = f.native_handle();
        int reused = -1;
        sluice::join_handle<void> closer;
        on_result faults{};
        faults.name = "close";
        faults.replacement = interruption;
        faults.action = [&] {
            reused = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
            closer.cancel();
        };
        io_fault_scope scope(faults);
        closer = sluice::spawn(close_file(f));
        sluice::result<void> outcome = co_await closer.as_result();
        REQUIRE(faults.seen == 1);
        CHECK(reused == number);
        CHECK(::fcntl(reused, F_GETFD) != -1);  // still open: not closed a second time
        CHECK(outcome.has_value());             // closed is closed: neither an error nor a cancel
        ::close(reused);
    }
}
