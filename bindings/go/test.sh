#!/usr/bin/env bash
# The Go binding's test suite: go vet, go test -race, and the `-tags debug` run that forces a
# garbage collection before every C call (so a missing runtime.KeepAlive fails the tests).
#
#   bindings/go/test.sh [extra go test flags, e.g. -run TestRefresh -v]
#
# Expects the Rust library and the uninstalled pkg-config file to be built already
# (`make lib pkgconfig` at the repository root). Installs the IdP fixture's npm packages
# when they are missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
fixture="$root/tests/fixtures/idp"

export PKG_CONFIG_PATH="$root/target/release/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
if [ ! -f "$root/target/release/pkgconfig/flyteauth.pc" ] || [ ! -f "$root/target/release/libflyteauth.so" ]; then
  echo "test.sh: the library is not built: run 'make lib pkgconfig' in $root" >&2
  exit 1
fi
if [ ! -f "$fixture/node_modules/.package-lock.json" ]; then
  echo "test.sh: installing the IdP fixture's npm packages (npm ci)" >&2
  (cd "$fixture" && npm ci --no-audit --no-fund --loglevel=error)
fi

cd "$here"
echo "==> go vet"
go vet ./...
go vet -tags debug ./...

echo "==> go test -race"
go test -race -count=1 "$@" ./...

echo "==> go test -race -tags debug (GC forced before every C call)"
go test -race -tags debug -count=1 "$@" ./...

echo "bindings/go: all tests passed"
