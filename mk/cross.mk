# aarch64 Linux tests under qemu-aarch64-static, against the IdP fixture running natively
# (issue 12). Included by mk/dist.mk; docs/PLATFORMS.md has the figures. In CI (make test, via
# test-platforms).
#
#   make test-aarch64        all of the below
#   make test-aarch64-rust   the Rust unit tests and the integration tests that need no browser
#                            and no keyring
#   make test-aarch64-c      tests/c/run.sh against the aarch64 archive (no valgrind)
#   make test-aarch64-go     the Go binding's tests (GOARCH=arm64, go test -exec qemu, no -race)
#
# Everything here is built in CROSS_PROFILE (default `cross-test`: the release profile without
# LTO, see Cargo.toml) with the same cargo-zigbuild target spec (GLIBC 2.17) and linker as
# `make dist`; the archive comes from scripts/dist itself, into its own directory
# (CROSS_DIST_DIR), so it can never be mistaken for a release archive. CROSS_PROFILE=release
# tests the release build instead (with LTO: about three times the build time).
#
# Pitfall (PLATFORMS.md): never pass -L /usr/aarch64-linux-gnu to qemu: with libc6:arm64
# installed (the multiarch std pulls it in) ld.so and libc would come from different trees and
# the first pthread_create spins forever. Without -L, qemu finds both through /lib.

CROSS_PROFILE       ?= cross-test
CROSS_DIST_DIR      ?= $(DIST_TARGET_DIR)/dist-$(CROSS_PROFILE)
CROSS_ARCHIVE        = $(CROSS_DIST_DIR)/flyteauth-$(VERSION)-$(1).tar.gz
CROSS_DIST_ENV      := PATH="$(CROSS_BIN):$$PATH" DIST_DIR="$(CROSS_DIST_DIR)" DIST_PROFILE="$(CROSS_PROFILE)"
AARCH64             := aarch64-unknown-linux-gnu
# tests/*.rs by file: keyring.rs needs a Secret Service and Chromium; cli.rs runs the aarch64
# CLI as a child process, which the host kernel cannot exec without binfmt_misc (the CLI is run
# under qemu by dist-test instead); storm.rs is the load storm, timed for native speed.
AARCH64_RUST_TESTS  ?= command config faults ffi_boundary hardening idp interactive raw_faults tls
# The one test of command.rs that runs the CLI as a child (see above).
AARCH64_RUST_SKIP   ?= a_command_that_runs_flyteauth_token_with_the_same_config_is_refused
AARCH64_ENV         := PATH="/usr/bin:$(CROSS_BIN):$$PATH" RUSTC=/usr/bin/rustc \
                       CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64-static
AARCH64_STAGE        = $(DIST_TARGET_DIR)/cross-stage/$(AARCH64)

.PHONY: test-aarch64 test-aarch64-rust test-aarch64-c test-aarch64-go aarch64-archive aarch64-stage

test-aarch64: test-aarch64-rust test-aarch64-c test-aarch64-go

# The test build shares little with the archive's build although both use the same target spec
# and profile: the dev-dependencies (tokio "full", wiremock, ...) change most crates' features.
# Cold on a quiet machine: 4 min (after the archive's build).
test-aarch64-rust: fixture
	$(AARCH64_ENV) cargo-zigbuild test --profile $(CROSS_PROFILE) --locked --target $(AARCH64).2.17 -p flyteauth --lib \
	    $(addprefix --test ,$(AARCH64_RUST_TESTS)) -- --skip $(AARCH64_RUST_SKIP)

# scripts/dist in CROSS_PROFILE (an up-to-date build is a no-op; packing takes seconds), and
# the GLIBC 2.17 check of what it ships.
aarch64-archive:
	$(CROSS_DIST_ENV) scripts/dist $(AARCH64)
	scripts/check-glibc --max 2.17 $(call CROSS_ARCHIVE,$(AARCH64))

# The archive unpacked: the C and Go tests link what it ships.
aarch64-stage: aarch64-archive
	@rm -rf $(AARCH64_STAGE) && mkdir -p $(AARCH64_STAGE) && \
	tar -xzf $(call CROSS_ARCHIVE,$(AARCH64)) -C $(AARCH64_STAGE) --strip-components 1

test-aarch64-c: fixture aarch64-stage
	FLYTEAUTH_LIB_DIR=$(AARCH64_STAGE)/lib CC=aarch64-linux-gnu-gcc RUNNER=qemu-aarch64-static \
	    SKIP_VALGRIND=1 bash tests/c/run.sh

# The archive's flyteauth.pc (relocatable) through the flyteauth_system tag; no -race (the
# race detector does not run under qemu: "unsupported VMA range"). The adapters' tests too.
test-aarch64-go: fixture aarch64-stage
	@set -e; for m in flyteauth flyteauth/grpcauth flyteauth/oauth2auth; do \
	    echo "==> $$m (linux/arm64 under qemu)"; \
	    (cd bindings/go/$$m && PKG_CONFIG_PATH=$(AARCH64_STAGE)/lib/pkgconfig \
	     CGO_LDFLAGS="-Wl,-rpath,$(AARCH64_STAGE)/lib" CC=aarch64-linux-gnu-gcc GOOS=linux GOARCH=arm64 \
	     CGO_ENABLED=1 go test -tags flyteauth_system -count=1 -exec qemu-aarch64-static ./...); done
