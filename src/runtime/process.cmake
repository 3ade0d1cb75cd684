# Process execution and launch methods (included from src/runtime/CMakeLists.txt).
#   drc_runtime_exec: ProcessManager (posix_spawn + pidfd reaper) and BuildLaunch.
add_library(drc_runtime_exec
  ${CMAKE_CURRENT_LIST_DIR}/process.cc
  ${CMAKE_CURRENT_LIST_DIR}/launch.cc)
target_include_directories(drc_runtime_exec PUBLIC ${PROJECT_SOURCE_DIR}/include)
target_link_libraries(drc_runtime_exec PUBLIC drc::common PRIVATE Threads::Threads)
drc_set_warnings(drc_runtime_exec)

if(DRC_BUILD_TESTS)
  drc_add_test(NAME runtime_exec_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/process_test.cc ${CMAKE_CURRENT_LIST_DIR}/launch_test.cc
    LIBS drc_runtime_exec drc_runtime_task)
endif()
