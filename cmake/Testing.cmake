# Test helpers. Tests are discovered at ctest time (PRE_TEST) so a build never runs test binaries.
if(STEREOSPOT_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()

# stereospot_add_test(NAME name SOURCES a.cc b.cc LIBS lib... LABELS label [TIMEOUT s])
# Builds one GoogleTest executable and registers each of its tests with ctest.
function(stereospot_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT STEREOSPOT_BUILD_TESTS)
    return()
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} GTest::gtest GTest::gmock GTest::gtest_main
                                          stereospot_warnings)
  target_compile_definitions(${T_NAME} PRIVATE
    STEREOSPOT_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    STEREOSPOT_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  # One label: the discovered tests get their properties through a generated set_tests_properties
  # call that flattens a list, so a second label would be read as a property name (and cost the
  # TIMEOUT after it).
  list(LENGTH T_LABELS label_count)
  if(NOT label_count EQUAL 1)
    message(FATAL_ERROR "stereospot_add_test(${T_NAME}): give exactly one label, not '${T_LABELS}'")
  endif()
  gtest_discover_tests(${T_NAME} DISCOVERY_MODE PRE_TEST
                       PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
endfunction()
