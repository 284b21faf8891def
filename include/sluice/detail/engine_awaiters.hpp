#pragma once
// The bounded engine's consumer side: `co_await engine.next()` and `co_await engine.close()`. One
// consumer waits at a time; its wait is a cancellation point whose cancel ends only that wait (the
// items keep running and the next wait gets the next result).

#include <coroutine>
#include <stdexcept>
#include <utility>

#include "cancellation.hpp"
#include "event_loop.hpp"

namespace sluice::detail {

/// The consumer's wait on `Engine` (next or close). `Engine` provides: waiter_ (the current wait),
/// loop(), and what the derived awaiter's satisfied() asks.
template <class Engine>
class engine_waiter : public cancellation_point {
public:
    explicit engine_waiter(Engine& engine) noexcept : engine_(engine) {}
    [[nodiscard]] virtual bool satisfied() const noexcept = 0;

    void wake() noexcept {
        finish_completed();
        engine_.loop().schedule(waiter_);
    }
    void cancel_wait() noexcept override {
        // Only this wait ends; the items keep running and the next wait gets the next result.
        engine_.waiter_ = nullptr;
        finish_cancelled();
        engine_.loop().schedule(waiter_);
    }

protected:
    ~engine_waiter() = default;

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

    Engine& engine_;
};

/// `co_await engine.next()`: the next delivery, std::nullopt at the end.
template <class Engine>
class next_awaiter : public engine_waiter<Engine> {
public:
    using engine_waiter<Engine>::engine_waiter;
    [[nodiscard]] bool satisfied() const noexcept override { return this->engine_.consumer_can_proceed(); }

    [[nodiscard]] bool await_ready() {
        this->check_single_consumer();
        // Later refills happen where capacity frees up (a take, a finish); only the first
        // retrieval has to start the stream.
        this->engine_.start_stream();
        return satisfied();
    }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        return this->suspend(awaiting);
    }
    auto await_resume() {
        this->throw_if_cancelled();
        return this->engine_.take_next();
    }
};

/// `co_await engine.close()`: stop, drop unconsumed results, wait until every item finished.
template <class Engine>
class close_awaiter final : public engine_waiter<Engine> {
public:
    using engine_waiter<Engine>::engine_waiter;
    [[nodiscard]] bool satisfied() const noexcept override { return this->engine_.drained(); }

    [[nodiscard]] bool await_ready() {
        this->check_single_consumer();
        this->engine_.stop();
        return satisfied();
    }
    template <class Promise>
    bool await_suspend(std::coroutine_handle<Promise> awaiting) {
        return this->suspend(awaiting);
    }
    void await_resume() {
        this->throw_if_cancelled();
        this->engine_.forget_errors();
    }
};

}  // namespace sluice::detail
