#pragma once
// `co_await settle()`: lets every spawned task run until it blocks. Each yield goes behind
// everything that was ready, so a few turns let a freshly spawned task start, reach its wait and
// register there; a test then asserts on who is waiting (never on time).

#include <sluice/task.hpp>
#include <sluice/time.hpp>

namespace sluice_test {

/// `turns` trips through the loop's ready queue (3 by default).
inline sluice::task<void> settle(int turns = 3) {
    for (int i = 0; i < turns; ++i) co_await sluice::yield();
}

}  // namespace sluice_test
