# The third-party libraries keel links, all from Debian packages. Shared by
# the build and by keelConfig.cmake, so a consumer finds the same ones.
include(CMakeFindDependencyMacro)
find_package(PkgConfig REQUIRED)
pkg_check_modules(KEEL_JEMALLOC REQUIRED IMPORTED_TARGET GLOBAL jemalloc)
find_package(absl REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(KEEL_RE2 REQUIRED IMPORTED_TARGET GLOBAL re2)
pkg_check_modules(KEEL_ZSTD REQUIRED IMPORTED_TARGET GLOBAL libzstd)
find_package(prometheus-cpp REQUIRED)
