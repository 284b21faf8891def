# Compile-fail check: fn(core_index) not returning a task is a static_assert naming the rule.
add_test(NAME "run_on_cores_test:compile fails: fn not returning a task"
         COMMAND ${CMAKE_COMMAND} -DCXX=${CMAKE_CXX_COMPILER} -DINCLUDE=${PROJECT_SOURCE_DIR}/include
                 -DSOURCE=${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/run_on_cores_not_a_task.cpp
                 "-DMESSAGE=fn(core_index) must return a sluice::task"
                 -P ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/check_message.cmake)
set_tests_properties("run_on_cores_test:compile fails: fn not returning a task" PROPERTIES LABELS unit TIMEOUT 120)
