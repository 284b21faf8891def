#pragma once
// Where a promise's coroutine frame comes from: the per-thread frame arena (frame_arena.hpp) for
// frames up to 1 KiB, global operator new for larger ones.
//
// SLUICE_FRAME_ARENA=0 sends every frame to global operator new instead: for a program that
// replaces operator new (a heap profiler, jemalloc, allocation-failure injection) and wants to see
// the frames. Under AddressSanitizer that is the default, so a use of a destroyed frame or a
// leaked frame is reported exactly (the arena has its own tests under ASan). Define it the same
// way in every translation unit of a program.

#include "frame_arena.hpp"

#include <cstddef>
#include <new>

#ifndef SLUICE_FRAME_ARENA
#if defined(SLUICE_DETAIL_ADDRESS_SANITIZER)
#define SLUICE_FRAME_ARENA 0
#else
#define SLUICE_FRAME_ARENA 1
#endif
#endif

namespace sluice::detail {

// Always inlined: every coroutine frame passes here, and GCC's inliner gives up on it once a
// translation unit has enough coroutine types (the engine's wave puller alone cost W1 24
// instructions per item). The arena's own slow paths stay out of line.
struct frame_allocator {
    [[gnu::always_inline]] static void* allocate(std::size_t size) {
        if constexpr (SLUICE_FRAME_ARENA != 0) {
            if (const std::size_t index = frame_heap::class_of(size); index < frame_heap::class_count) {
                return frame_heap::of_this_thread().allocate(index);
            }
        }
        return ::operator new(size);
    }

    [[gnu::always_inline]] static void deallocate(void* pointer, std::size_t size) noexcept {
        if constexpr (SLUICE_FRAME_ARENA != 0) {
            if (const std::size_t index = frame_heap::class_of(size); index < frame_heap::class_count) {
                frame_heap::deallocate(pointer, index);
                return;
            }
        }
        ::operator delete(pointer);
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
