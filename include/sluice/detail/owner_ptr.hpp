#pragma once
// The two owning pointers of the headers that every combinator includes (the loop, its ready queue,
// concurrency_limit): std::unique_ptr and std::shared_ptr reduced to what those headers use, so
// that they need no <memory> (issue #10: every includer pays for what a header includes).
//
// Why: with C++20, libstdc++'s unique_ptr brings <ostream> (its operator<<) and <tuple>, and
// <memory> the uninitialized-memory and ranges algorithms: about 0.2 s of g++ time in a file that
// includes only <sluice/as_completed.hpp>, a fifth of it, for three pointers and a shared state.
// Headers that already need <memory> for something else (the thread pool, the net layer) keep
// std::unique_ptr; the types here are for the path of task, the combinators and the loop.

#include <atomic>
#include <cstddef>
#include <type_traits>
#include <utility>

namespace sluice::detail {

/// Owns one heap object, as std::unique_ptr<T> with the default deleter: move-only, null after a
/// move, deletes its object (through T's virtual destructor when T is a base) when destroyed.
template <class T>
class owner_ptr {
public:
    owner_ptr() noexcept = default;
    owner_ptr(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): as unique_ptr's
    /// Takes ownership of `object` (from a new-expression, or null).
    explicit owner_ptr(T* object) noexcept : object_(object) {}
    owner_ptr(owner_ptr&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
    /// From an owner of a derived class (a backend for the loop's owner_ptr<io_backend>).
    template <class U>
        requires(!std::is_same_v<U, T> && std::is_convertible_v<U*, T*>)
    owner_ptr(owner_ptr<U>&& other) noexcept  // NOLINT(google-explicit-constructor): as unique_ptr's
        : object_(other.release()) {}
    owner_ptr& operator=(owner_ptr&& other) noexcept {
        owner_ptr(std::move(other)).swap(*this);
        return *this;
    }
    owner_ptr(const owner_ptr&) = delete;
    owner_ptr& operator=(const owner_ptr&) = delete;
    ~owner_ptr() { delete object_; }

    [[nodiscard]] T* get() const noexcept { return object_; }
    T& operator*() const noexcept { return *object_; }
    T* operator->() const noexcept { return object_; }
    explicit operator bool() const noexcept { return object_ != nullptr; }
    friend bool operator==(const owner_ptr& owner, std::nullptr_t) noexcept { return owner.object_ == nullptr; }

    /// Gives up ownership without deleting: the caller owns the object now.
    [[nodiscard]] T* release() noexcept { return std::exchange(object_, nullptr); }
    void swap(owner_ptr& other) noexcept { std::swap(object_, other.object_); }

private:
    T* object_ = nullptr;
};

/// std::make_unique for owner_ptr.
template <class T, class... Args>
[[nodiscard]] owner_ptr<T> make_owner(Args&&... args) {
    return owner_ptr<T>(new T(std::forward<Args>(args)...));
}

/// Shares one heap object among its copies, as std::shared_ptr<T> made by std::make_shared: the
/// object and its count live in one allocation, the last copy destroyed deletes both. The count is
/// atomic as shared_ptr's is, so copies may be dropped on several threads (the object itself is
/// no safer for that than with shared_ptr).
template <class T>
class shared_handle {
public:
    shared_handle() noexcept = default;
    shared_handle(std::nullptr_t) noexcept {}  // NOLINT(google-explicit-constructor): as shared_ptr's
    shared_handle(const shared_handle& other) noexcept : block_(other.block_) {
        if (block_ != nullptr) block_->owners.fetch_add(1, std::memory_order_relaxed);
    }
    shared_handle(shared_handle&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
    shared_handle& operator=(shared_handle other) noexcept {
        std::swap(block_, other.block_);
        return *this;
    }
    ~shared_handle() {
        // acq_rel: the last owner sees every other owner's writes to the object before deleting it.
        if (block_ != nullptr && block_->owners.fetch_sub(1, std::memory_order_acq_rel) == 1) delete block_;
    }

    [[nodiscard]] T* get() const noexcept { return block_ != nullptr ? &block_->object : nullptr; }
    T& operator*() const noexcept { return block_->object; }
    T* operator->() const noexcept { return &block_->object; }
    explicit operator bool() const noexcept { return block_ != nullptr; }
    friend bool operator==(const shared_handle& handle, std::nullptr_t) noexcept { return handle.block_ == nullptr; }

    template <class U, class... Args>
    friend shared_handle<U> make_shared_handle(Args&&... args);

private:
    struct block {
        template <class... Args>
        explicit block(Args&&... args) : object(std::forward<Args>(args)...) {}
        std::atomic<std::size_t> owners{1};
        T object;
    };
    explicit shared_handle(block* made) noexcept : block_(made) {}

    block* block_ = nullptr;
};

/// std::make_shared for shared_handle: one allocation for the object and its count.
template <class T, class... Args>
[[nodiscard]] shared_handle<T> make_shared_handle(Args&&... args) {
    return shared_handle<T>(new typename shared_handle<T>::block(std::forward<Args>(args)...));
}

}  // namespace sluice::detail
