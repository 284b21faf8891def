// Tests of sluice/cancellable.hpp: a hand-written cancellable_wait (started, completed, failed,
// cancelled before, during and after its wait; awaited twice, outside a loop, ended from another
// thread) and read_some/write_some on a descriptor the test owns.
//
// What must be cut short waits on something that never ends by itself (a gate nobody opens, an
// empty pipe), so a bug is a CTest TIMEOUT. No time bound is asserted.

#include <sluice/cancellable.hpp>
#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <coroutine>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include "support/await_error.hpp"
#include "support/co_check.hpp"
#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/pipe_pair.hpp"
#include "support/settle.hpp"

using namespace std::chrono_literals;
using sluice_test::counted;
using sluice_test::pipe_pair;
using sluice_test::settle;

namespace {

/// What the test sees of the wait in progress, and how on_cancel behaves.
template <class T>
struct gate;

/// A wait the test ends by hand through its gate; `inline_value` set: it completes inside start().
template <class T>
class gate_wait final : public sluice::cancellable_wait<T> {
public:
    explicit gate_wait(gate<T>& g) noexcept : gate_(&g) {}
    gate_wait(gate_wait&& other) noexcept : sluice::cancellable_wait<T>(std::move(other)), gate_(other.gate_) {}

    template <class... Args>
    bool open(Args&&... args) {
        return this->complete(std::forward<Args>(args)...);
    }
    bool fail_with(std::exception_ptr error) { return this->fail(std::move(error)); }
    bool end_cancelled() { return this->cancelled(); }
    [[nodiscard]] bool is_waiting() const noexcept { return this->waiting(); }

private:
    void start() override;
    void on_cancel() noexcept override;
    gate<T>* gate_;
};

template <class T>
struct gate {
    gate_wait<T>* current = nullptr;
    int starts = 0;
    int cancels = 0;
    bool defer_cancel = false;   // on_cancel only records; the test ends the wait
    bool complete_inline = false;
    bool throw_in_start = false;

    [[nodiscard]] gate_wait<T> wait() noexcept { return gate_wait<T>(*this); }
};

template <class T>
void gate_wait<T>::start() {
    ++gate_->starts;
    gate_->current = this;
    if (gate_->throw_in_start) throw std::runtime_error("start failed");
    if constexpr (std::is_void_v<T>) {
        if (gate_->complete_inline) CHECK(this->complete());
    } else if constexpr (std::is_constructible_v<T, int>) {
        if (gate_->complete_inline) CHECK(this->complete(T(7)));
    }
}

template <class T>
void gate_wait<T>::on_cancel() noexcept {
    ++gate_->cancels;
    if (!gate_->defer_cancel) (void)this->cancelled();
}

/// Waits for nothing that ever happens; only a cancel ends it (the default on_cancel).
class never_completes final : public sluice::cancellable_wait<> {
    void start() override {}
};

template <class T>
sluice::task<T> await_gate(gate<T>& g) {
    co_return co_await g.wait();
}

/// A task spawned to await the gate, already waiting there.
template <class T>
sluice::task<sluice::join_handle<T>> spawn_waiting(gate<T>& g) {
    auto waiter = sluice::spawn(await_gate(g));
    co_await settle();
    REQUIRE(g.current != nullptr);
    co_return waiter;
}

/// Awaits the gate, then yields once: what the wait delivered, and whether the yield was cancelled.
struct after_wait {
    int value = -1;
    bool wait_cancelled = false;
    bool yield_cancelled = false;
};
sluice::task<void> wait_then_yield(gate<int>& g, after_wait& seen) {
    try {
        seen.value = co_await g.wait();
    } catch (const sluice::cancelled_error&) {
        seen.wait_cancelled = true;
        throw;
    }
    try {
        co_await sluice::yield();
    } catch (const sluice::cancelled_error&) {
        seen.yield_cancelled = true;
        throw;
    }
}

}  // namespace

// --- completion --------------------------------------------------------------------------------------

SLUICE_TEST_CASE("cancellable_wait: complete() on the loop thread resumes the waiter with the value, later",
                 "[cancellable]") {
    gate<int> g;
    auto waiter = co_await spawn_waiting(g);
    CHECK(g.current->is_waiting());
    CHECK(g.current->open(42));
    CHECK_FALSE(waiter.done());  // scheduled, not resumed inside complete()
    CHECK_FALSE(g.current->open(43));  // the wait already ended: ignored
    CO_CHECK_EQ(waiter, 42);
    CHECK(g.starts == 1);
    CHECK(g.cancels == 0);
}

SLUICE_TEST_CASE("cancellable_wait: complete() inside start() delivers without suspending", "[cancellable]") {
    gate<int> g;
    g.complete_inline = true;
    CO_CHECK_EQ(g.wait(), 7);
    gate<void> v;
    v.complete_inline = true;
    co_await v.wait();
    CHECK(v.starts == 1);
}

SLUICE_TEST_CASE("cancellable_wait: a move-only value is moved out once, nothing leaks", "[cancellable]") {
    counted::reset();
    {
        gate<std::unique_ptr<counted>> g;
        auto waiter = co_await spawn_waiting(g);
        CHECK(g.current->open(std::make_unique<counted>(5)));
        std::unique_ptr<counted> got = co_await std::move(waiter);
        REQUIRE(got != nullptr);
        CHECK(got->id == 5);
    }
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("cancellable_wait: fail() makes the co_await throw that exception", "[cancellable]") {
    gate<int> g;
    auto waiter = co_await spawn_waiting(g);
    CHECK(g.current->fail_with(std::make_exception_ptr(std::runtime_error("refused"))));
    CHECK_FALSE(g.current->open(1));
    const std::string error = co_await sluice_test::error_of<std::runtime_error>(std::move(waiter));
    CHECK(error == "refused");
}

SLUICE_TEST_CASE("cancellable_wait: a throwing start() is the co_await's exception, and a later cancel goes to the next wait",
                 "[cancellable]") {
    gate<int> g;
    g.throw_in_start = true;
    const std::string error = co_await sluice_test::error_of<std::runtime_error>(g.wait());
    CHECK(error == "start failed");
    // The failed wait left no registration behind: a cancel of this task now reaches a new wait.
    gate<int> next;
    auto waiter = co_await spawn_waiting(next);
    waiter.cancel();
    CO_CHECK_EQ(sluice_test::ends_cancelled(waiter), true);
    CHECK(next.cancels == 1);
}

// --- cancellation ------------------------------------------------------------------------------------

namespace {
/// A task spawned to wait at its gate and yield once after (wait_then_yield), already waiting.
struct gate_waiter {
    gate<int> g;
    after_wait seen;
    sluice::join_handle<void> handle;
};
sluice::task<void> start_waiting(gate_waiter& w) {
    w.handle = sluice::spawn(wait_then_yield(w.g, w.seen));
    co_await settle();
    REQUIRE(w.g.current != nullptr);
}
}  // namespace

SLUICE_TEST_CASE("cancellable_wait: a cancel while waiting calls on_cancel, by default the wait ends cancelled",
                 "[cancellable][cancel]") {
    gate_waiter w;
    co_await start_waiting(w);
    w.handle.cancel();
    CO_CHECK_EQ(sluice_test::ends_cancelled(w.handle), true);
    CHECK(w.g.cancels == 1);
    CHECK(w.seen.wait_cancelled);
    CHECK(w.seen.value == -1);
}

SLUICE_TEST_CASE("cancellable_wait: on_cancel may end the wait later, or complete it: the value wins and the cancel waits",
                 "[cancellable][cancel]") {
    gate_waiter later;
    later.g.defer_cancel = true;
    co_await start_waiting(later);
    later.handle.cancel();
    co_await settle();
    CHECK(later.g.cancels == 1);
    CHECK_FALSE(later.handle.done());  // still waiting: on_cancel did not end it
    CHECK(later.g.current->end_cancelled());
    CO_CHECK_EQ(sluice_test::ends_cancelled(later.handle), true);
    CHECK(later.seen.wait_cancelled);

    gate_waiter value;
    value.g.defer_cancel = true;
    co_await start_waiting(value);
    value.handle.cancel();
    CHECK(value.g.current->open(9));  // the value arrived before the wait was stopped
    CO_CHECK_EQ(sluice_test::ends_cancelled(value.handle), true);
    CHECK(value.seen.value == 9);
    CHECK_FALSE(value.seen.wait_cancelled);
    CHECK(value.seen.yield_cancelled);  // the request was delivered at the next suspension
}

namespace {
struct self_cancel {
    sluice::join_handle<void> self;
    bool cancelled = false;
};
sluice::task<void> cancel_self_then_wait(self_cancel& state, gate<int>& g) {
    co_await sluice::yield();  // state.self is set by now
    state.self.cancel();
    try {
        (void)co_await g.wait();
    } catch (const sluice::cancelled_error&) {
        state.cancelled = true;
    }
}
}  // namespace

SLUICE_TEST_CASE("cancellable_wait: a cancel requested before the co_await is delivered at once, start() is not called",
                 "[cancellable][cancel]") {
    gate<int> g;
    self_cancel state;
    state.self = sluice::spawn(cancel_self_then_wait(state, g));
    co_await state.self;
    CHECK(state.cancelled);
    CHECK(g.starts == 0);
    CHECK(g.cancels == 0);
}

SLUICE_TEST_CASE("cancellable_wait: a cancel after complete() keeps the value, on_cancel is not called",
                 "[cancellable][cancel]") {
    gate_waiter w;
    co_await start_waiting(w);
    CHECK(w.g.current->open(5));
    w.handle.cancel();  // the waiter is scheduled but has not run yet
    CO_CHECK_EQ(sluice_test::ends_cancelled(w.handle), true);
    CHECK(w.seen.value == 5);
    CHECK_FALSE(w.seen.wait_cancelled);
    CHECK(w.seen.yield_cancelled);
    CHECK(w.g.cancels == 0);
}

SLUICE_TEST_CASE("cancellable_wait: wait_for cancels a wait that never completes and reports timeout_error",
                 "[cancellable][cancel]") {
    const std::string error = co_await sluice_test::error_of<sluice::timeout_error>(sluice::wait_for(never_completes{}, 1ms));
    CHECK(error == "sluice: timed out");
}

// --- bad inputs --------------------------------------------------------------------------------------

SLUICE_TEST_CASE("cancellable_wait: awaited a second time is std::logic_error, start() runs once", "[cancellable][errors]") {
    gate<int> g;
    g.complete_inline = true;
    gate_wait<int> wait = g.wait();
    CO_CHECK_EQ(wait, 7);
    std::string error;
    try {
        (void)co_await wait;  // the same object again
    } catch (const std::logic_error& e) {
        error = e.what();
    }
    CHECK(error == "sluice: a cancellable_wait was awaited twice");
    CHECK(g.starts == 1);
}

SLUICE_TEST_CASE("cancellable_wait: complete() before the co_await is ignored", "[cancellable][errors]") {
    gate<int> g;
    gate_wait<int> wait = g.wait();
    CHECK_FALSE(wait.open(1));
    CHECK_FALSE(wait.end_cancelled());
    auto waiter = co_await spawn_waiting(g);
    CHECK(g.current->open(2));
    CO_CHECK_EQ(waiter, 2);
}

SLUICE_TEST_CASE("cancellable_wait: ended from another thread is std::logic_error and changes nothing",
                 "[cancellable][errors]") {
    gate<int> g;
    auto waiter = co_await spawn_waiting(g);
    std::string error;
    std::thread other([&] {
        try {
            (void)g.current->open(1);
        } catch (const std::logic_error& e) {
            error = e.what();
        }
    });
    other.join();
    CHECK(error == "sluice: a cancellable_wait was ended from another thread than its loop's");
    CHECK(g.current->is_waiting());
    CHECK(g.current->open(3));
    CO_CHECK_EQ(waiter, 3);
}

namespace {
/// An eager coroutine that is not a sluice task, run with no loop on the thread.
struct loopless {
    struct promise_type {
        std::string error;
        loopless get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() const noexcept { return {}; }
        std::suspend_never final_suspend() const noexcept { return {}; }
        void return_void() const noexcept {}
        void unhandled_exception() const noexcept {}
    };
};
loopless await_without_loop(gate<int>& g, std::string& error) {
    try {
        (void)co_await g.wait();
    } catch (const std::logic_error& e) {
        error = e.what();
    }
}
}  // namespace

TEST_CASE("cancellable_wait: awaited outside a loop is std::logic_error, start() is not called", "[cancellable][errors]") {
    gate<int> g;
    std::string error;
    await_without_loop(g, error);
    CHECK(error == "sluice: no event loop is running on this thread");
    CHECK(g.starts == 0);
}

// --- read_some / write_some --------------------------------------------------------------------------

namespace {
sluice::task<std::size_t> read_into(int fd, std::span<std::byte> buffer) { co_return co_await sluice::read_some(fd, buffer); }
}  // namespace

SLUICE_TEST_CASE("read_some/write_some move bytes through a pipe, an empty buffer transfers 0", "[cancellable][io]") {
    pipe_pair pipe;
    const std::string hello = "hello";
    CO_CHECK_EQ(sluice::write_some(pipe.write_end, std::as_bytes(std::span(hello))), 5u);
    std::array<std::byte, 16> buffer{};
    CO_CHECK_EQ(sluice::read_some(pipe.read_end, buffer), 5u);
    CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), 5) == "hello");
    CO_CHECK_EQ(sluice::write_some(pipe.write_end, {}), 0u);
    CO_CHECK_EQ(sluice::read_some(pipe.read_end, {}), 0u);
}

SLUICE_TEST_CASE("read_some blocked on an empty pipe is cancelled, the next read gets the bytes", "[cancellable][io][cancel]") {
    pipe_pair pipe;
    std::array<std::byte, 16> buffer{};
    auto reader = sluice::spawn(read_into(pipe.read_end, buffer));
    co_await settle();
    reader.cancel();
    CO_CHECK_EQ(sluice_test::ends_cancelled(reader), true);
    REQUIRE(::write(pipe.write_end, "x", 1) == 1);
    CO_CHECK_EQ(sluice::read_some(pipe.read_end, buffer), 1u);
}

SLUICE_TEST_CASE("read_some/write_some on a bad descriptor: std::system_error EBADF named read/write", "[cancellable][io][errors]") {
    std::array<std::byte, 4> buffer{};
    std::error_code read_code;
    std::string read_what;
    try {
        (void)co_await sluice::read_some(-1, buffer);
    } catch (const std::system_error& e) {
        read_code = e.code();
        read_what = e.what();
    }
    CHECK(read_code.value() == EBADF);
    CHECK(read_what.rfind("read", 0) == 0);
    std::error_code write_code;
    try {
        (void)co_await sluice::write_some(-1, buffer);
    } catch (const std::system_error& e) {
        write_code = e.code();
    }
    CHECK(write_code.value() == EBADF);
    CHECK(sluice::forget_descriptor(-1) == -1);
}
