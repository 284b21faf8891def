#pragma once
// A randomized checker of the bounded-concurrency engine through all of its faces, shared by
// tests/bounded_fuzz_test.cpp (a small configuration in the normal suite) and
// tests/bounded_stress_test.cpp (10^6 items, label `stress`).
//
// Each round picks, from a seeded std::mt19937_64:
//  - a face: limited_as_completed, igather in completion order, igather in submission order with a
//    random window >= limit, igather collect (either order), bounded gather (fail-fast or
//    return_exceptions);
//  - a source: an rvalue or lvalue vector of tasks, a generator<task<int>>, or an
//    async_generator<task<int>> (igather only); a generator throws while being pulled in ~5% of
//    rounds;
//  - a limit (1..64) and item behaviours: 0-3 yields or a 0-1 ms sleep, failing with the
//    distinctive `checker_failure` in ~5% of items in half of the rounds;
//  - in ~20% of rounds an early stop: break out after k results (or destroy the igather stream),
//    or cancel the consuming task after a random delay.
// and checks: never more than `limit` items running; never more than `window` items started and
// not yet handed out (the source is never read ahead); every item started at most once and
// delivered at most once, with its own value; in fail-fast faces the error is the first failure in
// time, preceded exactly by the results the rules allow (completion order: those finished before
// it; submission order: the contiguous prefix finished before it); complete rounds deliver
// everything (and a throwing source's error after every started item); nothing is pulled after the
// stream ended; zero leaked frames once the loop settled.
//
// Problems are collected as strings, not asserted inside coroutines the engine runs; the caller
// reports them with the round's description and the seed (see run_bounded_checker).

#include <sluice/as_completed.hpp>
#include <sluice/async_generator.hpp>
#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/gather.hpp>
#include <sluice/generator.hpp>
#include <sluice/igather.hpp>
#include <sluice/result.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "counted.hpp"

namespace sluice_test::bounded {

/// The distinctive failure of a checker item.
struct checker_failure : std::runtime_error {
    explicit checker_failure(int which) : std::runtime_error("checker item failed"), index(which) {}
    int index;
};

/// The distinctive failure of a checker source.
struct checker_source_failure : std::runtime_error {
    checker_source_failure() : std::runtime_error("checker source failed") {}
};

enum class face { as_completed, igather_completion, igather_submission, igather_collect, gather_bounded };
enum class source_kind { rvalue_vector, lvalue_vector, generator, async_generator };
enum class stop_kind { none, break_after, cancel_consumer };

inline const char* name_of(face f) {
    switch (f) {
        case face::as_completed: return "limited_as_completed";
        case face::igather_completion: return "igather completion";
        case face::igather_submission: return "igather submission";
        case face::igather_collect: return "igather collect";
        case face::gather_bounded: return "gather bounded";
    }
    return "?";
}
inline const char* name_of(source_kind s) {
    switch (s) {
        case source_kind::rvalue_vector: return "rvalue vector";
        case source_kind::lvalue_vector: return "lvalue vector";
        case source_kind::generator: return "generator";
        case source_kind::async_generator: return "async_generator";
    }
    return "?";
}

struct item_spec {
    int yields = 0;        // when sleep_us < 0
    int sleep_us = -1;     // >= 0: sleep this long instead of yielding
    bool fails = false;    // throw checker_failure at the end
    bool source_yield = false;  // an async source yields before producing this item
};

struct round_spec {
    face kind = face::as_completed;
    source_kind source = source_kind::rvalue_vector;
    int limit = 1;
    int window = 1;            // submission order: the igather window; else = limit
    bool submission = false;   // igather collect: which order
    bool collect = false;      // gather bounded: return_exceptions
    std::vector<item_spec> items;
    int source_fails_at = -1;  // generator sources: throw instead of producing this item (n: at the end)
    stop_kind stop = stop_kind::none;
    int stop_after = 0;        // break_after: results taken before breaking
    int cancel_yields = 0;     // cancel_consumer: loop turns before the cancel (or...)
    int cancel_sleep_us = -1;  // ... a sleep instead, when >= 0

    [[nodiscard]] bool fail_fast() const noexcept {
        return kind == face::igather_completion || kind == face::igather_submission ||
               (kind == face::gather_bounded && !collect);
    }
    [[nodiscard]] bool ordered() const noexcept {
        return kind == face::igather_submission || (kind == face::igather_collect && submission) ||
               kind == face::gather_bounded;
    }

    [[nodiscard]] std::string describe() const {
        std::ostringstream out;
        int failing = 0;
        for (const item_spec& item : items) failing += item.fails ? 1 : 0;
        out << name_of(kind);
        if (kind == face::igather_collect) out << (submission ? " (submission order)" : " (completion order)");
        if (kind == face::gather_bounded && collect) out << " (return_exceptions)";
        out << ", source " << name_of(source) << ", limit " << limit;
        if (kind == face::igather_submission || (kind == face::igather_collect && submission)) out << ", window " << window;
        out << ", " << items.size() << " items, " << failing << " failing";
        if (source_fails_at >= 0) out << ", source throws at " << source_fails_at;
        if (stop == stop_kind::break_after) out << ", break after " << stop_after << " results";
        if (stop == stop_kind::cancel_consumer) {
            out << ", consumer cancelled after ";
            if (cancel_sleep_us >= 0) {
                out << cancel_sleep_us << " us";
            } else {
                out << cancel_yields << " loop turns";
            }
        }
        return out.str();
    }
};

/// What the items, the source and the consumer of one round did.
struct round_state {
    explicit round_state(std::size_t n) : starts(n, 0), finish_seq(n, -1), failed(n, 0), delivered(n, 0), delivered_failure(n, 0) {}

    std::vector<int> starts;                // times each item started
    std::vector<std::int64_t> finish_seq;   // when it finished (value or own failure); -1: it did not
    std::vector<char> failed;               // it ended with its own failure
    std::vector<int> delivered;             // times its result reached the consumer
    std::vector<char> delivered_failure;    // that result was its failure
    std::vector<int> order;                 // indices in delivery order
    std::int64_t seq = 0;
    int running = 0;
    int max_running = 0;
    int started_total = 0;
    int pulls = 0;      // items a generator source produced
    int received = 0;   // deliveries (values, and failures where they are delivered per item)
    int first_failure = -1;  // the first item to fail, in time
    int started_at_first_failure = -1;
    int caught_failure = -1; // fail-fast: the failure that ended the stream
    bool source_error_seen = false;
    bool broke_early = false;
    std::vector<std::string> problems;

    void problem(std::string what) {
        if (problems.size() < 20) problems.push_back(std::move(what));
    }

    /// The consumer got `index`'s result; `window` bounds started-and-not-handed-out items.
    void deliver(int index, bool failure, int window, bool check_window) {
        if (index < 0 || static_cast<std::size_t>(index) >= delivered.size()) {
            problem("delivered an index out of range: " + std::to_string(index));
            return;
        }
        const auto i = static_cast<std::size_t>(index);
        if (++delivered[i] > 1) problem("item " + std::to_string(index) + " delivered twice");
        if (starts[i] != 1) problem("item " + std::to_string(index) + " delivered but started " + std::to_string(starts[i]) + " times");
        if (failure != (failed[i] != 0)) problem("item " + std::to_string(index) + " delivered as the wrong kind of result");
        delivered_failure[i] = failure ? 1 : 0;
        order.push_back(index);
        ++received;
        if (check_window && started_total > received + window) {
            problem("read ahead: " + std::to_string(started_total) + " items started after " + std::to_string(received) +
                    " were handed out (window " + std::to_string(window) + ")");
        }
    }
    void deliver_value(int value, int window, bool check_window) {
        if (value % 3 != 1) {
            problem("a delivered value was not produced by any item: " + std::to_string(value));
            return;
        }
        deliver((value - 1) / 3, false, window, check_window);
    }
};

inline int value_of(int index) { return index * 3 + 1; }

/// One item: counted while running, records when it finished, fails if told to.
inline sluice::task<int> checker_item(int index, item_spec spec, round_state& st, [[maybe_unused]] counted frame = counted()) {
    const auto i = static_cast<std::size_t>(index);
    ++st.starts[i];
    ++st.started_total;
    st.max_running = std::max(st.max_running, ++st.running);
    struct leave {
        round_state& st;
        ~leave() { --st.running; }
    } running_until_the_end{st};
    if (spec.sleep_us >= 0) {
        co_await sluice::sleep_for(std::chrono::microseconds(spec.sleep_us));
    } else {
        for (int y = 0; y < spec.yields; ++y) co_await sluice::yield();
    }
    st.finish_seq[i] = st.seq++;
    if (spec.fails) {
        st.failed[i] = 1;
        if (st.first_failure < 0) {
            st.first_failure = index;
            st.started_at_first_failure = st.started_total;
        }
        throw checker_failure(index);
    }
    co_return value_of(index);
}

inline std::vector<sluice::task<int>> vector_source(const round_spec& spec, round_state& st) {
    std::vector<sluice::task<int>> items;
    items.reserve(spec.items.size());
    for (std::size_t i = 0; i < spec.items.size(); ++i) items.push_back(checker_item(static_cast<int>(i), spec.items[i], st));
    return items;
}

inline sluice::generator<sluice::task<int>> generator_source(const round_spec& spec, round_state& st) {
    [[maybe_unused]] counted frame;
    const int n = static_cast<int>(spec.items.size());
    for (int i = 0; i < n; ++i) {
        if (i == spec.source_fails_at) throw checker_source_failure();
        ++st.pulls;
        co_yield checker_item(i, spec.items[static_cast<std::size_t>(i)], st);
    }
    if (spec.source_fails_at == n) throw checker_source_failure();
}

inline sluice::async_generator<sluice::task<int>> async_source(const round_spec& spec, round_state& st) {
    [[maybe_unused]] counted frame;
    const int n = static_cast<int>(spec.items.size());
    for (int i = 0; i < n; ++i) {
        if (spec.items[static_cast<std::size_t>(i)].source_yield) co_await sluice::yield();
        if (i == spec.source_fails_at) throw checker_source_failure();
        ++st.pulls;
        co_yield checker_item(i, spec.items[static_cast<std::size_t>(i)], st);
    }
    if (spec.source_fails_at == n) {
        co_await sluice::yield();
        throw checker_source_failure();
    }
}

template <class Source>
sluice::task<void> via_as_completed(const round_spec& spec, round_state& st, Source source) {
    auto range = sluice::limited_as_completed(std::forward<Source>(source), spec.limit);
    try {
        for (auto next : range) {
            if (spec.stop == stop_kind::break_after && st.received >= spec.stop_after) {
                st.broke_early = true;
                break;
            }
            try {
                const int value = co_await next;
                st.deliver_value(value, spec.limit, true);
            } catch (const checker_failure& failure) {
                st.deliver(failure.index, true, spec.limit, true);
            }
        }
    } catch (const checker_source_failure&) {
        st.source_error_seen = true;
    }
}

template <class Source>
sluice::task<void> via_igather(const round_spec& spec, round_state& st, Source source) {
    const bool submission = spec.kind == face::igather_submission || (spec.kind == face::igather_collect && spec.submission);
    const sluice::igather_options options{submission ? sluice::order::submission : sluice::order::completion,
                                          submission ? static_cast<std::size_t>(spec.window) : 0};
    const int window = submission ? spec.window : spec.limit;
    try {
        if (spec.kind == face::igather_collect) {
            auto results = sluice::igather(std::forward<Source>(source), spec.limit, options, sluice::collect);
            while (true) {
                if (spec.stop == stop_kind::break_after && st.received >= spec.stop_after) {
                    st.broke_early = true;  // destroys the stream mid-iteration
                    break;
                }
                auto r = co_await results.next();
                if (!r) break;
                if (r->has_value()) {
                    st.deliver_value(r->value(), window, true);
                } else {
                    try {
                        std::rethrow_exception(r->error());
                    } catch (const checker_failure& failure) {
                        st.deliver(failure.index, true, window, true);
                    } catch (...) {
                        st.problem("collect yielded an unexpected exception");
                    }
                }
            }
        } else {
            auto results = sluice::igather(std::forward<Source>(source), spec.limit, options);
            while (true) {
                if (spec.stop == stop_kind::break_after && st.received >= spec.stop_after) {
                    st.broke_early = true;
                    break;
                }
                auto r = co_await results.next();
                if (!r) break;
                st.deliver_value(*r, window, true);
            }
        }
    } catch (const checker_failure& failure) {
        st.caught_failure = failure.index;
    } catch (const checker_source_failure&) {
        st.source_error_seen = true;
    }
}

template <class Source>
sluice::task<void> via_gather(const round_spec& spec, round_state& st, Source source) {
    try {
        if (spec.collect) {
            std::vector<sluice::result<int>> all =
                co_await sluice::gather(sluice::return_exceptions, std::forward<Source>(source), spec.limit);
            for (std::size_t i = 0; i < all.size(); ++i) {
                if (all[i].has_value()) {
                    st.deliver_value(all[i].value(), 0, false);
                } else {
                    try {
                        std::rethrow_exception(all[i].error());
                    } catch (const checker_failure& failure) {
                        st.deliver(failure.index, true, 0, false);
                    } catch (...) {
                        st.problem("gather(return_exceptions) held an unexpected exception");
                    }
                }
            }
        } else {
            std::vector<int> all = co_await sluice::gather(std::forward<Source>(source), spec.limit);
            for (int value : all) st.deliver_value(value, 0, false);
        }
    } catch (const checker_failure& failure) {
        st.caught_failure = failure.index;
    } catch (const checker_source_failure&) {
        st.source_error_seen = true;
    }
}

/// The consumer of one round: the chosen face over `source`.
template <class Source>
sluice::task<void> consume(const round_spec& spec, round_state& st, Source source) {
    constexpr bool async = std::is_same_v<std::remove_cvref_t<Source>, sluice::async_generator<sluice::task<int>>>;
    switch (spec.kind) {
        case face::as_completed:
            if constexpr (!async) co_await via_as_completed<Source>(spec, st, std::forward<Source>(source));
            break;
        case face::igather_completion:
        case face::igather_submission:
        case face::igather_collect:
            co_await via_igather<Source>(spec, st, std::forward<Source>(source));
            break;
        case face::gather_bounded:
            if constexpr (!async) co_await via_gather<Source>(spec, st, std::forward<Source>(source));
            break;
    }
}

/// The checks that need the whole round; `complete`: the consumer was neither stopped nor cancelled.
inline void verify(const round_spec& spec, round_state& st, bool complete) {
    const int n = static_cast<int>(spec.items.size());
    const bool generated = spec.source == source_kind::generator || spec.source == source_kind::async_generator;
    const int produced = spec.source_fails_at >= 0 ? std::min(spec.source_fails_at, n) : n;

    if (st.max_running > spec.limit) {
        st.problem(std::to_string(st.max_running) + " items ran at once, limit " + std::to_string(spec.limit));
    }
    for (int i = 0; i < n; ++i) {
        if (st.starts[static_cast<std::size_t>(i)] > 1) st.problem("item " + std::to_string(i) + " started more than once");
    }
    if (st.running != 0) st.problem(std::to_string(st.running) + " items still running after the round settled");
    if (generated && st.pulls != st.started_total) {
        st.problem("the source produced " + std::to_string(st.pulls) + " items but " + std::to_string(st.started_total) +
                   " started");
    }
    if (spec.fail_fast() && st.first_failure >= 0 && st.started_total != st.started_at_first_failure) {
        st.problem("fail-fast: " + std::to_string(st.started_total - st.started_at_first_failure) +
                   " items started after the first failure");
    }
    if (st.caught_failure >= 0 && st.caught_failure != st.first_failure) {
        st.problem("fail-fast rethrew item " + std::to_string(st.caught_failure) + "'s failure, but item " +
                   std::to_string(st.first_failure) + " failed first");
    }
    if (!complete) return;

    const auto delivered_in_source_order = [&](int count) {
        if (static_cast<int>(st.order.size()) != count) return false;
        for (int i = 0; i < count; ++i) {
            if (st.order[static_cast<std::size_t>(i)] != i) return false;
        }
        return true;
    };

    if (spec.kind == face::gather_bounded && spec.source_fails_at >= 0 && (spec.collect || st.first_failure < 0)) {
        // gather has no partial result: the source's error replaces the vector.
        if (!st.source_error_seen) st.problem("gather: the source's error was not rethrown");
        if (!st.order.empty()) st.problem("gather: results delivered although the source failed");
        return;
    }
    if (!spec.fail_fast() || st.first_failure < 0) {
        // Everything the source produced is delivered once; then the source's error, if any.
        for (int i = 0; i < produced; ++i) {
            if (st.delivered[static_cast<std::size_t>(i)] != 1) {
                st.problem("complete round: item " + std::to_string(i) + " delivered " +
                           std::to_string(st.delivered[static_cast<std::size_t>(i)]) + " times");
                break;
            }
        }
        if (static_cast<int>(st.order.size()) != produced) {
            st.problem("complete round: " + std::to_string(st.order.size()) + " deliveries for " + std::to_string(produced) +
                       " items");
        }
        if (st.source_error_seen != (spec.source_fails_at >= 0)) {
            st.problem(st.source_error_seen ? "a source error nobody threw" : "the source's error was not rethrown");
        }
        if (st.caught_failure >= 0) st.problem("fail-fast rethrew a failure although no item failed");
        if (spec.ordered() && !delivered_in_source_order(produced)) st.problem("results not in source order");
        return;
    }

    // Fail-fast with a failure: the first failure in time ends the stream.
    if (st.caught_failure != st.first_failure) {
        st.problem("fail-fast: caught " + std::to_string(st.caught_failure) + ", first failure was " +
                   std::to_string(st.first_failure));
    }
    if (st.source_error_seen) st.problem("fail-fast: the source's error was rethrown instead of the item's");
    const std::int64_t failed_at = st.finish_seq[static_cast<std::size_t>(st.first_failure)];
    const auto finished_before_failure = [&](int i) {
        const auto k = static_cast<std::size_t>(i);
        return st.finish_seq[k] >= 0 && st.failed[k] == 0 && st.finish_seq[k] < failed_at;
    };
    if (spec.kind == face::gather_bounded) {
        if (!st.order.empty()) st.problem("a failed gather delivered results");
    } else if (spec.kind == face::igather_submission) {
        int prefix = 0;
        while (prefix < n && finished_before_failure(prefix)) ++prefix;
        if (!delivered_in_source_order(prefix)) {
            st.problem("submission order fail-fast: expected the prefix 0.." + std::to_string(prefix - 1) + ", got " +
                       std::to_string(st.order.size()) + " results");
        }
    } else {
        for (int i = 0; i < n; ++i) {
            const int expected = finished_before_failure(i) ? 1 : 0;
            if (st.delivered[static_cast<std::size_t>(i)] != expected) {
                st.problem("completion order fail-fast: item " + std::to_string(i) +
                           (expected ? " finished before the failure but was not delivered" : " was delivered after the failure"));
                break;
            }
        }
    }
}

/// Runs one round and returns its problems (empty: it passed).
inline sluice::task<std::vector<std::string>> run_round(const round_spec& spec) {
    round_state st(spec.items.size());
    const std::int64_t alive_before = counted::alive();
    bool complete = true;
    int pulls_at_end = 0;
    int started_at_end = 0;
    {
        std::vector<sluice::task<int>> lvalue_items;
        if (spec.source == source_kind::lvalue_vector) lvalue_items = vector_source(spec, st);

        auto make_consumer = [&]() -> sluice::task<void> {
            switch (spec.source) {
                case source_kind::rvalue_vector:
                    return consume<std::vector<sluice::task<int>>>(spec, st, vector_source(spec, st));
                case source_kind::lvalue_vector:
                    return consume<std::vector<sluice::task<int>>&>(spec, st, lvalue_items);
                case source_kind::generator:
                    return consume<sluice::generator<sluice::task<int>>>(spec, st, generator_source(spec, st));
                case source_kind::async_generator:
                    return consume<sluice::async_generator<sluice::task<int>>>(spec, st, async_source(spec, st));
            }
            return {};
        };

        try {
            if (spec.stop == stop_kind::cancel_consumer) {
                auto consumer = sluice::spawn(make_consumer());
                if (spec.cancel_sleep_us >= 0) {
                    co_await sluice::sleep_for(std::chrono::microseconds(spec.cancel_sleep_us));
                } else {
                    for (int i = 0; i < spec.cancel_yields; ++i) co_await sluice::yield();
                }
                consumer.cancel();
                sluice::result<void> ended = co_await consumer.as_result();
                if (!ended.has_value()) {
                    complete = false;
                    try {
                        ended.value();
                    } catch (const sluice::cancelled_error&) {
                    } catch (const std::exception& error) {
                        st.problem(std::string("the cancelled consumer failed with: ") + error.what());
                    }
                }
            } else {
                co_await make_consumer();
                complete = !st.broke_early;
            }
        } catch (const std::exception& error) {
            st.problem(std::string("the consumer failed with: ") + error.what());
            complete = false;
        }
        pulls_at_end = st.pulls;
        started_at_end = st.started_total;
    }
    // Let cancelled items finish; a stuck one shows as a leak here, not as a hang.
    for (int turn = 0; turn < 10'000 && (counted::alive() != alive_before || st.running != 0); ++turn) {
        if (turn < 100) {
            co_await sluice::yield();
        } else {
            co_await sluice::sleep_for(std::chrono::milliseconds(1));
        }
    }
    if (counted::alive() != alive_before) {
        st.problem(std::to_string(counted::alive() - alive_before) + " frames leaked (items or source)");
    }
    if (st.pulls != pulls_at_end) st.problem("the source was pulled after the stream ended");
    if (st.started_total != started_at_end) st.problem("an item started after the stream ended");
    verify(spec, st, complete);
    co_return std::move(st.problems);
}

/// A random round of at most `max_items` items.
inline round_spec random_round(std::mt19937_64& random, int max_items) {
    const auto chance = [&](double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(random) < p; };
    const auto uniform = [&](int low, int high) { return std::uniform_int_distribution<int>(low, high)(random); };

    round_spec spec;
    spec.kind = static_cast<face>(uniform(0, 4));
    const bool async_allowed = spec.kind != face::as_completed && spec.kind != face::gather_bounded;
    spec.source = static_cast<source_kind>(uniform(0, async_allowed ? 3 : 2));
    spec.limit = chance(0.2) ? uniform(1, 4) : uniform(1, 64);
    spec.window = spec.limit;
    if (spec.kind == face::igather_submission || spec.kind == face::igather_collect) {
        spec.submission = spec.kind == face::igather_submission || chance(0.5);
        if (spec.submission) spec.window = spec.limit + (chance(0.5) ? 0 : uniform(1, 2 * spec.limit));
    }
    spec.collect = spec.kind == face::gather_bounded && chance(0.3);

    const int n = chance(0.05) ? uniform(0, 2) : uniform(0, max_items);
    // Half the rounds have no failures (so long runs complete); a few have many.
    const double failure_rate = chance(0.5) ? 0.0 : (chance(0.8) ? 0.05 : 0.2);
    // Behaviour profiles: mixed sleeps and yields; yields only; lockstep (one yield each, so many
    // items finish in the same loop turn and races between completions and errors are frequent).
    const int profile = uniform(0, 9);
    spec.items.resize(static_cast<std::size_t>(n));
    for (item_spec& item : spec.items) {
        if (profile < 5 && chance(0.3)) {
            item.sleep_us = uniform(0, 1000);
        } else if (profile < 8) {
            item.yields = uniform(0, 3);
        } else {
            item.yields = 1;
        }
        item.fails = chance(failure_rate);
        item.source_yield = chance(0.2);
    }
    if ((spec.source == source_kind::generator || spec.source == source_kind::async_generator) && chance(0.05)) {
        spec.source_fails_at = uniform(0, n);
    }
    if (chance(0.2)) {
        const bool can_break = spec.kind != face::gather_bounded;
        if (can_break && chance(0.5)) {
            spec.stop = stop_kind::break_after;
            spec.stop_after = uniform(0, std::max(0, n - 1));
        } else {
            spec.stop = stop_kind::cancel_consumer;
            if (chance(0.5)) {
                spec.cancel_sleep_us = uniform(0, 1000);
            } else {
                spec.cancel_yields = uniform(0, 8);
            }
        }
    }
    return spec;
}

struct checker_config {
    std::uint64_t seed = 0;
    std::int64_t total_items = 0;  // rounds run until this many items were generated
    int max_items_per_round = 0;
};

struct checker_report {
    int rounds = 0;
    std::int64_t items = 0;
    bool passed = true;
};

/// The seed: SLUICE_STRESS_SEED from the environment when set, else `fallback`.
inline std::uint64_t seed_from_environment(std::uint64_t fallback) {
    if (const char* text = std::getenv("SLUICE_STRESS_SEED"); text != nullptr && *text != '\0') {
        return std::strtoull(text, nullptr, 0);
    }
    return fallback;
}

/// Runs random rounds until `config.total_items` items were generated; reports the first failing
/// round through Catch (with the seed and the round's description) and stops there.
inline sluice::task<checker_report> run_bounded_checker(checker_config config) {
    std::mt19937_64 random(config.seed);
    checker_report report;
    counted::reset();
    while (report.items < config.total_items) {
        const round_spec spec = random_round(random, config.max_items_per_round);
        std::vector<std::string> problems = co_await run_round(spec);
        ++report.rounds;
        report.items += static_cast<std::int64_t>(spec.items.size());
        if (!problems.empty()) {
            report.passed = false;
            INFO("seed " << config.seed << " (set SLUICE_STRESS_SEED to rerun), round " << report.rounds << ": "
                         << spec.describe());
            for (const std::string& problem : problems) FAIL_CHECK(problem);
            break;
        }
    }
    co_return report;
}

}  // namespace sluice_test::bounded
