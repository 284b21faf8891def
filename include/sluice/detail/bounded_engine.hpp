#pragma once
// The one bounded-concurrency engine. limited_as_completed, as_completed, igather (both orders,
// fail-fast and collect) and gather (range, bounded, variadic) are thin faces over it; none of them
// counts slots, pulls a source or cancels anything itself.
//
// Vocabulary:
//  - source: an input range of awaitables, or an async_generator of awaitables. Pulled only when an
//    item may start: `++it` of the previous pull is deferred to the next pull, so a generator never
//    runs ahead to build an item nobody asked for.
//  - slot: where one item runs: its own cancel context, the item's task, its submission index. An
//    item's final suspend tells its slot (promise_base::listener), so no driver coroutine exists
//    per item. A slot is held from the item's start until its result is handed to the consumer, so
//    a paused consumer never lets finished results pile up: memory grows with the window, never
//    with the source.
//  - limit: items running at once. window: items started and not yet handed out (= limit in
//    completion order; >= limit in submission order, where finished results wait for the head).
//
// A freed slot is refilled at once, by `fill`, from whichever of these happens: the consumer takes
// a result, an item finishes (submission order with window > limit). `fill` is trampolined: an item
// that completes synchronously while being started does not start the next one recursively.
//
// TRICKY (lifetime): the engine lives on the heap and its owner (a range, an igather frame, a
// gather frame) holds it through `engine_handle`. Items hold pointers to their slot's cancel
// context, so slots never move (std::deque) and the engine may not die while an item runs.
// Whenever an item (or the async puller) runs, the engine is registered with the loop as a root,
// from the first start to the moment it is drained again, whoever owns it: so `run` never returns
// while an item is alive (it cancels the roots left when the main task ends, and waits), even for
// a range kept outside `run` or passed to the main task by value; and a drained engine holds no
// link into the loop, so destroying its owner after `run` touches nothing of the dead loop. When
// the owner goes away early, `abandon` cancels every running item; the last item to finish then
// deletes the engine. Nothing is pulled after a stop, so the source's own state is never touched
// again.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <iterator>
#include <limits>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "../async_generator.hpp"
#include "../result.hpp"
#include "../task.hpp"
#include "awaitable_traits.hpp"
#include "cancellation.hpp"
#include "event_loop.hpp"

namespace sluice::detail {

struct engine_options {
    std::size_t limit = 1;
    std::size_t window = 1;   // >= limit
    bool ordered = false;     // hand results out in submission order
    bool fail_fast = false;   // the first error in time cancels the rest and ends the stream
};

inline constexpr std::size_t unlimited = std::numeric_limits<std::size_t>::max();

/// `limit` as the faces receive it: at least 1, or std::invalid_argument naming the caller.
inline std::size_t checked_limit(std::ptrdiff_t limit, const char* caller) {
    if (limit < 1) throw std::invalid_argument(std::string(caller) + ": limit must be at least 1");
    return static_cast<std::size_t>(limit);
}

template <class S>
inline constexpr bool is_async_generator_v = false;
template <class T>
inline constexpr bool is_async_generator_v<async_generator<T>> = true;

template <class Range>
struct source_traits {
    using item_type = std::remove_cvref_t<std::ranges::range_rvalue_reference_t<Range>>;
    using position = std::ranges::iterator_t<Range>;  // where the next pull continues
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

/// The item task of a source that yielded a task no one may enter (empty, or already being awaited):
/// fails at that item like awaiting it would.
template <class T>
task<T> unenterable_item(const char* why) {
    co_await std::suspend_never{};
    throw std::logic_error(why);
}

template <class Source>
class bounded_engine final : public root_node {
    static constexpr bool async_source = is_async_generator_v<std::remove_cvref_t<Source>>;

public:
    using item_type = typename source_traits<std::remove_cvref_t<Source>>::item_type;
    using value_type = await_result_t<item_type>;
    using item_task = task<value_type>;

    /// One result as handed out: its submission index and the item's value or exception.
    struct delivery {
        std::uint64_t index;
        result<value_type> value;
    };

    bounded_engine(Source&& source, engine_options options)
        : source_(std::forward<Source>(source)), options_(options) {
    }
    bounded_engine(const bounded_engine&) = delete;
    bounded_engine& operator=(const bounded_engine&) = delete;
    ~bounded_engine() = default;  // only once drained: every slot's item is finished or empty

    class waiter;
    class next_awaiter;
    class close_awaiter;

    /// `co_await engine.next()`: the next result in the engine's order, std::nullopt at the end.
    /// Rethrows the source's exception (after every started item was handed out) and, in fail-fast
    /// mode, the first item error (after the cancelled items finished).
    next_awaiter next() noexcept { return next_awaiter(*this); }
    /// `co_await engine.close()`: stop pulling, cancel what runs, drop unconsumed results, and wait
    /// until every item has finished. The stream then ends.
    close_awaiter close() noexcept { return close_awaiter(*this); }

    /// True when no result will ever come again (pulls from a sync source to find out). Not
    /// `taken_ == started_`: after close() the cancelled and discarded items were never taken.
    [[nodiscard]] bool exhausted() {
        fill();
        return deliverable() == nullptr && stream_over() && !error_ && !source_error_;
    }

    /// The owner is gone (see the TRICKY note at the top). Consumes the engine.
    void abandon() noexcept {
        abandoned_ = true;
        begin_stop();
        discard_unconsumed();
        // Drained: not registered with any loop (see after_change). Else the last finish deletes it.
        if (drained()) delete this;
    }

    // root_node: run() cancels leftovers when the main task ends.
    void request_cancel() noexcept override { begin_stop(); }

private:
    struct slot final : finish_listener {
        bounded_engine* engine = nullptr;
        cancel_context context;
        item_task item;
        std::uint64_t index = 0;
        slot* next = nullptr;  // free list, or completion-order FIFO of finished slots
        bool running = false;
        bool done = false;  // finished, result not yet handed out

        std::coroutine_handle<> finished() noexcept override { return engine->item_finished(*this); }
    };

    struct puller_listener final : finish_listener {
        bounded_engine* engine = nullptr;
        std::coroutine_handle<> finished() noexcept override { return engine->puller_finished(); }
    };

    // --- pulling and starting -----------------------------------------------------------------

    [[nodiscard]] bool can_start() const noexcept {
        return !stopping_ && !source_done_ && running_ < options_.limit && started_ - taken_ < options_.window;
    }

    void fill() {
        if (filling_) return;  // an outer fill on the stack re-checks can_start after every start
        if (loop_ == nullptr) loop_ = &event_loop::current();
        filling_ = true;
        if constexpr (async_source) {
            if (!puller_running_ && can_start()) start_puller();
        } else {
            while (can_start()) {
                slot& s = acquire_slot();
                if (!pull_sync_into(s.item)) {
                    s.next = std::exchange(free_, &s);
                    break;
                }
                start(s);
            }
        }
        filling_ = false;
    }

    /// The next item of a sync source into `item`; false at its end or when it threw.
    bool pull_sync_into(item_task& item) {
        if constexpr (!async_source) {
            try {
                if (!position_) {
                    position_.emplace(std::ranges::begin(source_));
                } else {
                    ++*position_;
                }
                if (*position_ == std::ranges::end(source_)) {
                    source_done_ = true;
                    return false;
                }
                item = make_item(std::ranges::iter_move(*position_));
                return true;
            } catch (...) {
                source_error_ = std::current_exception();
                source_done_ = true;
                return false;
            }
        } else {
            return false;
        }
    }

    template <class Item>
    static item_task make_item(Item&& item) {
        if constexpr (is_task_v<std::remove_cvref_t<Item>>) {
            // The source keeps such a task: it may belong to the coroutine that awaits it.
            if (const char* why = unenterable(item.handle())) return unenterable_item<value_type>(why);
        }
        return as_task(std::forward<Item>(item));
    }

    task<void> pull_async() {
        if constexpr (async_source) {
            while (can_start()) {
                std::optional<item_type> item = co_await source_.next();
                // A stop (close, the consumer cancelled, a fail-fast error) may have come while the
                // generator produced this item: it is destroyed unstarted, here.
                if (stopping_) co_return;
                if (!item) {
                    source_done_ = true;
                    co_return;
                }
                slot& s = acquire_slot();
                s.item = make_item(std::move(*item));
                start(s);
            }
        }
    }

    void start_puller() {
        going_live();
        puller_running_ = true;
        puller_ = pull_async();
        puller_context_ = cancel_context{};
        puller_listener_.engine = this;
        auto handle = puller_.handle();
        handle.promise().context = &puller_context_;
        handle.promise().listener = &puller_listener_;
        handle.resume();
    }

    std::coroutine_handle<> puller_finished() noexcept {
        puller_running_ = false;
        if (puller_.handle().promise().result_slot().has_error() && !stopping_) {
            source_error_ = puller_.handle().promise().result_slot().error();
            source_done_ = true;
        }
        return after_change();
    }

    /// Starts the item already placed in `s` (a slot just taken from acquire_slot).
    void start(slot& s) {
        going_live();
        s.index = started_++;
        s.context = cancel_context{};
        s.running = true;
        s.done = false;
        if (options_.ordered) outstanding_.push_back(&s);
        ++running_;
        auto handle = s.item.handle();
        if (handle.done()) {
            // A task that finished before it became an item: its result is delivered as it is,
            // nothing is resumed (make_item already turned a task being awaited into an error).
            (void)item_finished(s);
            return;
        }
        handle.promise().context = &s.context;
        handle.promise().listener = &s;
        handle.resume();  // runs until its first real suspension; may finish right here
    }

    /// Registers the engine with the loop when it goes from drained to running something.
    void going_live() {
        if (!drained()) return;
        if (loop_ == nullptr) loop_ = &event_loop::current();
        loop_->adopt(*this);
    }

    slot& acquire_slot() {
        if (free_ != nullptr) return *std::exchange(free_, free_->next);
        slot& s = slots_.emplace_back();
        s.engine = this;
        return s;
    }

    /// A slot whose result will never be handed out (a stop, the fail-fast error) leaves the
    /// submission-order window; the head then shows the prefix has ended.
    void release_undelivered(slot& s) noexcept {
        if (options_.ordered) outstanding_[s.index - taken_] = nullptr;
        release_slot(s);
    }

    void release_slot(slot& s) noexcept {
        s.item = item_task();  // destroys the finished frame
        s.running = s.done = false;
        s.next = std::exchange(free_, &s);
    }

    // --- completions ---------------------------------------------------------------------------

    std::coroutine_handle<> item_finished(slot& s) noexcept {
        s.running = false;
        --running_;
        auto& outcome = s.item.handle().promise().result_slot();
        if (stopping_) {
            // Cancelled by a stop, or finished after the first error in time: not delivered.
            release_undelivered(s);
        } else if (options_.fail_fast && outcome.has_error()) {
            error_ = outcome.error();
            release_undelivered(s);
            begin_stop();
        } else {
            s.done = true;
            if (!options_.ordered) {
                s.next = nullptr;
                (completed_tail_ ? completed_tail_->next : completed_head_) = &s;
                completed_tail_ = &s;
            }
        }
        return after_change();
    }

    /// After an item or the puller finished: free the engine if it was abandoned and is drained,
    /// else refill and wake the consumer if it can now proceed.
    std::coroutine_handle<> after_change() noexcept {
        if (drained()) loop_->release(*this);
        if (abandoned_) {
            if (drained()) delete this;
            return std::noop_coroutine();
        }
        try {
            // A finish frees running capacity; that can start an item only when the window is
            // wider than the limit (submission order), or for an async source's puller.
            if (options_.window > options_.limit || async_source) fill();
        } catch (...) {
            // Only allocation can fail here (a new slot, a wrapper frame); treat it as the source's.
            source_error_ = std::current_exception();
            source_done_ = true;
        }
        wake_waiter();
        return std::noop_coroutine();
    }

    // --- stopping ------------------------------------------------------------------------------

    [[nodiscard]] bool drained() const noexcept { return running_ == 0 && !puller_running_; }
    [[nodiscard]] bool stream_over() const noexcept { return drained() && (source_done_ || stopping_); }

    void begin_stop() noexcept {
        stopping_ = true;
        for (slot& s : slots_) {
            if (s.running) s.context.request_cancel();
        }
        if (puller_running_) puller_context_.request_cancel();
    }

    void discard_unconsumed() noexcept {
        for (slot& s : slots_) {
            if (s.done) release_undelivered(s);
        }
        completed_head_ = completed_tail_ = nullptr;
    }

    // --- handing results out -------------------------------------------------------------------

    slot* deliverable() const noexcept {
        if (!options_.ordered) return completed_head_;
        slot* head = outstanding_.empty() ? nullptr : outstanding_.front();
        return head != nullptr && head->done ? head : nullptr;
    }

    [[nodiscard]] bool consumer_can_proceed() const noexcept {
        return deliverable() != nullptr || stream_over() || (error_ && drained());
    }

    std::optional<delivery> take_next() {
        if (slot* s = deliverable()) {
            delivery out{s->index, s->item.handle().promise().result_slot().take_result()};
            if (options_.ordered) {
                outstanding_.pop_front();
            } else {
                completed_head_ = s->next;
                if (completed_head_ == nullptr) completed_tail_ = nullptr;
            }
            ++taken_;
            release_slot(*s);
            fill();
            return out;
        }
        // Nothing deliverable: the stream is over (callers only take when consumer_can_proceed).
        if (error_) {
            // Fail-fast: the error ends the stream for good; nothing after it is delivered.
            discard_unconsumed();
            std::rethrow_exception(std::exchange(error_, nullptr));
        }
        if (source_error_) std::rethrow_exception(std::exchange(source_error_, nullptr));
        return std::nullopt;
    }

    void wake_waiter() noexcept {
        if (waiter_ != nullptr && waiter_->satisfied()) std::exchange(waiter_, nullptr)->wake();
    }

public:
    /// The consumer's wait (next or close): at most one at a time.
    class waiter : public cancellation_point {
    public:
        explicit waiter(bounded_engine& engine) noexcept : engine_(engine) {}
        [[nodiscard]] virtual bool satisfied() const noexcept = 0;

        void wake() noexcept {
            finish_completed();
            engine_.loop_->schedule(waiter_);
        }
        void cancel_wait() noexcept override {
            // Only this wait ends; the items keep running and the next wait gets the next result.
            engine_.waiter_ = nullptr;
            finish_cancelled();
            engine_.loop_->schedule(waiter_);
        }

    protected:
        template <class Promise>
        bool suspend(std::coroutine_handle<Promise> awaiting) {
            if (!enter(awaiting)) return false;
            engine_.waiter_ = this;
            return true;
        }
        void check_single_consumer() const {
            if (engine_.waiter_ != nullptr) {
                throw std::logic_error("sluice: two tasks wait on the same bounded stream at once");
            }
        }

        bounded_engine& engine_;
    };

    class next_awaiter : public waiter {
    public:
        using waiter::waiter;
        [[nodiscard]] bool satisfied() const noexcept override { return this->engine_.consumer_can_proceed(); }

        [[nodiscard]] bool await_ready() {
            this->check_single_consumer();
            // Later refills happen where capacity frees up (a take, a finish); only the first
            // retrieval has to start the stream.
            if (this->engine_.started_ == 0) this->engine_.fill();
            return satisfied();
        }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> awaiting) {
            return this->suspend(awaiting);
        }
        std::optional<delivery> await_resume() {
            this->throw_if_cancelled();
            return this->engine_.take_next();
        }
    };

    class close_awaiter : public waiter {
    public:
        using waiter::waiter;
        [[nodiscard]] bool satisfied() const noexcept override { return this->engine_.drained(); }

        [[nodiscard]] bool await_ready() {
            this->check_single_consumer();
            this->engine_.begin_stop();
            this->engine_.discard_unconsumed();
            return satisfied();
        }
        template <class Promise>
        bool await_suspend(std::coroutine_handle<Promise> awaiting) {
            return this->suspend(awaiting);
        }
        void await_resume() {
            this->throw_if_cancelled();
            error_cleared();
        }

    private:
        void error_cleared() noexcept {
            this->engine_.error_ = nullptr;
            this->engine_.source_error_ = nullptr;
        }
    };

private:
    Source source_;
    engine_options options_;
    std::optional<typename source_traits<std::remove_cvref_t<Source>>::position> position_;

    std::deque<slot> slots_;
    slot* free_ = nullptr;
    slot* completed_head_ = nullptr;
    slot* completed_tail_ = nullptr;
    // Submission order: the slots of indexes taken_, taken_ + 1, ... (null once released early).
    // Grows with what is outstanding, at most `window`, so a huge window costs nothing up front.
    std::deque<slot*> outstanding_;

    task<void> puller_;
    cancel_context puller_context_;
    puller_listener puller_listener_;

    event_loop* loop_ = nullptr;
    waiter* waiter_ = nullptr;
    std::exception_ptr error_;         // fail-fast: the first item error in time
    std::exception_ptr source_error_;  // the source threw while being pulled
    std::uint64_t started_ = 0;
    std::uint64_t taken_ = 0;
    std::size_t running_ = 0;
    bool source_done_ = false;
    bool stopping_ = false;
    bool abandoned_ = false;
    bool filling_ = false;
    bool puller_running_ = false;
};

/// Owns a heap-allocated engine; dropping it abandons the engine (cancel, hand to the loop).
template <class Source>
class engine_handle {
public:
    using engine_type = bounded_engine<Source>;

    engine_handle(Source&& source, engine_options options)
        : engine_(new engine_type(std::forward<Source>(source), options)) {}
    engine_handle(engine_handle&& other) noexcept : engine_(std::exchange(other.engine_, nullptr)) {}
    engine_handle& operator=(engine_handle&& other) noexcept {
        if (this != &other) {
            reset();
            engine_ = std::exchange(other.engine_, nullptr);
        }
        return *this;
    }
    ~engine_handle() { reset(); }

    engine_type* operator->() const noexcept { return engine_; }
    engine_type& operator*() const noexcept { return *engine_; }

private:
    void reset() noexcept {
        if (engine_ != nullptr) std::exchange(engine_, nullptr)->abandon();
    }
    engine_type* engine_;
};

}  // namespace sluice::detail
