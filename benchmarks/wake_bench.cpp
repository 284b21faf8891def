// wake_bench: which cross-ring wake-up is cheaper between two io_uring loops on two threads, the
// eventfd that sluice uses (issue 13) or IORING_OP_MSG_RING? Raw liburing, no sluice, so it
// measures the mechanisms and nothing around them.
//
//   wake_bench eventfd N    ping-pong N round trips: each side writes the other's eventfd with
//                           write(2); each ring keeps a read armed on its own eventfd and sleeps in
//                           io_uring_submit_and_wait until that read completes (sluice's inbox)
//   wake_bench msg_ring N   the same, but each side posts a CQE straight into the other's ring with
//                           IORING_OP_MSG_RING (its own completion skipped: IOSQE_CQE_SKIP_SUCCESS)
//
// Prints a RESULT line with the ns per one-way wake-up (half a round trip). Exit status 1 when the
// kernel refuses the operation (msg_ring needs Linux 5.18, CQE_SKIP_SUCCESS 5.17).

#include <liburing.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

namespace {

constexpr std::uint64_t wake_tag = 0x5eed;

void check(int result, const char* what) {
    if (result < 0) throw std::system_error(-result, std::generic_category(), what);
}

io_uring_sqe* next_sqe(io_uring& ring) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (sqe == nullptr) throw std::runtime_error("submission queue full");
    return sqe;
}

/// One side: its own ring, and (eventfd mode) its own eventfd with an 8-byte read buffer.
struct side {
    io_uring ring{};
    int event = -1;
    std::uint64_t counter = 0;

    side() {
        check(io_uring_queue_init(64, &ring, 0), "io_uring_queue_init");
        event = eventfd(0, EFD_CLOEXEC);
        if (event < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
    }
    ~side() {
        close(event);
        io_uring_queue_exit(&ring);
    }
    side(const side&) = delete;
    side& operator=(const side&) = delete;

    void arm_read() {
        io_uring_sqe* sqe = next_sqe(ring);
        io_uring_prep_read(sqe, event, &counter, sizeof counter, 0);
        io_uring_sqe_set_data64(sqe, wake_tag);
    }

    /// Submits what is queued and sleeps until the wake-up's completion arrives.
    void wait_for_wake() {
        for (;;) {
            io_uring_cqe* cqe = nullptr;
            check(io_uring_submit_and_wait(&ring, 1), "io_uring_submit_and_wait");
            check(io_uring_peek_cqe(&ring, &cqe), "io_uring_peek_cqe");
            const std::uint64_t tag = io_uring_cqe_get_data64(cqe);
            const int result = cqe->res;
            io_uring_cqe_seen(&ring, cqe);
            check(result, "wake-up completion");
            if (tag == wake_tag) return;
        }
    }
};

void wake_by_eventfd(side& target) {
    const std::uint64_t one = 1;
    if (write(target.event, &one, sizeof one) != static_cast<ssize_t>(sizeof one)) {
        throw std::system_error(errno, std::generic_category(), "write(eventfd)");
    }
}

void wake_by_msg_ring(side& self, side& target) {
    io_uring_sqe* sqe = next_sqe(self.ring);
    io_uring_prep_msg_ring(sqe, target.ring.ring_fd, 0, wake_tag, 0);
    sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;
    // Submitted together with the wait that follows: one syscall per message, as for eventfd.
}

/// Ping-pong: `first` starts; each side wakes the other, then sleeps until woken.
void play(side& self, side& other, long long rounds, bool first, bool msg_ring) {
    for (long long i = 0; i < rounds; ++i) {
        if (!first || i > 0) {
            if (!msg_ring) self.arm_read();
            self.wait_for_wake();
        }
        if (msg_ring) {
            wake_by_msg_ring(self, other);
            check(io_uring_submit(&self.ring), "io_uring_submit");
        } else {
            wake_by_eventfd(other);
        }
    }
    if (first) {  // the last answer
        if (!msg_ring) self.arm_read();
        self.wait_for_wake();
    }
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || (std::strcmp(argv[1], "eventfd") != 0 && std::strcmp(argv[1], "msg_ring") != 0)) {
        std::fputs("usage: wake_bench eventfd|msg_ring N\n", stderr);
        return 2;
    }
    const bool msg_ring = std::strcmp(argv[1], "msg_ring") == 0;
    const long long rounds = std::atoll(argv[2]);
    if (rounds <= 0) {
        std::fputs("wake_bench: N must be positive\n", stderr);
        return 2;
    }
    try {
        side a;
        side b;
        std::atomic<bool> failed{false};
        const auto start = std::chrono::steady_clock::now();
        std::thread responder([&] {
            try {
                play(b, a, rounds, false, msg_ring);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "wake_bench: %s\n", e.what());
                failed = true;
                std::_Exit(1);  // the other side would wait for ever
            }
        });
        play(a, b, rounds, true, msg_ring);
        responder.join();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (failed) return 1;
        std::printf("RESULT peer=raw workload=wake mechanism=%s rounds=%lld wall_s=%.4f ns_per_wake=%.1f ok=1\n",
                    argv[1], rounds, seconds, seconds * 1e9 / static_cast<double>(2 * rounds));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "wake_bench: %s\n", e.what());
        return 1;
    }
    return 0;
}
