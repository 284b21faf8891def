# cmake -DCXX=<compiler> -DINCLUDE=<include dir> -DSOURCE=<file> -DCONCEPT=<name> -P check.cmake
# Passes when compiling SOURCE fails, its first error is reported at a line of SOURCE itself (the
# user's call, not a header), and the diagnostics name CONCEPT.
execute_process(COMMAND "${CXX}" -std=c++20 -fsyntax-only "-I${INCLUDE}" "${SOURCE}"
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(status EQUAL 0)
    message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(REGEX MATCH "[^\n]*error:[^\n]*" first_error "${err}")
get_filename_component(name "${SOURCE}" NAME)
if(NOT first_error MATCHES "${name}:[0-9]+:[0-9]+: error:")
    message(FATAL_ERROR "the first error is not at the call in ${name}:\n${first_error}\n\n${err}")
endif()
if(NOT err MATCHES "${CONCEPT}")
    message(FATAL_ERROR "the diagnostics do not name ${CONCEPT}:\n${err}")
endif()
message(STATUS "${first_error}")
