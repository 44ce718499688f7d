# Points the imported third-party targets that ship a static archive (absl,
# re2, jemalloc, zlib) at the archive, so that keel's executables and tests
# link them statically. Why: every shared library costs each process the
# pages it maps at load (relocations, symbol tables, the kernel's
# fault-around), tens to hundreds of KB apiece, and absl's and re2's bring
# the shared libstdc++ (~1.5 MB resident) into `keel`, which links libstdc++
# statically (tools/CMakeLists.txt). Consumers of the installed package find
# the shared libraries as before (KeelDependencies.cmake).
#
# Included by the top-level CMakeLists.txt, where the targets were imported
# (only that directory may change them).

# The archive beside shared library `library`, or "" if there is none.
function(keel_archive_for library out)
  set(archive "")
  if(library MATCHES "^(.*)\\.so[.0-9]*$")
    if(EXISTS "${CMAKE_MATCH_1}_pic.a")  # jemalloc's PIC archive
      set(archive "${CMAKE_MATCH_1}_pic.a")
    elseif(EXISTS "${CMAKE_MATCH_1}.a")
      set(archive "${CMAKE_MATCH_1}.a")
    endif()
  endif()
  set(${out} "${archive}" PARENT_SCOPE)
endfunction()

# absl::* and ZLIB::ZLIB: imported libraries with a location per config.
get_property(keel_imported DIRECTORY PROPERTY IMPORTED_TARGETS)
foreach(target IN LISTS keel_imported)
  if(NOT target MATCHES "^absl::" AND NOT target STREQUAL "ZLIB::ZLIB")
    continue()
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    continue()
  endif()
  foreach(property IMPORTED_LOCATION IMPORTED_LOCATION_NONE
                   IMPORTED_LOCATION_RELEASE IMPORTED_LOCATION_DEBUG
                   IMPORTED_LOCATION_RELWITHDEBINFO)
    get_target_property(location ${target} ${property})
    if(location)
      keel_archive_for("${location}" archive)
      if(archive)
        set_target_properties(${target} PROPERTIES ${property} "${archive}")
      endif()
    endif()
  endforeach()
endforeach()

# PkgConfig::KEEL_JEMALLOC, _RE2 and _ZSTD: interface targets that
# list the library files. The static jemalloc needs what its shared library
# linked itself (threads, dl, libm).
foreach(target PkgConfig::KEEL_JEMALLOC PkgConfig::KEEL_RE2 PkgConfig::KEEL_ZSTD)
  get_target_property(libraries ${target} INTERFACE_LINK_LIBRARIES)
  set(replaced "")
  foreach(library IN LISTS libraries)
    keel_archive_for("${library}" archive)
    if(archive)
      list(APPEND replaced "${archive}")
    else()
      list(APPEND replaced "${library}")
    endif()
  endforeach()
  if(target STREQUAL "PkgConfig::KEEL_JEMALLOC")
    list(APPEND replaced Threads::Threads ${CMAKE_DL_LIBS} m)
  endif()
  set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${replaced}")
endforeach()
