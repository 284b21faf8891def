#pragma once
// Where coroutine frames live: a per-thread arena of 2 MiB chunks, each carved into blocks of one
// size class.
//
// Why not malloc: a bounded fan-out creates and destroys one frame per item, millions of times, all
// of a few sizes. malloc's free lists were never the cost (a per-thread cache fixed that); the
// pages were. A million-task gather touches ~120 MB of fresh memory, and on a non-main thread glibc
// grows its arena one page per mprotect call (46,746 calls for W4 on a core of run_on_cores): about
// 85% of W4's time was the kernel faulting in 4 KiB pages and the TLB missing on them. Chunks are
// 2 MiB-aligned, so once a class holds 16 MiB its further chunks are handed to the kernel with
// MADV_HUGEPAGE: one fault and one TLB entry per 2 MiB. (The first chunks stay on small pages, so
// a program with a few thousand frames does not pay a whole huge page per size class.)
//
// Ownership: a chunk belongs to the thread that mapped it, and only that thread carves it, keeps its
// free list and its count of live blocks (no atomics on the hot path). A block freed by another
// thread (a task made on one thread and destroyed on another: `loop_handle::spawn` from outside the
// loop) goes onto the chunk's atomic `remote_free` stack, which the owner takes back whenever it
// runs out of room. A chunk whose blocks are all back is unmapped at once, except the one its class
// is carving, so a burst does not pin its peak memory. When the owning thread ends, its chunks are
// orphaned: each counts its outstanding blocks down atomically and the last free unmaps it.
//
// The block address alone finds its chunk (round down to 2 MiB); the size the caller passes to
// operator delete finds its class, so blocks carry no header: a 128-byte frame costs 128 bytes.

#include "intrusive_list.hpp"

#include <array>
#include <cassert>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define SLUICE_DETAIL_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLUICE_DETAIL_ADDRESS_SANITIZER 1
#endif
#endif

#if defined(SLUICE_DETAIL_ADDRESS_SANITIZER)
#include <sanitizer/asan_interface.h>
// A free block is poisoned, so a use of a frame after its destruction is reported until the block
// is handed out again (the arena is only used under ASan by its own tests: see frame_allocator.hpp).
#define SLUICE_DETAIL_POISON(address, size) ASAN_POISON_MEMORY_REGION(address, size)
#define SLUICE_DETAIL_UNPOISON(address, size) ASAN_UNPOISON_MEMORY_REGION(address, size)
#else
#define SLUICE_DETAIL_POISON(address, size) ((void)(address), (void)(size))
#define SLUICE_DETAIL_UNPOISON(address, size) ((void)(address), (void)(size))
#endif

namespace sluice::detail {

struct free_block {
    free_block* next;
};

/// The header at the start of every chunk; the blocks follow it.
struct alignas(64) frame_chunk {
    static constexpr std::size_t bytes = std::size_t{2} << 20;

    /// The chunk a block of the arena lies in.
    static frame_chunk& of(const void* block) noexcept {
        return *reinterpret_cast<frame_chunk*>(reinterpret_cast<std::uintptr_t>(block) & ~(bytes - 1));
    }

    frame_chunk(std::uint64_t owner_id, std::uint32_t block_size) noexcept
        : owner(owner_id),
          block_bytes(block_size),
          next_unused(reinterpret_cast<char*>(this) + sizeof(frame_chunk)),
          end(next_unused + (bytes - sizeof(frame_chunk)) / block_size * block_size) {}

    // Written once, before any block of the chunk exists: any thread holding a block may read it.
    const std::uint64_t owner;  // the id of the heap that carves it (ids are never reused)
    const std::uint32_t block_bytes;

    // The owner's alone.
    std::uint32_t live = 0;  // blocks handed out and not back on `local_free`
    free_block* local_free = nullptr;
    char* next_unused;  // blocks from here to `end` were never handed out
    char* const end;
    bool available = false;  // in its class's `available` list
    bool carving = false;    // its class's current chunk: a free into it needs nothing else
    list_links<frame_chunk> class_links;      // every chunk of the class
    list_links<frame_chunk> available_links;  // chunks with free blocks that the class is not carving

    // Other threads' frees: a stack of blocks, or `orphaned` once the owner has ended.
    static constexpr std::uintptr_t orphaned = 1;
    std::atomic<std::uintptr_t> remote_free{0};
    std::atomic<std::uint32_t> orphan_live{0};  // outstanding blocks of an orphaned chunk
};

class frame_heap;

/// The calling thread's heap and its id (trivially destructible: no guard on the hot path).
struct frame_heap_slot {
    frame_heap* heap = nullptr;
    std::uint64_t id = 0;  // 0 matches no chunk: with no heap, every free is a remote one
};
inline constinit thread_local frame_heap_slot this_thread_frame_heap{};

/// One thread's arena. Reached through `frame_heap::of_this_thread()`.
class frame_heap {
public:
    static constexpr std::size_t granularity = 16;
    static constexpr std::size_t class_count = 64;  // blocks of 16, 32, ..., 1024 bytes
    /// A class's first chunks stay on small pages: a huge page is faulted in whole, so the chunk a
    /// class is carving costs up to 2 MiB of RSS it does not use yet. After 16 MiB of a class the
    /// waste is at most an eighth, and the faults saved are worth it.
    static constexpr std::size_t small_page_chunks = 8;

    /// The size class of a `size`-byte block, or a value >= class_count when it is too large.
    static constexpr std::size_t class_of(std::size_t size) noexcept { return (size - 1) / granularity; }

    /// The calling thread's heap, made on first use.
    static frame_heap& of_this_thread() {
        frame_heap* heap = this_thread_frame_heap.heap;
        return heap != nullptr ? *heap : make_for_this_thread();
    }

    /// A block for class `index` (< class_count). Throws std::bad_alloc when no chunk can be mapped.
    void* allocate(std::size_t index) {
        size_class& sizes = classes_[index];
        if (frame_chunk* chunk = sizes.current; chunk != nullptr) {
            // Freed blocks before never-used ones, also those of other chunks: the memory a program
            // touches stays its peak of live frames (carving first grew W1's RSS by a chunk).
            if (chunk->local_free != nullptr || (sizes.available.empty() && chunk->next_unused != chunk->end)) {
                return take_block(*chunk);
            }
        }
        return allocate_from_another_chunk(index);
    }

    /// Returns a block of the arena (from any thread's heap) that was allocated with `index`'s class.
    static void deallocate(void* pointer, std::size_t index) noexcept {
        frame_chunk& chunk = frame_chunk::of(pointer);
        assert(chunk.block_bytes == (index + 1) * granularity);
        if (chunk.owner == this_thread_frame_heap.id && chunk.carving) {
            push_free(chunk, pointer);  // the common case, small enough to inline into every frame's destroy
            return;
        }
        deallocate_elsewhere(chunk, pointer, index);
    }

    /// Chunks mapped and not yet unmapped, over all threads (for tests and diagnostics).
    static std::size_t mapped_chunks() noexcept { return chunk_counter().load(std::memory_order_relaxed); }

    frame_heap(const frame_heap&) = delete;
    frame_heap& operator=(const frame_heap&) = delete;

private:
    struct size_class {
        frame_chunk* current = nullptr;  // the chunk being carved
        intrusive_list<frame_chunk, &frame_chunk::available_links> available;
        intrusive_list<frame_chunk, &frame_chunk::class_links> chunks;
        std::size_t chunk_count = 0;
    };
    /// Deletes the thread's heap when the thread ends.
    struct thread_heap_owner {
        thread_heap_owner() = default;
        thread_heap_owner(const thread_heap_owner&) = delete;
        thread_heap_owner& operator=(const thread_heap_owner&) = delete;
        ~thread_heap_owner() {
            delete this_thread_frame_heap.heap;
            this_thread_frame_heap = {};
        }
    };

    explicit frame_heap(std::uint64_t id) noexcept : id_(id) {}

    /// TRICKY: after the heap is gone (its chunks orphaned), the thread may still free blocks (a
    /// thread_local made before the heap and destroyed after it); its slot's id is 0 again, so those
    /// frees take the remote path, which handles orphans. An allocation then makes a new heap that
    /// is never deleted: thread_heap_owner has already run and is not constructed twice.
    ~frame_heap() {
        for (size_class& sizes : classes_) {
            while (frame_chunk* chunk = sizes.chunks.pop_front()) orphan(*chunk);
        }
    }

    static frame_heap& make_for_this_thread() {
        static thread_local thread_heap_owner owner;
        (void)owner;
        static std::atomic<std::uint64_t> next_id{1};
        auto* heap = new frame_heap(next_id.fetch_add(1, std::memory_order_relaxed));
        this_thread_frame_heap = {heap, heap->id_};
        return *heap;
    }

    static std::atomic<std::size_t>& chunk_counter() noexcept {
        static std::atomic<std::size_t> count{0};
        return count;
    }

    static void* take_block(frame_chunk& chunk) noexcept {
        if (free_block* block = chunk.local_free) {
            SLUICE_DETAIL_UNPOISON(block, chunk.block_bytes);
            chunk.local_free = block->next;
            ++chunk.live;
            return block;
        }
        if (chunk.next_unused != chunk.end) {
            void* block = chunk.next_unused;
            SLUICE_DETAIL_UNPOISON(block, chunk.block_bytes);
            chunk.next_unused += chunk.block_bytes;
            ++chunk.live;
            return block;
        }
        return nullptr;
    }

    /// The current chunk has no freed block: take back what other threads freed into it, or move to
    /// a chunk with freed blocks, or carve the current one further, or map a new chunk.
    [[gnu::noinline]] void* allocate_from_another_chunk(std::size_t index) {
        size_class& sizes = classes_[index];
        frame_chunk* const current = sizes.current;
        if (current != nullptr && collect_remote(*current) != 0) return take_block(*current);
        if (!sizes.available.empty()) {
            if (current != nullptr && current->next_unused != current->end) make_available(*current);
        } else if (current != nullptr && current->next_unused != current->end) {
            return take_block(*current);
        } else {
            // Scanning every chunk is O(chunks), so it is done only when it can pay: when it
            // finds less than an eighth of a chunk, a new chunk is mapped as well, so the next scan
            // comes at least that many allocations later.
            std::size_t collected = 0;
            for (frame_chunk* chunk = sizes.chunks.front(); chunk != nullptr; chunk = sizes.chunks.next_of(*chunk)) {
                if (chunk != sizes.current) collected += collect_remote(*chunk);
            }
            const std::size_t block_bytes = (index + 1) * granularity;
            if (collected < frame_chunk::bytes / block_bytes / 8) {
                frame_chunk& fresh = map_chunk(sizes, block_bytes);
                carve(sizes, fresh);
                return take_block(fresh);
            }
        }
        frame_chunk* next = sizes.available.pop_front();
        next->available = false;
        carve(sizes, *next);
        return take_block(*next);
    }

    static void carve(size_class& sizes, frame_chunk& chunk) noexcept {
        if (sizes.current != nullptr) sizes.current->carving = false;
        chunk.carving = true;
        sizes.current = &chunk;
    }

    /// Moves the blocks other threads freed into `chunk` onto its local list; returns how many.
    std::size_t collect_remote(frame_chunk& chunk) noexcept {
        if (chunk.remote_free.load(std::memory_order_relaxed) == 0) return 0;
        auto* block = reinterpret_cast<free_block*>(chunk.remote_free.exchange(0, std::memory_order_acquire));
        std::size_t count = 0;
        while (block != nullptr) {
            SLUICE_DETAIL_UNPOISON(block, sizeof(free_block));
            free_block* next = block->next;
            block->next = chunk.local_free;
            SLUICE_DETAIL_POISON(block, chunk.block_bytes);
            chunk.local_free = block;
            block = next;
            ++count;
        }
        chunk.live -= static_cast<std::uint32_t>(count);
        if (count != 0 && !chunk.carving) make_available(chunk);
        return count;
    }

    static void push_free(frame_chunk& chunk, void* pointer) noexcept {
        auto* block = static_cast<free_block*>(pointer);
        block->next = chunk.local_free;
        SLUICE_DETAIL_POISON(block, chunk.block_bytes);
        chunk.local_free = block;
        --chunk.live;
    }

    /// A free into a chunk this thread is not carving: the chunk may now be empty (unmap it) or
    /// have its first free block (list it); or the chunk is another thread's.
    [[gnu::noinline]] static void deallocate_elsewhere(frame_chunk& chunk, void* pointer, std::size_t index) noexcept {
        if (chunk.owner != this_thread_frame_heap.id) {
            free_remote(chunk, pointer);
            return;
        }
        frame_heap& heap = *this_thread_frame_heap.heap;
        push_free(chunk, pointer);
        if (chunk.live == 0) {
            size_class& sizes = heap.classes_[index];
            if (chunk.available) sizes.available.remove(chunk);
            sizes.chunks.remove(chunk);
            --sizes.chunk_count;
            unmap_chunk(chunk);
        } else {
            heap.make_available(chunk);
        }
    }

    /// Lists a chunk that has free blocks or room and is not (or no longer) the one being carved.
    void make_available(frame_chunk& chunk) noexcept {
        if (chunk.available) return;
        chunk.available = true;
        classes_[class_of(chunk.block_bytes)].available.push_back(chunk);
    }

    static void free_remote(frame_chunk& chunk, void* pointer) noexcept {
        auto* block = static_cast<free_block*>(pointer);
        // The link stays addressable (it is written in the loop); once pushed the block may be
        // handed out again at any moment, so nothing of it is touched after the exchange.
        SLUICE_DETAIL_POISON(block + 1, chunk.block_bytes - sizeof(free_block));
        std::uintptr_t head = chunk.remote_free.load(std::memory_order_acquire);
        do {
            if (head == frame_chunk::orphaned) {
                // TRICKY: the owner is gone. It set orphan_live to the chunk's outstanding blocks
                // before publishing `orphaned` (release), so the count seen here includes this one.
                if (chunk.orphan_live.fetch_sub(1, std::memory_order_acq_rel) == 1) unmap_chunk(chunk);
                return;
            }
            block->next = reinterpret_cast<free_block*>(head);
        } while (!chunk.remote_free.compare_exchange_weak(head, reinterpret_cast<std::uintptr_t>(block),
                                                          std::memory_order_release, std::memory_order_acquire));
    }

    /// At the owner's end: a chunk with no outstanding block is unmapped; otherwise the last free
    /// of an outstanding block (on whichever thread) unmaps it.
    static void orphan(frame_chunk& chunk) noexcept {
        const std::uint32_t outstanding = chunk.live;
        chunk.orphan_live.store(outstanding, std::memory_order_relaxed);
        auto* block = reinterpret_cast<free_block*>(chunk.remote_free.exchange(frame_chunk::orphaned, std::memory_order_acq_rel));
        std::uint32_t returned = 0;
        for (; block != nullptr; ++returned) {
            SLUICE_DETAIL_UNPOISON(block, sizeof(free_block));
            block = block->next;
        }
        // Frees that come after the exchange count orphan_live down; whoever takes it to 0 unmaps.
        if (returned == outstanding ||
            (returned != 0 && chunk.orphan_live.fetch_sub(returned, std::memory_order_acq_rel) == returned)) {
            unmap_chunk(chunk);
        }
    }

    frame_chunk& map_chunk(size_class& sizes, std::size_t block_bytes) {
        void* memory = map_aligned();
        if (sizes.chunk_count >= small_page_chunks) ::madvise(memory, frame_chunk::bytes, MADV_HUGEPAGE);  // advice: failure is harmless
        auto* chunk = new (memory) frame_chunk(id_, static_cast<std::uint32_t>(block_bytes));
        SLUICE_DETAIL_POISON(chunk->next_unused, static_cast<std::size_t>(chunk->end - chunk->next_unused));
        sizes.chunks.push_back(*chunk);
        ++sizes.chunk_count;
        chunk_counter().fetch_add(1, std::memory_order_relaxed);
        return *chunk;
    }

    /// 2 MiB of fresh memory on a 2 MiB boundary.
    static void* map_aligned() {
        constexpr int protection = PROT_READ | PROT_WRITE;
        constexpr int flags = MAP_PRIVATE | MAP_ANONYMOUS;
        // Linux 6.7 and later place an anonymous mapping whose size is a multiple of 2 MiB on a
        // 2 MiB boundary: try that first (one system call instead of three).
        void* exact = ::mmap(nullptr, frame_chunk::bytes, protection, flags, -1, 0);
        if (exact == MAP_FAILED) throw std::bad_alloc();
        if ((reinterpret_cast<std::uintptr_t>(exact) & (frame_chunk::bytes - 1)) == 0) return exact;
        ::munmap(exact, frame_chunk::bytes);
        // mmap only promises page alignment: map twice the size and trim to a boundary.
        void* raw = ::mmap(nullptr, 2 * frame_chunk::bytes, protection, flags, -1, 0);
        if (raw == MAP_FAILED) throw std::bad_alloc();
        const auto start = reinterpret_cast<std::uintptr_t>(raw);
        const std::uintptr_t aligned = (start + frame_chunk::bytes - 1) & ~(frame_chunk::bytes - 1);
        if (aligned != start) ::munmap(raw, aligned - start);
        if (const std::uintptr_t tail = start + frame_chunk::bytes - aligned; tail != 0) {
            ::munmap(reinterpret_cast<void*>(aligned + frame_chunk::bytes), tail);
        }
        return reinterpret_cast<void*>(aligned);
    }

    static void unmap_chunk(frame_chunk& chunk) noexcept {
        SLUICE_DETAIL_UNPOISON(&chunk, frame_chunk::bytes);
        chunk.~frame_chunk();
        ::munmap(&chunk, frame_chunk::bytes);
        chunk_counter().fetch_sub(1, std::memory_order_relaxed);
    }

    std::array<size_class, class_count> classes_;
    std::uint64_t id_;
};

}  // namespace sluice::detail
