# cmake -DCONSUMER=fetchcontent|find_package|readme -DSLUICE_REPO_DIR=<sluice checkout> -DWORK_DIR=<scratch>
#       -DGENERATOR=<generator> -DCXX_COMPILER=<c++ compiler>
#       [-DMAKE_PROGRAM=...] [-DGENERATOR_PLATFORM=...] [-DGENERATOR_TOOLSET=...]
#       [-DMULTI_CONFIG=ON -DCONFIG=<config>] [-DGIT_EXECUTABLE=<git>] [-DEXPECT_HTTP=ON]
#       -P run_consumer.cmake
#
# Builds the consumer project tests/consumers/<CONSUMER>/ from scratch in <WORK_DIR> and runs its
# program; any failing step fails the script (registered with CTest by tests/consumers/CMakeLists.txt).
#   fetchcontent: configure (sluice pulled with FetchContent from SLUICE_REPO_DIR), build, run.
#   readme:       the README's "Using sluice from CMake" snippet, word for word except two values:
#                 `<your mirror of sluice>` becomes file://<SLUICE_REPO_DIR> and `GIT_TAG main`
#                 becomes the checkout's HEAD commit (a fresh clone has no local `main` when another
#                 branch is checked out; a commit always exists). It is pasted into a generated
#                 project whose `app` is fetchcontent/main.cpp: configure (git clone), build, run.
#                 So the README's snippet cannot drift from what CMake accepts (it once put SYSTEM
#                 after GIT_TAG, which CMake 3.25 turned into `git clone --origin "SYSTEM"`).
#   find_package: configure sluice alone (tests/examples/benchmarks OFF) in <WORK_DIR>/sluice-build,
#                 `cmake --install` it to <WORK_DIR>/prefix, then configure the consumer with
#                 CMAKE_PREFIX_PATH=<WORK_DIR>/prefix, build, run. With EXPECT_HTTP (the outer build
#                 has sluice::http) the consumer must also have found the component `http` and built
#                 and run sluice_http_consumer against it.
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
if(CONSUMER STREQUAL "readme")
    set(consumer_source "${WORK_DIR}/source")  # generated below
elseif(NOT EXISTS "${consumer_source}/CMakeLists.txt")
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
elseif(CONSUMER STREQUAL "readme")
    file(READ "${SLUICE_REPO_DIR}/README.md" readme)
    if(NOT readme MATCHES "\n## Using sluice from CMake\n+```cmake\n([^`]*)```")
        message(FATAL_ERROR "consumer.readme: README.md has no ```cmake block under \"## Using sluice from CMake\"")
    endif()
    set(snippet "${CMAKE_MATCH_1}")
    if(NOT GIT_EXECUTABLE)
        set(GIT_EXECUTABLE git)
    endif()
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SLUICE_REPO_DIR}" rev-parse HEAD
        OUTPUT_VARIABLE head OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE result)
    if(NOT result EQUAL 0 OR NOT head MATCHES "^[0-9a-f]+$")
        message(FATAL_ERROR "consumer.readme: no HEAD commit in ${SLUICE_REPO_DIR} (${result}: ${head})")
    endif()
    foreach(placeholder IN ITEMS "<your mirror of sluice>" "GIT_TAG main" "target_link_libraries(app ")
        string(FIND "${snippet}" "${placeholder}" at)
        if(at EQUAL -1)
            message(FATAL_ERROR "consumer.readme: the README's snippet no longer contains '${placeholder}'; "
                "update run_consumer.cmake with it:\n${snippet}")
        endif()
    endforeach()
    string(REPLACE "<your mirror of sluice>" "file://${SLUICE_REPO_DIR}" snippet "${snippet}")
    string(REPLACE "GIT_TAG main" "GIT_TAG ${head}" snippet "${snippet}")
    file(WRITE "${consumer_source}/CMakeLists.txt"
"# Generated by run_consumer.cmake from README.md's \"Using sluice from CMake\" snippet.
cmake_minimum_required(VERSION 3.25)
project(sluice_readme_consumer LANGUAGES CXX)
add_executable(app \"${CMAKE_CURRENT_LIST_DIR}/fetchcontent/main.cpp\")
# --- README.md, word for word but for the repository and the tag ---
${snippet}# ---
include(\"${CMAKE_CURRENT_LIST_DIR}/fetchcontent_checks.cmake\")
")
    set(sluice_include_dir "${consumer_build}/_deps/sluice-src/include")
    set(program_name app)
    step("configure consumer (git clone of ${head})" "${CMAKE_COMMAND}" -S "${consumer_source}" -B "${consumer_build}"
        ${generator_args} -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "-DGIT_EXECUTABLE=${GIT_EXECUTABLE}")
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
    message(FATAL_ERROR "run_consumer.cmake: CONSUMER must be fetchcontent, find_package or readme, not '${CONSUMER}'")
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
if(NOT program_name)
    set(program_name sluice_consumer)
endif()
if(MULTI_CONFIG)
    set(program "${consumer_build}/${CONFIG}/${program_name}")
else()
    set(program "${consumer_build}/${program_name}")
endif()
step("run consumer" "${program}")
if(CONSUMER STREQUAL "find_package" AND EXPECT_HTTP)
    get_filename_component(program_dir "${program}" DIRECTORY)
    if(NOT EXISTS "${program_dir}/sluice_http_consumer")
        message(FATAL_ERROR "consumer.${CONSUMER}: sluice::http was built here but the installed package "
            "gave the consumer no component http (no sluice_http_consumer built)")
    endif()
    step("run sluice::http consumer" "${program_dir}/sluice_http_consumer")
endif()
string(TIMESTAMP now "%s")
math(EXPR elapsed "${now} - ${started}")
message(STATUS "[consumer.${CONSUMER} +${elapsed}s] passed")
