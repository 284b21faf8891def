#pragma once
// The epoll backend, for where io_uring is blocked (container seccomp profiles, the sysctl
// kernel.io_uring_disabled). Same interface and promises as the io_uring backend
// (detail/io_backend.hpp); the differences stay in this file:
//
// - Sockets and other pollable descriptors (pipes, eventfd, signalfd) by readiness: an op first
//   tries its system call at once, non-blocking (recv/send/recvmsg/sendmsg with MSG_DONTWAIT;
//   accept4, read, write and connect on a descriptor this backend made O_NONBLOCK). Only on EAGAIN
//   (connect: EINPROGRESS) does it wait, in its descriptor's FIFO of readers or writers, and the
//   descriptor joins the epoll set once, edge-triggered, for both directions. An event retries the
//   waiters of its direction in order until one would block again. connect's outcome is SO_ERROR.
// - Timers: the loop's user-space timer queue as on io_uring; the earliest deadline is the
//   epoll_pwait2 timeout (nanoseconds; epoll_wait's milliseconds, rounded up, where pwait2 is
//   missing or filtered).
// - Regular-file I/O (openat, pread, pwrite, fsync, close, renameat) runs on the loop's worker pool
//   (the to_thread pool, as libuv does), and comes back through the loop's eventfd inbox (created
//   with the loop; the pool's threads on first use). A `file` opened on something pollable (a
//   FIFO, a terminal) is remembered as such, and its read_at/write_at wait for readiness instead,
//   ignoring the offset as io_uring does for non-seekable files: a worker blocked in read(2) on an
//   empty FIFO could not be cancelled.
//
// TRICKY (cancellation keeps its promise): a waiting op has not handed anything to the kernel (its
// buffer is used only inside the system call we make on this thread), so a cancel unlinks it and
// completes it with -ECANCELED at once. A file op still queued in the pool is withdrawn the same
// way; one a worker is running cannot be stopped: it completes with its real result once the worker
// has posted it back, so the frame holding its buffer and path outlives the system call.
//
// TRICKY (descriptor numbers are reused): a closed descriptor leaves the epoll set by itself, and the
// next socket may get the same number. Every descriptor sluice closes or hands over goes through
// io_backend::forget first (unique_fd), which clears what we remember, so the new one is
// registered afresh.

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <ctime>
#include <memory>
#include <new>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "event_loop.hpp"
#include "io_backend.hpp"
#include "std_chrono.hpp"
#include "thread_pool.hpp"

namespace sluice::detail {

/// Runs a regular-file request on the calling (worker) thread: its result or -errno.
/// @see pread(2), pwrite(2), openat(2), fsync(2), fdatasync(2), close(2), renameat(2)
inline int run_file_request(const io_request& r) noexcept {
    long rc = -1;
    errno = EINVAL;
    switch (r.code) {
        case io_code::read_at:
            rc = ::pread(r.fd, r.data, r.size, static_cast<off_t>(r.offset));
            break;
        case io_code::write_at:
            rc = ::pwrite(r.fd, r.data, r.size, static_cast<off_t>(r.offset));
            break;
        case io_code::openat:
            rc = ::openat(AT_FDCWD, r.path, r.flags, r.mode);
            break;
        case io_code::fsync:
            rc = r.flags == 1 ? ::fdatasync(r.fd) : ::fsync(r.fd);
            break;
        case io_code::close:
            rc = ::close(r.fd);
            break;
        case io_code::renameat:
            rc = ::renameat(AT_FDCWD, r.path, AT_FDCWD, r.path2);
            break;
        default:
            break;
    }
    return rc < 0 ? -errno : static_cast<int>(rc);
}

/// One non-blocking attempt at a socket or pollable request (not connect): its result, -errno, or
/// -EAGAIN when it would block. @see recv(2), send(2), recvmsg(2), sendmsg(2), accept4(2), read(2)
inline int try_ready_request(const io_request& r) noexcept {
    for (;;) {
        long rc = -1;
        errno = EINVAL;
        switch (r.code) {
            case io_code::read:
            case io_code::read_at:  // on a pollable descriptor (see the top of this file)
                rc = ::read(r.fd, r.data, r.size);
                break;
            case io_code::write:
            case io_code::write_at:
                rc = ::write(r.fd, r.data, r.size);
                break;
            case io_code::recv:
                rc = ::recv(r.fd, r.data, r.size, r.flags | MSG_DONTWAIT);
                break;
            case io_code::send:
                rc = ::send(r.fd, r.data, r.size, r.flags | MSG_DONTWAIT);
                break;
            case io_code::recvmsg:
                rc = ::recvmsg(r.fd, static_cast<msghdr*>(r.data), r.flags | MSG_DONTWAIT);
                break;
            case io_code::sendmsg:
                rc = ::sendmsg(r.fd, static_cast<const msghdr*>(r.data), r.flags | MSG_DONTWAIT);
                break;
            case io_code::accept:
                rc = ::accept4(r.fd, nullptr, nullptr, r.flags);
                break;
            default:
                break;
        }
        if (rc >= 0) return static_cast<int>(rc);
        if (errno == EINTR) continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

class epoll_backend;

/// A regular-file op running on the worker pool; owned by the backend until delivered.
class file_job final : public pool_job {
public:
    file_job(epoll_backend& backend, io_operation& op, std::shared_ptr<pool_core> pool,
             std::shared_ptr<remote_inbox> inbox) noexcept
        : backend_(backend), op_(op), pool_(std::move(pool)) {
        inbox_ = std::move(inbox);
    }

    void execute() noexcept override {
        result_ = run_file_request(op_.request);
        if (op_.request.code == io_code::openat && result_ >= 0) {
            struct stat info {};
            pollable_ = ::fstat(result_, &info) == 0 && (S_ISFIFO(info.st_mode) || S_ISCHR(info.st_mode) ||
                                                         S_ISSOCK(info.st_mode));
        }
    }
    void fail(std::exception_ptr /*error*/) noexcept override { result_ = -ECANCELED; }  // pool shut down
    inline void deliver() noexcept override;
    /// The loop ended with the job delivered to nobody (only after an abnormal end of run()): the
    /// backend lets go of it; the op's frame is leaked with the loop.
    inline void discard() noexcept override;

    [[nodiscard]] pool_core& pool() const noexcept { return *pool_; }
    [[nodiscard]] remote_inbox& inbox() const noexcept { return *inbox_; }
    [[nodiscard]] io_operation& op() const noexcept { return op_; }

private:
    epoll_backend& backend_;
    io_operation& op_;
    std::shared_ptr<pool_core> pool_;
    int result_ = 0;
    bool pollable_ = false;  // an opened descriptor that epoll can wait on
};

class epoll_backend final : public io_backend {
public:
    epoll_backend() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {
        if (epfd_ < 0) throw std::system_error(errno, std::system_category(), "sluice: epoll_create1");
        events_.resize(256);
    }
    ~epoll_backend() override { ::close(epfd_); }

    /// The loop's inbox (its eventfd) exists from the start, so file ops create no descriptor.
    void attach(event_loop& loop) override { (void)pool_service::of(loop); }

    [[nodiscard]] backend kind() const noexcept override { return backend::epoll; }
    [[nodiscard]] bool idle(const io_operation* background) const noexcept override {
        return waiting_ <= counted(background) && offloaded_ == 0 && resubmitted_.empty();
    }
    [[nodiscard]] bool has_work(const io_operation* background) const noexcept override {
        return waiting_ > counted(background) || !resubmitted_.empty();
    }

    void submit(io_operation& op) override {
        const io_request& r = op.request;
        if (r.is_file_op() && !on_pollable(r)) {
            offload(op);
            return;
        }
        if (r.fd < 0) {
            op.complete(-EBADF);
            return;
        }
        const int direction = direction_of(r.code);
        const fd_state& state = state_of(r.fd);
        if (r.code == io_code::connect) {
            start_connect(op);
            return;
        }
        if (r.code != io_code::recv && r.code != io_code::send && r.code != io_code::recvmsg &&
            r.code != io_code::sendmsg) {  // these take MSG_DONTWAIT instead
            if (const int error = make_nonblocking(r.fd); error != 0) {
                op.complete(-error);
                return;
            }
        }
        if (state.waiters[direction].empty()) {  // FIFO: never overtake an op already waiting
            const int result = try_ready_request(r);
            if (result != -EAGAIN) {
                op.complete(result);
                return;
            }
        }
        wait(op, direction);
    }

    void resubmit(io_operation& op) noexcept override {
        op.backend_state_ = resubmitted;
        resubmitted_.push_back(op);
    }

    void cancel(io_operation& target) override {
        if (target.backend_state_ == resubmitted) {
            unlink_resubmitted(target);
            target.complete(-ECANCELED);
        } else if (target.backend_state_ == waiting) {
            unlink(target);
            target.complete(-ECANCELED);
        } else if (target.backend_state_ == offloaded) {
            auto* job = static_cast<file_job*>(target.backend_data_);
            if (job->pool().withdraw(*job) != job_state::queued) return;  // a worker has it: wait
            job->inbox().withdraw();
            finish_offloaded(*job);
            target.complete(-ECANCELED);
        }
    }

    void submit_and_reap(std::chrono::nanoseconds timeout) override {
        if (!resubmitted_.empty()) {
            issue_resubmitted();
            timeout = std::chrono::nanoseconds::zero();  // some may have completed: do not block
        }
        const int n = wait_for_events(timeout);
        for (int i = 0; i < n; ++i) {
            const epoll_event& event = events_[static_cast<std::size_t>(i)];
            const int fd = event.data.fd;
            if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) continue;
            if ((event.events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) retry(fd, 0);
            if ((event.events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) retry(fd, 1);
        }
    }

    void forget(int fd) noexcept override {
        if (fd < 0 || static_cast<std::size_t>(fd) >= fds_.size()) return;
        // By index, never by reference: a completion may submit again (the inbox's read re-arms
        // inside its completion), and a submit may grow fds_.
        for (int direction = 0; direction < 2; ++direction) {
            while (io_operation* op = fds_[static_cast<std::size_t>(fd)].waiters[direction].front()) {
                unlink(*op);
                op->complete(-EBADF);
            }
        }
        fds_[static_cast<std::size_t>(fd)].registered = false;
        fds_[static_cast<std::size_t>(fd)].pollable = false;
    }

private:
    friend class file_job;

    using op_list = intrusive_list<io_operation, &io_operation::links_>;

    static constexpr unsigned char waiting = 1;    // in its descriptor's list
    static constexpr unsigned char offloaded = 2;  // a file_job on the worker pool
    static constexpr unsigned char resubmitted = 3;  // waiting for the next submit_and_reap

    /// 1 if `op` is one of the waiting_ ops, else 0.
    static unsigned counted(const io_operation* op) noexcept {
        return op != nullptr && op->backend_state_ == waiting ? 1 : 0;
    }

    struct fd_state {
        op_list waiters[2];  // [0] readers, [1] writers
        bool registered = false;  // in the epoll set (EPOLLIN | EPOLLOUT | EPOLLRDHUP, edge-triggered)
        bool pollable = false;    // opened as a `file` but a FIFO, terminal, ...: read_at is a read
    };

    [[nodiscard]] bool on_pollable(const io_request& r) const noexcept {
        return (r.code == io_code::read_at || r.code == io_code::write_at) && r.fd >= 0 &&
               static_cast<std::size_t>(r.fd) < fds_.size() && fds_[static_cast<std::size_t>(r.fd)].pollable;
    }

    static int direction_of(io_code code) noexcept {
        return code == io_code::write || code == io_code::write_at || code == io_code::send ||
                       code == io_code::sendmsg || code == io_code::connect
                   ? 1
                   : 0;
    }

    /// 0, or the errno of fcntl(2) (EBADF for a closed descriptor).
    static int make_nonblocking(int fd) noexcept {
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0) return errno;
        if ((flags & O_NONBLOCK) == 0 && ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return errno;
        return 0;
    }

    fd_state& state_of(int fd) {
        if (static_cast<std::size_t>(fd) >= fds_.size()) fds_.resize(static_cast<std::size_t>(fd) + 1);
        return fds_[static_cast<std::size_t>(fd)];
    }

    /// @see connect(2): EINPROGRESS on a non-blocking socket, then writable with SO_ERROR set.
    void start_connect(io_operation& op) {
        const io_request& r = op.request;
        if (const int error = make_nonblocking(r.fd); error != 0) {
            op.complete(-error);
            return;
        }
        int rc;
        do {
            rc = ::connect(r.fd, r.address, r.address_size);
        } while (rc < 0 && errno == EINTR);
        if (rc == 0 || errno != EINPROGRESS) {
            op.complete(rc == 0 ? 0 : -errno);
            return;
        }
        wait(op, 1);
    }

    static int connect_result(int fd) noexcept {
        int error = 0;
        socklen_t size = sizeof error;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) return -errno;
        return -error;
    }

    /// Appends `op` to its descriptor's waiters (registering the descriptor first if needed).
    /// TRICKY: the descriptor is added edge-triggered right after the attempt that would block;
    /// epoll_ctl(ADD) reports a readiness that arrived in between, and a registered descriptor
    /// reports every later edge, so no wake-up is lost. Ops keep the descriptor number, not a
    /// pointer: fds_ may grow.
    void wait(io_operation& op, int direction) {
        fd_state& state = fds_[static_cast<std::size_t>(op.request.fd)];
        if (!state.registered) {
            epoll_event event{};
            event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
            event.data.fd = op.request.fd;
            if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, op.request.fd, &event) != 0 && errno != EEXIST) {
                op.complete(-errno);  // EBADF, EPERM (a regular file), ENOMEM, ENOSPC
                return;
            }
            state.registered = true;
        }
        op.backend_state_ = waiting;
        state.waiters[direction].push_back(op);
        ++waiting_;
    }

    void unlink(io_operation& op) noexcept {
        fd_state& state = fds_[static_cast<std::size_t>(op.request.fd)];
        state.waiters[direction_of(op.request.code)].remove(op);
        op.backend_state_ = 0;
        --waiting_;
    }

    void unlink_resubmitted(io_operation& op) noexcept {
        resubmitted_.remove(op);
        op.backend_state_ = 0;
    }

    /// Ops resubmitted since the last reap, in order. One that cannot even be started (no memory
    /// for a file job) completes with the error instead.
    void issue_resubmitted() noexcept {
        while (io_operation* op = resubmitted_.front()) {
            unlink_resubmitted(*op);
            try {
                submit(*op);
            } catch (const std::bad_alloc&) {
                op->complete(-ENOMEM);
            } catch (const std::system_error& failure) {
                op->complete(-failure.code().value());
            } catch (...) {
                op->complete(-EIO);
            }
        }
    }

    /// The descriptor became ready in `direction`: complete waiters in order until one would block.
    /// TRICKY: by index, never by reference: completing the inbox's read re-arms it (a submit, which
    /// may grow fds_); file_jobs (an open of a FIFO grows fds_ too) are delivered between turns.
    void retry(int fd, int direction) noexcept {
        while (io_operation* op = fds_[static_cast<std::size_t>(fd)].waiters[direction].front()) {
            const int result = op->request.code == io_code::connect ? connect_result(op->request.fd)
                                                                     : try_ready_request(op->request);
            if (result == -EAGAIN) return;
            unlink(*op);
            op->complete(result);
        }
    }

    int wait_for_events(std::chrono::nanoseconds timeout) {
        const int capacity = static_cast<int>(events_.size());
        int n;
        if (timeout > std::chrono::nanoseconds::zero() && use_pwait2_) {
            const auto ns = timeout.count();
            const timespec wait{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
            n = ::epoll_pwait2(epfd_, events_.data(), capacity, &wait, nullptr);
            if (n < 0 && (errno == ENOSYS || errno == EPERM)) {  // older kernel, or a filter
                use_pwait2_ = false;
                return wait_for_events(timeout);
            }
        } else {
            int ms = -1;
            if (timeout >= std::chrono::nanoseconds::zero()) {
                // Rounded up: waking before the deadline would only spin through another wait.
                ms = static_cast<int>(std::min<long long>((timeout.count() + 999'999) / 1'000'000, 1 << 30));
            }
            n = ::epoll_wait(epfd_, events_.data(), capacity, ms);
        }
        if (n < 0) {
            if (errno == EINTR) return 0;
            throw std::system_error(errno, std::system_category(), "sluice: epoll_wait");
        }
        return n;
    }

    void offload(io_operation& op) {
        pool_service& service = pool_service::of(event_loop::current());
        const std::shared_ptr<pool_core>& pool = service.default_pool();
        auto job = std::make_unique<file_job>(*this, op, pool, service.inbox());
        if (op.request.code == io_code::close) forget(op.request.fd);
        service.inbox()->expect();
        bool queued = false;
        try {
            queued = pool->enqueue(*job);
        } catch (...) {
            service.inbox()->withdraw();
            throw;
        }
        if (!queued) {  // cannot happen while the loop lives: its default pool stops with it
            service.inbox()->withdraw();
            op.complete(-ECANCELED);
            return;
        }
        op.backend_state_ = offloaded;
        op.backend_data_ = job.release();
        ++offloaded_;
    }

    /// The job is over (delivered, or withdrawn before it ran): the backend lets go of it.
    void finish_offloaded(file_job& job) noexcept {
        io_operation& op = job.op();
        op.backend_state_ = 0;
        op.backend_data_ = nullptr;
        --offloaded_;
        delete &job;
    }

    const int epfd_;
    std::vector<epoll_event> events_;
    std::vector<fd_state> fds_;  // indexed by descriptor
    std::size_t waiting_ = 0;    // ops in some descriptor's list
    std::size_t offloaded_ = 0;  // file ops on the worker pool
    op_list resubmitted_;        // see resubmit()
    bool use_pwait2_ = true;
};

void file_job::deliver() noexcept {
    inbox_->withdraw();
    io_operation& op = op_;
    const int result = result_;
    if (pollable_) {
        backend_.forget(result);  // a fresh descriptor: nothing stale may remain
        backend_.state_of(result).pollable = true;
    }
    backend_.finish_offloaded(*this);  // deletes this
    op.complete(result);
}

void file_job::discard() noexcept { backend_.finish_offloaded(*this); }

}  // namespace sluice::detail
