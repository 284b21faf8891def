#pragma once
// The items the bounded-engine tests (as_completed, igather, gather) run: each records what happened
// to it in a `tracker`, counts itself in a `probe` while running, and carries a `counted` so a test
// can prove its frame was destroyed. One copy here instead of one per test file.

#include <sluice/sluice.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "counted.hpp"

namespace sluice_test::engine_items {

using namespace std::chrono_literals;
using sluice_test::counted;
using events = std::vector<std::string>;

std::size_t position(const events& log, const std::string& entry) {
    return static_cast<std::size_t>(std::find(log.begin(), log.end(), entry) - log.begin());
}

std::string start_of(int id) { return "start " + std::to_string(id); }
std::string end_of(int id) { return "end " + std::to_string(id); }

/// Items running now and the most ever seen at once.
struct probe {
    int now = 0;
    int max = 0;
    void enter() noexcept { max = std::max(max, ++now); }
    void leave() noexcept { --now; }
};

/// Counts an item as running for its lifetime, however the item ends.
class in_flight {
public:
    explicit in_flight(probe& p) noexcept : probe_(p) { probe_.enter(); }
    in_flight(const in_flight&) = delete;
    in_flight& operator=(const in_flight&) = delete;
    ~in_flight() { probe_.leave(); }

private:
    probe& probe_;
};

/// Lets the loop run until `settled()` holds: after a stop, the cancelled items finish their own
/// cleanup (itself a sleep) on the loop's time, which a fixed sleep would race on a loaded machine.
/// Never a wall-clock bound: a condition that never holds hangs the test into CTest's TIMEOUT.
template <class Condition>
sluice::task<void> until(Condition settled) {
    while (!settled()) co_await sluice::sleep_for(1ms);
}

/// What the items of one test did.
struct tracker {
    int started = 0;
    int finished = 0;   // returned normally
    int cancelled = 0;  // caught cancelled_error (and rethrew it, after any cleanup)
    events log;
};

struct item_failure : std::runtime_error {
    explicit item_failure(int which) : std::runtime_error("item " + std::to_string(which) + " failed"), id(which) {}
    int id;
};

struct source_failure : std::runtime_error {
    source_failure() : std::runtime_error("the source failed") {}
};

sluice::task<int> timed(int id, std::chrono::microseconds duration, tracker& t, [[maybe_unused]] counted frame = counted()) {
    ++t.started;
    t.log.push_back(start_of(id));
    co_await sluice::sleep_for(duration);
    t.log.push_back(end_of(id));
    ++t.finished;
    co_return id;
}

/// Sleeps 20 s; when cancelled, does 2 ms of asynchronous cleanup, records it, and rethrows.
sluice::task<int> stuck(int id, tracker& t, [[maybe_unused]] counted frame = counted()) {
    ++t.started;
    t.log.push_back(start_of(id));
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        t.log.push_back("cancel seen " + std::to_string(id));
    }
    co_await sluice::sleep_for(2ms);  // cleanup that itself suspends
    ++t.cancelled;
    t.log.push_back("cleaned up " + std::to_string(id));
    throw sluice::cancelled_error();
}

/// Throws item_failure(id) after `yields` yields; a cancellation meanwhile is recorded and rethrown.
sluice::task<int> fails_after(int id, int yields, tracker& t, [[maybe_unused]] counted frame = counted()) {
    ++t.started;
    t.log.push_back(start_of(id));
    try {
        for (int i = 0; i < yields; ++i) co_await sluice::yield();
    } catch (const sluice::cancelled_error&) {
        ++t.cancelled;
        t.log.push_back("cancelled " + std::to_string(id));
        throw;
    }
    t.log.push_back("fails " + std::to_string(id));
    throw item_failure(id);
}

sluice::task<int> probed(int id, std::chrono::microseconds duration, probe& p, [[maybe_unused]] counted frame = counted()) {
    in_flight running(p);
    co_await sluice::sleep_for(duration);
    co_return id;
}

sluice::task<std::unique_ptr<int>> boxed(int value) {
    co_await sluice::yield();
    co_return std::make_unique<int>(value);
}

/// Item i sleeps `units[i]` time units of 5 ms: the finishing order the tests assert then survives
/// a loaded machine (starting a handful of items under ASan can take a few milliseconds, which
/// 1 ms gaps would not). Lower bounds computed from units x 1 ms still hold.
inline constexpr std::chrono::milliseconds time_unit{5};

std::vector<sluice::task<int>> timed_items(std::initializer_list<int> units, tracker& t) {
    std::vector<sluice::task<int>> items;
    int id = 0;
    for (int n : units) items.push_back(timed(id++, n * time_unit, t));
    return items;
}

/// Returns `id` after `yields` yields (loop turns).
sluice::task<int> after_yields(int id, int yields, tracker& t, [[maybe_unused]] counted frame = counted()) {
    ++t.started;
    t.log.push_back(start_of(id));
    for (int i = 0; i < yields; ++i) co_await sluice::yield();
    t.log.push_back(end_of(id));
    ++t.finished;
    co_return id;
}

/// Item i takes turns[i] loop turns: an order of completions no load on the machine can change.
std::vector<sluice::task<int>> yielding_items(std::initializer_list<int> turns, tracker& t) {
    std::vector<sluice::task<int>> items;
    int id = 0;
    for (int n : turns) items.push_back(after_yields(id++, n, t));
    return items;
}

/// Yields five tasks, then throws source_failure while being pulled for a sixth.
sluice::generator<sluice::task<int>> five_then_throw(tracker& t) {
    for (int i = 0; i < 5; ++i) co_yield timed(i, std::chrono::milliseconds(1 + i), t);
    throw source_failure();
}

}  // namespace sluice_test::engine_items
