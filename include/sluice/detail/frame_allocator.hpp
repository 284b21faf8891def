#pragma once
// Recycles coroutine frames. A bounded fan-out allocates and frees one frame per item, all of the
// same few sizes, millions of times; glibc's malloc/free costs ~140 instructions a pair there, a
// per-thread free list ~20.
//
// Frames are grouped in 16-byte size classes up to 1 KiB (larger ones go straight to operator new).
// A class's blocks are 16·k + 8 bytes: glibc's malloc adds an 8-byte header and rounds its chunks
// to 16, so such a request fills its chunk exactly, where a 16·k one took the next chunk size up
// (a 152-byte frame took a 176-byte chunk, now 160).
// A freed frame goes to the free list of the thread that frees it (a frame created on one thread
// and destroyed on another simply migrates; its memory came from operator new and can be returned
// by any thread). Each list keeps at most `max_cached_per_class` frames so a burst (a million-task
// gather) does not pin its peak memory forever; the rest are returned at once.

#include <array>
#include <cstddef>
#include <new>
#include <utility>

namespace sluice::detail {

class frame_allocator {
public:
    static constexpr std::size_t granularity = 16;
    static constexpr std::size_t class_count = 64;  // up to 1016 B
    static constexpr std::size_t max_cached_per_class = 4096;

    static void* allocate(std::size_t size) {
        const std::size_t index = class_of(size);
        if (index < class_count) {
            free_list& list = lists().classes[index];
            if (list.head != nullptr) {
                node* block = list.head;
                list.head = block->next;
                --list.count;
                return block;
            }
            return ::operator new(block_size(index));
        }
        return ::operator new(size);
    }

    static void deallocate(void* pointer, std::size_t size) noexcept {
        const std::size_t index = class_of(size);
        if (index < class_count) {
            free_list& list = lists().classes[index];
            if (list.count < max_cached_per_class) {
                list.head = new (pointer) node{list.head};
                ++list.count;
                return;
            }
        }
        ::operator delete(pointer);
    }

private:
    struct node {
        node* next;
    };
    struct free_list {
        node* head = nullptr;
        std::size_t count = 0;
    };
    struct thread_lists {
        std::array<free_list, class_count> classes{};
        thread_lists() = default;
        thread_lists(const thread_lists&) = delete;
        thread_lists& operator=(const thread_lists&) = delete;
        ~thread_lists() {
            for (free_list& list : classes) {
                while (list.head != nullptr) ::operator delete(std::exchange(list.head, list.head->next));
            }
        }
    };

    /// The class whose blocks (block_size) are the smallest that hold `size` bytes.
    static constexpr std::size_t class_of(std::size_t size) noexcept { return (size + 7) / granularity; }
    static constexpr std::size_t block_size(std::size_t index) noexcept { return index * granularity + 8; }
    static thread_lists& lists() noexcept {
        thread_local thread_lists instance;
        return instance;
    }
};

/// Mixed into a promise type: its coroutine frames come from the frame_allocator.
struct recycled_frame {
    static void* operator new(std::size_t size) { return frame_allocator::allocate(size); }
    static void operator delete(void* pointer, std::size_t size) noexcept {
        frame_allocator::deallocate(pointer, size);
    }
};

}  // namespace sluice::detail
