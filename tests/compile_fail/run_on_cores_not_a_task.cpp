// Must not compile: fn(core_index) returns an int, not a task (checked by run_on_cores_test.cmake).
#include <sluice/run_on_cores.hpp>

#include <cstddef>

void misuse() {
    sluice::run_on_cores(2, [](std::size_t core) { return static_cast<int>(core); });
}
