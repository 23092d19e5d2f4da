#!/usr/bin/env bash
# The Go binding's test suite: go vet, go test -race, and the `-tags debug` run that forces a
# garbage collection before every C call (so a missing runtime.KeepAlive fails the tests), for
# the three modules: flyteauth (the binding) and its adapters flyteauth/grpcauth and
# flyteauth/oauth2auth. Also a CGO_ENABLED=0 build and test (the package reports
# ErrUnsupported).
#
# The library is linked from the checkout through pkg-config (build tag flyteauth_system): a
# checkout has no prebuilt libraries. scripts/go-consumer-test tests the prebuilt ones.
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

modules=(flyteauth flyteauth/grpcauth flyteauth/oauth2auth)
tags=flyteauth_system
for m in "${modules[@]}"; do
  echo "==> $m: go vet"
  (cd "$here/$m" && go vet -tags "$tags" ./... && go vet -tags "$tags,debug" ./...)
done
echo "==> flyteauth: CGO_ENABLED=0 go vet + go test (ErrUnsupported)"
(cd "$here/flyteauth" && CGO_ENABLED=0 go vet ./... && CGO_ENABLED=0 go test -count=1 ./...)

for m in "${modules[@]}"; do
  echo "==> $m: go test -race"
  (cd "$here/$m" && go test -race -tags "$tags" -count=1 "$@" ./...)
done

for m in "${modules[@]}"; do
  echo "==> $m: go test -race -tags debug (GC forced before every C call)"
  (cd "$here/$m" && go test -race -tags "$tags,debug" -count=1 "$@" ./...)
done

echo "bindings/go: all tests passed"
