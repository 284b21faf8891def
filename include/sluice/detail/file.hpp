#pragma once
// Machinery of sluice/file.hpp: the file operations on raw descriptors, each one kernel op through
// io_awaitable (io_uring; on the epoll backend a job on the worker pool) or a loop of them, and the
// read_file/write_file coroutines.
//
// TRICKY (lifetimes): paths are path_text parameters (a std::string) of the coroutines below, so they
// live in the frame until the op completes (io_uring reads the path when the SQE is submitted,
// after await_suspend, on the next loop turn; a worker thread reads it when it runs the job). Buffers are the caller's spans: they must
// stay valid until the co_await completes, which io_awaitable guarantees is after the kernel is
// done with them, cancelled or not.
//
// The coroutines are templates whose parameter is unused (`template <class = void>`), and so are
// the public functions that call them: g++ 12 compiles every coroutine it sees that is not a
// template, and every coroutine template instantiated outside a template, into every translation
// unit, used or not. A template is compiled only where it is called. (benchmarks/README.md,
// "Compile time".)

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <concepts>
#include <exception>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "../cancellation.hpp"
#include "../task.hpp"
#include "descriptor.hpp"
#include "io_awaitable.hpp"
#include "system_error.hpp"
#include "transfer_all.hpp"

namespace sluice::detail {

/// A path as the file functions take it: its text (a std::string), made implicitly from anything a
/// caller passed when they took a std::filesystem::path: text (`"a/b"`, std::string,
/// std::string_view), a std::filesystem::path (through c_str()), a std::filesystem::directory_entry
/// (through path()). <filesystem> is the most expensive standard header to compile (issue #10), and
/// on Linux a path is only its bytes; callers that use std::filesystem include it themselves.
class path_text {
public:
    path_text(std::string text) noexcept : text_(std::move(text)) {}  // NOLINT(google-explicit-constructor)
    path_text(const char* text) : text_(text) {}                       // NOLINT(google-explicit-constructor)
    path_text(std::string_view text) : text_(text) {}                  // NOLINT(google-explicit-constructor)
    /// A std::filesystem::path, or anything else whose c_str() is its text.
    template <class Path>
        requires(!std::convertible_to<const Path&, std::string_view>) && requires(const Path& path) {
            { path.c_str() } -> std::convertible_to<const char*>;
        }
    path_text(const Path& path) : text_(path.c_str()) {}  // NOLINT(google-explicit-constructor)
    /// A std::filesystem::directory_entry: its path().
    template <class Entry>
        requires requires(const Entry& entry) {
            { entry.path().c_str() } -> std::convertible_to<const char*>;
        }
    path_text(const Entry& entry) : text_(entry.path().c_str()) {}  // NOLINT(google-explicit-constructor)

    [[nodiscard]] const char* c_str() const noexcept { return text_.c_str(); }
    [[nodiscard]] const std::string& native() const noexcept { return text_; }

private:
    std::string text_;
};

// --- operations (each names its man page) -------------------------------------------------------

/// openat(2) relative to the working directory, always with O_CLOEXEC: the new descriptor.
/// @see openat(2), io_uring_prep_openat(3)
inline auto open_op(const char* path, int flags, mode_t mode) noexcept {
    return make_io_awaitable("open",
                             {.code = io_code::openat, .flags = flags | O_CLOEXEC, .mode = mode, .path = path});
}

/// One pread(2): bytes read at `offset`, 0 at end of file. @see pread(2), io_uring_prep_read(3)
inline auto read_op(int fd, std::span<std::byte> buffer, std::uint64_t offset) noexcept {
    return make_io_size_awaitable("read", {.code = io_code::read_at,
                                                   .fd = fd,
                                                   .size = io_chunk(buffer.size()),
                                                   .data = buffer.data(),
                                                   .offset = offset});
}

/// One pwrite(2): bytes written at `offset`. @see pwrite(2), io_uring_prep_write(3)
inline auto write_op(int fd, std::span<const std::byte> data, std::uint64_t offset) noexcept {
    return make_io_size_awaitable("write", {.code = io_code::write_at,
                                                    .fd = fd,
                                                    .size = io_chunk(data.size()),
                                                    .data = const_cast<std::byte*>(data.data()),
                                                    .offset = offset});
}

/// fsync(2), or fdatasync(2) when `datasync`. @see io_uring_prep_fsync(3)
inline auto fsync_op(int fd, bool datasync) noexcept {
    return make_io_void_awaitable("fsync", {.code = io_code::fsync, .fd = fd, .flags = datasync ? 1 : 0});
}

/// renameat(2) relative to the working directory. @see renameat(2), io_uring_prep_renameat(3)
inline auto rename_op(const char* from, const char* to) noexcept {
    return make_io_void_awaitable("rename", {.code = io_code::renameat, .path = from, .path2 = to});
}

// --- loops ---------------------------------------------------------------------------------------

/// pread(2) and pwrite(2) fail with EINVAL on an offset that is negative as an off_t; io_uring
/// would read UINT64_MAX (-1) as "the current file position" instead (issue 9, defect 7). Checked
/// before every op, so a range running past the largest offset fails the same way.
inline void check_offset(std::uint64_t offset, const char* operation) {
    if (offset > static_cast<std::uint64_t>(INT64_MAX)) {
        throw os_error(EINVAL, operation, "at offset " + std::to_string(offset) + " (beyond INT64_MAX)");
    }
}

/// Reads until `buffer` is full or the file ends (a short read is continued: only EOF stops it).
/// The offset is checked when awaited, also for an empty buffer.
template <class = void>
task<std::size_t> read_at_full(int fd, std::span<std::byte> buffer, std::uint64_t offset) {
    check_offset(offset, "read");
    co_return co_await read_until_full(buffer, [fd, offset](std::span<std::byte> rest, std::size_t done) {
        check_offset(offset + done, "read");
        return read_op(fd, rest, offset + done);
    });
}

/// Writes all of `data` at `offset`, continuing short writes; a write of nothing is EIO.
template <class = void>
task<void> write_at_all(int fd, std::span<const std::byte> data, std::uint64_t offset) {
    check_offset(offset, "write");
    co_await write_until_done(
        data,
        [fd, offset](std::span<const std::byte> rest, std::size_t done) {
            check_offset(offset + done, "write");
            return write_op(fd, rest, offset + done);
        },
        "write");
}

/// Closes `fd` through the backend (the frame owns it: a task destroyed unstarted closes it
/// synchronously). Not a cancellation point: a cancel requested meanwhile stays pending for the
/// next one. @see close(2), io_uring_prep_close(3)
///
/// TRICKY: close(2) releases the descriptor number before anything that can fail or be
/// interrupted (the final flush), so -EINTR and -ERESTART* mean "closed" too. An earlier version
/// let a cancel interrupt the close and then called ::close(fd) itself on -EINTR: a double close,
/// which could close a file another thread had just opened under the same number (issue 9,
/// defect 7). So the close is never cancelled nor retried, and an interruption is not an error.
template <class = void>
task<void> close_fd(unique_fd owned) {
    if (!owned) co_return;
    const int fd = owned.release();
    try {
        co_await make_io_void_awaitable("close", {.code = io_code::close, .fd = fd}, io_kind::uninterruptible);
    } catch (const std::system_error& failure) {
        const int error = failure.code().value();
        if (error != EINTR && !(error >= 512 && error <= 516)) throw;  // ERESTARTSYS..ERESTART_RESTARTBLOCK
    }
}

/// open_op whose failure names the path: "open <path>: <message>".
inline auto open_naming_path(const path_text& path, int flags, mode_t mode) {
    return naming_failure(open_op(path.c_str(), flags, mode), "open", [&path]() -> const std::string& {
        return path.native();
    });
}

/// The whole file: sized from fstat(2) (one byte more, so the read that finds EOF needs no second
/// buffer), grown if the file is longer than it said (/proc files say 0).
template <class = void>
task<std::vector<std::byte>> read_whole_file(path_text path) {
    unique_fd fd(co_await open_naming_path(path, O_RDONLY, 0));
    struct stat info {};
    std::size_t capacity = 4096;
    if (::fstat(fd.get(), &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0) {
        capacity = static_cast<std::size_t>(info.st_size) + 1;
    }
    std::vector<std::byte> data(capacity);
    std::size_t used = 0;
    for (;;) {
        if (used == data.size()) data.resize(data.size() * 2);
        const std::size_t n = co_await naming_failure(read_op(fd.get(), std::span(data).subspan(used), used), "read",
                                                      [&path]() -> const std::string& { return path.native(); });
        if (n == 0) break;
        used += n;
    }
    data.resize(used);
    co_await close_fd(std::move(fd));
    co_return data;
}

/// "<path>.tmp.<16 random hex digits>": unique enough with O_EXCL and a retry on EEXIST. The digits
/// come from getrandom(2) (not <random>, which every includer of file.hpp would compile); should it
/// fail (no entropy yet at early boot), the pid, the thread (its counter's address) and the count of
/// tries still tell the names apart.
inline std::string temporary_sibling(const path_text& path) {
    thread_local std::uint64_t tries = 0;
    std::uint64_t random = 0;
    if (::getrandom(&random, sizeof random, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof random)) {
        random = (static_cast<std::uint64_t>(::getpid()) << 32) ^ reinterpret_cast<std::uintptr_t>(&tries) ^ ++tries;
    }
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".tmp.%016llx", static_cast<unsigned long long>(random));
    return path.native() + suffix;
}

/// "<temporary> (temporary file for <path>)": what write_file's failures name.
inline std::string temporary_for(const std::string& temporary, const path_text& path) {
    return temporary + " (temporary file for " + path.native() + ")";
}

/// Writes `data` to a new temporary file beside `path`, optionally fsyncs it, closes it and
/// renames it over `path`: readers see the old content or the new one, never a mix. On any
/// failure or cancellation the temporary file is removed (synchronously: unlink(2) of a file we
/// just created does not block for long, and a catch handler cannot co_await). A failure names
/// the step and the temporary file: "create /proc/version.tmp.<hex> (temporary file for
/// /proc/version): Permission denied", "rename <temporary> to <path>: ...", since the target
/// itself may well exist and be fine.
template <class = void>
task<void> write_whole_file(path_text path, std::span<const std::byte> data, mode_t mode, bool sync) {
    std::string temporary;
    unique_fd fd;
    for (int attempt = 0;; ++attempt) {
        temporary = temporary_sibling(path);
        try {
            fd = unique_fd(co_await open_op(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode));
            break;
        } catch (const std::system_error& failure) {
            if (failure.code() != std::errc::file_exists || attempt == 8) {
                throw os_error(failure.code(), "create", temporary_for(temporary, path));
            }
        }
    }
    std::exception_ptr failure;
    const char* step = "write";
    try {
        co_await write_at_all(fd.get(), data, 0);
        step = "fsync";
        if (sync) co_await fsync_op(fd.get(), false);
        step = "close";
        co_await close_fd(std::move(fd));
        step = "rename";
        co_await rename_op(temporary.c_str(), path.c_str());
    } catch (const std::system_error& error) {
        const bool renaming = step == std::string_view("rename");
        failure = std::make_exception_ptr(os_error(
            error.code(), step, renaming ? temporary + " to " + path.native() : temporary_for(temporary, path)));
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        fd.reset();
        ::unlink(temporary.c_str());
        std::rethrow_exception(failure);
    }
}

}  // namespace sluice::detail
