// The one header tests include for Catch2: v3 when CMake found it, else Debian's single-header v2.
#pragma once

#if SLUICE_CATCH2_V3
#include <catch2/catch_test_macros.hpp>
#else
// The reporter interfaces too: tests/support/faults.hpp registers an event listener.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>
#endif
