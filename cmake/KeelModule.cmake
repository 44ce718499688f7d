# keel_module(NAME <name> [HEADER_DIR <dir>] DEPS <targets...>): one static
# library, keel::<name>, built from the calling folder's sources (its
# internal/ included) and installed with its public headers under
# include/keel/<dir> (HEADER_DIR, default <name>: core/ranges for the ranges
# product in core/ranges/).
#
# Every keel file includes another by its path from the repository root
# ("core/ranges/range_table.h"), so the root is the include directory in the
# tree. Installed, the headers keep those paths under include/keel/, which is
# on the installed targets' include path beside include/: a consumer writes
# #include "keel/core/ranges/range_table.h", and that header's own
# #include "core/ip.h" resolves too.
function(keel_module)
  cmake_parse_arguments(KM "" "NAME;HEADER_DIR" "DEPS" ${ARGN})
  if(NOT KM_HEADER_DIR)
    set(KM_HEADER_DIR ${KM_NAME})
  endif()
  file(GLOB sources CONFIGURE_DEPENDS
       ${CMAKE_CURRENT_SOURCE_DIR}/*.cc ${CMAKE_CURRENT_SOURCE_DIR}/internal/*.cc)
  file(GLOB headers CONFIGURE_DEPENDS RELATIVE ${CMAKE_CURRENT_SOURCE_DIR}
       ${CMAKE_CURRENT_SOURCE_DIR}/*.h ${CMAKE_CURRENT_SOURCE_DIR}/internal/*.h)
  set(target keel_${KM_NAME})
  add_library(${target} STATIC ${sources})
  add_library(keel::${KM_NAME} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${KM_NAME} OUTPUT_NAME keel_${KM_NAME})
  set_target_properties(${target} PROPERTIES UNITY_BUILD ${KEEL_UNITY_BUILD})
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/keel>)
  target_link_libraries(${target} PUBLIC ${KM_DEPS})
  foreach(header ${headers})
    get_filename_component(dir ${header} DIRECTORY)
    install(FILES ${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/keel/${KM_HEADER_DIR}/${dir})
  endforeach()
  install(TARGETS ${target} EXPORT keelTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()
