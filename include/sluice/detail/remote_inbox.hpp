#pragma once
// The way into a loop from other threads: to_thread's workers hand back finished jobs, loop_handle
// posts callables and spawns tasks, stop callbacks and cross-thread cancels arrive here. One
// eventfd per loop and one read on it, kept armed from the inbox's creation to the loop's end.
//
//   other thread                               loop thread
//   ------------                               -----------
//   post(): lock, append to the list,          every turn: has_posts()? (one atomic load)
//           set posted_, unlock; write(eventfd)  drain(): lock, take the whole list, unlock;
//           if the list was empty                deliver() each item (schedules its waiter or
//                                                runs a posted callable)
//                                              asleep in the kernel: the read's CQE wakes it; its
//                                                complete() only re-arms the read
//
// Items are delivered between loop turns, never while the backend reaps, so a delivery may
// run user code (a posted callable that spawns, cancels, sets an event).
//
// Why an eventfd and not IORING_OP_MSG_RING: MSG_RING needs a ring on the sending side (every
// thread would own one, or share one under a lock) and a kernel >= 5.18, while write(2) on an
// eventfd works from any thread with no setup; a wake-up carries any number of items (a poster
// writes only when the list was empty). The read is an ordinary io_request (io_code::read) through
// the loop's backend, so the same inbox serves both backends: on io_uring an IORING_OP_READ (the
// eventfd is blocking: the kernel arms an internal poll, or parks the read in an io-wq worker on old
// kernels; the loop never polls), on epoll a read(2) retried when the eventfd becomes readable in
// the loop's epoll_wait (the backend makes it non-blocking). The epoll backend's own hand-offs
// (file ops on the worker pool) come back through this same inbox: one eventfd per loop.
//
// Deadlock detection. The read is always armed, so the backend is never idle; the loop is told
// which op is only this read (wakeup_op: the backend does not count it on busy turns, since
// has_posts() tells what arrived) and when nobody outside can complete it (idle_wakeup_op: no
// to_thread or file job outstanding, no loop_handle alive). A loop whose only op is such a read can
// never make progress and reports a deadlock as before. A cross-thread join_handle::cancel() still
// wakes a sleeping loop, since the read is armed.
//
// A read that ends for any other reason than a post (-ECANCELED, -EINTR) only makes the loop
// re-arm.

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

#include "cancellation.hpp"
#include "event_loop.hpp"
#include "intrusive_list.hpp"
#include "io_backend.hpp"

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
        // @see read(2), eventfd(2): 8 bytes, the counter, which the read resets to 0.
        request = {.code = io_code::read, .fd = fd_, .size = sizeof buffer_, .data = &buffer_};
    }
    remote_inbox(const remote_inbox&) = delete;
    remote_inbox& operator=(const remote_inbox&) = delete;
    ~remote_inbox() { ::close(fd_); }

    /// The loop's inbox, created (and its read armed) on first use. Loop thread; may throw
    /// (eventfd, the backend's submit).
    static const std::shared_ptr<remote_inbox>& of(event_loop& loop);

    // --- any thread ---------------------------------------------------------------------------

    /// Hands `item` to the loop. True: it will be delivered on the loop thread, or discarded if the
    /// loop ends first; the caller must not touch it afterwards (it may be delivered and freed at
    /// once). False: the loop has ended; `item` is untouched and still the caller's.
    ///
    /// TRICKY: the eventfd is written after the mutex is released, by a poster that holds a
    /// reference to this inbox taken under the mutex. Once unlocked, the item may be delivered, its
    /// frame freed and the loop ended; the reference keeps the inbox, and so its descriptor (closed
    /// only by the destructor), alive until the write is over: a poster never writes into a closed,
    /// possibly reused, descriptor. (A write after the loop ended goes to a counter nobody reads.)
    /// Writing under the mutex was the first design; it made a two-loop ping-pong sleep in futex(2)
    /// once per message: the write wakes the loop on the other CPU at once, and its first step,
    /// drain, took the mutex the poster still held on its way back from the syscall.
    /// The mutex also carries what the poster wrote before post (a job's result, a callable) over
    /// to the loop thread. A loop that drains on has_posts() before the write lands only sees one
    /// spurious wake-up later.
    [[nodiscard]] bool post(remote_completion& item) noexcept {
        std::shared_ptr<remote_inbox> keep_open;  // set when this post must write the eventfd
        {
            std::lock_guard lock(mutex_);
            if (ended_) return false;
            if (posted_items_.empty()) {  // else a write is already pending for the list: no second one
                posted_.store(true, std::memory_order_release);
                keep_open = shared_from_this();
            }
            posted_items_.push_back(item);
        }
        if (keep_open) signal();
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
        completion_queue items;
        {
            std::lock_guard lock(mutex_);
            items = posted_items_.take_all();
            posted_.store(false, std::memory_order_relaxed);
        }
        while (remote_completion* item = items.pop_front()) item->deliver();  // may free the item
    }

    [[nodiscard]] const io_operation* wakeup_op() const noexcept override { return this; }
    /// TRICKY: the loop checked has_posts() before it asks this, and a post can land in between,
    /// made by a thread that then dropped the last handle (run_on_cores: a core posts, ends, and the
    /// group releases its retains). So the handle count is read first (acquire: it synchronizes
    /// with that release), then posted_: a post made before the last handle went away is seen, and
    /// the loop waits for the wake-up that post writes instead of reporting a deadlock.
    [[nodiscard]] const io_operation* idle_wakeup_op() const noexcept override {
        if (outstanding_ != 0 || handles_.load(std::memory_order_acquire) != 0) return nullptr;
        return posted_.load(std::memory_order_acquire) ? nullptr : this;
    }

    /// The loop is being destroyed (its backend and ready queue still live): no more posts are
    /// accepted, queued items are discarded, and the read, if in flight, is cancelled and its
    /// completion awaited, so the kernel is done with `buffer_`; then the backend forgets the fd.
    void close() noexcept {
        completion_queue items;
        {
            std::lock_guard lock(mutex_);
            ended_ = true;
            items = posted_items_.take_all();
        }
        while (remote_completion* item = items.pop_front()) item->discard();
        loop_->set_wakeup(nullptr);
        closing_ = true;
        try {
            if (armed_) loop_->io().cancel(*this);  // may complete us inline
            while (armed_) loop_->io().submit_and_reap(wait_forever);
            loop_->io().forget(fd_);
        } catch (...) {
            // The backend failed: the kernel may still write into buffer_. Leak this inbox (a
            // reference to itself) rather than free memory it may write to.
            self_ = shared_from_this();
        }
    }

    /// The read ended (a post woke the loop, or a spurious end): re-arm; the turn's drain delivers.
    /// TRICKY: on epoll a read that finds the counter set completes inside submit(), i.e. inside
    /// arm(), and re-arms from here: one level deeper, bounded because the read resets the counter
    /// and a poster writes again only after the loop drained. A hard error (which a read of our own
    /// eventfd cannot give; epoll_ctl's ENOMEM could) is not retried, or it would recurse forever:
    /// the loop then no longer wakes for posts and reports a deadlock instead of hanging when it
    /// has nothing else to do.
    void complete(int result) noexcept override {
        armed_ = false;
        if (closing_ || (result < 0 && result != -ECANCELED && result != -EINTR && result != -EAGAIN)) return;
        try {
            arm();
        } catch (...) {
            // The submission failed (io_uring_enter could not flush the SQ): the loop throws that
            // error from its own next enter.
        }
    }

    void arm() {
        if (armed_) return;
        armed_ = true;
        try {
            loop_->io().submit(*this);
        } catch (...) {
            armed_ = false;
            throw;
        }
    }

private:
    using completion_queue = intrusive_queue<remote_completion, &remote_completion::inbox_next_>;

    void signal() const noexcept {
        const std::uint64_t one = 1;
        // Blocking eventfd: write(2) fails only with EINTR here (the counter cannot reach 2^64-2).
        while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }

    // Loop thread only.
    event_loop* loop_;
    std::size_t outstanding_ = 0;  // jobs expected and not yet delivered nor withdrawn
    bool armed_ = false;           // the read is submitted and has not completed
    bool closing_ = false;
    std::uint64_t buffer_ = 0;  // written by the kernel only
    std::shared_ptr<remote_inbox> self_;

    // Shared with other threads.
    const int fd_;
    std::atomic<std::size_t> handles_{0};  // live loop_handles
    std::mutex mutex_;
    completion_queue posted_items_;
    bool ended_ = false;
};

/// Owns the loop's inbox in the loop's service registry; closes it when the loop is destroyed.
/// Services created later (the thread pool's) are destroyed before it, so their shutdown can
/// still post here.
class remote_inbox_service final : public loop_service {
public:
    explicit remote_inbox_service(event_loop& loop) : inbox_(std::make_shared<remote_inbox>(loop)) {
        inbox_->arm();
        loop.set_wakeup(inbox_.get());
    }
    remote_inbox_service(const remote_inbox_service&) = delete;
    remote_inbox_service& operator=(const remote_inbox_service&) = delete;
    ~remote_inbox_service() override { inbox_->close(); }

    std::shared_ptr<remote_inbox> inbox_;
};

inline const std::shared_ptr<remote_inbox>& remote_inbox::of(event_loop& loop) {
    return loop.use_service<remote_inbox_service>().inbox_;
}

/// A cancellation point that another thread completes through the loop's inbox (a to_thread job,
/// until_stopped): expected by the inbox while out, so the loop waits for it.
///
/// TRICKY: once the other thread may post the item, a cancel is only remembered (abandoned_): the
/// waiter resumes, with cancelled_error, from arrived() on the loop thread, the inbox's last touch
/// of the item; resuming it earlier would free the frame the item lives in under the poster.
class remote_wait : public cancellation_point {
protected:
    remote_wait() = default;
    ~remote_wait() = default;

    /// Loop thread, from deliver(): the item arrived; resume the waiter (cancelled if abandoned).
    void arrived(remote_inbox& inbox) noexcept {
        inbox.withdraw();
        if (abandoned_) {
            finish_cancelled();
        } else {
            finish_completed();
        }
        loop_->schedule(waiter_);
    }
    /// Loop thread, from cancel_wait(): the item will never be posted; resume the waiter cancelled.
    void withdrawn(remote_inbox& inbox) noexcept {
        inbox.withdraw();
        finish_cancelled();
        loop_->schedule(waiter_);
    }

    event_loop* loop_ = nullptr;  // set before the item can be posted
    bool abandoned_ = false;      // loop thread only
};

}  // namespace sluice::detail
