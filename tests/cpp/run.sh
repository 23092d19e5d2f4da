#!/usr/bin/env bash
# The C++ test runner (make test-cpp): include/flyteauth.hpp and include/flyteauth_grpc.hpp
# against the real IdP fixture, and the installed CMake package. Needs the release library
# (make lib), g++, cmake, and Debian's libgrpc++-dev + protobuf-compiler-grpc.
#
#   tests/cpp/run.sh            # everything, with the wrapper test also under valgrind (~5 s more)
#   VALGRIND=0 tests/cpp/run.sh # without valgrind
#
# Steps, each timed:
#   1. compile tests/cpp/test_flyteauth.cpp (linked to libflyteauth.so) and, from
#      tests/cpp/echo.proto, tests/cpp/test_grpc.cpp (gRPC client and server), in parallel;
#   2. `make install` into a scratch prefix and build tests/cpp/consumer with CMake
#      (find_package(flyteauth CONFIG REQUIRED)): one program linked shared, one static;
#      check the shared one records libflyteauth.so.<major> and the static one no libflyteauth;
#   3. inside scripts/with-idp: run both tests and both consumers.
# All compiled with -Wall -Wextra -Werror. Exits non-zero if anything fails.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="$repo/tests/cpp/build"
libdir="$repo/target/release"
cd "$repo"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)"
major="${version%%.*}"

t0=$SECONDS
step_start=$SECONDS
step() {
  echo "== $1 ($((SECONDS - step_start)) s; total $((SECONDS - t0)) s)"
  step_start=$SECONDS
}

for tool in g++ cmake protoc grpc_cpp_plugin pkg-config readelf; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "run.sh: $tool not found (apt-get install g++ cmake libgrpc++-dev protobuf-compiler-grpc pkg-config)" >&2
    exit 1
  }
done
pkg-config --exists grpc++ protobuf || { echo "run.sh: apt-get install libgrpc++-dev" >&2; exit 1; }
[ -f "$libdir/libflyteauth.so" ] || { echo "run.sh: $libdir/libflyteauth.so is missing: make lib" >&2; exit 1; }
ln -sf libflyteauth.so "$libdir/libflyteauth.so.$major"

rm -rf "$build" && mkdir -p "$build/gen"
CXX="${CXX:-g++}"
CXXFLAGS=(-std=c++17 -Wall -Wextra -Werror -pedantic -g -O0 -pthread -I "$repo/include" -I "$repo/tests/cpp")

# 1. Compile (every file in parallel: gRPC's headers are slow to compile; -O0 compiles fastest).
protoc -I "$repo/tests/cpp" --cpp_out="$build/gen" --grpc_out="$build/gen" \
  --plugin=protoc-gen-grpc="$(command -v grpc_cpp_plugin)" "$repo/tests/cpp/echo.proto"
# shellcheck disable=SC2207
grpc_flags=($(pkg-config --libs grpc++ protobuf))
pids=()
"$CXX" "${CXXFLAGS[@]}" -c -o "$build/test_flyteauth.o" tests/cpp/test_flyteauth.cpp & pids+=($!)
for src in tests/cpp/test_grpc.cpp "$build/gen/echo.pb.cc" "$build/gen/echo.grpc.pb.cc"; do
  "$CXX" "${CXXFLAGS[@]}" -I "$build/gen" $(pkg-config --cflags grpc++ protobuf) \
    -c -o "$build/$(basename "${src%.*}").o" "$src" & pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ "$status" = 0 ] || { echo "run.sh: compilation failed" >&2; exit 1; }
"$CXX" -pthread -o "$build/test_flyteauth" "$build/test_flyteauth.o" \
  -L "$libdir" -lflyteauth -Wl,-rpath,"$libdir"
"$CXX" -pthread -o "$build/test_grpc" "$build/test_grpc.o" "$build/echo.pb.o" "$build/echo.grpc.pb.o" \
  "${grpc_flags[@]}" -L "$libdir" -lflyteauth -Wl,-rpath,"$libdir"
step "compiled test_flyteauth and test_grpc"

# 2. Install into a scratch prefix and build the CMake consumer against it.
prefix="$build/prefix"
make --no-print-directory install PREFIX="$prefix" >"$build/install.log" 2>&1 ||
  { cat "$build/install.log" >&2; echo "run.sh: make install failed" >&2; exit 1; }
for f in lib/cmake/flyteauth/flyteauthConfig.cmake lib/cmake/flyteauth/flyteauthConfigVersion.cmake \
  include/flyteauth.h include/flyteauth.hpp include/flyteauth_grpc.hpp \
  "lib/libflyteauth.so.$version" "lib/libflyteauth.so.$major" lib/libflyteauth.so lib/libflyteauth.a; do
  [ -e "$prefix/$f" ] || { echo "run.sh: make install did not install $f" >&2; exit 1; }
done
cmake -S tests/cpp/consumer -B "$build/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CXX" >"$build/cmake.log" 2>&1 &&
  cmake --build "$build/consumer" -j 2 >>"$build/cmake.log" 2>&1 ||
  { cat "$build/cmake.log" >&2; echo "run.sh: the CMake consumer did not build" >&2; exit 1; }
shared_deps="$(readelf -d "$build/consumer/app-shared")"
static_deps="$(readelf -d "$build/consumer/app-static")"
grep -q "NEEDED.*\[libflyteauth\.so\.$major\]" <<<"$shared_deps" ||
  { echo "run.sh: app-shared does not record NEEDED libflyteauth.so.$major" >&2; exit 1; }
if grep -q 'NEEDED.*libflyteauth' <<<"$static_deps"; then
  echo "run.sh: app-static depends on a shared libflyteauth" >&2; exit 1
fi
# The installed package moves with its prefix (relocatable), so the consumers' build rpath
# points into the scratch prefix, not into this checkout.
grep -q "$prefix/lib" <<<"$(readelf -d "$build/consumer/app-shared")" ||
  { echo "run.sh: app-shared has no rpath into the installed prefix" >&2; exit 1; }
step "make install + CMake consumer (find_package(flyteauth CONFIG REQUIRED)): app-shared (NEEDED libflyteauth.so.$major), app-static"

# 3. Run everything against one fixture.
run_tests() {
  local status=0 config
  config="{\"endpoint\": \"$FLYTEAUTH_IDP_ENDPOINT\", \"insecure\": true, \"authType\": \"ClientSecret\", \"clientId\": \"$FLYTEAUTH_IDP_CLIENT_ID\", \"clientSecret\": \"$FLYTEAUTH_IDP_CLIENT_SECRET\"}"
  echo "-- test_flyteauth"
  "$build/test_flyteauth" || status=1
  echo "-- test_grpc"
  "$build/test_grpc" || status=1
  for app in app-shared app-static; do
    echo "-- consumer $app"
    local out
    if out="$("$build/consumer/$app" "$config")" && grep -q '^flyte-authorization: <[0-9]* bytes>$' <<<"$out"; then
      echo "$out"
    else
      echo "$out"; echo "run.sh: $app did not get a token" >&2; status=1
    fi
  done
  if [ "${VALGRIND:-1}" = 1 ]; then
    echo "-- test_flyteauth under valgrind"
    # The flags and suppressions of tests/c/run.sh (which explains the two suppressed "possibly
    # lost" blocks: the library's process-wide runtime threads).
    valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
      --errors-for-leak-kinds=definite,indirect,possible --suppressions="$repo/tests/c/valgrind.supp" \
      --child-silent-after-fork=yes --num-callers=40 --error-exitcode=1 \
      --log-file="$build/valgrind.log" "$build/test_flyteauth" || status=1
    grep -E 'ERROR SUMMARY|definitely lost:|indirectly lost:|possibly lost:' "$build/valgrind.log" |
      sed 's/^==[0-9]*== */   /' || true
    grep -q 'ERROR SUMMARY: 0 errors' "$build/valgrind.log" ||
      { echo "run.sh: valgrind reported errors (see $build/valgrind.log)" >&2; status=1; }
  fi
  return "$status"
}
export -f run_tests
export build repo
status=0
scripts/with-idp bash -c run_tests || status=1
step "ran the tests against the IdP fixture"

if [ "$status" -eq 0 ]; then
  echo "== C++ tests: all passed in $((SECONDS - t0)) s"
else
  echo "== C++ tests: FAILED after $((SECONDS - t0)) s" >&2
fi
exit "$status"
