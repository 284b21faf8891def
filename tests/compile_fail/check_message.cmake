# cmake -DCXX=<compiler> -DINCLUDE=<include dir> -DSOURCE=<file> -DMESSAGE=<text> -P check_message.cmake
# Passes when compiling SOURCE fails and the diagnostics contain MESSAGE (a static_assert's text).
execute_process(COMMAND "${CXX}" -std=c++20 -fsyntax-only "-I${INCLUDE}" "${SOURCE}"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(status EQUAL 0)
    message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(FIND "${err}" "${MESSAGE}" found)
if(found EQUAL -1)
    message(FATAL_ERROR "the diagnostics do not say \"${MESSAGE}\":\n${err}")
endif()
message(STATUS "fails as expected: ${MESSAGE}")
