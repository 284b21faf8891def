#pragma once
// Sole ownership of a coroutine frame: moving transfers it, destruction destroys the frame
// wherever it is suspended. task, generator and async_generator hold their frame through this.

#include <coroutine>
#include <utility>

namespace sluice::detail {

template <class Promise>
class unique_coroutine {
public:
    unique_coroutine() noexcept = default;
    explicit unique_coroutine(std::coroutine_handle<Promise> handle) noexcept : handle_(handle) {}
    unique_coroutine(unique_coroutine&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
    unique_coroutine& operator=(unique_coroutine&& other) noexcept {
        if (this != &other) {
            reset();
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    ~unique_coroutine() { reset(); }

    [[nodiscard]] std::coroutine_handle<Promise> get() const noexcept { return handle_; }
    explicit operator bool() const noexcept { return static_cast<bool>(handle_); }
    [[nodiscard]] std::coroutine_handle<Promise> release() noexcept { return std::exchange(handle_, nullptr); }
    void reset() noexcept {
        if (handle_) std::exchange(handle_, nullptr).destroy();
    }

private:
    std::coroutine_handle<Promise> handle_ = nullptr;
};

}  // namespace sluice::detail
