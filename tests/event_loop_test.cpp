// Tests of sluice::run, sluice::spawn and sluice::join_handle (sluice/event_loop.hpp).
//
// Coroutines are free functions taking what they need as parameters, never capturing lambdas. Tests
// that check what `run` itself does are plain TEST_CASEs calling sluice::run; the others run their
// body on a fresh loop with SLUICE_TEST_CASE.
//
// White-box part: "io_uring unavailable" fakes io_uring_setup and checks the CQ size the backend asks
// for, through tests/support/ring_setup.hpp (the ring is not public; how the loop copes with a
// kernel or a container that refuses io_uring cannot be reached otherwise).

#include <sluice/cancellable.hpp>
#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/file.hpp>
#include <sluice/semaphore.hpp>
#include <sluice/task.hpp>
#include <sluice/time.hpp>

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "support/co_test.hpp"
#include "support/counted.hpp"
#include "support/ring_setup.hpp"

using namespace std::chrono_literals;

namespace {

using sluice_test::counted;

sluice::task<int> answer_after_yield() {
    co_await sluice::yield();
    co_return 42;
}

sluice::task<void> set_flag(bool& flag) {
    flag = true;
    co_return;
}

sluice::task<int> fail_with(std::string message) {
    co_await sluice::yield();
    throw std::runtime_error(message);
}

sluice::task<std::unique_ptr<int>> make_owned(int value) {
    co_await sluice::yield();
    co_return std::make_unique<int>(value);
}

/// Waits for something nothing will ever do; only a cancellation ends the wait (an event nobody
/// sets): a cancellable_wait with nothing to start, ended cancelled by the default on_cancel.
class never_completes final : public sluice::cancellable_wait<> {
    void start() override {}
};

/// Records in `cancelled` whether the wait ended with cancelled_error, and rethrows it.
struct outcome_flags {
    bool started = false;
    bool cancelled = false;
    bool finished = false;
};

sluice::task<void> wait_forever(outcome_flags& flags) {
    counted guard;
    flags.started = true;
    try {
        co_await never_completes{};
    } catch (const sluice::cancelled_error&) {
        flags.cancelled = true;
        throw;
    }
    flags.finished = true;
}

}  // namespace

// --- run ----------------------------------------------------------------------------------------------

TEST_CASE("run returns the main task's value", "[run]") { CHECK(sluice::run(answer_after_yield()) == 42); }

TEST_CASE("run returns a move-only value", "[run]") {
    std::unique_ptr<int> owned = sluice::run(make_owned(6));
    REQUIRE(owned != nullptr);
    CHECK(*owned == 6);
}

TEST_CASE("run rethrows the main task's exception", "[run]") {
    CHECK_THROWS_WITH(sluice::run(fail_with("main failed")), "main failed");
}

TEST_CASE("run can be called again on the same thread after a run finished", "[run]") {
    CHECK(sluice::run(answer_after_yield()) == 42);
    CHECK_THROWS_AS(sluice::run(fail_with("second")), std::runtime_error);
    CHECK(sluice::run(answer_after_yield()) == 42);
}

SLUICE_TEST_CASE("a nested sluice::run inside a running task throws std::logic_error and leaves the loop working",
                 "[run]") {
    bool ran = false;
    CHECK_THROWS_AS(sluice::run(set_flag(ran)), std::logic_error);
    CHECK_FALSE(ran);
    // The running loop is still this thread's loop.
    const int value = co_await sluice::spawn(answer_after_yield());
    CHECK(value == 42);
}

TEST_CASE("spawn outside sluice::run throws std::logic_error and never runs the task", "[spawn]") {
    bool ran = false;
    CHECK_THROWS_AS(sluice::spawn(set_flag(ran)), std::logic_error);
    CHECK_FALSE(ran);
}

// --- spawn and join_handle ----------------------------------------------------------------------------

SLUICE_TEST_CASE("spawn starts the task on a later loop turn, not inline", "[spawn]") {
    bool ran = false;
    auto handle = sluice::spawn(set_flag(ran));
    CHECK_FALSE(ran);
    CHECK_FALSE(handle.done());
    co_await sluice::yield();
    CHECK(ran);
    CHECK(handle.done());
    co_await std::move(handle);
}

SLUICE_TEST_CASE("spawn followed by a join runs the task", "[spawn]") {
    bool ran = false;
    auto handle = sluice::spawn(set_flag(ran));
    CHECK_FALSE(ran);
    co_await handle;
    CHECK(ran);
}

SLUICE_TEST_CASE("co_await of a join_handle gives the task's value", "[spawn]") {
    const int value = co_await sluice::spawn(answer_after_yield());
    CHECK(value == 42);
}

SLUICE_TEST_CASE("co_await of an lvalue join_handle gives a reference to the value, again after it finished",
                 "[spawn]") {
    auto handle = sluice::spawn(answer_after_yield());
    int& first = co_await handle;
    CHECK(first == 42);
    int& second = co_await handle;
    CHECK(&first == &second);
}

SLUICE_TEST_CASE("a join_handle moves a move-only value out", "[spawn]") {
    std::unique_ptr<int> owned = co_await sluice::spawn(make_owned(3));
    REQUIRE(owned != nullptr);
    CHECK(*owned == 3);
}

SLUICE_TEST_CASE("join_handle::as_result gives the value of a task that succeeded", "[spawn]") {
    auto handle = sluice::spawn(answer_after_yield());
    sluice::result<int> outcome = co_await handle.as_result();
    REQUIRE(outcome.has_value());
    CHECK(outcome.value() == 42);
}

SLUICE_TEST_CASE("join_handle::as_result holds the exception of a task that threw, without throwing", "[spawn]") {
    auto handle = sluice::spawn(fail_with("joined failure"));
    bool threw = false;
    sluice::result<int> outcome = 0;
    try {
        outcome = co_await handle.as_result();
    } catch (...) {
        threw = true;
    }
    CHECK_FALSE(threw);
    CHECK_FALSE(outcome.has_value());
    CHECK_THROWS_WITH(outcome.value(), "joined failure");
}

SLUICE_TEST_CASE("joining a task that threw rethrows its exception", "[spawn]") {
    auto handle = sluice::spawn(fail_with("joined failure"));
    std::string caught;
    try {
        (void)co_await std::move(handle);
    } catch (const std::runtime_error& error) {
        caught = error.what();
    }
    CHECK(caught == "joined failure");
}

SLUICE_TEST_CASE("cancel before the task first runs: its body never runs and joining gives cancelled_error",
                 "[spawn][cancel]") {
    bool ran = false;
    auto handle = sluice::spawn(set_flag(ran));
    handle.cancel();
    sluice::result<void> outcome = co_await handle.as_result();
    CHECK_FALSE(ran);
    CHECK_THROWS_AS(outcome.value(), sluice::cancelled_error);
}

namespace {
sluice::task<void> bump_after(std::shared_ptr<int> counter, std::chrono::milliseconds delay) {
    co_await sluice::sleep_for(delay);
    ++*counter;
}
}  // namespace

SLUICE_TEST_CASE("dropping the join_handle detaches the task: it runs to completion and frees its frame",
                 "[spawn]") {
    auto counter = std::make_shared<int>(0);
    {
        auto handle = sluice::spawn(bump_after(counter, 1ms));
    }
    CHECK(*counter == 0);
    CHECK(counter.use_count() == 2);  // the detached frame holds a copy
    co_await sluice::sleep_for(20ms);
    CHECK(*counter == 1);
    CHECK(counter.use_count() == 1);  // the finished detached frame was freed
}

// --- a spawned task's frame dies with the task (issue 9, defect 2) -----------------------------------

namespace {
sluice::task<int> hold_counted(counted guard, int value) {
    (void)guard;
    co_await sluice::yield();
    co_return value;
}
}  // namespace

SLUICE_TEST_CASE("a finished spawned task's frame and by-value parameters are destroyed while its handle is held",
                 "[spawn][lifetime]") {
    counted::reset();
    auto handle = sluice::spawn(hold_counted(counted(1), 7));
    CHECK(counted::alive() == 1);
    while (!handle.done()) co_await sluice::yield();
    CHECK(counted::alive() == 0);  // before: alive until the handle was dropped
    CHECK(co_await handle == 7);   // the handle kept the result
    auto cancelled = sluice::spawn(hold_counted(counted(2), 8));
    CHECK(cancelled.cancel());  // before it ever ran
    (void)co_await cancelled.as_result();
    CHECK(counted::alive() == 0);
}

namespace {
sluice::task<void> work_holding(sluice::semaphore::permit permit, int& done) {
    (void)permit;
    co_await sluice::sleep_for(1ms);
    ++done;
}
}  // namespace

SLUICE_TEST_CASE("permits passed by value to spawned workers whose handles are kept are returned as each finishes",
                 "[spawn][lifetime]") {
    // Before: the permits lived in the finished workers' frames until the handles were dropped, the
    // third acquire waited for ever and run ended in "deadlock".
    sluice::semaphore slots(2);
    int done = 0;
    std::vector<sluice::join_handle<void>> workers;
    for (int i = 0; i < 6; ++i) workers.push_back(sluice::spawn(work_holding(co_await slots.acquire(), done)));
    for (auto& worker : workers) co_await worker;
    CHECK(done == 6);
    CHECK(slots.value() == 2);
}

SLUICE_TEST_CASE("join_handle::detach lets the task run on unobserved", "[spawn]") {
    auto counter = std::make_shared<int>(0);
    auto handle = sluice::spawn(bump_after(counter, 1ms));
    handle.detach();
    CHECK_FALSE(handle.done());
    co_await sluice::sleep_for(20ms);
    CHECK(*counter == 1);
    CHECK(counter.use_count() == 1);
}

namespace {
sluice::task<int> value_after(std::chrono::milliseconds delay, int value) {
    co_await sluice::sleep_for(delay);
    co_return value;
}
sluice::task<void> join_and_record(sluice::join_handle<int>& handle, outcome_flags& flags) {
    flags.started = true;
    try {
        (void)co_await handle;
    } catch (const sluice::cancelled_error&) {
        flags.cancelled = true;
        throw;
    }
    flags.finished = true;
}
}  // namespace

SLUICE_TEST_CASE("cancelling a task that joins a handle ends only that wait, the joined task runs on",
                 "[spawn][cancel]") {
    auto target = sluice::spawn(value_after(5ms, 7));
    outcome_flags flags;
    auto waiter = sluice::spawn(join_and_record(target, flags));
    co_await sluice::yield();  // the waiter now joins `target`
    REQUIRE(flags.started);
    waiter.cancel();
    sluice::result<void> waited = co_await waiter.as_result();
    CHECK(flags.cancelled);
    CHECK_FALSE(flags.finished);
    CHECK_THROWS_AS(waited.value(), sluice::cancelled_error);
    CHECK_FALSE(target.done());
    const int value = co_await target;  // another task may join it now
    CHECK(value == 7);
}

// --- run's end: what is still alive is cancelled and awaited -------------------------------------------

namespace {
sluice::task<void> sleep_long(outcome_flags& flags) {
    counted guard;
    flags.started = true;
    try {
        co_await sluice::sleep_for(20s);
    } catch (const sluice::cancelled_error&) {
        flags.cancelled = true;
        throw;
    }
    flags.finished = true;
}

sluice::task<int> spawn_sleeper_and_return(outcome_flags& flags) {
    {
        auto handle = sluice::spawn(sleep_long(flags));
    }
    co_await sluice::yield();  // the sleeper starts and arms its 20 s timer
    co_return 1;
}
}  // namespace

TEST_CASE("run returns with a detached task still sleeping: the task is cancelled and destroyed first", "[run]") {
    counted::reset();
    outcome_flags flags;
    const int value = sluice::run(spawn_sleeper_and_return(flags));
    CHECK(value == 1);
    CHECK(flags.started);
    CHECK(flags.cancelled);  // not woken by its 20 s timer: run did not wait for it
    CHECK_FALSE(flags.finished);
    CHECK(counted::constructions == 1);
    CHECK(counted::alive() == 0);  // its frame is gone before run returned
}

namespace {
sluice::task<int> spawn_and_return_at_once(bool& ran) {
    auto handle = sluice::spawn(set_flag(ran));
    handle.detach();
    co_return 2;
}
}  // namespace

TEST_CASE("run returns before a detached task ever started: the task's body never runs", "[run]") {
    bool ran = false;
    CHECK(sluice::run(spawn_and_return_at_once(ran)) == 2);
    CHECK_FALSE(ran);
}

namespace {
struct cycle {
    sluice::join_handle<void> a;
    sluice::join_handle<void> b;
    outcome_flags a_flags;
    outcome_flags b_flags;
};
sluice::task<void> join_other(sluice::join_handle<void>& other, outcome_flags& flags) {
    counted guard;
    flags.started = true;
    try {
        co_await other;
    } catch (const sluice::cancelled_error&) {
        flags.cancelled = true;
        throw;
    }
    flags.finished = true;
}
sluice::task<int> leave_two_tasks_joining_each_other(cycle& c) {
    c.a = sluice::spawn(join_other(c.b, c.a_flags));
    c.b = sluice::spawn(join_other(c.a, c.b_flags));
    co_await sluice::yield();  // both now wait for each other
    co_return 3;
}
}  // namespace

TEST_CASE("run returns when tasks left behind wait for each other: both are cancelled", "[run]") {
    counted::reset();
    cycle c;
    CHECK(sluice::run(leave_two_tasks_joining_each_other(c)) == 3);
    CHECK(c.a_flags.cancelled);
    CHECK(c.b_flags.cancelled);
    CHECK(counted::constructions == 2);
    CHECK(counted::alive() == 0);
    // Both finished (with cancelled_error); their handles are still held here.
    CHECK(c.a.done());
    CHECK(c.b.done());
}

// --- deadlock detection -------------------------------------------------------------------------------
//
// A join-only cycle cannot involve the main task: a spawned task can be joined by one task at a time,
// and the main task has no handle. So the main task joins A, A joins B, and B waits for something
// nothing will ever do.

namespace {
sluice::task<void> join_then_record(sluice::join_handle<void> next, outcome_flags& flags) {
    counted guard;
    flags.started = true;
    try {
        co_await std::move(next);
    } catch (const sluice::cancelled_error&) {
        flags.cancelled = true;
        throw;
    }
    flags.finished = true;
}
sluice::task<void> main_joining_a_stuck_chain(outcome_flags& a, outcome_flags& b) {
    auto b_handle = sluice::spawn(wait_forever(b));
    auto a_handle = sluice::spawn(join_then_record(std::move(b_handle), a));
    co_await a_handle;
}
sluice::task<void> main_waiting_forever(outcome_flags& flags) { co_await wait_forever(flags); }
}  // namespace

TEST_CASE("run throws std::logic_error naming a deadlock when the main task waits on nothing that can happen",
          "[run][deadlock]") {
    counted::reset();
    outcome_flags flags;
    std::string message;
    try {
        sluice::run(main_waiting_forever(flags));
    } catch (const std::logic_error& error) {
        message = error.what();
    }
    INFO(message);
    CHECK(message.find("deadlock") != std::string::npos);
    CHECK(flags.cancelled);  // every task is cancelled (the main task too) before run throws
    CHECK(counted::alive() == 0);
}

TEST_CASE("run detects a deadlock through a chain of joins and cancels every task in it", "[run][deadlock]") {
    counted::reset();
    outcome_flags a;
    outcome_flags b;
    std::string message;
    try {
        sluice::run(main_joining_a_stuck_chain(a, b));
    } catch (const std::logic_error& error) {
        message = error.what();
    }
    INFO(message);
    CHECK(message.find("deadlock") != std::string::npos);
    CHECK(a.started);
    CHECK(b.started);
    CHECK(a.cancelled);
    CHECK(b.cancelled);
    CHECK_FALSE(a.finished);
    CHECK_FALSE(b.finished);
    CHECK(counted::constructions == 2);
    CHECK(counted::alive() == 0);
}

// --- io_uring unavailable -----------------------------------------------------------------------------

namespace {
using ring_setup_override = sluice_test::ring_setup_failure;

std::vector<unsigned> setup_flags_tried;

int refuse_eperm(unsigned, io_uring*, io_uring_params* params) {
    setup_flags_tried.push_back(params->flags);
    return -EPERM;
}
int refuse_enosys(unsigned, io_uring*, io_uring_params* params) {
    setup_flags_tried.push_back(params->flags);
    return -ENOSYS;
}
int refuse_einval(unsigned, io_uring*, io_uring_params* params) {
    setup_flags_tried.push_back(params->flags);
    return -EINVAL;
}
/// A kernel that does not know IORING_SETUP_SINGLE_ISSUER: EINVAL for it, a real ring otherwise.
int refuse_single_issuer(unsigned entries, io_uring* ring, io_uring_params* params) {
    setup_flags_tried.push_back(params->flags);
    if ((params->flags & IORING_SETUP_SINGLE_ISSUER) != 0) return -EINVAL;
    return io_uring_queue_init_params(entries, ring, params);
}

constexpr sluice::event_loop_options io_uring_only{.backend = sluice::backend::io_uring};

/// Runs a task on a forced io_uring backend under `fake` and returns the system_error run threw (or
/// fails the test).
std::system_error run_with_setup(ring_setup_override::setup_function fake, bool& ran) {
    ring_setup_override guard(fake);
    setup_flags_tried.clear();
    try {
        sluice::run(set_flag(ran), io_uring_only);
    } catch (const std::system_error& error) {
        return error;
    }
    FAIL("sluice::run did not throw std::system_error");
    throw std::logic_error("unreachable");
}
}  // namespace

TEST_CASE("io_uring backend forced, io_uring_setup failing with EPERM: run throws system_error naming seccomp and io_uring_disabled",
          "[run][ring]") {
    bool ran = false;
    const std::system_error error = run_with_setup(refuse_eperm, ran);
    const std::string what = error.what();
    INFO(what);
    CHECK(error.code().value() == EPERM);
    CHECK(error.code().category() == std::system_category());
    CHECK(what.find("seccomp") != std::string::npos);
    CHECK(what.find("io_uring_disabled") != std::string::npos);
    CHECK(setup_flags_tried.size() == 1);  // EPERM is final: no other flag set is tried
    CHECK_FALSE(ran);
    CHECK_FALSE(ring_setup_override::installed());
}

TEST_CASE("io_uring backend forced, io_uring_setup failing with ENOSYS: run throws system_error naming seccomp and io_uring_disabled",
          "[run][ring]") {
    bool ran = false;
    const std::system_error error = run_with_setup(refuse_enosys, ran);
    const std::string what = error.what();
    INFO(what);
    CHECK(error.code().value() == ENOSYS);
    CHECK(what.find("seccomp") != std::string::npos);
    CHECK(what.find("io_uring_disabled") != std::string::npos);
    CHECK(setup_flags_tried.size() == 1);
    CHECK_FALSE(ran);
}

TEST_CASE("io_uring backend forced, io_uring_setup refusing every flag set with EINVAL: run tries each, then throws system_error EINVAL",
          "[run][ring]") {
    bool ran = false;
    const std::system_error error = run_with_setup(refuse_einval, ran);
    CHECK(error.code().value() == EINVAL);
    REQUIRE(setup_flags_tried.size() >= 2);
    // The last resort asks for no optional flag at all.
    CHECK((setup_flags_tried.back() & ~static_cast<unsigned>(IORING_SETUP_CQSIZE)) == 0);
    CHECK_FALSE(ran);
}

TEST_CASE("io_uring backend: a kernel refusing IORING_SETUP_SINGLE_ISSUER gets a ring without it and run works",
          "[run][ring]") {
    ring_setup_override guard(refuse_single_issuer);
    setup_flags_tried.clear();
    CHECK(sluice::run(answer_after_yield(), io_uring_only) == 42);
    REQUIRE(setup_flags_tried.size() >= 2);
    CHECK((setup_flags_tried.front() & IORING_SETUP_SINGLE_ISSUER) != 0);
    CHECK((setup_flags_tried.back() & IORING_SETUP_SINGLE_ISSUER) == 0);
}

// --- backend selection -------------------------------------------------------------------------------

namespace {
/// Sets (or with nullptr unsets) SLUICE_BACKEND for one scope, restoring the previous value.
class backend_variable {
public:
    explicit backend_variable(const char* value) {
        if (const char* old = std::getenv("SLUICE_BACKEND")) saved_ = old;
        had_ = std::getenv("SLUICE_BACKEND") != nullptr;
        if (value != nullptr) {
            ::setenv("SLUICE_BACKEND", value, 1);
        } else {
            ::unsetenv("SLUICE_BACKEND");
        }
    }
    backend_variable(const backend_variable&) = delete;
    backend_variable& operator=(const backend_variable&) = delete;
    ~backend_variable() {
        if (had_) {
            ::setenv("SLUICE_BACKEND", saved_.c_str(), 1);
        } else {
            ::unsetenv("SLUICE_BACKEND");
        }
    }

private:
    std::string saved_;
    bool had_ = false;
};

sluice::task<sluice::backend> backend_after_sleep() {
    co_await sluice::sleep_for(std::chrono::milliseconds(1));
    co_return sluice::current_backend();
}

/// Everything run writes to stderr (fd 2) while `body` runs.
template <class Body>
std::string stderr_of(Body body) {
    std::fflush(stderr);
    char path[] = "/tmp/sluice_stderr_XXXXXX";
    const int capture = ::mkstemp(path);
    REQUIRE(capture >= 0);
    ::unlink(path);
    const int saved = ::dup(2);
    ::dup2(capture, 2);
    try {
        body();
    } catch (...) {
        ::dup2(saved, 2);
        ::close(saved);
        ::close(capture);
        throw;
    }
    std::fflush(stderr);
    ::dup2(saved, 2);
    ::close(saved);
    std::string text(4096, '\0');
    const ssize_t n = ::pread(capture, text.data(), text.size(), 0);
    ::close(capture);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
}
}  // namespace

TEST_CASE("io_uring_setup failing with EPERM, ENOSYS or EACCES: run falls back to epoll silently", "[run][backend]") {
    backend_variable automatic(nullptr);
    for (auto fake : {refuse_eperm, refuse_enosys}) {
        ring_setup_override guard(fake);
        sluice::backend used = sluice::backend::automatic;
        const std::string noise = stderr_of([&] { used = sluice::run(backend_after_sleep()); });
        CHECK(used == sluice::backend::epoll);
        CHECK(noise.empty());
    }
    ring_setup_override guard([](unsigned, io_uring*, io_uring_params*) { return -EACCES; });
    CHECK(sluice::run(backend_after_sleep()) == sluice::backend::epoll);
}

TEST_CASE("io_uring_setup failing with EINVAL everywhere is not a fall-back case: run throws", "[run][backend]") {
    backend_variable automatic(nullptr);
    ring_setup_override guard(refuse_einval);
    CHECK_THROWS_AS(sluice::run(backend_after_sleep()), std::system_error);
}

TEST_CASE("event_loop_options::backend forces a backend, and current_backend() reports it", "[run][backend]") {
    backend_variable ignored("io_uring");  // an explicit option wins over the environment
    CHECK(sluice::run(backend_after_sleep(), {.backend = sluice::backend::epoll}) == sluice::backend::epoll);
    CHECK(sluice::run(backend_after_sleep(), {.backend = sluice::backend::io_uring}) == sluice::backend::io_uring);
}

TEST_CASE("SLUICE_BACKEND forces a backend under backend::automatic, and a bad value is invalid_argument",
          "[run][backend]") {
    {
        backend_variable forced("epoll");
        CHECK(sluice::run(backend_after_sleep()) == sluice::backend::epoll);
    }
    {
        backend_variable forced("io_uring");
        CHECK(sluice::run(backend_after_sleep()) == sluice::backend::io_uring);
        ring_setup_override guard(refuse_eperm);  // forced io_uring where it is blocked: the clear error
        CHECK_THROWS_AS(sluice::run(backend_after_sleep()), std::system_error);
    }
    {
        backend_variable unset(nullptr);
        CHECK(sluice::run(backend_after_sleep()) == sluice::backend::io_uring);  // this machine allows it
    }
    backend_variable bad("kqueue");
    try {
        sluice::run(backend_after_sleep());
        FAIL("no exception");
    } catch (const std::invalid_argument& error) {
        CHECK(std::string(error.what()).find("SLUICE_BACKEND=kqueue") != std::string::npos);
    }
}

TEST_CASE("current_backend() outside run throws logic_error", "[run][backend]") {
    CHECK_THROWS_AS(sluice::current_backend(), std::logic_error);
}

TEST_CASE("to_string names each backend", "[backend]") {
    CHECK(sluice::to_string(sluice::backend::io_uring) == "io_uring");
    CHECK(sluice::to_string(sluice::backend::epoll) == "epoll");
    CHECK(sluice::to_string(sluice::backend::automatic) == "automatic");
}

// --- ring budget (issue 9, defect 5) ------------------------------------------------------------------

namespace {
// Four whole-file reads at once (an open, reads and a close each): with a budget of one op in the
// kernel they queue behind each other, and every one must still finish.
sluice::task<std::size_t> four_reads_at_once() {
    std::vector<sluice::join_handle<std::vector<std::byte>>> reads;
    for (int i = 0; i < 4; ++i) reads.push_back(sluice::spawn(sluice::read_file("/proc/self/stat")));
    std::size_t total = 0;
    for (auto& read : reads) total += (co_await std::move(read)).size();
    co_return total;
}
}  // namespace

TEST_CASE("the smallest ring the kernel accepts (SQ 1, CQ 2) still runs I/O: the CQ is raised to a budget of 3",
          "[run][ring]") {
    // Before: budget (2 - 1) / 2 = 0 and the first I/O waited for a slot forever (a CTest TIMEOUT).
    // A budget of 1 hung too once the loop's wake-up read stays in the kernel: it held the only slot.
    const sluice::event_loop_options tiny{.backend = sluice::backend::io_uring, .ring = {.submission_entries = 1, .completion_entries = 2}};
    CHECK(sluice::run(four_reads_at_once(), tiny) > 0);
    const sluice::event_loop_options no_cq{.backend = sluice::backend::io_uring, .ring = {.submission_entries = 1, .completion_entries = 0}};
    CHECK(sluice::run(four_reads_at_once(), no_cq) > 0);
    CHECK(sluice_test::completion_entries_for(tiny.ring) == 8);
    // A CQ smaller than the SQ is raised to it (the kernel would refuse it with a bare EINVAL).
    CHECK(sluice_test::completion_entries_for({.submission_entries = 64, .completion_entries = 8}) == 64);
}

TEST_CASE("ring_options with no submission entries is std::invalid_argument and runs nothing", "[run][ring]") {
    bool ran = false;
    auto body = [](bool& flag) -> sluice::task<int> {
        flag = true;
        co_return 1;
    };
    CHECK_THROWS_AS(sluice::run(body(ran), {.backend = sluice::backend::io_uring, .ring = {.submission_entries = 0}}), std::invalid_argument);
    CHECK_FALSE(ran);
}

// --- scale and fairness -------------------------------------------------------------------------------

namespace {
sluice::task<void> yield_three_times(long& counter) {
    counted guard;
    for (int i = 0; i < 3; ++i) {
        co_await sluice::yield();
        ++counter;
    }
}
}  // namespace

SLUICE_TEST_CASE("10,000 spawned tasks each yielding 3 times all run to completion", "[spawn][scale]") {
    counted::reset();
    long counter = 0;
    std::vector<sluice::join_handle<void>> handles;
    handles.reserve(10'000);
    for (int i = 0; i < 10'000; ++i) handles.push_back(sluice::spawn(yield_three_times(counter)));
    CHECK(counter == 0);
    for (auto& handle : handles) co_await handle;
    CHECK(counter == 30'000);
    CHECK(counted::constructions == 10'000);
    CHECK(counted::alive() == 0);
    handles.clear();
    CHECK(counted::alive() == 0);
}

namespace {
sluice::task<void> record_and_yield(int id, std::vector<int>& order) {
    for (int i = 0; i < 3; ++i) {
        order.push_back(id);
        co_await sluice::yield();
    }
}
}  // namespace

SLUICE_TEST_CASE("yield is FIFO: three yielding tasks take turns 1 2 3 1 2 3 1 2 3", "[spawn][yield]") {
    std::vector<int> order;
    auto one = sluice::spawn(record_and_yield(1, order));
    auto two = sluice::spawn(record_and_yield(2, order));
    auto three = sluice::spawn(record_and_yield(3, order));
    co_await one;
    co_await two;
    co_await three;
    CHECK(order == std::vector<int>{1, 2, 3, 1, 2, 3, 1, 2, 3});
}
