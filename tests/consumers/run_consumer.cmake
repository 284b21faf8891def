# cmake -DCONSUMER=fetchcontent|find_package -DSLUICE_REPO_DIR=<sluice checkout> -DWORK_DIR=<scratch>
#       -DGENERATOR=<generator> -DCXX_COMPILER=<c++ compiler>
#       [-DMAKE_PROGRAM=...] [-DGENERATOR_PLATFORM=...] [-DGENERATOR_TOOLSET=...]
#       [-DMULTI_CONFIG=ON -DCONFIG=<config>]
#       -P run_consumer.cmake
#
# Builds the consumer project tests/consumers/<CONSUMER>/ from scratch in <WORK_DIR> and runs its
# program; any failing step fails the script (registered with CTest by tests/consumers/CMakeLists.txt).
#   fetchcontent: configure (sluice pulled with FetchContent from SLUICE_REPO_DIR), build, run.
#   find_package: configure sluice alone (tests/examples/benchmarks OFF) in <WORK_DIR>/sluice-build,
#                 `cmake --install` it to <WORK_DIR>/prefix, then configure the consumer with
#                 CMAKE_PREFIX_PATH=<WORK_DIR>/prefix, build, run.
# After the build it checks the consumer's compile_commands.json: none of sluice's warning flags
# (-Wall -Wextra -Wpedantic -Werror, unless the caller's own CXXFLAGS has them), and sluice's include
# directory present but never as -I (SYSTEM: sluice's headers cannot warn in a consumer's build).
cmake_minimum_required(VERSION 3.25)

foreach(var IN ITEMS CONSUMER SLUICE_REPO_DIR WORK_DIR GENERATOR CXX_COMPILER)
    if(NOT DEFINED ${var} OR "${${var}}" STREQUAL "")
        message(FATAL_ERROR "run_consumer.cmake: -D${var}=... is required")
    endif()
endforeach()
set(consumer_source "${CMAKE_CURRENT_LIST_DIR}/${CONSUMER}")
if(NOT EXISTS "${consumer_source}/CMakeLists.txt")
    message(FATAL_ERROR "run_consumer.cmake: no consumer project ${consumer_source}")
endif()
if(MULTI_CONFIG AND "${CONFIG}" STREQUAL "")
    set(CONFIG Debug)
endif()

# What every configure gets from the outer build: generator and compiler, nothing else.
set(generator_args -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}")
if(MAKE_PROGRAM)
    list(APPEND generator_args "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()
if(GENERATOR_PLATFORM)
    list(APPEND generator_args -A "${GENERATOR_PLATFORM}")
endif()
if(GENERATOR_TOOLSET)
    list(APPEND generator_args -T "${GENERATOR_TOOLSET}")
endif()
set(config_args)
if(MULTI_CONFIG)
    set(config_args --config "${CONFIG}")
endif()

string(TIMESTAMP started "%s")
function(step what)
    string(TIMESTAMP now "%s")
    math(EXPR elapsed "${now} - ${started}")
    message(STATUS "[consumer.${CONSUMER} +${elapsed}s] ${what}: ${ARGN}")
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
        message(FATAL_ERROR "consumer.${CONSUMER}: ${what} failed (${result})")
    endif()
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(consumer_build "${WORK_DIR}/build")

if(CONSUMER STREQUAL "fetchcontent")
    set(sluice_include_dir "${SLUICE_REPO_DIR}/include")
    step("configure consumer" "${CMAKE_COMMAND}" -S "${consumer_source}" -B "${consumer_build}" ${generator_args}
        -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
        "-DSLUICE_REPO_DIR=${SLUICE_REPO_DIR}")
elseif(CONSUMER STREQUAL "find_package")
    set(sluice_build "${WORK_DIR}/sluice-build")
    set(prefix "${WORK_DIR}/prefix")
    set(sluice_include_dir "${prefix}/include")
    step("configure sluice" "${CMAKE_COMMAND}" -S "${SLUICE_REPO_DIR}" -B "${sluice_build}" ${generator_args}
        -DSLUICE_BUILD_TESTS=OFF -DSLUICE_BUILD_EXAMPLES=OFF -DSLUICE_BUILD_BENCHMARKS=OFF)
    step("build sluice" "${CMAKE_COMMAND}" --build "${sluice_build}" ${config_args})
    step("install sluice" "${CMAKE_COMMAND}" --install "${sluice_build}" --prefix "${prefix}" ${config_args})
    if(NOT EXISTS "${prefix}/include/sluice/sluice.hpp")
        message(FATAL_ERROR "consumer.${CONSUMER}: the install put no include/sluice/sluice.hpp in ${prefix}")
    endif()
    step("configure consumer" "${CMAKE_COMMAND}" -S "${consumer_source}" -B "${consumer_build}" ${generator_args}
        -DCMAKE_EXPORT_COMPILE_COMMANDS=ON
        "-DCMAKE_PREFIX_PATH=${prefix}")
    # The package found must be the one just installed, not another sluice on the system.
    file(STRINGS "${consumer_build}/CMakeCache.txt" sluice_dir REGEX "^sluice_DIR:")
    string(REGEX REPLACE "^sluice_DIR:[A-Z]+=" "" sluice_dir "${sluice_dir}")
    string(FIND "${sluice_dir}" "${prefix}/" at)
    if(NOT at EQUAL 0)
        message(FATAL_ERROR "consumer.${CONSUMER}: found sluice in '${sluice_dir}', not in ${prefix}")
    endif()
else()
    message(FATAL_ERROR "run_consumer.cmake: CONSUMER must be fetchcontent or find_package, not '${CONSUMER}'")
endif()

step("build consumer" "${CMAKE_COMMAND}" --build "${consumer_build}" ${config_args})

# --- what reached the consumer's compile line ---------------------------------------------------
set(compile_commands "${consumer_build}/compile_commands.json")
if(NOT EXISTS "${compile_commands}")
    message(FATAL_ERROR "consumer.${CONSUMER}: no ${compile_commands} (generator ${GENERATOR} does not write one?)")
endif()
file(READ "${compile_commands}" commands)
string(REPLACE "\\\"" "\"" commands "${commands}") # JSON-escaped quotes around paths with spaces
separate_arguments(user_flags UNIX_COMMAND "$ENV{CXXFLAGS}")
foreach(flag IN ITEMS -Werror -Wall -Wextra -Wpedantic)
    string(REGEX MATCH "[ \"]${flag}[ \"=]" found "${commands}")
    if(found AND NOT flag IN_LIST user_flags)
        message(FATAL_ERROR "consumer.${CONSUMER}: '${flag}' reached the consumer's compile line:\n${commands}")
    endif()
endforeach()
string(FIND "${commands}" "${sluice_include_dir}" found)
if(found EQUAL -1)
    message(FATAL_ERROR "consumer.${CONSUMER}: sluice's include directory ${sluice_include_dir} is not on the compile line:\n${commands}")
endif()
foreach(spelling IN ITEMS "-I${sluice_include_dir}" "-I\"${sluice_include_dir}" "\"-I${sluice_include_dir}" "-I ${sluice_include_dir}")
    string(FIND "${commands}" "${spelling}" found)
    if(NOT found EQUAL -1)
        message(FATAL_ERROR "consumer.${CONSUMER}: sluice's include directory comes in as -I, not SYSTEM:\n${commands}")
    endif()
endforeach()
if(CONSUMER STREQUAL "find_package")
    # Only the installed headers: nothing may point back into the source tree.
    string(FIND "${commands}" "${SLUICE_REPO_DIR}/include" found)
    if(NOT found EQUAL -1)
        message(FATAL_ERROR "consumer.${CONSUMER}: the installed package points into the source tree:\n${commands}")
    endif()
endif()

# --- run it --------------------------------------------------------------------------------------
if(MULTI_CONFIG)
    set(program "${consumer_build}/${CONFIG}/sluice_consumer")
else()
    set(program "${consumer_build}/sluice_consumer")
endif()
step("run consumer" "${program}")
string(TIMESTAMP now "%s")
math(EXPR elapsed "${now} - ${started}")
message(STATUS "[consumer.${CONSUMER} +${elapsed}s] passed")
