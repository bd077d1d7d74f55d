# Helpers that keep Farside's targets uniform: one library per lib/ directory with its
# dependencies declared, binaries and tests built with the same warning flags.

set(FARSIDE_WARNINGS -Wall -Wextra -Wpedantic -Wnon-virtual-dtor)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND FARSIDE_WARNINGS -Wshadow=local)
endif()
if(FARSIDE_WERROR)
  list(APPEND FARSIDE_WARNINGS -Werror)
endif()

# farside_library(NAME SOURCES a.cc b.cc DEPS x y): target farside_NAME, public headers are
# included by their path from the source root ("lib/common/log.h").
function(farside_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(farside_${name} STATIC ${ARG_SOURCES})
  target_include_directories(farside_${name} PUBLIC ${CMAKE_SOURCE_DIR})
  target_compile_options(farside_${name} PRIVATE ${FARSIDE_WARNINGS})
  target_link_libraries(farside_${name} PUBLIC ${ARG_DEPS})
endfunction()

# farside_binary(NAME SOURCES ... DEPS ...): an executable in build/bin.
function(farside_binary name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${FARSIDE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()

# farside_test(NAME SOURCES ... DEPS ... LABELS unit|integration [TIMEOUT s] [ARGS ...]): a
# GoogleTest binary registered with ctest, one ctest entry per binary so a hung binary is
# killed whole. farside_test_entry() adds another entry running part of a binary.
function(farside_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS;ARGS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR})
  target_compile_options(${name} PRIVATE ${FARSIDE_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  farside_test_entry(${name} BINARY ${name} LABELS ${ARG_LABELS} TIMEOUT ${ARG_TIMEOUT}
    ARGS ${ARG_ARGS})
endfunction()

# farside_test_entry(NAME BINARY bin LABELS ... TIMEOUT s [ARGS ...]): a ctest entry.
function(farside_test_entry name)
  cmake_parse_arguments(ARG "" "BINARY;TIMEOUT" "LABELS;ARGS" ${ARGN})
  add_test(NAME ${name} COMMAND ${ARG_BINARY} ${ARG_ARGS})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "FARSIDE_BIN_DIR=${CMAKE_BINARY_DIR}/bin;FARSIDE_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
endfunction()
