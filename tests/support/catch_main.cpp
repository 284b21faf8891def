// Catch2 v2's main(), compiled once into sluice_catch_main. Catch2 v3 brings its own
// (Catch2::Catch2WithMain), so with v3 this file compiles to nothing.
#if !SLUICE_CATCH2_V3
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif
