#pragma once
// std::ranges::view_base (and the range concepts) without the rest of <ranges>, for generator.hpp
// (issue #10: every includer pays for what a header includes).
//
// Why: a generator is a view because it derives from std::ranges::view_base, which the standard
// declares in <ranges>; that header also defines every view and adaptor (views::take, transform,
// split, join, ...): about 5% of what <sluice/sluice.hpp> costs g++. libstdc++ declares view_base,
// enable_view and the range concepts in <bits/ranges_base.h>, which <iterator> includes. Any
// other standard library (or a libstdc++ without that header) gets <ranges>. A program that
// composes a generator with std::views includes <ranges> itself, as it must for std::views.

#include <version>  // defines __GLIBCXX__ under libstdc++ before the test below

#if defined(__GLIBCXX__) && __has_include(<bits/ranges_base.h>)
// <bits/ranges_base.h> is not self-contained (it expects <compare> and the iterator concepts):
// <iterator> includes it after those, and the second line only makes sure of it.
#include <iterator>
#include <bits/ranges_base.h>
#else
#include <ranges>
#endif
