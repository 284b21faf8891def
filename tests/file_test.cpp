// Tests of files on io_uring (sluice/file.hpp): open, positional reads and writes, fsync, close,
// read_file/write_file, errors and cancellation.
//
// Every file lives in a directory made by mkdtemp under /tmp and removed at the end of its test.
// Anything that must be cut short blocks on something that never completes on its own (opening a
// FIFO nobody opens for writing), so a bug is a CTest TIMEOUT, not a flaky failure.

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/file.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "support/co_test.hpp"

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using sluice::file;

namespace {

/// A fresh directory under /tmp (mkdtemp), removed with its content when the test ends.
struct temp_dir {
    fs::path path;
    temp_dir() {
        char pattern[] = "/tmp/sluice_file_test.XXXXXX";
        REQUIRE(::mkdtemp(pattern) != nullptr);
        path = pattern;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ignored;
        fs::remove_all(path, ignored);
    }
    [[nodiscard]] fs::path operator/(const char* name) const { return path / name; }
    [[nodiscard]] std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& entry : fs::directory_iterator(path)) names.push_back(entry.path().filename().string());
        return names;
    }
};

int open_fd_count() {
    DIR* dir = ::opendir("/proc/self/fd");
    REQUIRE(dir != nullptr);
    int count = 0;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') ++count;
    }
    ::closedir(dir);
    return count;
}

std::vector<std::byte> random_bytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 random(seed);
    std::vector<std::byte> bytes(size);
    for (std::size_t i = 0; i < size; i += 8) {
        const std::uint64_t word = random();
        std::memcpy(bytes.data() + i, &word, std::min<std::size_t>(8, size - i));
    }
    return bytes;
}

std::vector<std::byte> bytes_of(std::string_view text) {
    const auto span = std::as_bytes(std::span(text));
    return {span.begin(), span.end()};
}

int error_of(const std::system_error& failure) { return failure.code().value(); }

/// The errno of the std::system_error that awaiting `awaitable` throws; 0 if it does not.
template <class Awaitable>
sluice::task<int> system_error_of(Awaitable&& awaitable) {
    try {
        (void)co_await std::forward<Awaitable>(awaitable);
    } catch (const std::system_error& failure) {
        co_return error_of(failure);
    }
    co_return 0;
}

}  // namespace

SLUICE_TEST_CASE("reading a missing file throws ENOENT", "[file][fault]") {
    temp_dir dir;
    const int before = open_fd_count();
    const int open_error = co_await system_error_of(file::open(dir / "missing"));
    CHECK(open_error == ENOENT);
    const int read_error = co_await system_error_of(sluice::read_file(dir / "missing"));
    CHECK(read_error == ENOENT);
    CHECK(open_fd_count() == before);
}

SLUICE_TEST_CASE("a 64 MiB file copied through read_at/write_at in 1 MiB chunks is byte-exact", "[file]") {
    temp_dir dir;
    constexpr std::size_t size = 64u << 20;
    constexpr std::size_t chunk = 1u << 20;
    const std::vector<std::byte> original = random_bytes(size, 20240611);
    const int before = open_fd_count();

    {
        file source = co_await file::open(dir / "source", O_WRONLY | O_CREAT | O_TRUNC);
        co_await source.write_at(original, 0);
        co_await source.fsync();
        CHECK(source.size() == size);
        co_await source.close();
        CHECK_FALSE(source.is_open());
    }
    {
        file source = co_await file::open(dir / "source", O_RDONLY);
        file copy = co_await file::open(dir / "copy", O_WRONLY | O_CREAT | O_EXCL, 0600);
        std::vector<std::byte> buffer(chunk);
        std::uint64_t offset = 0;
        std::size_t chunks = 0;
        for (;;) {
            const std::size_t n = co_await source.read_at(buffer, offset);
            if (n == 0) break;
            co_await copy.write_at(std::span(buffer).first(n), offset);
            offset += n;
            ++chunks;
        }
        CHECK(offset == size);
        CHECK(chunks == size / chunk);
        co_await copy.fdatasync();
        co_await copy.close();
        // source is closed synchronously by its destructor
    }
    CHECK((fs::status(dir / "copy").permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));

    const std::vector<std::byte> copied = co_await sluice::read_file(dir / "copy");
    REQUIRE(copied.size() == size);
    CHECK(std::memcmp(copied.data(), original.data(), size) == 0);
    CHECK(open_fd_count() == before);
}

SLUICE_TEST_CASE("read_at returns fewer bytes only at end of file and 0 past it", "[file]") {
    temp_dir dir;
    co_await sluice::write_file(dir / "ten", "0123456789");
    file f = co_await file::open(dir / "ten");
    char buffer[8];
    const auto bytes = std::as_writable_bytes(std::span(buffer));
    const std::size_t full = co_await f.read_at(bytes, 0);
    CHECK(full == 8);
    CHECK(std::string_view(buffer, 8) == "01234567");
    const std::size_t tail = co_await f.read_at(bytes, 6);
    CHECK(tail == 4);
    CHECK(std::string_view(buffer, 4) == "6789");
    const std::size_t at_end = co_await f.read_at(bytes, 10);
    CHECK(at_end == 0);
    const std::size_t past_end = co_await f.read_at(bytes, 1000);
    CHECK(past_end == 0);
}

SLUICE_TEST_CASE("write_at writes at the offset and leaves the rest", "[file]") {
    temp_dir dir;
    co_await sluice::write_file(dir / "f", "aaaaaaaaaa");
    file f = co_await file::open(dir / "f", O_RDWR);
    co_await f.write_at("XYZ", 4);
    co_await f.write_at("!", 12);  // past the end: a hole of zeros, then the byte
    co_await f.close();
    const std::vector<std::byte> content = co_await sluice::read_file(dir / "f");
    std::vector<std::byte> expected = bytes_of("aaaaXYZaaa");
    expected.push_back(std::byte{0});
    expected.push_back(std::byte{0});
    expected.push_back(std::byte{'!'});
    CHECK(content == expected);
}

namespace {
int error_of(sluice::result<std::size_t> outcome) {
    try {
        (void)outcome.value();
    } catch (const std::system_error& failure) {
        return failure.code().value();
    }
    return 0;
}
int error_of(sluice::result<void> outcome) {
    try {
        outcome.value();
    } catch (const std::system_error& failure) {
        return failure.code().value();
    }
    return 0;
}
}  // namespace

SLUICE_TEST_CASE("read_at/write_at at offset UINT64_MAX (or past INT64_MAX) fail with EINVAL, as pread/pwrite do",
                 "[file][fault]") {
    // io_uring reads offset -1 as "the current file position": before the check, read_at(buf,
    // UINT64_MAX) read the file's start and write_at(bytes, UINT64_MAX) wrote at position 0.
    temp_dir dir;
    co_await sluice::write_file(dir / "ten", "0123456789");
    file f = co_await file::open(dir / "ten", O_RDWR);
    char buffer[4];
    const auto bytes = std::as_writable_bytes(std::span(buffer));
    for (const std::uint64_t offset : {UINT64_MAX, std::uint64_t{1} << 63}) {
        CHECK(error_of(co_await f.read_at(bytes, offset).as_result()) == EINVAL);
        CHECK(error_of(co_await f.write_at("XY", offset).as_result()) == EINVAL);
    }
    // A range that starts at INT64_MAX runs past it: the kernel refuses it, as pread(2) does.
    CHECK(error_of(co_await f.read_at(bytes, INT64_MAX).as_result()) == EINVAL);
    co_await f.close();
    const std::vector<std::byte> content = co_await sluice::read_file(dir / "ten");
    CHECK(content == bytes_of("0123456789"));
}

SLUICE_TEST_CASE("a path is anything a std::filesystem::path was made from: text, a path, a directory_entry",
                 "[file]") {
    // file.hpp does not include <filesystem> (issue #10): its path parameter takes these directly.
    temp_dir dir;
    const fs::path as_path = dir / "a";
    const std::string as_string = (dir / "b").string();
    const std::string_view as_view = as_string;
    co_await sluice::write_file(as_path, "path");
    co_await sluice::write_file(as_view, "view");
    co_await sluice::write_file(as_string.c_str(), "chars");  // replaces b
    CHECK(co_await sluice::read_file(as_path) == bytes_of("path"));
    CHECK(co_await sluice::read_file(as_string) == bytes_of("chars"));
    CHECK(co_await sluice::read_file(std::string(as_string)) == bytes_of("chars"));
    for (const fs::directory_entry& entry : fs::directory_iterator(dir.path)) {
        file opened = co_await file::open(entry);
        CHECK(opened.size() == 4 + (entry.path().filename() == "b" ? 1 : 0));
        co_await opened.close();
    }
    const int error = co_await system_error_of(file::open(fs::path(dir / "missing")));
    CHECK(error == ENOENT);
    // The parameter's type has a public name, for a caller that keeps a path to pass on.
    const sluice::path_text kept = as_path;
    CHECK(kept.native() == as_path.native());
    const std::vector<std::byte> read_back = co_await sluice::read_file(kept);
    CHECK(read_back == bytes_of("path"));
}

SLUICE_TEST_CASE("read_file/write_file round trip and write_file replaces atomically", "[file]") {
    temp_dir dir;
    const std::vector<std::byte> first = random_bytes(100'000, 1);
    co_await sluice::write_file(dir / "data.bin", first);
    const std::vector<std::byte> read_back = co_await sluice::read_file(dir / "data.bin");
    CHECK(read_back == first);

    // Replace it: an open reader of the old file keeps seeing the old content (a rename, not an
    // overwrite in place), and no temporary is left behind.
    file old_reader = co_await file::open(dir / "data.bin");
    const std::vector<std::byte> second = random_bytes(3'000, 2);
    const sluice::write_file_options private_and_synced{.mode = 0600, .sync = true};
    co_await sluice::write_file(dir / "data.bin", second, private_and_synced);
    const std::vector<std::byte> replaced = co_await sluice::read_file(dir / "data.bin");
    CHECK(replaced == second);
    std::vector<std::byte> old(first.size());
    const std::size_t old_size = co_await old_reader.read_at(old, 0);
    CHECK(old_size == first.size());
    CHECK(old == first);
    CHECK(dir.entries() == std::vector<std::string>{"data.bin"});
    CHECK((fs::status(dir / "data.bin").permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));

    // Empty content and text content.
    co_await sluice::write_file(dir / "empty", std::span<const std::byte>());
    const std::vector<std::byte> empty = co_await sluice::read_file(dir / "empty");
    CHECK(empty.empty());
    const std::string_view with_nul("hello\0world", 11);
    co_await sluice::write_file(dir / "text", with_nul);
    const std::vector<std::byte> text = co_await sluice::read_file(dir / "text");
    CHECK(text == bytes_of(with_nul));  // bytes, not a C string: the NUL is kept
}

SLUICE_TEST_CASE("read_file reads a file whose size stat does not know (/proc)", "[file]") {
    const std::vector<std::byte> status = co_await sluice::read_file("/proc/self/status");
    const std::string text(reinterpret_cast<const char*>(status.data()), status.size());
    CHECK(text.find("Name:") == 0);
    CHECK(text.find("VmRSS:") != std::string::npos);
    CHECK(text.size() > 512);
}

SLUICE_TEST_CASE("write_file into a missing directory fails with ENOENT and leaves nothing", "[file][fault]") {
    temp_dir dir;
    const std::vector<std::byte> data = bytes_of("x");
    const int error = co_await system_error_of(sluice::write_file(dir / "no/such/dir/file", data));
    CHECK(error == ENOENT);
    CHECK(dir.entries().empty());
}

SLUICE_TEST_CASE("write_file whose rename fails removes its temporary file", "[file][fault]") {
    temp_dir dir;
    fs::create_directory(dir / "target");
    fs::create_directory(dir / "target" / "occupied");  // rename(2) of a file over a directory: EISDIR
    const std::vector<std::byte> data = bytes_of("content");
    const int error = co_await system_error_of(sluice::write_file(dir / "target" / "occupied", data));
    CHECK(error == EISDIR);
    std::vector<std::string> left;
    for (const auto& entry : fs::directory_iterator(dir / "target")) left.push_back(entry.path().filename().string());
    CHECK(left == std::vector<std::string>{"occupied"});
}

SLUICE_TEST_CASE("operations on a closed or moved-from file fail with EBADF", "[file]") {
    temp_dir dir;
    co_await sluice::write_file(dir / "f", "abc");
    file f = co_await file::open(dir / "f");
    file moved_to = std::move(f);
    CHECK_FALSE(f.is_open());  // NOLINT(bugprone-use-after-move): the point of the test
    CHECK(f.native_handle() == -1);
    std::byte buffer[4];
    const int read_error = co_await system_error_of(f.read_at(buffer, 0));
    CHECK(read_error == EBADF);
    const int write_error = co_await system_error_of(f.write_at("x", 0));
    CHECK(write_error == EBADF);
    const int fsync_error = co_await system_error_of(f.fsync());
    CHECK(fsync_error == EBADF);
    co_await f.close();  // closing a closed file does nothing

    co_await moved_to.close();
    CHECK_FALSE(moved_to.is_open());
    const int closed_error = co_await system_error_of(moved_to.read_at(buffer, 0));
    CHECK(closed_error == EBADF);
}

SLUICE_TEST_CASE("a close() task that is never awaited still closes the descriptor", "[file]") {
    temp_dir dir;
    co_await sluice::write_file(dir / "f", "abc");
    const int before = open_fd_count();
    {
        file f = co_await file::open(dir / "f");
        CHECK(open_fd_count() == before + 1);
        auto dropped = f.close();
        CHECK_FALSE(f.is_open());
    }
    CHECK(open_fd_count() == before);
}

namespace {
sluice::task<std::size_t> read_from(file& f) {
    std::byte buffer[16];
    co_return co_await f.read_at(buffer, 0);
}
}  // namespace

SLUICE_TEST_CASE("cancelling a read_at blocked on an empty FIFO throws cancelled_error and leaks nothing",
                 "[file][cancel]") {
    temp_dir dir;
    REQUIRE(::mkfifo((dir / "fifo").c_str(), 0600) == 0);
    const int before = open_fd_count();
    {
        // O_RDWR: the open does not wait for a writer, and the read never sees end of file (we are a
        // writer too), so it blocks until cancelled.
        file fifo = co_await file::open(dir / "fifo", O_RDWR);
        auto reader = sluice::spawn(read_from(fifo));
        co_await sluice::sleep_for(20ms);
        CHECK_FALSE(reader.done());
        reader.cancel();
        bool cancelled = false;
        try {
            (void)co_await reader;
        } catch (const sluice::cancelled_error&) {
            cancelled = true;
        } catch (const std::system_error& failure) {
            FAIL("the cancelled read failed with " << failure.what() << " instead of cancelled_error");
        }
        CHECK(cancelled);

        // The file still works: what is written now is read by the next read, not lost to the
        // cancelled one.
        co_await fifo.write_at("ping", 0);
        char buffer[4];
        const std::size_t n = co_await fifo.read_at(std::span(buffer), 0);
        CHECK(n == 4);
        CHECK(std::string_view(buffer, 4) == "ping");
        co_await fifo.close();
    }
    CHECK(open_fd_count() == before);
}

namespace {
sluice::task<void> replace(fs::path path, std::span<const std::byte> data) {
    co_await sluice::write_file(std::move(path), data);
}
}  // namespace

SLUICE_TEST_CASE("a write_file cancelled at any step leaves the old content and no temporary file",
                 "[file][cancel]") {
    temp_dir dir;
    const std::vector<std::byte> old_content = bytes_of("old");
    const std::vector<std::byte> new_content = random_bytes(1 << 20, 3);
    const int before = open_fd_count();
    int cancelled = 0;
    int completed = 0;
    // Cancel after 0, 1, 2, ..., 8, then twice as many loop turns each time, until the write
    // finishes before the cancel arrives (how many turns that takes depends on the kernel and the
    // load: a buffered write may be handed to an io-wq worker), then once without a cancel.
    for (int turns = 0; turns <= (1 << 16); turns = turns < 8 ? turns + 1 : turns * 2) {
        co_await sluice::write_file(dir / "f", old_content);
        auto writer = sluice::spawn(replace(dir / "f", new_content));
        for (int i = 0; i < turns; ++i) co_await sluice::yield();
        writer.cancel();
        bool was_cancelled = false;
        try {
            co_await writer;
        } catch (const sluice::cancelled_error&) {
            was_cancelled = true;
        }
        const std::vector<std::byte> content = co_await sluice::read_file(dir / "f");
        INFO("cancelled after " << turns << " turns; cancelled_error: " << was_cancelled
                                 << "; content size: " << content.size());
        const bool old_if_cancelled_new_if_not = content == (was_cancelled ? old_content : new_content);
        CHECK(old_if_cancelled_new_if_not);
        CHECK(dir.entries() == std::vector<std::string>{"f"});
        if (was_cancelled) {
            ++cancelled;
        } else {
            ++completed;
            break;
        }
    }
    CHECK(cancelled >= 1);  // at least the cancel before the first turn
    CHECK(completed <= 1);

    co_await sluice::write_file(dir / "f", new_content);  // uncancelled
    const bool replaced = co_await sluice::read_file(dir / "f") == new_content;
    CHECK(replaced);
    CHECK(dir.entries() == std::vector<std::string>{"f"});
    CHECK(open_fd_count() == before);
}
