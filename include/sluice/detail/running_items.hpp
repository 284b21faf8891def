#pragma once
// The bounded engine's item pool: the items running now, as a dense array of their handles. Each
// item's promise records its position (engine_item_state::position), so adding and removing are
// O(1) (swap with the last) and a stop walks `limit` handles, not a list of slots. The array holds
// at most `limit` entries; it grows with the number running at once, never with the source.

#include <coroutine>
#include <cstdint>
#include <vector>

#include "task.hpp"

namespace sluice::detail {

template <class T>
class running_items {
public:
    using handle_type = std::coroutine_handle<task_promise<T>>;

    [[gnu::always_inline]] void add(handle_type item) {
        if (items_.size() == items_.capacity()) grow();
        item.promise().item.position = static_cast<std::uint32_t>(items_.size());
        items_.push_back(item);
    }
    [[gnu::always_inline]] void remove(handle_type item) noexcept {
        const std::uint32_t at = item.promise().item.position;
        handle_type last = items_.back();
        items_[at] = last;
        last.promise().item.position = at;
        items_.pop_back();
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }

    /// Requests cancellation of every running item (each is scheduled, none runs here).
    void cancel_all() noexcept {
        for (handle_type item : items_) item.promise().item.context.request_cancel();
    }

private:
    [[gnu::noinline]] void grow() { items_.reserve(items_.empty() ? 64 : items_.size() * 2); }

    std::vector<handle_type> items_;
};

}  // namespace sluice::detail
