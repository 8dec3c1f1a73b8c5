#!/usr/bin/env bash
# Installs roundtrip into a staging directory (DESTDIR) and builds two programs outside the tree
# against it, the ways users do: one with pkg-config and the compiler alone, one with CMake's
# find_package (shared, then static). Each sends a request through a chain with a middleware to a
# local roundtrip-bench-server. Every wait is bounded.
#
#   consumer_test.sh BUILD_DIR SOURCE_DIR SERVER_BINARY
set -euo pipefail

build=$(readlink -f "$1")
source=$(readlink -f "$2")
server=$3
work=$(mktemp -d)
server_pid=
trap '[[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT

launcher=()
command -v ccache >/dev/null && launcher=(ccache)

stage=$work/stage
meson install -C "$build" --destdir "$stage" --no-rebuild --quiet
read -r prefix libdir < <(meson introspect "$build" --buildoptions | python3 -c \
  'import json,sys; o = {x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o["prefix"], o["libdir"])')
staged_prefix=$stage$prefix
staged_libdir=$staged_prefix/$libdir
echo "installed into $stage:"
(cd "$stage" && find . -type f -o -type l | sort | sed 's|^\.||')

timeout 120 "$server" --port 0 >"$work/server.out" 2>&1 &
server_pid=$!
timeout 10 bash -c "until grep -q '^listening on ' '$work/server.out'; do sleep 0.05; done"
url="http://$(sed -n 's/^listening on //p' "$work/server.out")/"

# 1. pkg-config and the compiler: the sysroot prefixes the .pc files' paths with the staging directory.
export PKG_CONFIG_PATH=$staged_libdir/pkgconfig PKG_CONFIG_SYSROOT_DIR=$stage
flags=$(pkg-config --cflags --libs roundtrip-tracing roundtrip-headers roundtrip)
echo "pkg-config --cflags --libs roundtrip-tracing roundtrip-headers roundtrip: $flags"
# shellcheck disable=SC2086 # the flags are words
"${launcher[@]}" c++ -std=c++20 -o "$work/consumer-pkgconfig" "$source/packaging/consumer/consumer.cpp" $flags
LD_LIBRARY_PATH=$staged_libdir timeout 30 "$work/consumer-pkgconfig" "$url" pkg-config
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR

# 2. CMake's find_package, with the shared libraries and then the static ones.
for kind in shared static; do
  static=OFF
  [[ $kind == static ]] && static=ON
  cmake -S "$source/packaging/consumer" -B "$work/cmake-$kind" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$staged_prefix" -Droundtrip_USE_STATIC_LIBS=$static \
    -DCMAKE_CXX_COMPILER_LAUNCHER="${launcher[*]}" >"$work/cmake-$kind.log" || { cat "$work/cmake-$kind.log"; exit 1; }
  cmake --build "$work/cmake-$kind" >>"$work/cmake-$kind.log" || { cat "$work/cmake-$kind.log"; exit 1; }
  LD_LIBRARY_PATH=$staged_libdir timeout 30 "$work/cmake-$kind/consumer" "$url" "cmake, $kind"
done
if ldd "$work/cmake-static/consumer" | grep -q libroundtrip; then
  echo "the static consumer loads libroundtrip at run time" >&2
  exit 1
fi
echo "consumers: ok"
