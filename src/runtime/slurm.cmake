# Tests against a real Slurm (included from src/runtime/CMakeLists.txt).
#   slurm_start / slurm_stop  the CTest fixture "slurm": a single-node cluster on this machine
#                             (scripts/slurm-local.sh, state in <build>/slurm); start FAILS
#                             with the reason when Slurm or munge are missing.
#   runtime_slurm_test        ResourcesFromSlurm on real job environments; inside an allocation
#                             (salloc) srun and fork tasks, cancel of an srun task, and
#                             `drc run --pilot slurm`.
if(DRC_BUILD_TESTS)
  set(DRC_SLURM_STATE_DIR ${CMAKE_BINARY_DIR}/slurm)
  set(DRC_SLURM_SCRIPT ${PROJECT_SOURCE_DIR}/scripts/slurm-local.sh)

  add_test(NAME slurm_start COMMAND bash ${DRC_SLURM_SCRIPT} start ${DRC_SLURM_STATE_DIR})
  add_test(NAME slurm_stop COMMAND bash ${DRC_SLURM_SCRIPT} stop ${DRC_SLURM_STATE_DIR})
  set_tests_properties(slurm_start PROPERTIES FIXTURES_SETUP slurm LABELS slurm TIMEOUT 60)
  set_tests_properties(slurm_stop PROPERTIES FIXTURES_CLEANUP slurm LABELS slurm TIMEOUT 60)

  drc_add_test_binary(runtime_slurm_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/slurm_test.cc
    LIBS drc::runtime GTest::gtest_main)
  # The drc binary is defined later (apps/drc); generator expressions resolve at generate time.
  target_compile_definitions(runtime_slurm_test PRIVATE DRC_BINARY="$<TARGET_FILE:drc>")
  add_dependencies(runtime_slurm_test drc)
  # InsideAllocation.* run in a child under salloc (see slurm_test.cc).
  add_test(NAME runtime_slurm_test COMMAND runtime_slurm_test --gtest_filter=SlurmCluster.*)
  set_tests_properties(runtime_slurm_test PROPERTIES
    FIXTURES_REQUIRED slurm
    ENVIRONMENT SLURM_CONF=${DRC_SLURM_STATE_DIR}/slurm.conf
    RESOURCE_LOCK slurm
    LABELS slurm
    PROCESSORS 2
    TIMEOUT 180)
endif()
