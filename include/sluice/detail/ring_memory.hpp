#pragma once
// ThreadSanitizer and the rings' shared memory. liburing maps a ring's queues with raw mmap/munmap
// system calls, which ThreadSanitizer does not see: when a loop on one thread ends and a loop on
// another thread (run_on_cores) gets a new ring mapped at the same address, the old ring's
// accesses look like a data race with the new one's. The kernel orders the unmap before the map;
// these annotations tell ThreadSanitizer so (a release when a ring is unmapped, an acquire when
// one is mapped). They compile to nothing without ThreadSanitizer.

#if defined(__SANITIZE_THREAD__)
#define SLUICE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SLUICE_TSAN 1
#endif
#endif

#ifdef SLUICE_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace sluice::detail {

#ifdef SLUICE_TSAN
inline char ring_memory_token;  // the synchronization object of the annotations
#endif

/// A ring was just mapped by this thread.
inline void ring_mapped() noexcept {
#ifdef SLUICE_TSAN
    __tsan_acquire(&ring_memory_token);
#endif
}

/// A ring is about to be unmapped by this thread (all its accesses are done).
inline void ring_unmapped() noexcept {
#ifdef SLUICE_TSAN
    __tsan_release(&ring_memory_token);
#endif
}

}  // namespace sluice::detail
