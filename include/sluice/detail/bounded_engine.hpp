#pragma once
// The one bounded-concurrency engine. limited_as_completed, as_completed, igather (both orders,
// fail-fast and collect) and gather (range, bounded, variadic) are thin faces over it; none of them
// counts items, pulls a source or cancels anything itself.
//
// Its parts, each in its own header:
//  - engine_source.hpp: the options, what a source is, how a pulled element becomes an item task.
//  - running_items.hpp (the item pool): the items running now. An item *is* its task's frame: its
//    cancel context, submission index and place in the pool live in the task's promise
//    (engine_item_state), so there is no slot object and nothing to allocate per item beyond the
//    frame (whose memory the frame_allocator recycles).
//  - delivery_queue.hpp: the results waiting for the consumer (completion order, or the
//    submission-order window).
//  - engine_awaiters.hpp: the consumer's `co_await next()` and `co_await close()`.
// This file: the engine proper, pulling, starting, finishing and stopping.
//
// Vocabulary:
//  - source: an input range of awaitables, or an async_generator of awaitables. Pulled only when an
//    item may start: `++it` of the previous pull is deferred to the next pull, so a generator never
//    runs ahead to build an item nobody asked for.
//  - limit: items running at once. window: items started and not yet handed out (= limit in
//    completion order; >= limit in submission order, where finished results wait for the head). An
//    item's frame lives from its start until its result is handed to the consumer, so a paused
//    consumer never lets finished results pile up: memory grows with the window, never with the
//    source.
//
// A freed place is refilled at once, by `fill`, from whichever of these happens: the consumer takes
// a result, an item finishes (submission order with window > limit, or an async source's puller).
// `fill` is trampolined: an item that completes synchronously while being started does not start
// the next one recursively.
//
// Waves: one fill starts at most `wave_size` items; if more could start, the puller (the coroutine
// that pulls an async source, used for this by a sync source too) goes behind what is ready in the
// loop and starts the next wave there. Without it a source that yields items as fast as they start
// (an unbounded gather over a long generator, a limit in the millions) would be pulled whole before
// anything else ran: the loop held for the whole source, and every item ready to finish kept
// waiting with its frame alive, so memory grew with the source. With it, the items of a wave that
// finished in the meantime have given their frames back for the next wave to reuse. Items that wait
// stay running: an unbounded gather still has every item in flight, a wave per loop turn.
//
// TRICKY (lifetime): the engine lives on the heap and its owner (a range, an igather frame, a
// gather frame) holds it through `engine_handle`. Items point at the engine (their promise's
// listener), so it may not die while an item runs. Whenever an item (or the puller) runs, the
// engine is registered with the loop as a root, from the moment it stops being drained to the
// moment it is drained again, whoever owns it: so `run` never returns while an item is alive (it
// cancels the roots left when the main task ends, and waits), even for a range kept outside `run`
// or passed to the main task by value; and a drained engine holds no link into the loop, so
// destroying its owner after `run` touches nothing of the dead loop. When the owner goes away
// early, `abandon` cancels every running item; the last item to finish then deletes the engine.
// Nothing is pulled after a stop, so the source's own state is never touched again.

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <iterator>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "../async_generator.hpp"
#include "../result.hpp"
#include "../task.hpp"
#include "cancellation.hpp"
#include "delivery_queue.hpp"
#include "engine_awaiters.hpp"
#include "engine_source.hpp"
#include "event_loop.hpp"
#include "running_items.hpp"

namespace sluice::detail {

template <class Source>
class bounded_engine final : public root_node, private finish_listener, private limit_watcher {
    static constexpr bool async_source = is_async_generator_v<std::remove_cvref_t<Source>>;

public:
    using item_type = typename source_traits<std::remove_cvref_t<Source>>::item_type;
    using value_type = await_result_t<item_type>;
    using item_task = task<value_type>;
    using handle_type = std::coroutine_handle<task_promise<value_type>>;
    using next_awaiter = detail::next_awaiter<bounded_engine>;
    using close_awaiter = detail::close_awaiter<bounded_engine>;

    /// One result as handed out: its submission index and the item's value or exception.
    struct delivery {
        std::uint64_t index;
        result<value_type> value;
    };

    bounded_engine(Source&& source, engine_options options)
        : source_(std::forward<Source>(source)), options_(std::move(options)), queue_(options_.order) {
        if (options_.shared_limit != nullptr) {
            running_.keep_tickets();
            options_.shared_limit->watch(*this);
        }
    }
    bounded_engine(const bounded_engine&) = delete;
    bounded_engine& operator=(const bounded_engine&) = delete;
    /// Only once drained, its unconsumed results dropped (abandon).
    ~bounded_engine() {
        if (options_.shared_limit != nullptr) options_.shared_limit->unwatch(*this);
    }

    /// Results go to `sink` instead of the delivery queue (before the first next()): next() then
    /// completes only at the end (std::nullopt) or with the error that ended the stream.
    void deliver_into(result_sink<value_type>& sink) noexcept { sink_ = &sink; }

    /// `co_await engine.next()`: the next result in the engine's order, std::nullopt at the end.
    /// Rethrows the source's exception (after every started item was handed out) and, in fail-fast
    /// mode, the first item error (after the cancelled items finished).
    next_awaiter next() noexcept { return next_awaiter(*this); }
    /// `co_await engine.close()`: stop pulling, cancel what runs, drop unconsumed results, and wait
    /// until every item has finished. The stream then ends.
    close_awaiter close() noexcept { return close_awaiter(*this); }

    /// True when no result will ever come again. TRICKY: for a lazy source only a pull can tell
    /// whether another item exists, and a pulled item is started at once (the engine never holds a
    /// pulled item back: that would be reading ahead), so asking may start items. The faces ask
    /// only where a result is about to be awaited (`it == end` of a range-for).
    [[nodiscard]] bool exhausted() {
        if (queue_.deliverable()) return false;
        fill();
        return !queue_.deliverable() && stream_over() && !error_ && !source_error_;
    }

    /// What `co_await next()` then gives, as limited_as_completed hands it out: the next result's
    /// value, or that item's exception, without a result<T> in between; `past_end` (a logic_error)
    /// when the stream is over. Call only from a next_awaiter's await_resume.
    value_type take_next_value(const char* past_end) {
        if (handle_type item = queue_.deliverable()) {
            queue_.pop();
            ++taken_;
            auto& out = item.promise().result_slot();
            if (out.has_error()) {
                std::exception_ptr error = out.error();
                consumed(item);
                std::rethrow_exception(error);
            }
            if constexpr (std::is_void_v<value_type>) {
                consumed(item);
            } else {
                value_type value = out.take();
                consumed(item);
                return value;
            }
        } else {
            rethrow_stream_error();
            throw std::logic_error(past_end);
        }
    }

    /// The owner is gone (see the TRICKY note at the top). Consumes the engine.
    void abandon() noexcept {
        begin_stop();
        phase_ = phase::orphaned;
        discard_unconsumed();
        // Drained: not registered with any loop (see after_change). Else the last finish deletes it.
        if (drained()) delete this;
    }

    // root_node: run() cancels what is left when the main task ends.
    void request_cancel() noexcept override { begin_stop(); }

private:
    friend class engine_waiter<bounded_engine>;
    friend class detail::next_awaiter<bounded_engine>;
    friend class detail::close_awaiter<bounded_engine>;

    /// Where the stream stands. Only ever moves forward (open < exhausted < stopping < orphaned).
    enum class phase : std::uint8_t {
        open,       // the source may be pulled as capacity frees up
        exhausted,  // the source ended or threw: started items finish and are handed out
        stopping,   // close, a cancel from run, or the fail-fast error: running items are
                    // cancelled, nothing is pulled, finished results are dropped
        orphaned,   // stopping with the owner gone: the last finish deletes the engine
    };

    // --- for the consumer awaiters -------------------------------------------------------------

    event_loop& loop() noexcept { return *loop_; }
    [[nodiscard]] bool drained() const noexcept { return running_.empty() && !pulling_; }
    [[nodiscard]] bool stream_over() const noexcept { return drained() && phase_ != phase::open; }
    [[nodiscard]] bool consumer_can_proceed() const noexcept {
        return queue_.deliverable() || stream_over() || (error_ && drained());
    }
    void start_stream() {
        if (loop_ == nullptr) loop_ = &event_loop::current();
        if (started_ == 0) fill();
    }
    void stop() noexcept {
        begin_stop();
        discard_unconsumed();
    }
    void forget_errors() noexcept {
        error_ = nullptr;
        source_error_ = nullptr;
    }

    std::optional<delivery> take_next() {
        if (handle_type item = queue_.deliverable()) {
            auto& promise = item.promise();
            delivery out{full_index(promise.item.index), promise.result_slot().take_result()};
            queue_.pop();
            ++taken_;
            consumed(item);
            return out;
        }
        // Nothing deliverable: the stream is over (callers only take when consumer_can_proceed).
        rethrow_stream_error();
        return std::nullopt;
    }

    /// A handed-out item's frame goes, and its place is refilled.
    void consumed(handle_type item) {
        item.destroy();
        fill();
    }

    /// At the end of the stream: the error that ended it, if any.
    void rethrow_stream_error() {
        if (error_) {
            // Fail-fast: the error ends the stream for good; nothing after it is delivered.
            discard_unconsumed();
            std::rethrow_exception(std::exchange(error_, nullptr));
        }
        if (source_error_) std::rethrow_exception(std::exchange(source_error_, nullptr));
    }

    // --- pulling and starting -----------------------------------------------------------------

    /// Items started in one go at most (see "Waves" at the top).
    static constexpr std::size_t wave_size = 1024;

    /// The puller's trip behind everything ready. Not a cancellation point: a stop is seen by
    /// can_start's phase check after it, one turn later.
    struct next_turn {
        event_loop& loop;
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<> puller) { loop.schedule(puller); }
        void await_resume() const noexcept {}
    };

    [[nodiscard]] bool can_start() const noexcept {
        if (options_.shared_limit == nullptr) [[likely]] {
            return phase_ == phase::open && running_.size() < options_.limit && started_ - taken_ < options_.window;
        }
        return can_start_under_shared_limit();
    }
    [[gnu::noinline]] bool can_start_under_shared_limit() const noexcept {
        // A limit lowered below what runs starts nothing until enough finished; the window (the
        // memory bound) follows the limit unless the face fixed one.
        const limit_state& shared = *options_.shared_limit;
        const std::ptrdiff_t limit = shared.limit();
        const std::uint64_t window = options_.window != 0 ? options_.window : static_cast<std::uint64_t>(limit);
        return phase_ == phase::open && shared.in_flight() < limit && started_ - taken_ < window;
    }

    void source_ended() noexcept {
        if (phase_ == phase::open) phase_ = phase::exhausted;
    }

    /// The cheap test inline, the pulling out of line: most calls (a take at full capacity, `it ==
    /// end`) find nothing to start.
    void fill() {
        // An outer fill on the stack re-checks can_start after every start; a pending puller starts
        // the next wave itself.
        if (!filling_ && can_start() && !pulling_) fill_slow();
    }

    void fill_slow() {
        if (loop_ == nullptr) loop_ = &event_loop::current();
        struct guard {
            bool& flag;
            ~guard() { flag = false; }
        } filling{filling_ = true};
        if (async_source || start_wave()) start_puller();
    }

    /// Starts items of a sync source while capacity allows, at most `wave_size`; true when it stopped
    /// for the budget (the rest go on a later loop turn, from the puller). The caller found
    /// can_start() true: in a bounded fan-out's steady state every fill starts exactly one item, so
    /// testing it again first would be a third test per item.
    bool start_wave() {
        std::size_t started = 0;
        do {
            if (started++ == wave_size) return true;
            item_task item = pull_sync();
            if (!item.valid()) break;
            start(std::move(item));
        } while (can_start());
        return false;
    }

    /// The next item of a sync source; an empty task at its end or when it threw (kept for later).
    item_task pull_sync() {
        if constexpr (!async_source) {
            try {
                if (!position_) {
                    position_.emplace(std::ranges::begin(source_));
                } else {
                    ++*position_;
                }
                if (*position_ == std::ranges::end(source_)) {
                    source_ended();
                    return {};
                }
                return make_item<value_type>(std::ranges::iter_move(*position_));
            } catch (...) {
                source_error_ = std::current_exception();
                source_ended();
            }
        }
        return {};
    }

    task<void> run_puller() {
        if constexpr (async_source) {
            std::size_t started = 0;
            while (can_start()) {
                if (started == wave_size) {
                    co_await next_turn{*loop_};
                    if (phase_ != phase::open) co_return;
                    started = 0;
                    continue;
                }
                ++started;
                std::optional<item_type> item = co_await source_.next();
                // A stop (close, the consumer cancelled, a fail-fast error) may have come while the
                // generator produced this item: it is destroyed unstarted, here.
                if (phase_ >= phase::stopping) co_return;
                if (!item) {
                    source_ended();
                    co_return;
                }
                start(make_item<value_type>(std::move(*item)));
            }
        } else {
            do {
                co_await next_turn{*loop_};
            } while (can_start() && start_wave());
        }
    }

    void start_puller() {
        puller_ = run_puller();
        puller_context_ = cancel_context{};
        auto handle = puller_.handle();
        handle.promise().set_context(&puller_context_);
        handle.promise().set_listener(this);
        const bool was_drained = drained();
        pulling_ = true;
        if (was_drained) loop_->adopt(*this);
        handle.resume();  // as an item's start (see start): puller_finished never transfers either
    }

    [[gnu::noinline]] std::coroutine_handle<> puller_finished() noexcept {
        pulling_ = false;
        auto& outcome = puller_.handle().promise().result_slot();
        if (outcome.has_error() && phase_ < phase::stopping) {
            source_error_ = outcome.error();
            source_ended();
        }
        return after_change();
    }

    /// Starts `item`: from here on the engine owns its frame (until the result is taken or dropped).
    void start(item_task&& item) {
        const handle_type handle = item.handle();
        const bool was_drained = drained();
        running_.add(handle);  // may throw (allocation): then `item` still owns the frame
        if (sink_ == nullptr) {
            try {
                queue_.started(handle, static_cast<std::size_t>(started_ - taken_) + 1);
            } catch (...) {
                running_.remove(handle);
                throw;
            }
        }
        (void)item.release();
        if (limit_state* shared = options_.shared_limit.get()) [[unlikely]] {
            running_.ticket_of(handle) = shared->start(shared->now_if_needed());
        }
        auto& promise = handle.promise();
        promise.item.index = static_cast<std::uint32_t>(started_++);
        if (was_drained) loop_->adopt(*this);
        if (handle.done()) {
            // A task that finished before it became an item: its result is delivered as it is,
            // nothing is resumed (make_item already turned a task being awaited into an error).
            (void)item_finished(handle);
            return;
        }
        promise.run_as_own_unit(this);
        // TRICKY: a plain nested resume, not resume_nested: the item runs until its first real
        // suspension and may finish right here, and then item_finished may already have freed its
        // frame (a sink's result, a stop) before resume() returns, so no flag may be touched
        // after it. None is needed: item_finished never transfers anywhere (nobody awaits an
        // item), and fill's guard keeps a synchronous finish from starting the next item inside.
        handle.resume();
    }

    // --- completions ---------------------------------------------------------------------------

    /// finish_listener: an item, or the puller, finished.
    std::coroutine_handle<> finished(std::coroutine_handle<> finished) noexcept override {
        if (finished == puller_.handle()) [[unlikely]] return puller_finished();
        return item_finished(handle_type::from_address(finished.address()));
    }

    std::coroutine_handle<> item_finished(handle_type item) noexcept {
        auto& outcome = item.promise().result_slot();
        if (options_.shared_limit != nullptr) [[unlikely]] count_out(running_.ticket_of(item), outcome);
        running_.remove(item);
        if (phase_ >= phase::stopping) {
            drop(item);  // cancelled by a stop, or finished after the first error in time
        } else if (options_.errors == error_mode::fail_fast && outcome.has_error()) {
            error_ = outcome.error();
            drop(item);
            begin_stop();
        } else if (sink_ != nullptr) {
            try {
                sink_->put(full_index(item.promise().item.index), outcome);
            } catch (...) {
                error_ = std::current_exception();
                begin_stop();
            }
            ++taken_;
            item.destroy();
        } else {
            queue_.finished(item);
        }
        return after_change();
    }

    /// An item under a shared limit finished: count it out with its outcome (the algorithm's
    /// sample). The limit tells its watchers, this engine among them: it refills in after_change.
    [[gnu::noinline]] void count_out(const limit_ticket& ticket, const outcome<value_type>& slot) noexcept {
        limit_state& shared = *options_.shared_limit;
        sluice::outcome verdict = sluice::outcome::ignored;
        try {
            verdict = shared.classify(slot.has_error() ? slot.error() : std::exception_ptr());
        } catch (...) {
            // The user's overload predicate threw: the sample says nothing about capacity.
        }
        counting_out_ = true;
        try {
            shared.finish(ticket, verdict, shared.now_if_needed());
        } catch (...) {
            // Only an on_change callback can throw, which its contract forbids; the count is right.
        }
        counting_out_ = false;
    }

    /// The shared limit changed (raised, or another operation under it finished).
    void room_changed() override {
        if (counting_out_ || phase_ != phase::open || loop_ == nullptr) return;  // not started yet: stay lazy
        refill();
        wake_consumer_if_satisfied();
    }

    /// After an item or the puller finished: leave the loop's roots once drained, free the engine if
    /// it was abandoned and is drained, else refill and wake the consumer if it can now proceed.
    std::coroutine_handle<> after_change() noexcept {
        if (drained()) loop_->release(*this);
        if (phase_ == phase::orphaned) {
            if (drained()) delete this;
            return std::noop_coroutine();
        }
        // A finish frees running capacity; that can start an item only when the window is wider
        // than the limit (submission order), when results go to a sink (the finish was also the
        // hand-out), for an async source's puller, or under a shared limit.
        if (phase_ == phase::open && (options_.window > options_.limit || async_source || sink_ != nullptr ||
                                      options_.shared_limit != nullptr)) {
            refill();
        }
        wake_consumer_if_satisfied();
        return std::noop_coroutine();
    }

    /// fill() where nothing may throw: an allocation failure ends the source instead.
    void refill() noexcept {
        try {
            fill();
        } catch (...) {
            // Only allocation can fail here (a frame, the queue); treat it as the source's failure.
            source_error_ = std::current_exception();
            source_ended();
        }
    }

    void wake_consumer_if_satisfied() noexcept {
        if (waiter_ != nullptr && waiter_->satisfied()) std::exchange(waiter_, nullptr)->wake();
    }

    // --- stopping ------------------------------------------------------------------------------

    void begin_stop() noexcept {
        if (phase_ < phase::stopping) phase_ = phase::stopping;
        running_.cancel_all();
        if (pulling_) puller_context_.request_cancel();
    }

    /// A result that will never be handed out: its frame goes now (also from inside the item's own
    /// final suspend: nothing touches the frame after item_finished returns).
    void drop(handle_type item) noexcept {
        queue_.dropped(static_cast<std::uint32_t>(item.promise().item.index - static_cast<std::uint32_t>(taken_)));
        item.destroy();
    }

    void discard_unconsumed() noexcept {
        queue_.drop_finished([](handle_type item) { item.destroy(); });
    }

    /// The submission index of an outstanding item from its low 32 bits (fewer than 2^32 items are
    /// ever outstanding at once: they all have frames).
    [[nodiscard]] std::uint64_t full_index(std::uint32_t low) const noexcept {
        return started_ - static_cast<std::uint32_t>(static_cast<std::uint32_t>(started_) - low);
    }

    Source source_;
    engine_options options_;
    std::optional<typename source_traits<std::remove_cvref_t<Source>>::position> position_;

    running_items<value_type> running_;
    delivery_queue<value_type> queue_;

    task<void> puller_;  // an async source's puller, or a sync source's next wave (run_puller)
    cancel_context puller_context_;

    result_sink<value_type>* sink_ = nullptr;
    event_loop* loop_ = nullptr;
    engine_waiter<bounded_engine>* waiter_ = nullptr;
    std::exception_ptr error_;         // fail-fast: the first item error in time
    std::exception_ptr source_error_;  // the source threw while being pulled
    std::uint64_t started_ = 0;
    std::uint64_t taken_ = 0;
    phase phase_ = phase::open;
    bool filling_ = false;  // re-entrancy guard of fill (not a state of the stream)
    bool counting_out_ = false;  // inside count_out: the limit's notice to this engine waits for after_change
    bool pulling_ = false;  // the puller runs or waits for its turn (counts as running for drained())
};

/// Owns a heap-allocated engine; dropping it abandons the engine (cancel, free once drained).
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
