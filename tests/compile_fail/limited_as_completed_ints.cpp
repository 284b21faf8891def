// Must not compile: a range of ints is not a range of awaitables (checked by bounded_concept_test.cmake).
#include <sluice/as_completed.hpp>

#include <vector>

void misuse() {
    auto range = sluice::limited_as_completed(std::vector<int>{1, 2}, 2);  // the error must point here
}
