# keel_module(NAME <name> DEPS <targets...>): one library per top-level
# folder, named keel::<name>, built from the folder's sources (internal/
# included) and installed with its public headers. HEADER_DIR (default
# <name>) is where they go under include/keel/, for a module that lives in
# a subfolder of another (core/query).
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
  if(sources)
    add_library(${target} STATIC ${sources})
    set(scope PUBLIC)
  else()  # a module no issue has filled yet
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(keel::${KM_NAME} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${KM_NAME} OUTPUT_NAME keel_${KM_NAME})
  target_include_directories(${target} ${scope}
    $<BUILD_INTERFACE:${KEEL_BUILD_INCLUDE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} ${scope} ${KM_DEPS})
  foreach(header ${headers})
    get_filename_component(dir ${header} DIRECTORY)
    install(FILES ${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/keel/${KM_HEADER_DIR}/${dir})
  endforeach()
  install(TARGETS ${target} EXPORT keelTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()
