#pragma once
/// sluice/generator.hpp: `generator<T>`, a synchronous lazy generator (a stand-in for C++23
/// `std::generator`; Python: a plain `def` with `yield`).
///
/// - Lazy: creating a generator runs nothing; `begin()` runs the body up to its first `co_yield`,
///   `++it` up to the next one. The body may not `co_await` (use `async_generator` for that).
/// - A `std::ranges::input_range` and a `std::ranges::view`: it composes with `std::views::take`,
///   `std::views::transform`, ... and can be a source of the bounded-concurrency engine
///   (`generator<task<int>>`).
/// - Each `co_yield v` moves `v` into the generator (an lvalue of a copyable T is copied); `*it` is a
///   `T&` to that element, valid until the next `++it`, so `std::move(*it)` takes it. Move-only T
///   (`std::unique_ptr`, `task<int>`) works.
/// - An exception that escapes the body is rethrown from the `begin()` or `++it` that ran it; the
///   generator is then at its end.
/// - Move-only. Destroying it mid-iteration destroys the suspended body: its locals' destructors run.
/// - `begin()` may be called once; a second call throws `std::logic_error`. An empty
///   (default-constructed or moved-from) generator is an empty range.

#include <coroutine>
#include <iterator>
#include <type_traits>
#include <utility>

#include "detail/std_ranges_base.hpp"
#include "detail/unique_coroutine.hpp"
#include "detail/generator.hpp"

namespace sluice {

template <class T>
class [[nodiscard]] generator : public std::ranges::view_base {
    static_assert(std::is_object_v<T> && !std::is_array_v<T> && std::is_same_v<T, std::remove_cv_t<T>>,
                  "sluice::generator<T>: T must be a cv-unqualified, non-array object type");

public:
    using promise_type = detail::generator_promise<T>;
    using iterator = detail::generator_iterator<T>;

    /// An empty generator (an empty range).
    generator() noexcept = default;
    explicit generator(std::coroutine_handle<promise_type> handle) noexcept : frame_(handle) {}
    generator(generator&&) noexcept = default;
    generator& operator=(generator&&) noexcept = default;
    /// Destroys the body wherever it is suspended (its locals' destructors run).
    ~generator() = default;

    /// Starts the body and runs it to its first `co_yield`; rethrows what escaped it. Call once.
    [[nodiscard]] iterator begin() {
        if (!frame_.get())
            return iterator();
        frame_.get().promise().mark_started();
        frame_.get().promise().advance(frame_.get());
        return iterator(frame_.get());
    }
    /// The end of the range: the body has finished (returned or thrown).
    [[nodiscard]] std::default_sentinel_t end() const noexcept { return std::default_sentinel; }

private:
    detail::unique_coroutine<promise_type> frame_;
};

template <class T>
generator<T> detail::generator_promise<T>::get_return_object() noexcept {
    return generator<T>(std::coroutine_handle<generator_promise<T>>::from_promise(*this));
}

}  // namespace sluice
