# Compile-fail checks: a wrong argument to a bounded-concurrency face fails at the caller's line and
# the diagnostics name the `awaitable` concepts (see compile_fail/check.cmake).
foreach(case IN ITEMS limited_as_completed_ints:awaitable_range gather_int:awaitable)
    string(REPLACE ":" ";" parts "${case}")
    list(GET parts 0 source)
    list(GET parts 1 concept)
    add_test(NAME "bounded_concept_test:compile fails: ${source}"
             COMMAND ${CMAKE_COMMAND} -DCXX=${CMAKE_CXX_COMPILER} -DINCLUDE=${PROJECT_SOURCE_DIR}/include
                     -DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/${source}.cpp -DCONCEPT=${concept}
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/check.cmake)
    set_tests_properties("bounded_concept_test:compile fails: ${source}" PROPERTIES LABELS unit TIMEOUT 120)
endforeach()
