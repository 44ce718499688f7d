#!/bin/bash
# The keel binary maps only the C library at run time (its C++ libraries are
# linked statically, the server's live in keel-serve): each shared library
# costs every keel process resident memory (see tools/CMakeLists.txt). The
# sanitizer builds link shared libraries, so they are not checked.
# Usage: keel_deps_test.sh SOURCE_DIR BUILD_DIR KEEL_BINARY
set -u
build_dir=$2
keel=$3
if grep -q '^KEEL_SANITIZE:STRING=.\+' "$build_dir/CMakeCache.txt"; then
  echo "keel deps: sanitizer build, not checked"
  exit 0
fi
needed=$(readelf -d "$keel" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
extra=$(tr ' ' '\n' <<<"$needed" | grep -v -E '^(libc\.so\.6|libm\.so\.6|ld-linux-x86-64\.so\.2|)$')
if [[ -n $extra ]]; then
  echo "FAIL keel needs shared libraries beyond libc: $needed"
  exit 1
fi
[[ -x $(dirname "$keel")/keel-serve ]] || { echo "FAIL no keel-serve beside $keel"; exit 1; }
echo "keel deps: $needed"
