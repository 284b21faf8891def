#pragma once
// The io_uring backend: the one place sluice talks to io_uring. Each op's io_request becomes one
// SQE (taken only when the op gets a slot), its CQE completes it; the ring submits in batches,
// budgets the CQ, cancels with IORING_OP_ASYNC_CANCEL and reaps. See detail/io_backend.hpp.

#include <fcntl.h>
#include <liburing.h>

#include <cassert>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>
#include <system_error>

#include "io_backend.hpp"
#include "ring_memory.hpp"

namespace sluice::detail {

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
            "kernel.io_uring_disabled=0 (or add your group to kernel.io_uring_group), or let sluice use epoll "
            "there (event_loop_options::backend automatic, the default, falls back to it; or "
            "SLUICE_BACKEND=epoll)";
    } else if (error == ENOMEM) {
        what += ": the locked-memory limit (ulimit -l) is too small for the ring on this kernel; raise "
                "it or use smaller ring_options";
    }
    return std::system_error(error, std::system_category(), what);
}

/// Fills `sqe` from `request`. @see io_uring_prep_read(3) and its siblings named below.
inline void prepare_sqe(io_uring_sqe& sqe, const io_request& r) noexcept {
    switch (r.code) {
        case io_code::read:
            io_uring_prep_read(&sqe, r.fd, r.data, r.size, 0);
            break;
        case io_code::write:
            io_uring_prep_write(&sqe, r.fd, r.data, r.size, 0);
            break;
        case io_code::recv:
            io_uring_prep_recv(&sqe, r.fd, r.data, r.size, r.flags);
            break;
        case io_code::send:
            io_uring_prep_send(&sqe, r.fd, r.data, r.size, r.flags);
            break;
        case io_code::recvmsg:
            io_uring_prep_recvmsg(&sqe, r.fd, static_cast<msghdr*>(r.data), static_cast<unsigned>(r.flags));
            break;
        case io_code::sendmsg:
            io_uring_prep_sendmsg(&sqe, r.fd, static_cast<const msghdr*>(r.data), static_cast<unsigned>(r.flags));
            break;
        case io_code::accept:
            io_uring_prep_accept(&sqe, r.fd, nullptr, nullptr, r.flags);
            break;
        case io_code::connect:
            io_uring_prep_connect(&sqe, r.fd, r.address, r.address_size);
            break;
        case io_code::read_at:
            io_uring_prep_read(&sqe, r.fd, r.data, r.size, r.offset);
            break;
        case io_code::write_at:
            io_uring_prep_write(&sqe, r.fd, r.data, r.size, r.offset);
            break;
        case io_code::openat:
            io_uring_prep_openat(&sqe, AT_FDCWD, r.path, r.flags, r.mode);
            break;
        case io_code::fsync:
            io_uring_prep_fsync(&sqe, r.fd, r.flags == 1 ? IORING_FSYNC_DATASYNC : 0);
            break;
        case io_code::close:
            io_uring_prep_close(&sqe, r.fd);
            break;
        case io_code::renameat:
            io_uring_prep_renameat(&sqe, AT_FDCWD, r.path, AT_FDCWD, r.path2, 0);
            break;
    }
}

class uring_backend final : public io_backend {
public:
    /// The CQ size actually requested: at least one that gives a budget of two ops (one for the
    /// loop's wake-up read, one for the rest; a CQ of 2, which the kernel accepts, would give none:
    /// every op would wait for a slot forever), and
    /// never below the SQ size (the kernel refuses that with a bare EINVAL).
    [[nodiscard]] static unsigned completion_entries_for(const ring_options& options) {
        if (options.submission_entries == 0) {
            throw std::invalid_argument("sluice: ring_options::submission_entries must be at least 1");
        }
        unsigned entries = options.completion_entries < min_completion_entries ? min_completion_entries
                                                                               : options.completion_entries;
        return entries < options.submission_entries ? options.submission_entries : entries;
    }

    explicit uring_backend(const ring_options& options) {
        const unsigned completion_entries = completion_entries_for(options);
        // Flag sets from most to least preferred; EINVAL means "this kernel does not know a flag".
        const unsigned defer = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        const unsigned coop = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
        const unsigned candidates[] = {options.defer_taskrun ? defer : coop, coop, IORING_SETUP_COOP_TASKRUN, 0};
        int error = EINVAL;
        for (unsigned flags : candidates) {
            io_uring_params params{};
            params.flags = flags | IORING_SETUP_CQSIZE;
            params.cq_entries = completion_entries;
            const int rc = ring_setup_override ? ring_setup_override(options.submission_entries, &ring_, &params)
                                               : io_uring_queue_init_params(options.submission_entries, &ring_, &params);
            if (rc == 0) {
                ring_mapped();
                flags_ = params.flags;
                // Half the CQ for ops, half for the ASYNC_CANCELs that may target each of them, one
                // CQE for liburing's internal wait timeout on kernels without IORING_FEAT_EXT_ARG:
                // the CQ can never overflow.
                budget_ = (params.cq_entries - 1) / 2;
                assert(budget_ >= 2);
                return;
            }
            error = -rc;
            if (error != EINVAL) break;
        }
        throw ring_setup_error(error);
    }
    ~uring_backend() override {
        ring_unmapped();
        io_uring_queue_exit(&ring_);
    }

    [[nodiscard]] backend kind() const noexcept override { return backend::io_uring; }

    [[nodiscard]] unsigned setup_flags() const noexcept { return flags_; }
    /// No op handed to the kernel (or waiting for a slot) whose CQE has not arrived yet, apart from
    /// `background` if it is one of those in the kernel.
    [[nodiscard]] bool idle(const io_operation* background) const noexcept override {
        return in_flight_ <= counted(background) && pending_.empty();
    }
    /// Something to submit or to reap, apart from `background` in the kernel: the loop's busy
    /// turns skip the ring entirely otherwise.
    /// The background op's own SQE, when it is the only one prepared, is no work either: it is the
    /// loop's wake-up read re-armed after a wake-up, and entering the kernel for it alone cost a
    /// second io_uring_enter per cross-loop message (a ping-pong: one to re-arm on the busy turn,
    /// one to sleep). It goes in with the next enter; a post meanwhile is seen by has_posts(), and
    /// its eventfd write completes the read at once when it is submitted.
    [[nodiscard]] bool has_work(const io_operation* background) const noexcept override {
        const unsigned background_sqe = unsubmitted_ == 1 && first_unsubmitted_ == background ? 1 : 0;
        return in_flight_ > counted(background) || unsubmitted_ > background_sqe ||
               (!pending_.empty() && in_flight_ < budget_);
    }
    /// Ops the kernel may hold at once (half the CQ, see the constructor).
    [[nodiscard]] unsigned budget() const noexcept { return budget_; }

    /// Takes an SQE now if the CQ budget allows; otherwise queues the op until a CQE frees a slot.
    void submit(io_operation& op) override {
        if (in_flight_ < budget_ && pending_.empty()) {
            issue(op);
        } else {
            append_pending(op);
        }
    }

    /// Submits `op` again from its own complete() (a transient -EINTR/-EAGAIN): it joins the pending
    /// queue, issued at the end of this reap or at the next submit_and_reap (no syscall here, so it
    /// cannot fail while the CQ is being drained).
    void resubmit(io_operation& op) noexcept override { append_pending(op); }

    /// Asks the kernel to cancel `target` (IORING_OP_ASYNC_CANCEL, see io_uring_prep_cancel(3)).
    /// The target still completes through its own CQE (with -ECANCELED, or its real result if it won
    /// the race); the caller resumes only then, so the target's buffers stay valid until the kernel
    /// is done with them. An op still waiting for a slot never reached the kernel: it is unlinked and
    /// completed with -ECANCELED at once (scheduled, not resumed).
    void cancel(io_operation& target) override {
        if (target.backend_state_ == pending) {
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

    /// One io_uring_enter: submits the prepared SQEs and waits as `timeout` says (the earliest
    /// timer's deadline: no SQE per sleep). Completions are all recorded before the CQ head moves,
    /// and none resumes a coroutine (they only schedule).
    void submit_and_reap(std::chrono::nanoseconds timeout) override {
        issue_pending();  // ops resubmitted since the last reap
        int rc;
        unsubmitted_ = 0;  // io_uring_enter takes them all (or fails loudly below)
        if (timeout == std::chrono::nanoseconds::zero()) {
            rc = io_uring_submit_and_get_events(&ring_);
        } else if (timeout > std::chrono::nanoseconds::zero()) {
            const auto ns = timeout.count();
            __kernel_timespec wait{ns / 1'000'000'000, ns % 1'000'000'000};
            io_uring_cqe* cqe = nullptr;
            rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &wait, nullptr);
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
    // Budget (8 - 1) / 2 = 3. At least 2 are needed: the loop's wake-up read (detail/remote_inbox.hpp)
    // stays in the kernel for the loop's whole life and holds one slot; with a budget of 1 every
    // other op would wait for a slot forever. 8, not 5: the kernel rounds the CQ up to a power of 2.
    static constexpr unsigned min_completion_entries = 8;
    static constexpr std::uint64_t cancel_tag = 1;  // never a valid io_operation address
    static constexpr unsigned char pending = 1;     // backend_state_: waiting for a CQ slot
    static constexpr unsigned char issued = 2;      // backend_state_: has an SQE, counted in in_flight_

    /// 1 if `op` is one of the in_flight_ ops, else 0.
    static unsigned counted(const io_operation* op) noexcept {
        return op != nullptr && op->backend_state_ == issued ? 1 : 0;
    }

    io_uring_sqe* take_sqe() {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        while (sqe == nullptr) {  // SQ full: hand the batch to the kernel to make room
            const int rc = io_uring_submit(&ring_);
            if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
                throw std::system_error(-rc, std::system_category(), "sluice: io_uring_submit");
            }
            sqe = io_uring_get_sqe(&ring_);
        }
        if (++unsubmitted_ == 1) first_unsubmitted_ = nullptr;  // issue() names its op
        return sqe;
    }

    void issue(io_operation& op) {
        io_uring_sqe* sqe = take_sqe();
        if (unsubmitted_ == 1) first_unsubmitted_ = &op;
        prepare_sqe(*sqe, op.request);
        io_uring_sqe_set_data(sqe, &op);
        op.backend_state_ = issued;
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
            auto* op = reinterpret_cast<io_operation*>(data);
            op->backend_state_ = 0;
            op->complete(cqe->res);
        }
        io_uring_cq_advance(&ring_, seen);
    }

    void issue_pending() {
        while (!pending_.empty() && in_flight_ < budget_) {
            io_operation& op = *pending_.front();
            unlink_pending(op);
            issue(op);
        }
    }

    void append_pending(io_operation& op) noexcept {
        op.backend_state_ = pending;
        pending_.push_back(op);
    }
    void unlink_pending(io_operation& op) noexcept {
        pending_.remove(op);
        op.backend_state_ = 0;
    }

    io_uring ring_{};
    unsigned flags_ = 0;
    unsigned budget_ = 0;
    unsigned in_flight_ = 0;
    unsigned unsubmitted_ = 0;  // SQEs prepared since the last io_uring_enter
    const io_operation* first_unsubmitted_ = nullptr;  // the op of the first of them (has_work)
    intrusive_list<io_operation, &io_operation::links_> pending_;  // waiting for a ring slot
};

}  // namespace sluice::detail
