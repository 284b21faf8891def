#pragma once
// gather's machinery (sluice/gather.hpp): the result sink that writes each child's result in place,
// the range gather over the bounded engine, and the variadic gather's store-into children.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>  // std::ranges::sized_range and size, without <ranges>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <sys/mman.h>

#include "bounded_engine.hpp"
#include "outcome.hpp"

namespace sluice::detail {

/// Asks for huge pages under the 2 MiB-aligned part of a large, freshly allocated, untouched block.
/// A gather of a million results fills 8 MB and more of fresh memory, which on 4 KiB pages costs a
/// fault each (W4: half its time, and two loops faulting in one address space scaled worse). Only
/// advice: malloc keeps owning the block, and a refusal (THP off) changes nothing.
inline void advise_huge_pages(void* block, std::size_t bytes) noexcept {
    constexpr std::uintptr_t huge_page = std::uintptr_t{2} << 20;
    if (bytes < 2 * huge_page) return;
    const auto begin = (reinterpret_cast<std::uintptr_t>(block) + huge_page - 1) & ~(huge_page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(block) + bytes) & ~(huge_page - 1);
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
}

/// Faults in the whole pages of [first, last) with one system call, before they are written. A
/// page fault is a trap per 4 KiB page, and a trap is dear in a virtual machine (on the one our
/// figures come from, ~5 us each: W4 at 10^6 results on one loop 36 -> 33 ms, faults 1,102 -> 263
/// at 2*10^6). Fewer than 16 pages are left to fault as they are written: a small gather's
/// results often sit in memory malloc already had, where the call would only cost. Only advice: a
/// kernel without MADV_POPULATE_WRITE (before 5.14) says EINVAL, and the writes fault as before.
inline void populate_for_writing(const void* first, const void* last) noexcept {
#ifdef MADV_POPULATE_WRITE
    constexpr std::uintptr_t page = 4096;
    const auto begin = (reinterpret_cast<std::uintptr_t>(first) + page - 1) & ~(page - 1);
    const auto end = reinterpret_cast<std::uintptr_t>(last) & ~(page - 1);
    if (end >= begin + 16 * page) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
    (void)first;
    (void)last;
#endif
}

template <bool Collect>
inline constexpr error_mode gather_errors = Collect ? error_mode::deliver : error_mode::fail_fast;

/// gather's results, written in place by the engine as each child finishes (result_sink).
///
/// A trivial element (a number, a POD struct) is written straight into the vector that gather
/// returns: a zero-filled slot is indistinguishable from an empty one, and nothing is observable
/// about constructing it, so no "written yet" flag is kept (std::optional<long long> is 16 B, twice
/// the value) and nothing is copied at the end. Any other element waits in an optional slot until
/// every child finished, and is then moved into the result in source order.
template <bool Collect, class T>
class gathered_results final : public result_sink<T> {
    static constexpr bool stores = Collect || !std::is_void_v<T>;
    using element = std::conditional_t<Collect, result<T>, std::conditional_t<std::is_void_v<T>, char, T>>;
    static constexpr bool in_place =
        stores && std::is_trivially_default_constructible_v<element> && std::is_trivially_copyable_v<element>;
    using slot = std::conditional_t<in_place, element, std::optional<element>>;

public:
    using value_type = std::conditional_t<Collect, std::vector<result<T>>, std::conditional_t<std::is_void_v<T>, void, std::vector<T>>>;

    void put(std::uint64_t index, outcome<T>& out) override {
        if constexpr (stores) {
            if (index >= slots_.size()) grow(index);
            count_ = std::max<std::size_t>(count_, index + 1);
            if constexpr (Collect) {
                slots_[index].emplace(out.take_result());
            } else if constexpr (in_place) {
                slots_[index] = out.take();
            } else {
                slots_[index].emplace(out.take());
            }
        }
    }

    /// The source knows its length: results go into one block of that size, never copied. Up to
    /// 1 GiB of results: a longer source may well be stopped early (a timeout, a cancel) and, if
    /// not, grows its vector as its results actually come, as a lazy source's does.
    void expect(std::size_t count) {
        if constexpr (in_place) {
            if (count <= largest_expected_bytes / sizeof(slot)) move_to_block(count);
        }
    }

    /// Every child delivered (the engine ended without an error): the results in source order.
    value_type take() {
        if constexpr (in_place) {
            slots_.resize(count_);
            return std::move(slots_);
        } else if constexpr (stores) {
            std::vector<element> results;
            results.reserve(count_);
            for (std::size_t i = 0; i < count_; ++i) results.push_back(std::move(*slots_[i]));
            return results;
        }
    }

private:
    /// In-place results grow by 8x, not 2x, while the block is below 64 MiB: a lazy source's length
    /// is unknown, and at 2x every result was copied about once more and twice as much fresh memory
    /// was faulted in (W4, 10^6 results on one loop: 53 -> 35 ms, 15 -> 11 MB). The spare capacity
    /// is address space only: slots past the last zero-fill step are never touched. From 64 MiB on,
    /// doubling keeps the spare address space below the size of the results.
    static constexpr std::size_t fast_growth_bytes = std::size_t{64} << 20;
    static constexpr std::size_t largest_expected_bytes = std::size_t{1} << 30;
    /// Slots are value-initialized this far ahead of the highest index written, not a whole block at
    /// once: the zero-fill then touches each page just before its results land, in the cache,
    /// instead of a separate cold pass (and resize per child would cost a call and a memset each).
    /// Each step's pages are faulted in first by one call (populate_for_writing).
    static constexpr std::size_t zero_fill_step = std::max<std::size_t>(1, (std::size_t{256} << 10) / sizeof(slot));

    [[gnu::noinline]] void grow(std::uint64_t index) {
        if constexpr (in_place) {
            if (index >= slots_.capacity()) {
                const std::size_t factor = slots_.capacity() * sizeof(slot) < fast_growth_bytes ? 8 : 2;
                move_to_block(std::max<std::size_t>(index + 1, slots_.capacity() * factor));
            }
            const std::size_t size = std::min(slots_.capacity(), std::max<std::size_t>(index + 1, slots_.size() + zero_fill_step));
            populate_for_writing(slots_.data() + slots_.size(), slots_.data() + size);
            slots_.resize(size);
        } else {
            slots_.resize(std::max<std::size_t>(index + 1, slots_.size() * 2));
        }
    }

    /// Into a fresh block advised before anything is written to it (reserve would copy into it
    /// first); trivially copyable slots copy without throwing.
    void move_to_block(std::size_t capacity) {
        std::vector<slot> bigger;
        bigger.reserve(capacity);
        advise_huge_pages(bigger.data(), capacity * sizeof(slot));
        bigger.insert(bigger.end(), slots_.begin(), slots_.end());
        slots_ = std::move(bigger);
    }

    std::vector<slot> slots_;
    std::size_t count_ = 0;  // children delivered (slots_ may be longer)
};

template <bool Collect, class Source>
auto gather_range(Source source, engine_options options)
    -> task<typename gathered_results<Collect, typename bounded_engine<Source>::value_type>::value_type> {
    gathered_results<Collect, typename bounded_engine<Source>::value_type> results;
    if constexpr (std::ranges::sized_range<Source>) results.expect(static_cast<std::size_t>(std::ranges::size(source)));
    // Declared after `results`, so destroyed first: an abandoned engine never writes into a dead sink
    // (it drops what finishes after the stop anyway).
    engine_handle<Source> engine(std::forward<Source>(source), options);
    engine->deliver_into(results);
    std::exception_ptr error;
    try {
        // Results go in place; the wait ends once every child finished, or with the first error.
        auto end = co_await engine->next();
        (void)end;
    } catch (...) {
        error = std::current_exception();
    }
    if (error) {
        // Cancelled (the engine did not see it: it was delivered to this task's wait) or a source
        // error: the children are cancelled and awaited before the exception leaves the gather.
        co_await engine->close();
        std::rethrow_exception(error);
    }
    co_return results.take();
}

template <bool Collect, class Source>
auto make_gather_range(Source&& source, engine_options options) {
    using stored = stored_source_t<Source>;
    options.errors = gather_errors<Collect>;
    return gather_range<Collect, stored>(std::forward<Source>(source), std::move(options));
}

/// A variadic gather child: awaits its awaitable and stores the value where the tuple will find it.
template <class Awaitable, class T>
task<void> store_into(Awaitable awaitable, outcome<T>& out) {
    if constexpr (std::is_void_v<T>) {
        co_await std::forward<Awaitable>(awaitable);
        out.set_value();
    } else {
        out.set_value(co_await std::forward<Awaitable>(awaitable));
    }
}

/// One store_into child per awaitable, each storing into its slot of `outcomes` (a tuple of
/// outcome<T>, in the awaitables' order): what variadic gather and race run.
template <class Outcomes, class... Awaitables>
std::vector<task<void>> store_each_into(Outcomes& outcomes, Awaitables&&... awaitables) {
    return std::apply(
        [&](auto&... out) {
            std::vector<task<void>> all;
            all.reserve(sizeof...(Awaitables));
            (all.push_back(store_into(std::forward<Awaitables>(awaitables), out)), ...);
            return all;
        },
        outcomes);
}

template <class T>
decltype(auto) take_for_tuple(outcome<T>& out) {
    if constexpr (std::is_void_v<T>) {
        out.take();
        return std::monostate{};
    } else {
        return out.take();
    }
}

/// gather() and gather(return_exceptions): nothing to wait for, so complete at once, no engine.
template <class = void>
task<std::tuple<>> gather_nothing() { co_return std::tuple<>{}; }

template <bool Collect, class... Awaitables>
auto gather_variadic(Awaitables... awaitables)
    -> task<std::conditional_t<Collect, std::tuple<result<await_result_t<Awaitables>>...>,
                               std::tuple<monostate_if_void_t<await_result_t<Awaitables>>...>>> {
    std::tuple<outcome<await_result_t<Awaitables>>...> outcomes;
    std::vector<task<void>> children = store_each_into(outcomes, std::forward<Awaitables>(awaitables)...);
    auto errors = co_await gather_range<true, std::vector<task<void>>&>(
        children, engine_options{.limit = sizeof...(Awaitables), .window = sizeof...(Awaitables), .errors = gather_errors<Collect>});
    if constexpr (Collect) {
        std::size_t index = 0;
        co_return std::apply(
            [&](auto&... out) {
                auto one = [&](auto& slot) {
                    auto error = errors[index++].error();
                    if (error) slot.set_error(error);
                    return slot.take_result();
                };
                return std::tuple<result<await_result_t<Awaitables>>...>{one(out)...};
            },
            outcomes);
    } else {
        // Fail-fast already rethrew the first error; every outcome holds a value.
        co_return std::apply([](auto&... out) { return std::tuple<monostate_if_void_t<await_result_t<Awaitables>>...>{take_for_tuple(out)...}; },
                             outcomes);
    }
}

}  // namespace sluice::detail
