// The frame arena (detail/frame_arena.hpp): where coroutine frames live. These tests drive the
// arena directly, so they run under every preset, ASan included (where the tasks themselves take
// their frames from operator new: see detail/frame_allocator.hpp).
//
// The arena's count of mapped chunks is process-wide; each case takes its baseline while no other
// thread of this binary holds a frame, and does its work on threads of its own (a fresh thread has
// a fresh heap). Catch2's assertions are not thread-safe: the threads record, the test checks after
// joining them.

#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/catch.hpp"
#include "support/internals.hpp"

using sluice_test::frame_allocator;
using sluice_test::frame_chunk;
using sluice_test::frame_heap;

namespace {

constexpr std::size_t largest_block = frame_heap::class_count * frame_heap::granularity;
constexpr std::size_t largest_class = frame_heap::class_of(largest_block);
constexpr std::size_t blocks_per_chunk = (frame_chunk::bytes - sizeof(frame_chunk)) / largest_block;

template <class Body>
void on_new_thread(Body body) {
    std::thread(body).join();
}

std::vector<void*> allocate_blocks(std::size_t count, std::size_t index = largest_class) {
    std::vector<void*> blocks;
    blocks.reserve(count);
    frame_heap& heap = frame_heap::of_this_thread();
    for (std::size_t i = 0; i < count; ++i) blocks.push_back(heap.allocate(index));
    return blocks;
}

void free_blocks(const std::vector<void*>& blocks, std::size_t first = 0, std::size_t last = SIZE_MAX,
                 std::size_t index = largest_class) {
    for (std::size_t i = first; i < blocks.size() && i < last; ++i) frame_heap::deallocate(blocks[i], index);
}

/// Frees blocks[at], then takes a block of the same class in its place: true when it is the same one.
bool freed_block_comes_back(std::vector<void*>& blocks, std::size_t at, std::size_t index = largest_class) {
    frame_heap::deallocate(blocks[at], index);
    void* again = frame_heap::of_this_thread().allocate(index);
    const bool same = again == blocks[at];
    blocks[at] = again;
    return same;
}

sluice::task<int> forty_two() { co_return 42; }

}  // namespace

TEST_CASE("frame arena: blocks are distinct, 16-byte aligned, in a chunk of their size, and a freed block is reused first",
          "[frame_arena]") {
    constexpr std::size_t bytes = 112;
    constexpr std::size_t index = frame_heap::class_of(bytes);
    bool aligned = true, sized = true, intact = true, reused = false;
    on_new_thread([&] {
        std::vector<void*> blocks = allocate_blocks(3, index);
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            aligned = aligned && reinterpret_cast<std::uintptr_t>(blocks[i]) % 16 == 0;
            sized = sized && frame_chunk::of(blocks[i]).block_bytes == bytes;
            std::memset(blocks[i], static_cast<int>('a' + i), bytes);  // all of it: blocks must not overlap
        }
        for (std::size_t i = 0; i < blocks.size(); ++i) {
            const auto* first = static_cast<const unsigned char*>(blocks[i]);
            intact = intact && first[0] == 'a' + i && first[bytes - 1] == 'a' + i;
        }
        reused = freed_block_comes_back(blocks, 1, index);
        free_blocks(blocks, 0, SIZE_MAX, index);
    });
    CHECK(aligned);
    CHECK(sized);
    CHECK(intact);
    CHECK(reused);
}

TEST_CASE("frame arena: a chunk whose blocks all came back is unmapped, except the one being carved, which the thread's end unmaps",
          "[frame_arena]") {
    const std::size_t baseline = frame_heap::mapped_chunks();
    std::size_t while_full = 0, after_free = 0;
    on_new_thread([&] {
        const std::vector<void*> blocks = allocate_blocks(3 * blocks_per_chunk);
        while_full = frame_heap::mapped_chunks();
        free_blocks(blocks);
        after_free = frame_heap::mapped_chunks();
    });
    CHECK(while_full == baseline + 3);
    CHECK(after_free == baseline + 1);
    CHECK(frame_heap::mapped_chunks() == baseline);
}

TEST_CASE("frame arena: a block freed in another chunk is reused before the chunk being carved grows", "[frame_arena]") {
    bool reused = false, then_carved = false;
    on_new_thread([&] {
        std::vector<void*> blocks = allocate_blocks(blocks_per_chunk + 1);  // the second chunk is being carved
        reused = freed_block_comes_back(blocks, 7);                         // a block of the first chunk
        void* next = frame_heap::of_this_thread().allocate(largest_class);
        then_carved = &frame_chunk::of(next) == &frame_chunk::of(blocks.back());
        blocks.push_back(next);
        free_blocks(blocks);
    });
    CHECK(reused);
    CHECK(then_carved);
}

TEST_CASE("frame arena: blocks freed on another thread go back to their chunk, and the owner reuses them instead of mapping more",
          "[frame_arena]") {
    const std::size_t baseline = frame_heap::mapped_chunks();
    std::size_t first_round = 0, second_round = 0, after_local_free = 0;
    on_new_thread([&] {
        const std::vector<void*> first = allocate_blocks(2 * blocks_per_chunk);
        first_round = frame_heap::mapped_chunks();
        on_new_thread([&] { free_blocks(first); });  // every one a remote free
        const std::vector<void*> second = allocate_blocks(2 * blocks_per_chunk);
        second_round = frame_heap::mapped_chunks();
        free_blocks(second);
        after_local_free = frame_heap::mapped_chunks();
    });
    CHECK(first_round == baseline + 2);
    CHECK(second_round == baseline + 2);
    CHECK(after_local_free == baseline + 1);
    CHECK(frame_heap::mapped_chunks() == baseline);
}

TEST_CASE("frame arena: blocks alive when their thread ends are freed on other threads, during and after its end, and the last free unmaps each chunk",
          "[frame_arena]") {
    const std::size_t baseline = frame_heap::mapped_chunks();
    constexpr std::size_t freers = 4;
    std::vector<void*> blocks;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    std::size_t after_owner_ended = 0;
    on_new_thread([&] {
        blocks = allocate_blocks(3 * blocks_per_chunk);
        // Half of the blocks are freed while the owner is ending, half after it has ended.
        for (std::size_t t = 0; t < freers; ++t) {
            threads.emplace_back([&, t] {
                while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
                const std::size_t share = blocks.size() / 2 / freers;
                free_blocks(blocks, t * share, (t + 1) * share);
            });
        }
        go.store(true, std::memory_order_release);
    });
    for (std::thread& thread : threads) thread.join();
    after_owner_ended = frame_heap::mapped_chunks();
    on_new_thread([&] { free_blocks(blocks, blocks.size() / 2 / freers * freers); });
    CHECK(after_owner_ended > baseline);  // the second half still holds chunks
    CHECK(frame_heap::mapped_chunks() == baseline);
}

TEST_CASE("frame arena: a task made on a thread that has ended runs and is destroyed on another, and its frame's chunk is unmapped",
          "[frame_arena]") {
    const std::size_t baseline = frame_heap::mapped_chunks();
    sluice::task<int> made_elsewhere;
    std::size_t while_alive = 0;
    on_new_thread([&] { made_elsewhere = forty_two(); });
    while_alive = frame_heap::mapped_chunks();
    int value = 0;
    on_new_thread([&] { value = sluice::run(std::move(made_elsewhere)); });
    CHECK(value == 42);
    CHECK(while_alive == baseline + (SLUICE_FRAME_ARENA != 0 ? 1 : 0));
    CHECK(frame_heap::mapped_chunks() == baseline);
}

TEST_CASE("frame arena: frames larger than the largest class come from operator new", "[frame_arena]") {
    const std::size_t baseline = frame_heap::mapped_chunks();
    std::size_t with_large = 0;
    on_new_thread([&] {
        void* large = frame_allocator::allocate(largest_block + 1);
        with_large = frame_heap::mapped_chunks();
        std::memset(large, 0, largest_block + 1);
        frame_allocator::deallocate(large, largest_block + 1);
    });
    CHECK(with_large == baseline);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLUICE_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SLUICE_TEST_SANITIZED 1
#endif
#endif

#if !defined(SLUICE_TEST_SANITIZED)
// Sanitizers reserve terabytes of address space, so an address-space limit cannot be set under them.
TEST_CASE("frame arena: a chunk that cannot be mapped is std::bad_alloc, and the heap stays usable", "[frame_arena]") {
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        std::vector<void*> blocks;
        blocks.reserve(200 * blocks_per_chunk);  // before the limit bites: only the arena may fail
        // Room for a few more chunks (a mapping asks for 2 MiB, or 4 MiB where the kernel does not align it), then none.
        long pages = 0;
        if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
            if (std::fscanf(statm, "%ld", &pages) != 1) pages = 0;
            std::fclose(statm);
        }
        const rlimit limit{static_cast<rlim_t>(pages * sysconf(_SC_PAGESIZE)) + (16 << 20), RLIM_INFINITY};
        if (pages == 0 || setrlimit(RLIMIT_AS, &limit) != 0) _exit(2);
        bool failed = false;
        try {
            for (std::size_t i = 0; i < 200 * blocks_per_chunk; ++i) blocks.push_back(frame_heap::of_this_thread().allocate(largest_class));
        } catch (const std::bad_alloc&) {
            failed = true;
        }
        const bool some = !blocks.empty();
        free_blocks(blocks);
        // The chunk being carved is kept: a block is still to be had.
        void* again = frame_heap::of_this_thread().allocate(largest_class);
        frame_heap::deallocate(again, largest_class);
        _exit(failed && some ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
#endif
