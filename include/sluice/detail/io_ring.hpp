#pragma once
// The one place sluice talks to io_uring. Everything above it sees a narrow interface: an
// `io_operation` prepares its SQE and is completed from its CQE; the ring submits, budgets, cancels
// and reaps. A second backend (epoll) would re-implement this file and nothing else.

#include <liburing.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <system_error>

namespace sluice::detail {

/// An asynchronous kernel operation living in a suspended coroutine frame.
class io_operation {
public:
    /// Fill the SQE (user_data is set by the ring). Called at most once, when the op gets a slot.
    virtual void prepare(io_uring_sqe& sqe) noexcept = 0;
    /// The op's CQE arrived. Record the result and schedule the waiter; never resume inline (the
    /// ring is still draining the completion queue).
    virtual void complete(int result) noexcept = 0;

protected:
    ~io_operation() = default;

private:
    friend class io_ring;
    io_operation* pending_prev_ = nullptr;  // intrusive list of ops waiting for a CQ slot
    io_operation* pending_next_ = nullptr;
    bool pending_ = false;
};

/// How the ring is created; the defaults were chosen by measurement (see benchmarks/README.md).
struct ring_options {
    unsigned submission_entries = 256;
    /// Bounds the ops in the kernel at once (half of it: see the budget in io_ring).
    unsigned completion_entries = 16384;
    /// Try IORING_SETUP_DEFER_TASKRUN (with SINGLE_ISSUER); falls back when the kernel refuses.
    bool defer_taskrun = false;
    /// Not the ring's: threads of the loop's default `to_thread` pool, created on first use; 0 means
    /// std::thread::hardware_concurrency() (at least 1).
    unsigned worker_threads = 0;
};

/// Replaced by tests to inject io_uring_setup failures (EPERM, ENOSYS).
using ring_setup_function = int (*)(unsigned entries, io_uring* ring, io_uring_params* params);
inline thread_local ring_setup_function ring_setup_override = nullptr;

inline std::system_error ring_setup_error(int error) {
    std::string what = "sluice: cannot create an io_uring instance (io_uring_setup: ";
    what += std::strerror(error);
    what += ")";
    if (error == EPERM || error == ENOSYS || error == EACCES) {
        what +=
            ": io_uring is blocked here, most likely by a container seccomp profile (Docker's and "
            "Podman's default profiles deny io_uring_setup) or by the sysctl kernel.io_uring_disabled "
            "(1 or 2). Remedy: run with a seccomp profile that allows io_uring_setup/io_uring_enter/"
            "io_uring_register (e.g. docker run --security-opt seccomp=unconfined), or set "
            "kernel.io_uring_disabled=0 (or add your group to kernel.io_uring_group)";
    } else if (error == ENOMEM) {
        what += ": the locked-memory limit (ulimit -l) is too small for the ring on this kernel; raise "
                "it or use smaller ring_options";
    }
    return std::system_error(error, std::system_category(), what);
}

class io_ring {
public:
    explicit io_ring(const ring_options& options) {
        // Flag sets from most to least preferred; EINVAL means "this kernel does not know a flag".
        const unsigned defer = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        const unsigned coop = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
        const unsigned candidates[] = {options.defer_taskrun ? defer : coop, coop, IORING_SETUP_COOP_TASKRUN, 0};
        int error = EINVAL;
        for (unsigned flags : candidates) {
            io_uring_params params{};
            params.flags = flags | IORING_SETUP_CQSIZE;
            params.cq_entries = options.completion_entries;
            const int rc = ring_setup_override ? ring_setup_override(options.submission_entries, &ring_, &params)
                                               : io_uring_queue_init_params(options.submission_entries, &ring_, &params);
            if (rc == 0) {
                flags_ = params.flags;
                // Half the CQ for ops, half for the ASYNC_CANCELs that may target each of them, one
                // CQE for liburing's internal wait timeout on kernels without IORING_FEAT_EXT_ARG:
                // the CQ can never overflow.
                budget_ = (params.cq_entries - 1) / 2;
                return;
            }
            error = -rc;
            if (error != EINVAL) break;
        }
        throw ring_setup_error(error);
    }
    io_ring(const io_ring&) = delete;
    io_ring& operator=(const io_ring&) = delete;
    ~io_ring() { io_uring_queue_exit(&ring_); }

    [[nodiscard]] unsigned setup_flags() const noexcept { return flags_; }
    /// No op handed to the kernel (or waiting for a slot) whose CQE has not arrived yet, apart from
    /// `ignored` in-flight ones (the loop's wake-up read when nobody can complete it).
    [[nodiscard]] bool idle(unsigned ignored = 0) const noexcept {
        return in_flight_ <= ignored && pending_head_ == nullptr;
    }
    /// Something to submit or to reap, apart from `ignored` in-flight ops: the loop's busy turns
    /// skip the ring entirely otherwise.
    [[nodiscard]] bool has_work(unsigned ignored = 0) const noexcept {
        return in_flight_ > ignored || unsubmitted_ != 0;
    }

    /// Takes an SQE now if the CQ budget allows; otherwise queues the op until a CQE frees a slot.
    void submit(io_operation& op) {
        if (in_flight_ < budget_ && pending_head_ == nullptr) {
            issue(op);
        } else {
            append_pending(op);
        }
    }

    /// Asks the kernel to cancel `target` (IORING_OP_ASYNC_CANCEL, see io_uring_prep_cancel(3)).
    /// The target still completes through its own CQE (with -ECANCELED, or its real result if it won
    /// the race); the caller resumes only then, so the target's buffers stay valid until the kernel
    /// is done with them. An op still waiting for a slot never reached the kernel: it is unlinked and
    /// completed with -ECANCELED at once (scheduled, not resumed).
    void cancel(io_operation& target) {
        if (target.pending_) {
            unlink_pending(target);
            target.complete(-ECANCELED);
            return;
        }
        // The cancel's own CQE carries no pointer (cancel_tag), so it can arrive after the target's
        // frame is gone without harm; it only returns its slot to the budget.
        io_uring_sqe* sqe = take_sqe();
        io_uring_prep_cancel64(sqe, reinterpret_cast<std::uint64_t>(&target), 0);
        io_uring_sqe_set_data64(sqe, cancel_tag);
        ++in_flight_;
    }

    /// Submits what was prepared and reaps completions. `timeout` null: wait for at least one CQE;
    /// zero: do not wait; otherwise wait at most that long. Completions are all recorded before the
    /// CQ head moves, and none resumes a coroutine (they only schedule).
    void submit_and_reap(const __kernel_timespec* timeout, bool wait) {
        int rc;
        unsubmitted_ = 0;  // io_uring_enter takes them all (or fails loudly below)
        if (!wait) {
            rc = io_uring_submit_and_get_events(&ring_);
        } else if (timeout != nullptr) {
            io_uring_cqe* cqe = nullptr;
            rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, const_cast<__kernel_timespec*>(timeout), nullptr);
        } else {
            rc = io_uring_submit_and_wait(&ring_, 1);
        }
        if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
            throw std::system_error(-rc, std::system_category(), "sluice: io_uring_enter");
        }
        reap();
        issue_pending();
    }

private:
    static constexpr std::uint64_t cancel_tag = 1;  // never a valid io_operation address

    io_uring_sqe* take_sqe() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        while (sqe == nullptr) {  // SQ full: hand the batch to the kernel to make room
            const int rc = io_uring_submit(&ring_);
            if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
                throw std::system_error(-rc, std::system_category(), "sluice: io_uring_submit");
            }
            sqe = io_uring_get_sqe(&ring_);
        }
        ++unsubmitted_;
        return sqe;
    }

    void issue(io_operation& op) {
        io_uring_sqe* sqe = take_sqe();
        op.prepare(*sqe);
        io_uring_sqe_set_data(sqe, &op);
        ++in_flight_;
    }

    void reap() noexcept {
        unsigned head;
        unsigned seen = 0;
        io_uring_cqe* cqe;
        io_uring_for_each_cqe(&ring_, head, cqe) {
            ++seen;
            const std::uint64_t data = cqe->user_data;
            if (data == LIBURING_UDATA_TIMEOUT) continue;  // liburing's own wait timeout (old kernels)
            --in_flight_;
            if (data == cancel_tag) continue;
            reinterpret_cast<io_operation*>(data)->complete(cqe->res);
        }
        io_uring_cq_advance(&ring_, seen);
    }

    void issue_pending() {
        while (pending_head_ != nullptr && in_flight_ < budget_) {
            io_operation& op = *pending_head_;
            unlink_pending(op);
            issue(op);
        }
    }

    void append_pending(io_operation& op) noexcept {
        op.pending_ = true;
        op.pending_prev_ = pending_tail_;
        op.pending_next_ = nullptr;
        (pending_tail_ ? pending_tail_->pending_next_ : pending_head_) = &op;
        pending_tail_ = &op;
    }
    void unlink_pending(io_operation& op) noexcept {
        (op.pending_prev_ ? op.pending_prev_->pending_next_ : pending_head_) = op.pending_next_;
        (op.pending_next_ ? op.pending_next_->pending_prev_ : pending_tail_) = op.pending_prev_;
        op.pending_ = false;
        op.pending_prev_ = op.pending_next_ = nullptr;
    }

    io_uring ring_{};
    unsigned flags_ = 0;
    unsigned budget_ = 0;
    unsigned in_flight_ = 0;
    unsigned unsubmitted_ = 0;  // SQEs prepared since the last io_uring_enter
    io_operation* pending_head_ = nullptr;
    io_operation* pending_tail_ = nullptr;
};

}  // namespace sluice::detail
