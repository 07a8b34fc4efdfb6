# keel_add_testrunner(NAME SOURCES... [LIBRARIES ...])
# One CppUnit runner per tested area (tests/kernel, tests/sdk, ...), each with the shared
# driver tests/Driver.cpp, registered with CTest under its name.
function(keel_add_testrunner name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  add_executable(${name} "${PROJECT_SOURCE_DIR}/tests/Driver.cpp" ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE PkgConfig::CPPUNIT keel_warnings ${ARG_LIBRARIES})
  target_include_directories(${name} PRIVATE "${PROJECT_SOURCE_DIR}/tests/support")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tests")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES TIMEOUT 300)
endfunction()
