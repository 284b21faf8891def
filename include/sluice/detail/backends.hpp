#pragma once
// Which backend a new loop gets: the explicit choice in event_loop_options,
// else SLUICE_BACKEND, else io_uring with a silent fall-back to epoll when io_uring_setup is refused
// (EPERM, ENOSYS, EACCES: seccomp, kernel.io_uring_disabled). Only this file and sluice/event_loop.hpp
// (which creates loops) see both backends.

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "../backend.hpp"
#include "epoll_backend.hpp"
#include "io_backend.hpp"
#include "owner_ptr.hpp"
#include "uring_backend.hpp"

namespace sluice::detail {

/// The choice before falling back: `options.backend` unless automatic, else SLUICE_BACKEND.
/// std::invalid_argument for an unknown SLUICE_BACKEND value.
[[nodiscard]] inline backend requested_backend(const event_loop_options& options) {
    if (options.backend != backend::automatic) return options.backend;
    const char* variable = std::getenv("SLUICE_BACKEND");
    if (variable == nullptr || *variable == '\0') return backend::automatic;
    const std::string_view value(variable);
    for (backend candidate : {backend::io_uring, backend::epoll, backend::automatic}) {
        if (value == to_string(candidate)) return candidate;
    }
    throw std::invalid_argument("sluice: SLUICE_BACKEND=" + std::string(value) +
                                ": expected io_uring, epoll or automatic");
}

/// io_uring_setup errors that mean "io_uring is blocked here", not "this ring cannot be made".
[[nodiscard]] constexpr bool io_uring_blocked(int error) noexcept {
    return error == EPERM || error == ENOSYS || error == EACCES;
}

/// The backend for a new loop with `options`.
[[nodiscard]] inline owner_ptr<io_backend> make_backend(const event_loop_options& options) {
    switch (requested_backend(options)) {
        case backend::io_uring:
            return make_owner<uring_backend>(options.ring);  // blocked: the clear system_error
        case backend::epoll:
            return make_owner<epoll_backend>();
        case backend::automatic:
            break;
    }
    try {
        return make_owner<uring_backend>(options.ring);
    } catch (const std::system_error& failure) {
        if (failure.code().category() != std::system_category() || !io_uring_blocked(failure.code().value())) throw;
    }
    return make_owner<epoll_backend>();  // silently: the deployment chose to block io_uring
}

}  // namespace sluice::detail
