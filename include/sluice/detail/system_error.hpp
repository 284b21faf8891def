#pragma once
// The std::system_error every failed system call or io_uring op in sluice turns into, with a
// message that names what failed, the way Python's OSError and Go's *PathError do:
//
//     open /x/y: No such file or directory
//     connect 127.0.0.1:9: Connection refused
//     bind 127.0.0.1:80: Permission denied
//
// i.e. "<operation> <subject>: <strerror>". The code stays the kernel's errno in
// std::system_category (or the caller's category, e.g. getaddrinfo's), so callers still compare
// `code()` with std::errc values; only what() gains the subject. Every backend and every socket or
// file operation builds its errors here, so they all read alike.

#include <cerrno>
#include <concepts>
#include <coroutine>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace sluice::detail {

/// "<operation> <subject>" (just the operation when `subject` is empty): the prefix of what().
[[nodiscard]] inline std::string failure_context(std::string_view operation, std::string_view subject) {
    std::string context(operation);
    if (!subject.empty()) {
        context += ' ';
        context.append(subject);
    }
    return context;
}

/// A std::system_error whose what() reads "<operation> <subject>: <message of code>".
[[nodiscard]] inline std::system_error os_error(std::error_code code, std::string_view operation,
                                                std::string_view subject = {}) {
    return std::system_error(code, failure_context(operation, subject));
}
/// The same for an errno value (std::system_category).
[[nodiscard]] inline std::system_error os_error(int error, std::string_view operation,
                                                std::string_view subject = {}) {
    return os_error(std::error_code(error, std::system_category()), operation, subject);
}

/// Throws os_error(errno, operation, subject): call it right after the failed system call, with
/// a subject that already exists (building one could change errno first; see the overload below).
[[noreturn]] inline void throw_errno(std::string_view operation, std::string_view subject = {}) {
    throw os_error(errno, operation, subject);
}
/// The same with a subject computed only after errno was read:
/// `throw_errno("bind", [&] { return local.to_string(); })`.
template <std::invocable Subject>
[[noreturn]] void throw_errno(std::string_view operation, Subject subject) {
    const int error = errno;
    throw os_error(error, operation, subject());
}

/// Awaits `inner` and, if it throws std::system_error, throws os_error(that code, operation,
/// subject()) instead; everything else (the result, cancelled_error, any other exception) passes
/// through. `subject` is called only on failure, so the success path builds no string. Built by
/// `naming_failure`.
///
/// TRICKY: `inner` is a member, so the operation object the ring points at lives exactly as long as
/// the awaiter did before (in the awaiting coroutine's frame, until await_resume); await_suspend
/// hands the awaiting coroutine's own handle on, so the cancellation registration sees the same
/// promise as without the wrapper.
template <class Inner, class Subject>
class failure_naming_awaitable {
public:
    failure_naming_awaitable(Inner inner, std::string_view operation, Subject subject)
        : inner_(std::move(inner)), operation_(operation), subject_(std::move(subject)) {}

    [[nodiscard]] bool await_ready() { return inner_.await_ready(); }
    template <class Promise>
    auto await_suspend(std::coroutine_handle<Promise> waiter) {
        return inner_.await_suspend(waiter);
    }
    decltype(auto) await_resume() {
        try {
            return inner_.await_resume();
        } catch (const std::system_error& failure) {
            throw os_error(failure.code(), operation_, subject_());
        }
    }

private:
    Inner inner_;
    std::string_view operation_;
    Subject subject_;
};

/// `co_await naming_failure(op, "open", [&] { return path.native(); })`: `op`'s result, or its
/// std::system_error renamed "open <path>: <message>". `operation` must be a literal (or outlive
/// the await); `subject` yields something a std::string_view can view.
template <class Inner, class Subject>
[[nodiscard]] failure_naming_awaitable<Inner, Subject> naming_failure(Inner inner, std::string_view operation,
                                                                      Subject subject) {
    return failure_naming_awaitable<Inner, Subject>(std::move(inner), operation, std::move(subject));
}

}  // namespace sluice::detail
