# KEEL_LTO=ON (the default): optimised builds (Release, RelWithDebInfo, MinSizeRel) are
# compiled with link-time optimisation, so the compiler sees each target whole: calls between
# the kernel's or a plugin's source files can be inlined and dead paths dropped. Measured on
# GET /plain: 5.5% fewer instructions and 7.5% fewer code lines per request
# (tests/perf/instructions.sh), 5-10% less user-space CPU per request. A full build on two
# cores took 7m23s and 8m12s with it, 7m00s without.
# Debug and sanitizer builds stay without it: they are for finding bugs, and build faster.
# GCC only (the project's compiler): clang's LTO objects need an LLVM-aware linker and
# archiver, which the fuzz build (tests/fuzz, clang) does not have.
if(NOT KEEL_LTO OR KEEL_SANITIZE OR CMAKE_BUILD_TYPE STREQUAL "Debug" OR CMAKE_CONFIGURATION_TYPES
   OR NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  return()
endif()
include(CheckIPOSupported)
check_ipo_supported(RESULT keel_lto_supported OUTPUT keel_lto_why LANGUAGES C CXX)
if(keel_lto_supported)
  set(CMAKE_INTERPROCEDURAL_OPTIMIZATION ON)
else()
  message(STATUS "Keel: link-time optimisation is not available with this toolchain, building without it: ${keel_lto_why}")
endif()
