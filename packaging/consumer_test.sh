#!/usr/bin/env bash
# Installs roundtrip into a staging directory (DESTDIR) and builds programs outside the tree against
# it, the ways users do: one with pkg-config and the compiler alone, the README's sample with the
# README's own commands, the out-of-tree plugin template (meson and CMake, with its tests), and one
# with CMake's find_package (shared, then static). The programs send requests through a chain of
# middleware to a local roundtrip-bench-server. Every wait is bounded.
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

# 1. pkg-config and the compiler. The .pc files find their prefix from their own place, so the staged
# install needs nothing but PKG_CONFIG_PATH.
export PKG_CONFIG_PATH=$staged_libdir/pkgconfig
flags=$(pkg-config --cflags --libs roundtrip-tracing roundtrip-metrics roundtrip-headers roundtrip-decompress roundtrip-cookies roundtrip)
echo "pkg-config --cflags --libs roundtrip-tracing roundtrip-metrics roundtrip-headers roundtrip-decompress roundtrip-cookies roundtrip: $flags"
# shellcheck disable=SC2086 # the flags are words
"${launcher[@]}" c++ -std=c++20 -o "$work/consumer-pkgconfig" "$source/packaging/consumer/consumer.cpp" $flags
LD_LIBRARY_PATH=$staged_libdir timeout 30 "$work/consumer-pkgconfig" "$url" pkg-config
# A static link needs Boost.URL by name, not by the path of a shared library.
pkg-config --static --libs roundtrip | grep -q -- '-lboost_url' || { echo "roundtrip.pc: no -lboost_url" >&2; exit 1; }

# 2. The README's own commands, word for word, on the README's own sample (its first cpp block, with
# a main added).
readme=$source/README.md
readme_app=$work/readme-app
mkdir -p "$readme_app"
python3 - "$readme" "$readme_app" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
out = sys.argv[2]
sample = re.search(r"```cpp\n(.*?)```", text, re.S).group(1)
open(out + "/app.cpp", "w").write(sample + "\nint main(int argc, char** argv) { return argc == 2 ? fetch_twice(argv[1]) : 2; }\n")
command = re.search(r"```sh\n(c\+\+ [^\n]*)\n", text).group(1)
open(out + "/build.sh", "w").write(command + " -o app\n")
cmake = re.search(r"```cmake\n(.*?)```", text, re.S).group(1)
open(out + "/CMakeLists.txt", "w").write(
    "cmake_minimum_required(VERSION 3.20)\nproject(readme CXX)\nadd_executable(app app.cpp)\n" + cmake)
PY
echo "README: $(cat "$readme_app/build.sh")"
(cd "$readme_app" && CXX="${launcher[*]} c++" bash build.sh && LD_LIBRARY_PATH=$staged_libdir timeout 30 ./app "$url" >/dev/null)
cmake -S "$readme_app" -B "$readme_app/cmake" -G Ninja -DCMAKE_PREFIX_PATH="$staged_prefix" \
  -DCMAKE_CXX_COMPILER_LAUNCHER="${launcher[*]}" >"$work/readme-cmake.log" || { cat "$work/readme-cmake.log"; exit 1; }
cmake --build "$readme_app/cmake" >>"$work/readme-cmake.log" || { cat "$work/readme-cmake.log"; exit 1; }
LD_LIBRARY_PATH=$staged_libdir timeout 30 "$readme_app/cmake/app" "$url" >/dev/null
echo "README commands: ok"

# 3. The out-of-tree plugin template, with meson (pkg-config) and with CMake, and its tests.
template=$source/packaging/plugin_template
meson setup "$work/plugin-meson" "$template" >"$work/plugin-meson.log" || { cat "$work/plugin-meson.log"; exit 1; }
LD_LIBRARY_PATH=$staged_libdir meson test -C "$work/plugin-meson" --print-errorlogs >>"$work/plugin-meson.log" \
  || { cat "$work/plugin-meson.log"; exit 1; }
unset PKG_CONFIG_PATH
cmake -S "$template" -B "$work/plugin-cmake" -G Ninja -DCMAKE_PREFIX_PATH="$staged_prefix" \
  -DCMAKE_CXX_COMPILER_LAUNCHER="${launcher[*]}" >"$work/plugin-cmake.log" || { cat "$work/plugin-cmake.log"; exit 1; }
cmake --build "$work/plugin-cmake" >>"$work/plugin-cmake.log" || { cat "$work/plugin-cmake.log"; exit 1; }
LD_LIBRARY_PATH=$staged_libdir ctest --test-dir "$work/plugin-cmake" --output-on-failure >>"$work/plugin-cmake.log" \
  || { cat "$work/plugin-cmake.log"; exit 1; }
echo "plugin template: ok (meson and CMake)"

# 4. CMake's find_package, with the shared libraries and then the static ones.
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
