// Error messages name what failed, as Python's OSError does: the path of a file operation, the
// address of a socket operation ("connect 127.0.0.1:9: Connection refused"), and for write_file
// the temporary sibling it tried to create, not the target (which may well exist and be fine).
// Each test asserts the whole what() string and that code() still carries the kernel's errno.
// The first case is a unit test of the internal formatter itself (see support/internals.hpp).

#include <sluice/file.hpp>
#include <sluice/net.hpp>
#include <sluice/task.hpp>

#include <fcntl.h>

#include <cerrno>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "support/co_test.hpp"
#include "support/internals.hpp"

using sluice::endpoint;
using sluice::file;
using sluice::tcp_listener;
using sluice::tcp_stream;

namespace {

/// The std::system_error that awaiting `awaitable` throws, or nullopt if it does not throw one.
template <class Awaitable>
sluice::task<std::optional<std::system_error>> failure_of(Awaitable awaitable) {
    try {
        (void)co_await std::move(awaitable);
    } catch (const std::system_error& failure) {
        co_return failure;
    }
    co_return std::nullopt;
}

std::string message(int error) { return std::system_category().message(error); }

constexpr const char* missing = "/nonexistent-sluice-directory/missing.txt";

}  // namespace

TEST_CASE("os_error: what() is \"operation subject: message\" and the code is kept", "[errors]") {
    const std::system_error named = sluice_test::os_error(ENOENT, "open", "/x/y");
    CHECK(std::string(named.what()) == "open /x/y: " + message(ENOENT));
    CHECK(named.code() == std::errc::no_such_file_or_directory);
    const std::system_error bare = sluice_test::os_error(EBADF, "fstat");
    CHECK(std::string(bare.what()) == "fstat: " + message(EBADF));
    errno = EACCES;
    std::string computed_after_errno;
    try {
        sluice_test::throw_errno("bind", [] {
            errno = 0;  // building the subject must not change the reported error
            return std::string("127.0.0.1:80");
        });
    } catch (const std::system_error& failure) {
        computed_after_errno = failure.what();
        CHECK(failure.code().value() == EACCES);
    }
    CHECK(computed_after_errno == "bind 127.0.0.1:80: " + message(EACCES));
}

SLUICE_TEST_CASE("file::open and read_file of a missing file name the path", "[errors][file]") {
    const auto opened = co_await failure_of(file::open(missing));
    REQUIRE(opened.has_value());
    CHECK(opened->code().value() == ENOENT);
    CHECK(std::string(opened->what()) == std::string("open ") + missing + ": " + message(ENOENT));

    const auto read = co_await failure_of(sluice::read_file(missing));
    REQUIRE(read.has_value());
    CHECK(std::string(read->what()) == std::string("open ") + missing + ": " + message(ENOENT));
}

SLUICE_TEST_CASE("read_file of a directory names the path in the read error", "[errors][file]") {
    const auto read = co_await failure_of(sluice::read_file("/"));
    REQUIRE(read.has_value());
    CHECK(read->code().value() == EISDIR);
    CHECK(std::string(read->what()) == "read /: " + message(EISDIR));
}

SLUICE_TEST_CASE("write_file(\"/proc/version\") names the temporary file it tried to create",
                 "[errors][file]") {
    const auto written = co_await failure_of(sluice::write_file("/proc/version", "x"));
    REQUIRE(written.has_value());
    const std::string what = written->what();
    INFO(what);
    CHECK(what.starts_with("create /proc/version.tmp."));
    CHECK(what.ends_with(" (temporary file for /proc/version): " + message(written->code().value())));
}

SLUICE_TEST_CASE("write_file into a missing directory names the temporary file and the target",
                 "[errors][file]") {
    const auto written = co_await failure_of(sluice::write_file(missing, "x"));
    REQUIRE(written.has_value());
    CHECK(written->code().value() == ENOENT);
    const std::string what = written->what();
    INFO(what);
    CHECK(what.starts_with(std::string("create ") + missing + ".tmp."));
    CHECK(what.ends_with(std::string(" (temporary file for ") + missing + "): " + message(ENOENT)));
}

SLUICE_TEST_CASE("a refused connect names the address", "[errors][net]") {
    endpoint gone;
    {
        tcp_listener listener = tcp_listener::bind(endpoint("127.0.0.1", 0));
        gone = listener.local_endpoint();
    }
    const auto refused = co_await failure_of(tcp_stream::connect(gone));
    REQUIRE(refused.has_value());
    CHECK(refused->code().value() == ECONNREFUSED);
    CHECK(std::string(refused->what()) == "connect " + gone.to_string() + ": " + message(ECONNREFUSED));

    // By host and port: the same message, from the last address tried.
    const auto by_name = co_await failure_of(tcp_stream::connect("127.0.0.1", gone.port()));
    REQUIRE(by_name.has_value());
    CHECK(std::string(by_name->what()) == "connect " + gone.to_string() + ": " + message(ECONNREFUSED));
}

TEST_CASE("binding an address in use names the address", "[errors][net]") {
    const tcp_listener first = tcp_listener::bind(endpoint("127.0.0.1", 0));
    const endpoint taken = first.local_endpoint();
    std::string what;
    try {
        (void)tcp_listener::bind(taken);
    } catch (const std::system_error& failure) {
        CHECK(failure.code().value() == EADDRINUSE);
        what = failure.what();
    }
    CHECK(what == "bind " + taken.to_string() + ": " + message(EADDRINUSE));
}
