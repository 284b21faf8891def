#pragma once
// The bounded engine's view of its source and its options: what a face may pass in (a range of
// awaitables, or an async generator of them), how it is stored, and how one pulled element becomes
// an item task.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "../async_generator.hpp"
#include "../task.hpp"
#include "awaitable_traits.hpp"
#include "../concurrency_limit.hpp"
#include "outcome.hpp"
#include "owner_ptr.hpp"

namespace sluice::detail {

/// How results are handed out and what an item error does. Built with designated initializers by
/// the faces: `engine_options{.limit = n, .window = n, .order = delivery_order::submission}`.
enum class delivery_order : std::uint8_t { completion, submission };
enum class error_mode : std::uint8_t { deliver, fail_fast };

struct engine_options {
    std::size_t limit = 1;   // items running at once
    std::size_t window = 1;  // items started and not yet handed out (>= limit; 0: the shared limit's value)
    delivery_order order = delivery_order::completion;
    error_mode errors = error_mode::deliver;  // fail_fast: the first error in time cancels the rest
    /// A concurrency_limit's state, shared with whatever else it limits: then items start while its
    /// in_flight() < limit() (`limit` above is unused), each counted in with a ticket, counted out
    /// with its outcome when it finishes.
    shared_handle<limit_state> shared_limit = nullptr;
};

inline constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

/// `limit` as the faces receive it: at least 1, or std::invalid_argument naming the caller.
inline std::size_t checked_limit(std::ptrdiff_t limit, const char* caller) {
    if (limit < 1) throw std::invalid_argument(std::string(caller) + ": limit must be at least 1");
    return static_cast<std::size_t>(limit);
}

/// The options of a face called with a number: `limit` running, as many started and not handed out.
inline engine_options limit_options(std::ptrdiff_t limit, const char* caller) {
    const std::size_t checked = checked_limit(limit, caller);
    return {.limit = checked, .window = checked};
}
/// The options of a face called with a concurrency_limit: its shared state decides, and the window
/// follows its current limit.
inline engine_options limit_options(const concurrency_limit& limit, const char* /*caller*/) {
    return {.limit = unlimited, .window = 0, .shared_limit = limit_access::state(limit)};
}

template <class S>
inline constexpr bool is_async_generator_v = false;
template <class T>
inline constexpr bool is_async_generator_v<async_generator<T>> = true;

template <class Range>
struct source_traits {
    using item_type = std::remove_cvref_t<range_rvalue_reference_t<Range>>;
    using position = iterator_t<Range>;  // where the next pull continues
};
template <class Item>
struct source_traits<async_generator<Item>> {
    using item_type = Item;
    using position = int;  // unused: an async generator keeps its own position
};

template <class S>
struct async_generator_item {};
template <class T>
struct async_generator_item<async_generator<T>> {
    using type = T;
};

/// A source the engine accepts: a range of awaitables, or an async generator of them.
template <class S>
concept engine_source =
    awaitable_range<S> || (is_async_generator_v<std::remove_cvref_t<S>> &&
                           awaitable<typename async_generator_item<std::remove_cvref_t<S>>::type>);

/// How a face keeps a source: by reference when it was given an lvalue, else by value.
template <class R>
using stored_source_t = stored_awaitable_t<R>;

/// Where results go when a face wants them in place (gather): each is written by its submission
/// index as its item finishes, the item's frame is freed at once, and no delivery queue or consumer
/// wake-up is paid per item. `put` may throw (allocation): the item then counts as failed.
template <class T>
class result_sink {
public:
    virtual void put(std::uint64_t index, outcome<T>& result) = 0;

protected:
    ~result_sink() = default;
};

/// The item task of a source that yielded a task no one may enter (empty, or already being awaited):
/// fails at that item like awaiting it would.
template <class T>
task<T> unenterable_item(const char* why) {
    co_await std::suspend_never{};
    throw std::logic_error(why);
}

/// One pulled element as an item task. A task passes through (the one way into it is the engine's
/// start, which checks it like task_awaiter does); any other awaitable is awaited by a wrapper.
template <class T, class Item>
task<T> make_item(Item&& item) {
    if constexpr (is_task_v<std::remove_cvref_t<Item>>) {
        // The source keeps such a task: it may belong to the coroutine that awaits it.
        if (const char* why = unenterable(item.handle())) return unenterable_item<T>(why);
    }
    return as_task(std::forward<Item>(item));
}

}  // namespace sluice::detail
