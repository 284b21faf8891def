#pragma once
// Fault injection for tests: a hook every io operation goes through, whatever the backend, at the
// two points where the kernel could have answered differently than it did.
//
//  - instead of handing an op to the backend, complete it with an error the kernel may return
//    before doing anything (-EINTR, -EAGAIN: sluice must retry them transparently; -ENOMEM: the
//    caller must get a clean std::system_error);
//  - shorten a read or write before it is issued: a genuinely short transfer, which every looping
//    operation must continue;
//  - see (and replace) the result a completion delivers, e.g. to request a cancel at that very
//    moment (a cancel racing a real result).
//
// No injector is installed by default; the cost is one thread-local load per operation. Tests
// install one with `io_fault_scope` (see tests/support/faults.hpp for the seeded random one).

namespace sluice::detail {

/// What a test overrides; each default leaves the operation alone. Never called re-entrantly.
class io_fault_injector {
public:
    /// Before the op named `what` (e.g. "read") is handed to the backend: 0 submits it; a
    /// negative errno completes it with that result instead, without submitting it. `retryable`
    /// says whether sluice resubmits the op on -EINTR/-EAGAIN (close does not: see close_fd).
    virtual int before_submit(const char* what, bool retryable) noexcept {
        (void)what;
        (void)retryable;
        return 0;
    }
    /// A read/write/send/recv of `length` bytes (> 1) is about to be issued: the length to issue
    /// instead, in [1, length].
    virtual unsigned transfer_length(const char* what, unsigned length) noexcept {
        (void)what;
        return length;
    }
    /// The op's result as the backend delivered it: the result the op completes with.
    virtual int on_complete(const char* what, int result) noexcept {
        (void)what;
        return result;
    }

protected:
    ~io_fault_injector() = default;
};

/// The injector of this thread's io operations; null (the default) injects nothing.
inline thread_local io_fault_injector* io_faults = nullptr;

/// Installs `injector` for this thread for the scope's lifetime (restoring the previous one).
class io_fault_scope {
public:
    explicit io_fault_scope(io_fault_injector& injector) noexcept : previous_(io_faults) { io_faults = &injector; }
    io_fault_scope(const io_fault_scope&) = delete;
    io_fault_scope& operator=(const io_fault_scope&) = delete;
    ~io_fault_scope() { io_faults = previous_; }

private:
    io_fault_injector* previous_;
};

}  // namespace sluice::detail
