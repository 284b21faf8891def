#pragma once
/// sluice/file.hpp: files on io_uring, or on the worker pool under the epoll backend (aiofiles,
/// Path.read_bytes / write_bytes).
///
/// - `co_await file::open(path, flags, mode)`: opens (openat(2) flags such as O_RDONLY,
///   O_WRONLY | O_CREAT | O_TRUNC; O_CLOEXEC is always added). A missing file: std::system_error
///   with ENOENT.
/// - `co_await f.read_at(buf, offset)`: reads at `offset` until `buf` is full; fewer bytes only at
///   end of file (0 at or past it). `co_await f.write_at(bytes, offset)`: writes all of `bytes`
///   (short writes are continued). `co_await f.fsync()`, `co_await f.fdatasync()`,
///   `co_await f.close()`; the destructor closes synchronously if the file is still open.
/// - `co_await read_file(path)`: the whole file as `std::vector<std::byte>` (bytes, not text: no
///   encoding, embedded NULs kept). `co_await write_file(path, bytes)`: atomic replace: the bytes
///   go to `path.tmp.<random>` and are renamed over `path`, so a reader sees the old content or
///   the new, never a mix; not durable against power loss unless `{.sync = true}` (fsync before
///   the rename).
///
/// A `path` (`sluice::path_text`) is anything a std::filesystem::path could be made from for these
/// functions before: text (`"a/b"`, std::string, std::string_view), a std::filesystem::path or a
/// directory_entry. This header does not include <filesystem> (the costliest standard header to
/// compile); include it to use std::filesystem.
///
/// The coroutine-returning functions are templates with an unused, defaulted parameter: call them as
/// usual; only naming one without calling it needs `<>` (`&sluice::read_file<>`). g++ 12 would
/// otherwise compile all of them into every translation unit that includes this header (see
/// detail/file.hpp).
///
/// Errors are `std::system_error` carrying the kernel's errno; what() names the operation and the
/// path ("open /x/y: No such file or directory"; write_file names the temporary file it writes,
/// "create /x/y.tmp.<hex> (temporary file for /x/y): ..."). Every `co_await` is a cancellation
/// point that cancels the kernel operation (a regular-file read or write that already runs in the
/// kernel, or on a worker thread under the epoll backend, is finished, not interrupted). An operation on a closed or moved-from file fails
/// with `std::system_error` (EBADF). Buffers must stay valid until the `co_await` completes; the
/// file object must outlive the operations running on it.

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "detail/file.hpp"
#include "task.hpp"

namespace sluice {

/// A path as file::open, read_file and write_file take it: its text (a std::string), made
/// implicitly from text (`"a/b"`, std::string, std::string_view), a std::filesystem::path or a
/// std::filesystem::directory_entry; `c_str()` and `native()` give the text back. On Linux a path
/// is only its bytes, and this header stays clear of <filesystem> (issue #10).
using path_text = detail::path_text;

/// An open file descriptor with positional (pread/pwrite-like) reads and writes on io_uring.
/// Move-only; a moved-from file holds nothing.
class file {
public:
    /// Holds no file.
    file() noexcept = default;
    /// Takes ownership of an open descriptor.
    explicit file(int fd) noexcept : fd_(fd) {}

    /// `co_await open(path, flags, mode)` yields the open file; `mode` applies when O_CREAT creates
    /// it (minus the umask). @see openat(2), io_uring_prep_openat(3)
    template <class = void>
    [[nodiscard]] static task<file> open(path_text path, int flags = O_RDONLY, mode_t mode = 0644) {
        co_return file(co_await detail::open_naming_path(path, flags, mode));  // `path` lives in this frame
    }

    /// `co_await read_at(buf, offset)` yields the bytes read: `buf.size()`, or fewer only because
    /// the file ends. @see pread(2), io_uring_prep_read(3)
    template <class = void>
    [[nodiscard]] task<std::size_t> read_at(std::span<std::byte> buffer, std::uint64_t offset) {
        return detail::read_at_full(fd_.get(), buffer, offset);
    }
    template <class = void>
    [[nodiscard]] task<std::size_t> read_at(std::span<char> buffer, std::uint64_t offset) {
        return read_at(std::as_writable_bytes(buffer), offset);
    }

    /// `co_await write_at(bytes, offset)` writes all of `bytes` at `offset`.
    /// @see pwrite(2), io_uring_prep_write(3)
    template <class = void>
    [[nodiscard]] task<void> write_at(std::span<const std::byte> data, std::uint64_t offset) {
        return detail::write_at_all(fd_.get(), data, offset);
    }
    template <class = void>
    [[nodiscard]] task<void> write_at(std::string_view data, std::uint64_t offset) {
        return write_at(std::as_bytes(std::span(data)), offset);
    }

    /// `co_await fsync()`: data and metadata reach the device. @see fsync(2), io_uring_prep_fsync(3)
    [[nodiscard]] auto fsync() noexcept { return detail::fsync_op(fd_.get(), false); }
    /// `co_await fdatasync()`: the data (and the size) reach the device. @see fdatasync(2)
    [[nodiscard]] auto fdatasync() noexcept { return detail::fsync_op(fd_.get(), true); }

    /// `co_await close()` closes through io_uring and reports its error (EIO on some file
    /// systems); the file holds nothing from this call on, even if the task is never awaited
    /// (then the descriptor is closed synchronously). No effect on a closed file.
    /// @see close(2), io_uring_prep_close(3)
    template <class = void>
    [[nodiscard]] task<void> close() { return detail::close_fd(std::move(fd_)); }

    /// The size now, from fstat(2) (synchronous: it reads the inode, it does not touch the data).
    [[nodiscard]] std::uint64_t size() const {
        struct stat info {};
        if (::fstat(fd_.get(), &info) != 0) detail::throw_errno("fstat");
        return static_cast<std::uint64_t>(info.st_size);
    }

    [[nodiscard]] bool is_open() const noexcept { return static_cast<bool>(fd_); }
    /// The descriptor (still owned by the file), or -1.
    [[nodiscard]] int native_handle() const noexcept { return fd_.get(); }
    /// Gives up ownership of the descriptor without closing it.
    [[nodiscard]] int release() noexcept { return fd_.release(); }

private:
    detail::unique_fd fd_;
};

/// How `write_file` creates the file.
struct write_file_options {
    /// Permission bits of the new file (minus the umask); the replaced file's are not kept.
    mode_t mode = 0644;
    /// fsync the new content before renaming it into place (survives a power loss).
    bool sync = false;
};

/// `co_await read_file(path)` yields the whole file's bytes. std::system_error (ENOENT, EISDIR...)
/// on failure. @see openat(2), pread(2)
template <class = void>
[[nodiscard]] task<std::vector<std::byte>> read_file(path_text path) {
    return detail::read_whole_file(std::move(path));
}

/// `co_await write_file(path, bytes)` replaces `path` atomically with `bytes` (write to a
/// temporary sibling, then rename(2) over `path`); on failure or cancellation the temporary is
/// removed and `path` is untouched. `bytes` must stay valid until the co_await completes.
/// @see renameat(2), io_uring_prep_renameat(3)
template <class = void>
[[nodiscard]] task<void> write_file(path_text path, std::span<const std::byte> data,
                                    write_file_options options = {}) {
    return detail::write_whole_file(std::move(path), data, options.mode, options.sync);
}
template <class = void>
[[nodiscard]] task<void> write_file(path_text path, std::string_view data,
                                    write_file_options options = {}) {
    return write_file(std::move(path), std::as_bytes(std::span(data)), options);
}

}  // namespace sluice
