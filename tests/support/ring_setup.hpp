#pragma once
// Fault injection for the io_uring backend's ring setup, and the CQ size it asks for: the ring is not
// public, so event_loop_test reaches these through here (a deliberate white-box test of how the
// loop starts on kernels and in containers that refuse or limit io_uring).

#include <sluice/event_loop.hpp>
#include <sluice/detail/uring_backend.hpp>

namespace sluice_test {

/// Replaces io_uring_setup for this thread for one scope: `fake` is called with the setup's
/// arguments instead, and may fail (-EPERM, -ENOSYS, ...) or set a real ring up.
class ring_setup_failure {
public:
    using setup_function = sluice::detail::ring_setup_function;

    explicit ring_setup_failure(setup_function fake) noexcept { sluice::detail::ring_setup_override = fake; }
    ring_setup_failure(const ring_setup_failure&) = delete;
    ring_setup_failure& operator=(const ring_setup_failure&) = delete;
    ~ring_setup_failure() { sluice::detail::ring_setup_override = nullptr; }

    /// Whether a fake is installed on this thread (none once every scope ended).
    [[nodiscard]] static bool installed() noexcept { return sluice::detail::ring_setup_override != nullptr; }
};

/// The completion-queue size the io_uring backend asks the kernel for, given these options.
[[nodiscard]] inline unsigned completion_entries_for(const sluice::ring_options& options) {
    return sluice::detail::uring_backend::completion_entries_for(options);
}

}  // namespace sluice_test
