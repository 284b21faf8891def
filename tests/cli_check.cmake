# cmake -DPROGRAM=<example> -DEXPECT=help|error [-DMESSAGE=<regex>] -P cli_check.cmake -- [args...]
#
# Runs an example with the arguments after `--` and checks argparse's conventions
# (examples/support/arguments.hpp), registered by examples/CMakeLists.txt (tests example.NAME.cli.*):
#   help:  exit status 0, the help on stdout starting with "usage: NAME", nothing on stderr;
#   error: exit status 2, nothing on stdout, exactly one line on stderr,
#          "NAME: error: <MESSAGE>" (MESSAGE a regular expression naming the argument and the fault).
cmake_minimum_required(VERSION 3.25)

set(arguments)
set(after_separator FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE 1 ${last})
    if(after_separator)
        list(APPEND arguments "${CMAKE_ARGV${i}}")
    elseif(CMAKE_ARGV${i} STREQUAL "--")
        set(after_separator TRUE)
    endif()
endforeach()
get_filename_component(name "${PROGRAM}" NAME)

execute_process(COMMAND "${PROGRAM}" ${arguments}
    RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 20)
set(seen "exit status ${status}\nstdout: [${out}]\nstderr: [${err}]")
if(EXPECT STREQUAL "help")
    if(NOT status EQUAL 0 OR NOT out MATCHES "^usage: ${name} " OR NOT err STREQUAL "")
        message(FATAL_ERROR "${name} ${arguments}: expected the help on stdout and exit status 0; got\n${seen}")
    endif()
elseif(EXPECT STREQUAL "error")
    if(NOT status EQUAL 2 OR NOT out STREQUAL "" OR NOT err MATCHES "^${name}: error: ${MESSAGE}\n$")
        message(FATAL_ERROR "${name} ${arguments}: expected exit status 2, empty stdout and the one line "
            "'${name}: error: ${MESSAGE}' on stderr; got\n${seen}")
    endif()
else()
    message(FATAL_ERROR "cli_check.cmake: EXPECT must be help or error, not '${EXPECT}'")
endif()
message(STATUS "${name} ${arguments}: ${EXPECT} as expected")
