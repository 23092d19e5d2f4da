# aarch64 Linux tests under qemu-aarch64-static, against the IdP fixture running natively
# (issue 12). Included by mk/dist.mk; docs/PLATFORMS.md has the figures.
#
#   make test-aarch64        all of the below
#   make test-aarch64-rust   the Rust unit tests and the integration tests that need no browser
#                            and no keyring, built --release like the dist build (shared deps)
#   make test-aarch64-c      tests/c/run.sh against the aarch64 release archive (no valgrind)
#   make test-aarch64-go     the Go binding's tests (GOARCH=arm64, go test -exec qemu, no -race)
#
# Pitfall (PLATFORMS.md): never pass -L /usr/aarch64-linux-gnu to qemu: with libc6:arm64
# installed (the multiarch std pulls it in) ld.so and libc would come from different trees and
# the first pthread_create spins forever. Without -L, qemu finds both through /lib.

AARCH64             := aarch64-unknown-linux-gnu
# tests/*.rs by file: keyring.rs needs a Secret Service and Chromium; cli.rs runs the aarch64
# CLI as a child process, which the host kernel cannot exec without binfmt_misc (the CLI is run
# under qemu by dist-test instead); storm.rs is the load storm, timed for native speed.
AARCH64_RUST_TESTS  ?= command config faults ffi_boundary hardening idp interactive raw_faults tls
# The one test of command.rs that runs the CLI as a child (see above).
AARCH64_RUST_SKIP   ?= a_command_that_runs_flyteauth_token_with_the_same_config_is_refused
AARCH64_ENV         := PATH="/usr/bin:$(CROSS_BIN):$$PATH" RUSTC=/usr/bin/rustc \
                       CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64-static
AARCH64_STAGE        = $(DIST_TARGET_DIR)/cross-test/$(AARCH64)

.PHONY: test-aarch64 test-aarch64-rust test-aarch64-c test-aarch64-go aarch64-stage

test-aarch64: test-aarch64-rust test-aarch64-c test-aarch64-go

# cargo-zigbuild with the same target spec and linker as `make dist`, --release but without the
# release profile's LTO and single codegen unit: the test build shares little with the dist
# build anyway (the dev-dependencies change most crates' features), and thin LTO on every test
# binary was most of its cost (33.5 min under load with it; 6 min 21 s cold on a quiet machine
# without it, the same 157 tests passing).
test-aarch64-rust: fixture
	$(AARCH64_ENV) CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
	    cargo-zigbuild test --release --locked --target $(AARCH64).2.17 --lib \
	    $(addprefix --test ,$(AARCH64_RUST_TESTS)) -- --skip $(AARCH64_RUST_SKIP)

# The release archive unpacked: the C and Go tests link what ships.
aarch64-stage:
	@test -f $(call DIST_ARCHIVE,$(AARCH64)) || $(DIST_ENV) scripts/dist $(AARCH64)
	@rm -rf $(AARCH64_STAGE) && mkdir -p $(AARCH64_STAGE) && \
	tar -xzf $(call DIST_ARCHIVE,$(AARCH64)) -C $(AARCH64_STAGE) --strip-components 1

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
