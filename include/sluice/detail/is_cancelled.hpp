#pragma once
// Telling a cancellation from a failure, for the constructs that consume their own cancels
// (task_group, timeout scopes, wait_for).

#include <exception>

#include "../cancellation.hpp"

namespace sluice::detail {

/// True when `error` is a cancellation (which is never a failure of a group member).
[[nodiscard]] inline bool is_cancelled_error(const std::exception_ptr& error) noexcept {
    try {
        std::rethrow_exception(error);
    } catch (const cancelled_error&) {
        return true;
    } catch (...) {
        return false;
    }
}

}  // namespace sluice::detail
