# Resources and placement (included from src/runtime/CMakeLists.txt).
add_library(drc_runtime_sched STATIC
  ${CMAKE_CURRENT_LIST_DIR}/resources.cc
  ${CMAKE_CURRENT_LIST_DIR}/scheduler.cc)
target_include_directories(drc_runtime_sched PUBLIC ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(drc_runtime_sched PUBLIC drc::common)
drc_set_warnings(drc_runtime_sched)

if(DRC_BUILD_TESTS)
  drc_add_test(NAME runtime_sched_test
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/resources_test.cc
                       ${CMAKE_CURRENT_LIST_DIR}/scheduler_test.cc
               LIBS drc_runtime_sched)
endif()

if(TARGET benchmark::benchmark)
  add_executable(scheduler_bench ${PROJECT_SOURCE_DIR}/bench/scheduler_bench.cc)
  target_link_libraries(scheduler_bench PRIVATE drc_runtime_sched benchmark::benchmark)
  drc_set_warnings(scheduler_bench)
endif()
