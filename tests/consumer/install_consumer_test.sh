#!/usr/bin/env bash
# Installs keel into a staging prefix and builds tests/consumer against it
# with find_package(keel), as a downstream project would.
set -euo pipefail
src=$1 build=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cmake --install "$build" --prefix "$stage/prefix" >/dev/null
cmake -S "$src/tests/consumer" -B "$stage/build" -DCMAKE_PREFIX_PATH="$stage/prefix" \
      -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$stage/build" >/dev/null
"$stage/build/consumer"
