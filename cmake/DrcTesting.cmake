# Test helpers.
#   drc_add_test(NAME name SOURCES ... LIBS ...)      one GoogleTest binary, run directly.
#   drc_add_mpi_test(NAME name TARGET tgt RANKS 1 2 4) registers tgt under mpirun at each rank
#       count (the habit Cylon has right: every distributed operator at 1, 2 and 4 ranks).
set(DRC_MPIEXEC_FLAGS --oversubscribe --bind-to none --mca btl self,vader
    -x OMPI_MCA_rmaps_base_oversubscribe=1 CACHE STRING "Extra mpirun flags for tests")

# Under AddressSanitizer (the dev preset), tests that run Open MPI: LeakSanitizer would report
# Open MPI's own allocations left at MPI_Finalize (tests/lsan-openmpi.supp lists them), and it
# needs the slow unwinder to see those stacks through libraries built without frame pointers.
set(DRC_TEST_SANITIZER_ENV "")
if(CMAKE_CXX_FLAGS MATCHES "-fsanitize=[^ ]*address")
  set(DRC_TEST_SANITIZER_ENV
      "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/lsan-openmpi.supp:print_suppressions=0"
      "ASAN_OPTIONS=fast_unwind_on_malloc=0" "OMPI_MCA_mca_base_component_disable_dlclose=1")
endif()

function(drc_add_test_binary name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock)
  drc_set_warnings(${name})
endfunction()

function(drc_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  drc_add_test_binary(${T_NAME} SOURCES ${T_SOURCES} LIBS ${T_LIBS} GTest::gtest_main)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "unit;${T_LABELS}")
endfunction()

function(drc_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;TARGET;TIMEOUT" "RANKS;ARGS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 180)
  endif()
  set(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
      OMPI_MCA_rmaps_base_oversubscribe=1 ${DRC_TEST_SANITIZER_ENV})
  foreach(n IN LISTS T_RANKS)
    add_test(NAME ${T_NAME}.np${n}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${n} ${DRC_MPIEXEC_FLAGS}
                     $<TARGET_FILE:${T_TARGET}> ${T_ARGS})
    set_tests_properties(${T_NAME}.np${n} PROPERTIES
      TIMEOUT ${T_TIMEOUT} LABELS "mpi" PROCESSORS ${n}
      ENVIRONMENT "${env}")
  endforeach()
endfunction()
