# Enables the NCCL communicator when the CUDA toolkit and NCCL are found. The backend needs no
# CUDA kernels (only the runtime API and NCCL), so it is plain C++ linked against CUDA::cudart.
find_package(CUDAToolkit QUIET)
if(CUDAToolkit_FOUND)
  find_path(NCCL_INCLUDE_DIR nccl.h HINTS ${CUDAToolkit_INCLUDE_DIRS} /usr/local/cuda/include)
  find_library(NCCL_LIBRARY nccl HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib
               /usr/local/cuda/lib /usr/local/cuda/lib64)
  if(NCCL_INCLUDE_DIR AND NCCL_LIBRARY)
    add_library(drc_nccl_dep INTERFACE)
    target_include_directories(drc_nccl_dep SYSTEM INTERFACE ${NCCL_INCLUDE_DIR})
    target_link_libraries(drc_nccl_dep INTERFACE ${NCCL_LIBRARY} CUDA::cudart)
    set(DRC_HAVE_NCCL ON)
    message(STATUS "NCCL communicator: ON (${NCCL_LIBRARY}, CUDA ${CUDAToolkit_VERSION})")
  endif()
endif()
if(NOT DRC_HAVE_NCCL)
  message(STATUS "NCCL communicator: OFF (CUDA toolkit or NCCL not found)")
endif()
