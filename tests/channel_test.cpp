// Tests of channel<T> (sluice/channel.hpp): FIFO and back pressure on one loop, senders and
// receivers on several loops (run_on_cores), close while full, cancellation of waiting sends and
// receives, loops ending while items are in flight. Also run under ThreadSanitizer (.ci/run).
//
// No wall-clock upper bound: a wake-up that never comes is a CTest TIMEOUT. Items are counted
// (tests/support/counted.hpp) to show none is lost or leaked.

#include <sluice/cancellation.hpp>
#include <sluice/channel.hpp>
#include <sluice/event.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/queue.hpp>
#include <sluice/run_on_cores.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <latch>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/await_error.hpp"
#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/settle.hpp"

using namespace std::chrono_literals;
using sluice_test::counted;
using sluice_test::ends_cancelled;
using sluice_test::error_of;

namespace {

using sluice_test::settle;

/// Sends 0 .. n-1 tagged with `producer` (id = producer * 1'000'000 + i).
sluice::task<void> produce(sluice::channel<counted> ch, int producer, int n) {
    for (int i = 0; i < n; ++i) co_await ch.send(counted(producer * 1'000'000 + i));
}

}  // namespace

// --- one loop -------------------------------------------------------------------------------------

TEST_CASE("channel: capacity 0 is std::invalid_argument", "[channel]") {
    REQUIRE_THROWS_AS(sluice::channel<int>(0), std::invalid_argument);
}

SLUICE_TEST_CASE("channel: FIFO, send suspends while full and resumes when a receive makes room",
                 "[channel]") {
    sluice::channel<int> ch(2);
    CHECK(ch.capacity() == 2);
    co_await ch.send(1);
    co_await ch.send(2);
    bool third_sent = false;
    auto sender = sluice::spawn([](sluice::channel<int> ch, bool& sent) -> sluice::task<void> {
        co_await ch.send(3);
        sent = true;
    }, ch, std::ref(third_sent));
    co_await settle(10);
    CHECK_FALSE(third_sent);  // full: back pressure
    auto got5 = co_await ch.receive();
    CHECK(got5 == 1);
    co_await sender;
    CHECK(third_sent);
    auto got6 = co_await ch.receive();
    CHECK(got6 == 2);
    auto got7 = co_await ch.receive();
    CHECK(got7 == 3);
}

SLUICE_TEST_CASE("channel: a receive waits for a send, which hands its item over", "[channel]") {
    sluice::channel<int> ch(1);
    auto receiver = sluice::spawn([](sluice::channel<int> ch) -> sluice::task<int> { co_return co_await ch.receive(); }, ch);
    co_await settle(10);
    CHECK_FALSE(receiver.done());
    co_await ch.send(42);
    auto got8 = co_await receiver;
    CHECK(got8 == 42);
}

SLUICE_TEST_CASE("channel: close while full wakes the senders with queue_closed, buffered items drain first",
                 "[channel]") {
    counted::reset();
    {
        sluice::channel<counted> ch(2);
        co_await ch.send(counted(1));
        co_await ch.send(counted(2));
        auto blocked = sluice::spawn(produce, ch, 7, 1);
        co_await settle(10);
        ch.close();
        CHECK(ch.closed());
        auto got9 = co_await error_of<sluice::queue_closed>(std::move(blocked));
        CHECK(got9 == "sluice: queue closed");
        auto got10 = co_await error_of<sluice::queue_closed>(ch.send(counted(3)));
        CHECK(got10 == "sluice: queue closed");
        auto got1 = co_await ch.receive();
        CHECK(got1.id == 1);
        auto got2 = co_await ch.receive();
        CHECK(got2.id == 2);
        auto got11 = co_await error_of<sluice::queue_closed>(ch.receive());
        CHECK(got11 == "sluice: queue closed");
        ch.close();  // twice: no effect
    }
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("channel: close wakes waiting receivers with queue_closed", "[channel]") {
    sluice::channel<int> ch(1);
    auto a = sluice::spawn([](sluice::channel<int> ch) -> sluice::task<int> { co_return co_await ch.receive(); }, ch);
    auto b = sluice::spawn([](sluice::channel<int> ch) -> sluice::task<int> { co_return co_await ch.receive(); }, ch);
    co_await settle(10);
    ch.close();
    auto got12 = co_await error_of<sluice::queue_closed>(std::move(a));
    CHECK(got12 == "sluice: queue closed");
    auto got13 = co_await error_of<sluice::queue_closed>(std::move(b));
    CHECK(got13 == "sluice: queue closed");
}

SLUICE_TEST_CASE("channel: a cancelled waiting send does not send, its item is destroyed", "[channel]") {
    counted::reset();
    {
        sluice::channel<counted> ch(1);
        co_await ch.send(counted(1));
        auto blocked = sluice::spawn(produce, ch, 2, 1);
        co_await settle(10);
        blocked.cancel();
        const bool got17 = co_await ends_cancelled(blocked);
        CHECK(got17);
        CHECK(counted::alive() == 1);  // only the buffered item
        auto got3 = co_await ch.receive();
        CHECK(got3.id == 1);
        co_await ch.send(counted(3));  // room again: the cancelled send left no trace
        auto got4 = co_await ch.receive();
        CHECK(got4.id == 3);
    }
    CHECK(counted::alive() == 0);
}

SLUICE_TEST_CASE("channel: a cancelled waiting receive takes nothing, the next send goes to the next receiver",
                 "[channel]") {
    sluice::channel<int> ch(1);
    auto first = sluice::spawn([](sluice::channel<int> ch) -> sluice::task<int> { co_return co_await ch.receive(); }, ch);
    auto second = sluice::spawn([](sluice::channel<int> ch) -> sluice::task<int> { co_return co_await ch.receive(); }, ch);
    co_await settle(10);
    first.cancel();
    const bool got18 = co_await ends_cancelled(first);
    CHECK(got18);
    co_await ch.send(5);
    auto got14 = co_await second;
    CHECK(got14 == 5);
}

SLUICE_TEST_CASE("channel: a receiver cancelled after an item was handed to it still gets the item", "[channel]") {
    sluice::channel<int> ch(1);
    int got = 0;
    auto receiver = sluice::spawn([](sluice::channel<int> ch, int& got) -> sluice::task<void> {
        got = co_await ch.receive();
        co_await sluice::sleep_for(1h);  // the pending cancel is delivered here
    }, ch, std::ref(got));
    co_await settle(10);
    co_await ch.send(9);  // handed over: the receiver is scheduled, not yet run
    receiver.cancel();
    const bool got19 = co_await ends_cancelled(receiver);
    CHECK(got19);
    CHECK(got == 9);
}

SLUICE_TEST_CASE("channel: a sender cancelled after its item was placed returns normally", "[channel]") {
    sluice::channel<int> ch(1);
    co_await ch.send(1);
    bool returned = false;
    auto sender = sluice::spawn([](sluice::channel<int> ch, bool& returned) -> sluice::task<void> {
        co_await ch.send(2);
        returned = true;
        co_await sluice::sleep_for(1h);
    }, ch, std::ref(returned));
    co_await settle(10);
    auto got15 = co_await ch.receive();
    CHECK(got15 == 1);  // places the sender's item, schedules it
    sender.cancel();
    const bool got20 = co_await ends_cancelled(sender);
    CHECK(got20);
    CHECK(returned);
    auto got16 = co_await ch.receive();
    CHECK(got16 == 2);
}

// --- several loops --------------------------------------------------------------------------------

TEST_CASE("channel: many producers on several loops into one consumer: nothing lost, order kept per producer",
          "[channel][cores]") {
    counted::reset();
    constexpr int producers = 3;
    constexpr int per_producer = 2000;
    sluice::channel<counted> ch(8);
    std::vector<int> next(producers, 0);
    bool in_order = true;
    sluice::run_on_cores(producers + 1, [&](std::size_t core) -> sluice::task<void> {
        if (core < producers) {
            co_await produce(ch, static_cast<int>(core), per_producer);
            co_return;
        }
        for (int i = 0; i < producers * per_producer; ++i) {
            const counted item = co_await ch.receive();
            int& expected = next[static_cast<std::size_t>(item.id / 1'000'000)];
            in_order = in_order && item.id % 1'000'000 == expected;
            ++expected;
        }
    });
    CHECK(in_order);
    CHECK(next == std::vector<int>(producers, per_producer));
    CHECK(counted::alive() == 0);
}

TEST_CASE("channel: ping-pong between two loops, both directions through one channel each", "[channel][cores]") {
    sluice::channel<int> ping(1);
    sluice::channel<int> pong(1);
    constexpr int rounds = 5000;
    const std::vector<int> last = sluice::run_on_cores(2, [&](std::size_t core) -> sluice::task<int> {
        int value = 0;
        for (int i = 0; i < rounds; ++i) {
            if (core == 0) {
                co_await ping.send(i);
                value = co_await pong.receive();
            } else {
                value = co_await ping.receive();
                co_await pong.send(value + 1);
            }
        }
        co_return value;
    });
    CHECK(last == std::vector<int>{rounds, rounds - 1});
}

TEST_CASE("channel: many receivers on several loops, closed by the producer: every item received once",
          "[channel][cores]") {
    constexpr int items = 3000;
    sluice::channel<int> ch(4);
    std::atomic<long> sum{0};
    std::atomic<int> received{0};
    sluice::run_on_cores(4, [&](std::size_t core) -> sluice::task<void> {
        if (core == 0) {
            for (int i = 1; i <= items; ++i) co_await ch.send(i);
            ch.close();
            co_return;
        }
        try {
            for (;;) {
                sum.fetch_add(co_await ch.receive());
                received.fetch_add(1);
            }
        } catch (const sluice::queue_closed&) {
        }
    });
    CHECK(received.load() == items);
    CHECK(sum.load() == static_cast<long>(items) * (items + 1) / 2);
}

TEST_CASE("channel: a loop ends with its items still buffered, another loop receives them all later",
          "[channel][cores]") {
    counted::reset();
    {
        sluice::channel<counted> ch(100);
        sluice::run_on_cores(1, [&](std::size_t) -> sluice::task<void> { co_await produce(ch, 0, 100); });
        CHECK(counted::alive() == 100);  // in the channel, not lost with the loop
        sluice::run_on_cores(1, [&](std::size_t) -> sluice::task<void> {
            for (int i = 0; i < 100; ++i) {
                const counted item = co_await ch.receive();
                if (item.id != i) throw std::logic_error("out of order");
            }
        });
        // And items nobody receives are destroyed with the channel's last handle.
        sluice::run_on_cores(1, [&](std::size_t) -> sluice::task<void> { co_await produce(ch, 0, 10); });
        CHECK(counted::alive() == 10);
    }
    CHECK(counted::alive() == 0);
}

TEST_CASE("channel: senders waiting on a full channel when their loops are cancelled: their items destroyed, "
          "nothing runs after their loop ended",
          "[channel][cores]") {
    counted::reset();
    std::latch filled(1);
    std::latch all_sending(3);
    std::atomic<int> cancelled{0};
    {
        sluice::channel<counted> ch(1);
        auto fn = [&](std::size_t core) -> sluice::task<void> {
            if (core == 0) {
                co_await ch.send(counted(-1));  // fills the channel
                filled.count_down();
                all_sending.arrive_and_wait();
                co_await sluice::sleep_for(10ms);  // lets the other cores suspend in send
                throw std::runtime_error("core 0 fails");
            }
            filled.wait();
            all_sending.count_down();
            try {
                co_await produce(ch, static_cast<int>(core), 1);
            } catch (const sluice::cancelled_error&) {
                cancelled.fetch_add(1);
                throw;
            }
        };
        REQUIRE_THROWS_WITH(sluice::run_on_cores(3, fn), "core 0 fails");
        CHECK(counted::alive() == 1);  // the buffered item only
    }
    CHECK(cancelled.load() == 2);
    CHECK(counted::alive() == 0);
}

TEST_CASE("channel: a receiver on a loop with nothing else to do sleeps until another loop sends (no deadlock "
          "reported)",
          "[channel][cores]") {
    sluice::channel<int> ch(1);
    const std::vector<int> got = sluice::run_on_cores(2, [&](std::size_t core) -> sluice::task<int> {
        if (core == 0) {
            co_return co_await ch.receive();  // no timer, no I/O: only the other loop can wake it
        }
        co_await sluice::sleep_for(20ms);
        co_await ch.send(11);
        co_return 0;
    });
    CHECK(got[0] == 11);
}

TEST_CASE("channel: close from a thread outside any loop wakes receivers on loops", "[channel][cores]") {
    sluice::channel<int> ch(1);
    std::latch waiting(1);
    std::thread closer([&] {
        waiting.wait();
        std::this_thread::sleep_for(10ms);  // the receiver is (most likely) suspended by now
        ch.close();
    });
    const std::vector<bool> closed = sluice::run_on_cores(1, [&](std::size_t) -> sluice::task<bool> {
        waiting.count_down();
        try {
            (void)co_await ch.receive();
        } catch (const sluice::queue_closed&) {
            co_return true;
        }
        co_return false;
    });
    closer.join();
    CHECK(closed == std::vector<bool>{true});
}

// --- try_send / try_receive -----------------------------------------------------------------------

SLUICE_TEST_CASE("channel: try_send and try_receive never wait (false when full, item untouched, nullopt when empty), "
                 "and after close try_send throws, try_receive drains, then throws",
                 "[channel][try]") {
    sluice::channel<std::unique_ptr<int>> ch(2);
    CHECK_FALSE(ch.try_receive().has_value());
    CHECK(ch.try_send(std::make_unique<int>(1)));
    CHECK(ch.try_send(std::make_unique<int>(2)));
    auto third = std::make_unique<int>(3);
    CHECK_FALSE(ch.try_send(std::move(third)));
    REQUIRE(third != nullptr);  // full: not moved from
    CHECK(*third == 3);
    auto first = ch.try_receive();
    REQUIRE(first.has_value());
    CHECK(**first == 1);
    CHECK(ch.try_send(std::move(third)));  // room again
    CHECK(third == nullptr);
    ch.close();
    CHECK_THROWS_AS(ch.try_send(std::make_unique<int>(4)), sluice::queue_closed);
    auto second = ch.try_receive();
    REQUIRE(second.has_value());
    CHECK(**second == 2);
    auto last = ch.try_receive();
    REQUIRE(last.has_value());
    CHECK(**last == 3);
    CHECK_THROWS_AS(ch.try_receive(), sluice::queue_closed);
    co_return;
}

SLUICE_TEST_CASE("channel: try_send hands its item to a waiting receiver, try_receive makes room for a waiting "
                 "sender, whose item goes in behind",
                 "[channel][try]") {
    sluice::channel<int> ch(1);
    auto receiver = sluice::spawn([](sluice::channel<int> ch) -> sluice::task<int> { co_return co_await ch.receive(); }, ch);
    co_await settle(10);
    CHECK(ch.try_send(7));  // to the receiver, not into the buffer
    CHECK(co_await receiver == 7);
    CHECK(ch.try_send(8));  // buffered: full now
    bool sent = false;
    auto sender = sluice::spawn([](sluice::channel<int> ch, bool& sent) -> sluice::task<void> {
        co_await ch.send(9);
        sent = true;
    }, ch, std::ref(sent));
    co_await settle(10);
    CHECK_FALSE(sent);
    CHECK(ch.try_receive() == std::optional<int>(8));
    co_await sender;
    CHECK(sent);
    CHECK(ch.try_receive() == std::optional<int>(9));
    CHECK_FALSE(ch.try_receive().has_value());
}

TEST_CASE("channel: a plain thread feeds one loop with try_send and drains another with try_receive",
          "[channel][try][cores]") {
    constexpr int n = 2000;
    sluice::channel<counted> in(4);   // thread -> loop
    sluice::channel<counted> out(4);  // loop -> thread
    const auto alive_before = counted::alive();
    std::vector<int> drained;
    std::thread plain([&] {
        int next = 0;
        while (static_cast<int>(drained.size()) < n) {
            bool progressed = false;
            if (next < n && in.try_send(counted(next))) {
                ++next;
                progressed = true;
            }
            if (auto item = out.try_receive()) {
                drained.push_back(item->id);
                progressed = true;
            }
            if (!progressed) std::this_thread::yield();  // `in` full and `out` empty: the loop is behind
        }
    });
    sluice::run_on_cores(1, [&](std::size_t) -> sluice::task<void> {
        for (int i = 0; i < n; ++i) {
            counted item = co_await in.receive();  // only the plain thread can wake it
            co_await out.send(std::move(item));    // waits while the thread has not drained
        }
    });
    plain.join();
    std::vector<int> expected(n);
    for (int i = 0; i < n; ++i) expected[static_cast<std::size_t>(i)] = i;
    CHECK(drained == expected);
    CHECK(counted::alive() == alive_before);
}
