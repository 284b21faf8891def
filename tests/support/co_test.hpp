#pragma once
// Test bodies as coroutines: SLUICE_TEST_CASE("name", "[tags]") { co_await ...; } runs the body with
// sluice::run on a fresh event loop (Boost.Cobalt's CO_TEST_CASE idea). REQUIRE failures throw out
// of the body, through run(), to Catch2.

#include <sluice/cancellation.hpp>
#include <sluice/event_loop.hpp>
#include <sluice/task.hpp>

#include "catch.hpp"
#include "faults.hpp"

#define SLUICE_TEST_CONCAT_INNER(a, b) a##b
#define SLUICE_TEST_CONCAT(a, b) SLUICE_TEST_CONCAT_INNER(a, b)
#define SLUICE_TEST_CASE_IMPL(body, ...)      \
    static sluice::task<void> body();         \
    TEST_CASE(__VA_ARGS__) { sluice::run(body()); } \
    static sluice::task<void> body()
#define SLUICE_TEST_CASE(...) SLUICE_TEST_CASE_IMPL(SLUICE_TEST_CONCAT(sluice_test_body_, __LINE__), __VA_ARGS__)

// cancelled_error is not a std::exception (see sluice/cancellation.hpp): without this, a test ended
// by an unexpected cancellation would be reported by Catch2 as "Unknown exception".
CATCH_TRANSLATE_EXCEPTION(const sluice::cancelled_error& error) { return error.what(); }
