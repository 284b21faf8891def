#pragma once
// Completions handed to a loop by other threads (the loop's side of to_thread): one eventfd per loop
// and one read op on it (IORING_OP_READ on io_uring), in flight while anything is outstanding elsewhere.
//
//   worker thread                              loop thread
//   -------------                              -----------
//   finish the job (write its result)          expect(): ++outstanding, arm the read if needed
//   post(): lock, append to the list,          ... sleeps in io_uring_enter, no CPU ...
//           write(eventfd) if it was empty,    the read's CQE -> complete(): lock, take the whole
//           unlock                               list, unlock; deliver() each item (it schedules
//                                                its waiter); re-arm while outstanding > 0
//
// Why an eventfd and not IORING_OP_MSG_RING: MSG_RING needs a ring on the sending side (every
// worker would own one, or share one under a lock) and a kernel >= 5.18, while write(2) on an
// eventfd works from any thread with no setup; the only cost is one READ re-armed per wake-up,
// and a wake-up carries any number of completions (a worker writes only when the list was empty).
// The read waits like any other op: the loop's deadlock detection sees it in flight, and the loop
// sleeps in io_uring_enter until a worker writes.
//
// The eventfd is blocking: on kernels where eventfd supports non-blocking reads io_uring arms an
// internal poll (no thread involved); elsewhere it parks the read in an io-wq worker. Either way
// the loop never reads the eventfd itself and never polls. A read that ends for any other reason
// (-ECANCELED when withdrawn, a signal) only makes the loop drain (possibly nothing) and re-arm.
//
// On the epoll backend the same read is an io_code::read: the backend makes the eventfd
// non-blocking, and the read waits for EPOLLIN in the loop's epoll_wait.

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "event_loop.hpp"
#include "io_backend.hpp"

namespace sluice::detail {

/// Something finished on another thread and handed back to its loop through a `remote_inbox`.
class remote_completion {
public:
    /// Loop thread, while the inbox drains: schedule the waiter; never resume inline.
    virtual void deliver() noexcept = 0;

protected:
    remote_completion() = default;
    remote_completion(const remote_completion&) = delete;
    remote_completion& operator=(const remote_completion&) = delete;
    ~remote_completion() = default;

private:
    friend class remote_inbox;
    remote_completion* inbox_next_ = nullptr;  // guarded by the inbox's mutex while posted
};

/// One per loop, shared (std::shared_ptr) by the loop and every outstanding item, so a worker never
/// posts into a destroyed inbox even if the loop died abnormally (an exception out of run()).
class remote_inbox final : public io_operation, public std::enable_shared_from_this<remote_inbox> {
public:
    explicit remote_inbox(event_loop& loop) : loop_(&loop), fd_(::eventfd(0, EFD_CLOEXEC)) {
        if (fd_ < 0) throw std::system_error(errno, std::system_category(), "sluice: eventfd");
        // @see read(2), eventfd(2): 8 bytes, the counter, which the read resets to 0.
        request = {.code = io_code::read, .fd = fd_, .size = sizeof buffer_, .data = &buffer_};
    }
    remote_inbox(const remote_inbox&) = delete;
    remote_inbox& operator=(const remote_inbox&) = delete;
    ~remote_inbox() { ::close(fd_); }

    // --- any thread ---------------------------------------------------------------------------

    /// Hands a finished item to the loop. The caller must not touch `item` afterwards: the loop may
    /// deliver it, and its owner free it, at once.
    ///
    /// TRICKY: the eventfd is written while the mutex is held. The loop can only see the item by
    /// taking the same mutex, so the write is over before the item can be delivered, its frame
    /// freed and (the last reference gone) this inbox closed: a worker never writes into a closed,
    /// possibly reused, descriptor. The mutex also carries the item's result (written by the
    /// worker before post) over to the loop thread.
    void post(remote_completion& item) noexcept {
        std::lock_guard lock(mutex_);
        item.inbox_next_ = nullptr;
        if (tail_ != nullptr) {
            tail_->inbox_next_ = &item;  // a write is already pending for the list: no second one
        } else {
            head_ = &item;
            signal();
        }
        tail_ = &item;
    }

    // --- loop thread --------------------------------------------------------------------------

    /// One more item will be posted (or withdrawn): keeps the read armed until then. Throws only if
    /// the ring cannot take the read (then nothing changed).
    void expect() {
        ++outstanding_;
        if (armed_) return;  // even one being cancelled: its CQE re-arms, outstanding_ > 0
        try {
            arm();
        } catch (...) {
            --outstanding_;
            throw;
        }
    }

    /// An expected item will never be posted (it was cancelled before any worker took it). When
    /// nothing is outstanding any more the read is withdrawn (IORING_OP_ASYNC_CANCEL), so a loop
    /// with nothing else to do is seen as stuck rather than sleeping forever.
    void withdraw() noexcept {
        --outstanding_;
        if (outstanding_ == 0 && armed_ && !cancelling_) cancel_read();
    }

    /// The loop is being destroyed (its ring and ready queue still live): stop re-arming and, if the
    /// read is in flight, cancel it and wait for its CQE, so the kernel is done with `buffer_`.
    void close() noexcept {
        closing_ = true;
        if (!armed_) {
            loop_->io().forget(fd_);
            return;
        }
        try {
            if (!cancelling_) cancel_read();
            if (armed_ && !cancelling_) throw std::runtime_error("no SQE for the cancel");
            while (armed_) loop_->io().submit_and_reap(wait_forever);
            loop_->io().forget(fd_);
        } catch (...) {
            // The ring failed: the kernel may still write into buffer_. Leak this inbox (a
            // reference to itself) rather than free memory it may write to.
            self_ = shared_from_this();
        }
    }

    void complete(int /*result*/) noexcept override {
        armed_ = false;
        cancelling_ = false;
        remote_completion* item;
        {
            std::lock_guard lock(mutex_);
            item = std::exchange(head_, nullptr);
            tail_ = nullptr;
        }
        while (item != nullptr) {
            remote_completion* next = item->inbox_next_;
            --outstanding_;
            item->deliver();
            item = next;
        }
        if (outstanding_ > 0 && !closing_) {
            try {
                arm();
            } catch (...) {
                // The SQ could not be flushed (io_uring_enter failed): the loop throws that error
                // from its own next enter; with no read armed it cannot sleep here forever.
            }
        }
    }

private:
    void arm() {
        armed_ = true;
        try {
            loop_->io().submit(*this);
        } catch (...) {
            armed_ = false;
            throw;
        }
    }

    void cancel_read() noexcept {
        cancelling_ = true;
        try {
            loop_->io().cancel(*this);  // may complete us inline (a read not in the kernel yet)
        } catch (...) {
            cancelling_ = false;  // no SQE for the cancel: the read stays armed, retried next time
        }
    }

    void signal() const noexcept {
        const std::uint64_t one = 1;
        // Blocking eventfd: write(2) fails only with EINTR here (the counter cannot reach 2^64-2).
        while (::write(fd_, &one, sizeof one) < 0 && errno == EINTR) {
        }
    }

    // Loop thread only.
    event_loop* loop_;
    std::size_t outstanding_ = 0;  // expected items not yet delivered nor withdrawn
    bool armed_ = false;           // the read is in the ring (submitted or waiting for a slot)
    bool cancelling_ = false;      // an ASYNC_CANCEL targets it
    bool closing_ = false;
    std::uint64_t buffer_ = 0;  // written by the kernel only
    std::shared_ptr<remote_inbox> self_;

    // Shared with the workers.
    const int fd_;
    std::mutex mutex_;
    remote_completion* head_ = nullptr;
    remote_completion* tail_ = nullptr;
};

}  // namespace sluice::detail
