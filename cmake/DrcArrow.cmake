# Finds Arrow C++ inside the pyarrow wheel of the project virtual environment (.venv, made by
# scripts/setup.sh). The wheel ships headers and versioned shared libraries but no CMake config,
# so this module asks the venv's Python for pyarrow.get_include()/get_library_dirs() and creates
# imported targets:
#   Arrow::arrow  Arrow::compute  Arrow::acero  Arrow::dataset  Arrow::parquet
# Set DRC_PYTHON to use another interpreter that has pyarrow installed.
# Set DRC_ARROW_ROOT to a pyarrow package folder unpacked without a Python that can import it
# (a machine whose interpreter has another pyarrow, say): its include/ and libraries are used.
set(DRC_PYTHON "${CMAKE_SOURCE_DIR}/.venv/bin/python" CACHE FILEPATH "Python with pyarrow")
set(DRC_ARROW_ROOT "" CACHE PATH "An unpacked pyarrow package folder to use instead of DRC_PYTHON's")
if(DRC_ARROW_ROOT)
  file(GLOB _drc_arrow_so "${DRC_ARROW_ROOT}/libarrow.so.*00")
  if(NOT _drc_arrow_so)
    message(FATAL_ERROR "DrcArrow: no libarrow.so.<major>00 in DRC_ARROW_ROOT=${DRC_ARROW_ROOT}")
  endif()
  list(GET _drc_arrow_so 0 _drc_arrow_so)
  string(REGEX REPLACE ".*libarrow\\.so\\.([0-9]+)00$" "\\1" DRC_ARROW_VERSION "${_drc_arrow_so}")
  set(DRC_ARROW_INCLUDE_DIR "${DRC_ARROW_ROOT}/include")
  set(DRC_ARROW_LIB_DIR "${DRC_ARROW_ROOT}")
else()
  if(NOT EXISTS "${DRC_PYTHON}")
    message(FATAL_ERROR "DrcArrow: ${DRC_PYTHON} not found; run scripts/setup.sh first")
  endif()
  execute_process(
    COMMAND "${DRC_PYTHON}" -c
      "import pyarrow as pa; print(pa.__version__); print(pa.get_include()); print(pa.get_library_dirs()[0])"
    OUTPUT_VARIABLE _drc_pa_out RESULT_VARIABLE _drc_pa_rc OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _drc_pa_rc EQUAL 0)
    message(FATAL_ERROR "DrcArrow: ${DRC_PYTHON} cannot import pyarrow; run scripts/setup.sh")
  endif()
  string(REPLACE "\n" ";" _drc_pa_out "${_drc_pa_out}")
  list(GET _drc_pa_out 0 DRC_ARROW_VERSION)
  list(GET _drc_pa_out 1 DRC_ARROW_INCLUDE_DIR)
  list(GET _drc_pa_out 2 DRC_ARROW_LIB_DIR)
endif()
string(REGEX MATCH "^[0-9]+" DRC_ARROW_MAJOR "${DRC_ARROW_VERSION}")
message(STATUS "Arrow C++ ${DRC_ARROW_VERSION} from pyarrow: ${DRC_ARROW_LIB_DIR}")

function(_drc_arrow_target name libname)
  set(_so "${DRC_ARROW_LIB_DIR}/lib${libname}.so.${DRC_ARROW_MAJOR}00")
  if(NOT EXISTS "${_so}")
    message(FATAL_ERROR "DrcArrow: ${_so} not found in the pyarrow wheel")
  endif()
  add_library(Arrow::${name} SHARED IMPORTED GLOBAL)
  set_target_properties(Arrow::${name} PROPERTIES
    IMPORTED_LOCATION "${_so}"
    IMPORTED_NO_SONAME OFF
    INTERFACE_INCLUDE_DIRECTORIES "${DRC_ARROW_INCLUDE_DIR}"
    INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${DRC_ARROW_INCLUDE_DIR}")
endfunction()

_drc_arrow_target(arrow arrow)
_drc_arrow_target(compute arrow_compute)
_drc_arrow_target(acero arrow_acero)
_drc_arrow_target(dataset arrow_dataset)
_drc_arrow_target(parquet parquet)
set_property(TARGET Arrow::compute APPEND PROPERTY INTERFACE_LINK_LIBRARIES Arrow::arrow)
set_property(TARGET Arrow::acero APPEND PROPERTY INTERFACE_LINK_LIBRARIES Arrow::compute)
set_property(TARGET Arrow::parquet APPEND PROPERTY INTERFACE_LINK_LIBRARIES Arrow::arrow)
set_property(TARGET Arrow::dataset APPEND PROPERTY INTERFACE_LINK_LIBRARIES Arrow::acero Arrow::parquet)
# The wheel's libraries find each other through $ORIGIN; our binaries find them through RPATH.
set(CMAKE_BUILD_RPATH "${CMAKE_BUILD_RPATH};${DRC_ARROW_LIB_DIR}")
set(CMAKE_INSTALL_RPATH "${CMAKE_INSTALL_RPATH};${DRC_ARROW_LIB_DIR}")
