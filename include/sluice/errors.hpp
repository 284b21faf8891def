#pragma once
/// sluice/errors.hpp: the exceptions of sluice's primitives that are thrown from their machinery
/// in detail/ (so they are declared here, in a public header, and included from there):
///
/// - `queue_closed`: by a closed `queue<T>` (queue.hpp).
/// - `pool_shutdown_error`: to the awaiters of jobs a `thread_pool` dropped unrun (thread_pool.hpp).
///
/// Cancellation's two exceptions, `cancelled_error` and `timeout_error`, are in cancellation.hpp;
/// the streams' and HTTP's beside their classes.

#include <stdexcept>

namespace sluice {

/// Thrown by a closed queue: by get() once it is empty, by put() and try_put() at once, and to the
/// getters and putters that were waiting when close() was called.
class queue_closed : public std::runtime_error {
public:
    queue_closed() : std::runtime_error("sluice: queue closed") {}
};

/// The `thread_pool` was destroyed before a worker took the job: the job never ran.
class pool_shutdown_error : public std::runtime_error {
public:
    pool_shutdown_error() : std::runtime_error("sluice: the thread_pool was shut down before the job started") {}
};

}  // namespace sluice
