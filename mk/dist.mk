# Release archives, their tests, and the Go module's prebuilt libraries (issue 12).
# Included by the top-level Makefile; docs/PLATFORMS.md explains the targets and their cost.
#
#   make dist TARGET=<triple>   build target/dist/flyteauth-<version>-<triple>.tar.gz (+ SHA256SUMS)
#   make dist-all               every target this machine can build (DIST_ALL_TARGETS)
#   make dist-test TARGET=...   unpack the archive, build C consumers (CMake + pkg-config, shared
#                               and static) against it and get a header from the IdP fixture
#   make dist-test-all          dist-test for every archive of DIST_ALL_TARGETS
#   make dist-check-glibc       every glibc archive's .so and CLI need nothing above GLIBC_2.17
#   make go-prebuilt            bindings/go/flyteauth/build/<goos>-<goarch>/ from the archives
#   make go-prebuilt-check      fail when those libraries (or the header copy) are stale
#   make test-platforms         what CI runs (in make test): test-aarch64, test-windows and
#                               check-macos-aarch64
#   make test-platforms-all     that, and every release archive with its tests, the Go consumer,
#                               both macOS checks and the Java jars
#   make test-go-consumer       a Go module outside the repository, built from a module zip
#                               with go alone (no Rust, no pkg-config), linux/amd64 + arm64
#
# The cross tools come from scripts/install-cross-tools (Debian's rustc-web with the arm64 std
# and rust-src, gcc-aarch64-linux-gnu, qemu-user-static, zig and cargo-zigbuild from PyPI); its
# wrappers are looked for in CROSS_BIN.

DIST_LINUX_TARGETS := x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu \
                      x86_64-unknown-linux-musl aarch64-unknown-linux-musl
# Windows (mingw-w64) when its cross compiler is installed; macOS only on a Mac.
DIST_ALL_TARGETS   ?= $(DIST_LINUX_TARGETS) \
                      $(if $(shell command -v x86_64-w64-mingw32-gcc 2>/dev/null),x86_64-pc-windows-gnu) \
                      $(if $(filter Darwin,$(shell uname -s)),x86_64-apple-darwin aarch64-apple-darwin)
TARGET             ?= x86_64-unknown-linux-gnu
CROSS_BIN          ?= $(ROOT)/target/cross/bin
DIST_TARGET_DIR    := $(or $(CARGO_TARGET_DIR),$(ROOT)/target)
DIST_DIR           ?= $(DIST_TARGET_DIR)/dist
DIST_ARCHIVE        = $(DIST_DIR)/flyteauth-$(VERSION)-$(1).tar.gz
# The cross tools' wrappers first on PATH (Debian's cargo/rustc are put first by scripts/dist).
DIST_ENV           := PATH="$(CROSS_BIN):$$PATH" DIST_DIR="$(DIST_DIR)"

.PHONY: dist dist-all dist-test dist-test-all dist-check-glibc go-prebuilt go-prebuilt-check test-go-consumer

dist:
	$(DIST_ENV) scripts/dist $(TARGET)

dist-all:
	@set -e; for t in $(DIST_ALL_TARGETS); do $(DIST_ENV) scripts/dist $$t; done
	@cat $(DIST_DIR)/SHA256SUMS

# The archive is built first when it is missing (not when it is older than the sources: a
# release build takes minutes; run `make dist` for that).
dist-test: fixture
	@test -f $(call DIST_ARCHIVE,$(TARGET)) || $(DIST_ENV) scripts/dist $(TARGET)
	$(DIST_ENV) scripts/dist-test $(call DIST_ARCHIVE,$(TARGET))

dist-test-all: fixture
	@set -e; for t in $(filter %-linux-gnu %-linux-musl,$(DIST_ALL_TARGETS)); do \
	    test -f $(call DIST_ARCHIVE,$$t) || $(DIST_ENV) scripts/dist $$t; \
	    $(DIST_ENV) scripts/dist-test $(call DIST_ARCHIVE,$$t); done

dist-check-glibc:
	@set -e; ls $(DIST_DIR)/flyteauth-$(VERSION)-*-linux-gnu.tar.gz >/dev/null 2>&1 || \
	    { echo "dist-check-glibc: no glibc archive in $(DIST_DIR): make dist TARGET=x86_64-unknown-linux-gnu" >&2; exit 1; }; \
	scripts/check-glibc --max 2.17 $(DIST_DIR)/flyteauth-$(VERSION)-*-linux-gnu.tar.gz

go-prebuilt:
	scripts/go-prebuilt update $(DIST_DIR)

go-prebuilt-check:
	scripts/go-prebuilt check

test-go-consumer: fixture
	@for t in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu; do \
	    test -f $(call DIST_ARCHIVE,$$t) || $(DIST_ENV) scripts/dist $$t || exit 1; done
	$(DIST_ENV) scripts/go-consumer-test amd64 arm64
# What CI runs (make test): the cross targets it can afford on 2 cores (docs/PLATFORMS.md,
# "What CI runs"): aarch64 glibc under qemu (its archive in the cross-test profile with the
# GLIBC 2.17 check, the Rust, C and Go suites, the Go consumer module), Windows under Wine (unit tests, the C demo and
# the CLI against the fixture) and the macOS compile check for Apple silicon. About 22 minutes
# cold. The tools come from scripts/install-cross-tools (which .ci/run calls).
.PHONY: test-platforms test-platforms-all cross-tools-check test-go-consumer-arm64
test-platforms: cross-tools-check fixture
	$(MAKE) --no-print-directory test-aarch64 test-go-consumer-arm64 test-windows check-macos-aarch64

# The Go consumer (scripts/go-consumer-test) for linux/arm64 alone, from the cross-test archive
# of test-aarch64: go get + go build with no Rust and no pkg-config, dynamic, static, vendored
# and CGO_ENABLED=0, run under qemu against the fixture.
test-go-consumer-arm64: fixture aarch64-archive
	PATH="$(CROSS_BIN):$$PATH" DIST_DIR="$(CROSS_DIST_DIR)" scripts/go-consumer-test arm64

cross-tools-check:
	@scripts/install-cross-tools --check

# Everything else, by hand: the release archives of every target this machine builds, their
# consumer tests and GLIBC check, the Go consumer (amd64 + arm64), both macOS checks and the
# multi-platform Java jars. Cold, well over an hour on 2 cores.
test-platforms-all: test-platforms
	$(MAKE) --no-print-directory dist-all dist-test-all dist-check-glibc test-go-consumer check-macos test-java-dist

include mk/cross.mk
