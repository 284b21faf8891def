# cmake -DCXX=<compiler> -DNM=<nm> -DINCLUDE=<include dir> -DWORK=<scratch dir> -DMODE=code|io|std -P headers_check.cmake
# What including a sluice header costs its user (issue #10), checked without timing anything:
#   MODE=code: a translation unit that only includes <sluice/sluice.hpp> (every public header)
#              compiles to an object file that defines no function: including sluice compiles
#              nothing the user does not call. (g++ 12 compiles every coroutine that is not a
#              template, and an out-of-line virtual function not declared inline is its class's key
#              function: either put code into every object file, which cost 1.5 s per file.)
#   MODE=io:   the headers that do no I/O pull in neither <liburing.h> nor <sys/epoll.h>.
#   MODE=std:  the standard headers that sluice stopped needing stay out: <filesystem> (the
#              costliest; file.hpp takes paths as text) from every header, <ranges> and <algorithm>
#              from the bounded combinators (their range concepts are spelled with <iterator>);
#              <chrono> (detail/std_chrono.hpp: libstdc++'s <bits/chrono.h>, without <sstream>),
#              <functional> (detail/std_function.hpp) and <memory> (detail/owner_ptr.hpp) from
#              task, time, concurrency_limit and the bounded combinators; <ranges> and <memory>
#              from generator.hpp (a view through <bits/ranges_base.h>'s view_base).
# benchmarks/compile_time.py measures the time itself.

# Runs a command; stops the check with `what` and the command's stderr when it fails. Its stdout
# goes to the variable named by `out`.
function(run_or_fail out what)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE err)
    if(NOT status EQUAL 0)
        message(FATAL_ERROR "${what} failed:\n${err}")
    endif()
    set(${out} "${output}" PARENT_SCOPE)
endfunction()

if(MODE STREQUAL "code")
    file(MAKE_DIRECTORY "${WORK}")
    file(WRITE "${WORK}/include_only.cpp" "#include <sluice/sluice.hpp>\n")
    run_or_fail(ignored "compiling an include of <sluice/sluice.hpp>"
                "${CXX}" -std=c++20 -O0 "-I${INCLUDE}" -c "${WORK}/include_only.cpp" -o "${WORK}/include_only.o")
    run_or_fail(symbols "${NM}" "${NM}" -C --defined-only "${WORK}/include_only.o")
    # nm's types T/t (text) and W/w (weak, here inline functions): code in the object file.
    string(REGEX MATCHALL "[^\n]* [TtWw] [^\n]*" functions "${symbols}")
    if(functions)
        list(LENGTH functions count)
        string(REPLACE ";" "\n" functions "${functions}")
        message(FATAL_ERROR "including <sluice/sluice.hpp> compiles ${count} functions:\n${functions}")
    endif()
elseif(MODE STREQUAL "io")
    set(headers task task_group spawn loop_handle semaphore event queue time gather as_completed igather
                race cancellation result generator async_generator timeout shield concurrency_limit
                rate_limit errors)
    foreach(header IN LISTS headers)
        set(path "${INCLUDE}/sluice/${header}.hpp")
        if(NOT EXISTS "${path}")
            message(FATAL_ERROR "${path} does not exist (update the list in headers_check.cmake)")
        endif()
        run_or_fail(dependencies "${CXX} -M ${path}" "${CXX}" -std=c++20 "-I${INCLUDE}" -M -x c++ "${path}")
        string(REGEX MATCHALL "[^ \n]*(liburing\\.h|sys/epoll\\.h)" io "${dependencies}")
        if(io)
            message(FATAL_ERROR "<sluice/${header}.hpp> does no I/O but includes ${io}")
        endif()
    endforeach()
elseif(MODE STREQUAL "std")
    # header: the standard headers it must not pull in, directly or not
    set(rules "sluice:filesystem,chrono" "as_completed:ranges,algorithm,chrono,functional,memory"
              "igather:ranges,algorithm,chrono,functional,memory"
              "concurrency_limit:ranges,algorithm,chrono,functional,memory" "gather:ranges,chrono,memory"
              "race:ranges,chrono,memory" "task:chrono,functional,memory" "time:chrono,functional,memory"
              "generator:ranges,memory")
    foreach(rule IN LISTS rules)
        string(REPLACE ":" ";" parts "${rule}")
        list(GET parts 0 header)
        list(GET parts 1 forbidden)
        string(REPLACE "," "|" forbidden "${forbidden}")
        run_or_fail(dependencies "${CXX} -M <sluice/${header}.hpp>" "${CXX}" -std=c++20 "-I${INCLUDE}" -M -x c++
                    "${INCLUDE}/sluice/${header}.hpp")
        string(REGEX MATCHALL "[^ \n]*/(${forbidden})[ \n\\]" found "${dependencies} ")
        if(found)
            message(FATAL_ERROR "<sluice/${header}.hpp> includes ${found}")
        endif()
    endforeach()
else()
    message(FATAL_ERROR "MODE must be code, io or std, not '${MODE}'")
endif()
