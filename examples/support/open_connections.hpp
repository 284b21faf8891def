#pragma once
// Shared by the servers in examples/ (echo_server, flags): counts the connections being served so
// that a graceful shutdown can wait for them to end (asyncio: Server.wait_closed()).

#include <sluice/event.hpp>
#include <sluice/task.hpp>

#include <utility>

namespace support {

/// The connections a server is serving right now.
class open_connections {
public:
    open_connections() { none_.set(); }

    /// How many are open.
    [[nodiscard]] long long count() const noexcept { return count_; }

    /// Runs `handler` (one connection) as an open connection: counted until it ends, however.
    sluice::task<> serve(sluice::task<> handler) {
        ++count_;
        none_.clear();
        try {
            co_await std::move(handler);
        } catch (...) {
            closed();
            throw;
        }
        closed();
    }

    /// `co_await all_closed()` returns once none is open (at once if none is).
    [[nodiscard]] auto all_closed() noexcept { return none_.wait(); }

private:
    void closed() {
        if (--count_ == 0) none_.set();
    }

    long long count_ = 0;
    sluice::event none_;
};

}  // namespace support
