// Must not compile: an int is not awaitable (checked by bounded_concept_test.cmake).
#include <sluice/gather.hpp>

void misuse() {
    auto all = sluice::gather(1, 2);  // the error must point here
}
