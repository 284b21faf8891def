#pragma once
// The way into a loop from other threads: to_thread's workers hand back finished jobs, loop_handle
// posts callables and spawns tasks, stop callbacks and cross-thread cancels arrive here. One
// eventfd per loop and one read on it, kept armed from the inbox's creation to the loop's end.
//
//   other thread                               loop thread
//   ------------                               -----------
//   post(): lock, append to the list,          every turn: has_posts()? (one atomic load)
//           set posted_, write(eventfd) if       drain(): lock, take the whole list, unlock;
//           the list was empty, unlock           deliver() each item (schedules its waiter or
//                                                runs a posted callable)
//                                              asleep in the kernel: the read's CQE wakes it; its
//                                                complete() only re-arms the read
//
// Items are delivered between loop turns, never while the ring is being reaped, so a delivery may
// run user code (a posted callable that spawns, cancels, sets an event).
//
// Why an eventfd and not IORING_OP_MSG_RING: MSG_RING needs a ring on the sending side (every
// thread would own one, or share one under a lock) and a kernel >= 5.18, while write(2) on an
// eventfd works from any thread with no setup; a wake-up carries any number of items (a poster
// writes only when the list was empty). The read goes through the loop's generic op interface.
//
// Deadlock detection. The read is always armed, so the ring is never idle; the loop is told which
// in-flight ops are only this read (wakeup_ops) and when nobody outside can complete it
// (idle_wakeup_ops: no job of to_thread outstanding, no loop_handle alive). A loop whose only op is
// such a read can never make progress and reports a deadlock as before. A cross-thread
// join_handle::cancel() still wakes a sleeping loop, since the read is armed.
//
// The eventfd is blocking: on kernels where eventfd supports non-blocking reads io_uring arms an
// internal poll (no thread involved); elsewhere it parks the read in an io-wq worker. Either way
// the loop never reads the eventfd itself and never polls. A read that ends for any other reason
// (-ECANCELED when withdrawn, a signal) only makes the loop re-arm.

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "event_loop.hpp"
#include "io_ring.hpp"

namespace sluice::detail {

/// Something handed to a loop by another thread through a `remote_inbox`.
class remote_completion {
public:
    /// Loop thread, between turns: schedule the waiter (or run a posted callable); never resume a
    /// coroutine inline. May free the item.
    virtual void deliver() noexcept = 0;
    /// The loop ended with the item still queued (it is never delivered): free it if the inbox
    /// owns it. Items living in a coroutine frame do nothing (the frame is leaked with the loop).
    virtual void discard() noexcept {}

protected:
    remote_completion() = default;
    remote_completion(const remote_completion&) = delete;
    remote_completion& operator=(const remote_completion&) = delete;
    ~remote_completion() = default;

private:
    friend class remote_inbox;
    remote_completion* inbox_next_ = nullptr;  // guarded by the inbox's mutex while posted
};

/// One per loop, shared (std::shared_ptr) by the loop, every outstanding job and every loop_handle,
/// so nobody posts into a destroyed inbox, even after the loop ended.
class remote_inbox final : public io_operation,
                           public remote_wakeup,
                           public std::enable_shared_from_this<remote_inbox> {
public:
    explicit remote_inbox(event_loop& loop) : loop_(&loop), fd_(::eventfd(0, EFD_CLOEXEC)) {
        if (fd_ < 0) throw std::system_error(errno, std::system_category(), "sluice: eventfd");
    }
    remote_inbox(const remote_inbox&) = delete;
    remote_inbox& operator=(const remote_inbox&) = delete;
    ~remote_inbox() { ::close(fd_); }

    /// The loop's inbox, created (and its read armed) on first use. Loop thread; may throw
    /// (eventfd, no SQE).
    static const std::shared_ptr<remote_inbox>& of(event_loop& loop);

    // --- any thread ---------------------------------------------------------------------------

    /// Hands `item` to the loop. True: it will be delivered on the loop thread, or discarded if the
    /// loop ends first; the caller must not touch it afterwards (it may be delivered and freed at
    /// once). False: the loop has ended; `item` is untouched and still the caller's.
    ///
    /// TRICKY: the eventfd is written while the mutex is held. The loop can only see the item by
    /// taking the same mutex, so the write is over before the item can be delivered, its frame
    /// freed and (the last reference gone) this inbox closed: a worker never writes into a closed,
    /// possibly reused, descriptor. The mutex also carries what the poster wrote before post (a
    /// job's result, a callable) over to the loop thread.
    [[nodiscard]] bool post(remote_completion& item) noexcept {
        std::lock_guard lock(mutex_);
        if (ended_) return false;
        item.inbox_next_ = nullptr;
        if (tail_ != nullptr) {
            tail_->inbox_next_ = &item;  // a write is already pending for the list: no second one
        } else {
            head_ = &item;
            posted_.store(true, std::memory_order_release);
            signal();
        }
        tail_ = &item;
        return true;
    }

    /// A loop_handle was made: by current_loop() on the loop thread, or copied from another one.
    void retain_handle() noexcept { handles_.fetch_add(1, std::memory_order_relaxed); }
    /// A loop_handle went away. The last one wakes the loop, which may now be in a deadlock it
    /// could not see while someone outside could still post.
    void release_handle() noexcept {
        if (handles_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
        std::lock_guard lock(mutex_);
        if (!ended_) signal();
    }

    // --- loop thread --------------------------------------------------------------------------

    /// One more item will be posted by a job (to_thread): until it is delivered (and the job's
    /// deliver() calls withdraw()) the loop waits for it rather than reporting a deadlock.
    void expect() noexcept { ++outstanding_; }
    /// An expected item was delivered, or will never be posted (cancelled before a worker took it).
    void withdraw() noexcept { --outstanding_; }

    void drain() noexcept override {
        remote_completion* item;
        {
            std::lock_guard lock(mutex_);
            item = std::exchange(head_, nullptr);
            tail_ = nullptr;
            posted_.store(false, std::memory_order_relaxed);
        }
        while (item != nullptr) {
            remote_completion* next = item->inbox_next_;
            item->deliver();  // may free the item
            item = next;
        }
    }

    [[nodiscard]] unsigned wakeup_ops() const noexcept override { return in_kernel_ ? 1 : 0; }
    [[nodiscard]] unsigned idle_wakeup_ops() const noexcept override {
        return in_kernel_ && outstanding_ == 0 && handles_.load(std::memory_order_acquire) == 0 ? 1 : 0;
    }

    /// The loop is being destroyed (its ring and ready queue still live): no more posts are
    /// accepted, queued items are discarded, and the read, if in flight, is cancelled and its CQE
    /// awaited, so the kernel is done with `buffer_`.
    void close() noexcept {
        remote_completion* item;
        {
            std::lock_guard lock(mutex_);
            ended_ = true;
            item = std::exchange(head_, nullptr);
            tail_ = nullptr;
        }
        while (item != nullptr) std::exchange(item, item->inbox_next_)->discard();
        loop_->set_wakeup(nullptr);
        closing_ = true;
        if (!armed_) return;
        try {
            loop_->ring().cancel(*this);  // may complete us inline (a read still waiting for a slot)
            while (armed_) loop_->ring().submit_and_reap(nullptr, /*wait=*/true);
        } catch (...) {
            // The ring failed: the kernel may still write into buffer_. Leak this inbox (a
            // reference to itself) rather than free memory it may write to.
            self_ = shared_from_this();
        }
    }

    /// @see read(2), eventfd(2): 8 bytes, the counter, which the read resets to 0.
    void prepare(io_uring_sqe& sqe) noexcept override {
        in_kernel_ = true;
        io_uring_prep_read(&sqe, fd_, &buffer_, sizeof buffer_, 0);
    }

    /// The read ended (a post woke the loop, or a spurious end): re-arm; the turn's drain delivers.
    void complete(int /*result*/) noexcept override {
        armed_ = false;
        in_kernel_ = false;
        if (closing_) return;
        try {
            arm();
        } catch (...) {
            // The SQ could not be flushed (io_uring_enter failed): the loop throws that error
            // from its own next enter.
        }
    }

    void arm() {
        if (armed_) return;
        armed_ = true;
        try {
            loop_->ring().submit(*this);
        } catch (...) {
            armed_ = false;
            throw;
        }
    }

private:
    void signal() const noexcept {
        const std::uint64_t one = 1;
        // Blocking eventfd: write(2) fails only with EINTR here (the counter cannot reach 2^64-2).
        while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }

    // Loop thread only.
    event_loop* loop_;
    std::size_t outstanding_ = 0;  // jobs expected and not yet delivered nor withdrawn
    bool armed_ = false;           // the read is in the ring (submitted or waiting for a slot)
    bool in_kernel_ = false;       // ... and was handed an SQE (counts as in flight)
    bool closing_ = false;
    std::uint64_t buffer_ = 0;  // written by the kernel only
    std::shared_ptr<remote_inbox> self_;

    // Shared with other threads.
    const int fd_;
    std::atomic<std::size_t> handles_{0};  // live loop_handles
    std::mutex mutex_;
    remote_completion* head_ = nullptr;
    remote_completion* tail_ = nullptr;
    bool ended_ = false;
};

/// Owns the loop's inbox in the loop's remote_service slot; closes it when the loop is destroyed.
class remote_inbox_service final : public loop_service {
public:
    explicit remote_inbox_service(event_loop& loop) : inbox_(std::make_shared<remote_inbox>(loop)) {}
    ~remote_inbox_service() override { inbox_->close(); }
    std::shared_ptr<remote_inbox> inbox_;
};

inline const std::shared_ptr<remote_inbox>& remote_inbox::of(event_loop& loop) {
    std::unique_ptr<loop_service>& slot = loop.remote_service();
    if (!slot) {
        auto service = std::make_unique<remote_inbox_service>(loop);
        service->inbox_->arm();
        loop.set_wakeup(service->inbox_.get());
        slot = std::move(service);
    }
    return static_cast<remote_inbox_service&>(*slot).inbox_;
}

}  // namespace sluice::detail
