#pragma once
// std::chrono's clocks, durations and time points (and the chrono_literals) without the rest of
// <chrono>, for sluice's headers (issue #10: every includer pays for what a header includes).
//
// Why: libstdc++'s <chrono> (GCC 11 and later) adds C++20's calendar, time zones and formatting on
// top of <bits/chrono.h>, and with them <sstream> (<istream>, <ostream>, the locale facets): about
// 0.15 s of g++ time in every file that includes a sluice header, for nothing sluice uses. sluice
// needs steady_clock, duration, time_point, duration_cast, ceil and the literals: all declared by
// <bits/chrono.h>. Any other standard library (or a libstdc++ without that header) gets <chrono>.
// A program that prints a duration or uses the calendar includes <chrono> itself, as it should.

#include <version>  // defines __GLIBCXX__ under libstdc++ before the test below

#if defined(__GLIBCXX__) && __has_include(<bits/chrono.h>)
#include <bits/chrono.h>
#else
#include <chrono>
#endif
