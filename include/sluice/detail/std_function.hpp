#pragma once
// std::function without the rest of <functional>, for sluice's headers (issue #10: every includer
// pays for what a header includes).
//
// Why: libstdc++'s <functional> (C++17 and later) also defines the searchers (boyer_moore needs
// <unordered_map>), and in C++20 brings <vector>, <array>, <bits/stl_algo.h> and the ranges
// comparisons: about 0.1 s of g++ time in every file that includes concurrency_limit.hpp, which
// needs std::function alone. libstdc++ declares it in <bits/std_function.h>, which expects <new>
// (placement new) to be included before it, as <functional> does. Any other standard library (or a
// libstdc++ without that header) gets <functional>.

#include <version>  // defines __GLIBCXX__ under libstdc++ before the test below

#if defined(__GLIBCXX__) && __has_include(<bits/std_function.h>)
#include <new>
#include <bits/std_function.h>
#else
#include <functional>
#endif
