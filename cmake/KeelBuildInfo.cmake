# keel's version and git revision for the programs (`keel --version`,
# keel serve's keel_build_info): a header generated into the build directory
# at configure time, in the interface library keel_build_info.
#
#   target_link_libraries(my_target PRIVATE keel_build_info)
#   #include "keel_build_info.h"   // keel::kVersion, keel::kRevision
#
# The version is the project's VERSION; the revision `git rev-parse --short
# HEAD` of the source tree, "unknown" outside a git checkout (a release
# tarball) or without git. CMake configures again when HEAD moves, so the
# revision follows commits without a fresh build directory.
set(KEEL_VERSION ${PROJECT_VERSION})
set(KEEL_REVISION unknown)
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --short HEAD
                  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                  OUTPUT_VARIABLE revision OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE status ERROR_QUIET)
  if(status EQUAL 0 AND revision)
    set(KEEL_REVISION ${revision})
    # HEAD names the branch; the branch's ref file (or packed-refs) moves
    # with each commit.
    execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --git-path HEAD
                            --git-path packed-refs --symbolic-full-name HEAD
                    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                    OUTPUT_VARIABLE git_paths OUTPUT_STRIP_TRAILING_WHITESPACE
                    ERROR_QUIET)
    string(REPLACE "\n" ";" git_paths "${git_paths}")
    list(LENGTH git_paths n)
    if(n EQUAL 3)
      list(GET git_paths 0 head_file)
      list(GET git_paths 1 packed_refs)
      list(GET git_paths 2 branch)
      execute_process(COMMAND ${GIT_EXECUTABLE} rev-parse --git-path ${branch}
                      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
                      OUTPUT_VARIABLE branch_file
                      OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
      foreach(file ${head_file} ${packed_refs} ${branch_file})
        get_filename_component(file ${file} ABSOLUTE BASE_DIR ${PROJECT_SOURCE_DIR})
        if(EXISTS ${file})
          set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${file})
        endif()
      endforeach()
    endif()
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/keel_build_info.h.in
               ${PROJECT_BINARY_DIR}/generated/keel_build_info.h @ONLY)
add_library(keel_build_info INTERFACE)
target_include_directories(keel_build_info INTERFACE
                           $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/generated>)
