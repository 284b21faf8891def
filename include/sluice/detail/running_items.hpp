#pragma once
// The bounded engine's item pool: the items running now, as a dense array of their handles. Each
// item's promise records its position (engine_item_state::position), so adding and removing are
// O(1) (swap with the last) and a stop walks `limit` handles, not a list of slots. The array holds
// at most `limit` entries; it grows with the number running at once, never with the source.
// Under a shared concurrency_limit each entry also keeps the item's limit ticket, beside its handle.

#include <coroutine>
#include <cstdint>
#include <vector>

#include "concurrency_limit.hpp"
#include "task.hpp"

namespace sluice::detail {

template <class T>
class running_items {
public:
    using handle_type = std::coroutine_handle<task_promise<T>>;

    /// Entries keep a limit ticket each (set once, before the first add).
    void keep_tickets() noexcept { with_tickets_ = true; }

    [[gnu::always_inline]] void add(handle_type item) {
        if (items_.size() == items_.capacity()) grow();
        item.promise().item.position = static_cast<std::uint32_t>(items_.size());
        items_.push_back(item);
        if (with_tickets_) [[unlikely]] tickets_.emplace_back();  // grow() reserved room: cannot throw
    }
    /// The ticket kept for a running `item` (with keep_tickets()).
    [[nodiscard]] limit_ticket& ticket_of(handle_type item) noexcept { return tickets_[item.promise().item.position]; }
    [[gnu::always_inline]] void remove(handle_type item) noexcept {
        const std::uint32_t at = item.promise().item.position;
        handle_type last = items_.back();
        items_[at] = last;
        last.promise().item.position = at;
        items_.pop_back();
        if (with_tickets_) [[unlikely]] remove_ticket(at);
    }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size(); }
    [[nodiscard]] bool empty() const noexcept { return items_.empty(); }

    /// Requests cancellation of every running item (each is scheduled, none runs here).
    void cancel_all() noexcept {
        for (handle_type item : items_) item.promise().context()->request_cancel();
    }

private:
    [[gnu::noinline]] void remove_ticket(std::uint32_t at) noexcept {
        tickets_[at] = tickets_.back();
        tickets_.pop_back();
    }
    [[gnu::noinline]] void grow() {
        const std::size_t capacity = items_.empty() ? 64 : items_.size() * 2;
        if (with_tickets_) tickets_.reserve(capacity);  // first: a failure leaves items_ as it was
        items_.reserve(capacity);
    }

    std::vector<handle_type> items_;
    std::vector<limit_ticket> tickets_;  // parallel to items_, with keep_tickets() only
    bool with_tickets_ = false;
};

}  // namespace sluice::detail
