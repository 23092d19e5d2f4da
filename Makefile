# flyteauth — build, test, demo, bench. See README.md.
#
#   make build    release library (target/release/libflyteauth.{so,a}), header check, pkg-config file
#   make test     every test: lint, header freshness, Rust unit/integration/fault tests, the token-expiry
#                 tests ten times under CPU load, C tests under valgrind, C++ tests (make test-cpp)
#   make test-under-load  only the token-expiry tests, ten times while busy loops occupy every core
#   make test-keycloak    every flow against a real Keycloak (scripts/with-keycloak; cached per machine)
#   make demo     build, start the local identity provider, print the header metadata from C, Go and Java
#   make bench    benchmarks; figures go to docs/PERFORMANCE.md by hand from the printed output
#   make install  PREFIX=/usr/local (DESTDIR supported): library, C and C++ headers, pkg-config file,
#                 CMake package (lib/cmake/flyteauth)
#   make dist TARGET=<triple>, make dist-all, ...: release archives and their tests (mk/dist.mk)

CARGO       ?= cargo
CC          ?= gcc
PREFIX      ?= /usr/local
LIBDIR      ?= $(PREFIX)/lib
INCLUDEDIR  ?= $(PREFIX)/include
BINDIR      ?= $(PREFIX)/bin
CBINDGEN_VERSION := 0.29.4
VERSION     := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
ROOT        := $(abspath .)
RELEASE     := $(ROOT)/target/release
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
FIXTURE     := tests/fixtures/idp
CFLAGS_DEMO := -std=c11 -O2 -Wall -Wextra -Werror -pedantic -I$(ROOT)/include

SHELL       := /bin/bash
SOMAJOR     := $(firstword $(subst ., ,$(VERSION)))

.PHONY: pkgconfig build lib cli header check-header cbindgen fixture fixture-flyteadmin fixture-flytectl lint test test-suites test-timed test-rust test-cli-consumers test-under-load test-keyring test-keycloak test-interop test-config-flytekit test-flytekit-sharing test-flytectl-sharing test-c test-cpp test-go test-java test-pkgconfig test-readme \
        demo bench install clean fuzz-smoke

build: lib check-header $(RELEASE)/pkgconfig/flyteauth.pc

# The library's soname is libflyteauth.so.$(SOMAJOR) (capi/build.rs): programs linked against the
# uninstalled library look for that name, so it is linked next to it.
lib:
	$(CARGO) build --release --lib
	ln -sf libflyteauth.so $(RELEASE)/libflyteauth.so.$(SOMAJOR)

# The `flyteauth` CLI (login, token, logout, status).
cli:
	$(CARGO) build --release --bin flyteauth

# An uninstalled pkg-config file pointing into this checkout (PKG_CONFIG_PATH=target/release/pkgconfig),
# with an rpath so programs linked against it run without LD_LIBRARY_PATH (used by the Go binding).
pkgconfig: $(RELEASE)/pkgconfig/flyteauth.pc

$(RELEASE)/pkgconfig/flyteauth.pc: flyteauth.pc.in Cargo.toml Makefile
	mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(ROOT)|' -e 's|@LIBDIR@|$(RELEASE)|' -e 's|@INCLUDEDIR@|$(ROOT)/include|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|^Libs: -L$${libdir}|Libs: -L$${libdir} -Wl,-rpath,$${libdir}|' $< > $@

cbindgen:
	@if ! cbindgen --version 2>/dev/null | grep -qx "cbindgen $(CBINDGEN_VERSION)"; then \
	    echo "installing cbindgen $(CBINDGEN_VERSION)"; \
	    $(CARGO) install cbindgen --version $(CBINDGEN_VERSION) --locked --quiet; \
	fi

# Regenerate include/flyteauth.h from src/ffi.
header: cbindgen
	cbindgen --config cbindgen.toml --crate flyteauth --quiet --output include/flyteauth.h

# Fail when the checked-in header differs from what src/ffi generates.
check-header: cbindgen
	@tmp=$$(mktemp) && cbindgen --config cbindgen.toml --crate flyteauth --quiet --output $$tmp && \
	if ! diff -u include/flyteauth.h $$tmp; then \
	    echo "include/flyteauth.h is stale: run 'make header' and commit it" >&2; rm -f $$tmp; exit 1; \
	fi; rm -f $$tmp; echo "include/flyteauth.h is up to date"
	@v="$(VERSION)"; v="$${v%%-*}"; IFS=. read -r major minor patch <<<"$$v"; \
	for want in '#define FLYTEAUTH_VERSION "$(VERSION)"' "#define FLYTEAUTH_VERSION_MAJOR $$major" \
	    "#define FLYTEAUTH_VERSION_MINOR $$minor" "#define FLYTEAUTH_VERSION_PATCH $$patch"; do \
	    grep -qxF "$$want" include/flyteauth.h || \
	    { echo "cbindgen.toml's version macros do not match Cargo.toml ($(VERSION)): want $$want" >&2; exit 1; }; done

fixture: $(FIXTURE)/node_modules/.package-lock.json fixture-flyteadmin fixture-flytectl

# The gRPC-only flyteadmin of tests/grpc_discovery.rs (tests/fixtures/flyteadmin, flyteidl's
# generated Go service through the Go module proxy; its go.sum pins every module, so the
# checksum database need not be reachable). The test builds it too; building it here first
# makes a missing Go toolchain fail before the suites start.
fixture-flyteadmin:
	cd tests/fixtures/flyteadmin && GONOSUMDB=github.com/flyteorg go build -o $(ROOT)/target/fixtures/flyteadmin .

# flytectl's side of tests/flytectl_sharing.rs (tests/fixtures/flytectl): flytectl's keyring
# token cache and flyteidl's admin client from the Go module proxy, wired as flytectl wires them.
fixture-flytectl:
	cd tests/fixtures/flytectl && GONOSUMDB=github.com/flyteorg go build -o $(ROOT)/target/fixtures/flytectl-client .

$(FIXTURE)/node_modules/.package-lock.json: $(FIXTURE)/package-lock.json
	cd $(FIXTURE) && npm ci --no-audit --no-fund --loglevel=error

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

# Every suite, with all output captured in target/test-logs (make-test.log, and the library's
# own log records from the Rust tests in rust-library.log). The IdP fixtures append each token
# they issue to issued-tokens.txt; afterwards scripts/check-secrets checks that no issued token
# and no test client secret appears in any captured log, report or error message.
TEST_LOGS := $(ROOT)/target/test-logs
test:
	@rm -rf $(TEST_LOGS) && mkdir -p $(TEST_LOGS)
	@set -o pipefail; IDP_TOKEN_LOG=$(TEST_LOGS)/issued-tokens.txt FLYTEAUTH_TEST_LOG_DIR=$(TEST_LOGS) \
	    $(MAKE) --no-print-directory test-timed 2>&1 | tee $(TEST_LOGS)/make-test.log
	python3 scripts/check-secrets $(TEST_LOGS)/issued-tokens.txt $(TEST_LOGS) \
	    bindings/java/target/surefire-reports-ffm bindings/java/target/surefire-reports-jni
	@echo "make test: all suites passed"

# test-platforms (mk/dist.mk): aarch64 under qemu, Windows under Wine, the macOS check; its
# tools are checked first, so that a machine without them fails at once, not after 30 minutes.
SUITES := cross-tools-check lint check-header go-prebuilt-check fixture test-rust test-cli-consumers test-under-load test-keyring test-interop test-c test-cpp test-pkgconfig test-go test-java test-readme fuzz-smoke test-platforms
test-suites: $(SUITES)

# The suites one after another, each one's wall time in target/test-logs/suite-times.txt and
# printed together at the end (what a CI budget is spent on, build time included).
test-timed:
	@times=$(or $(FLYTEAUTH_TEST_LOG_DIR),$(ROOT)/target)/suite-times.txt; : > $$times; \
	for suite in $(SUITES); do start=$$(date +%s); \
	    $(MAKE) --no-print-directory $$suite || { echo "make test: $$suite failed after $$(( $$(date +%s) - start )) s" >&2; cat $$times; exit 1; }; \
	    printf '%6d s  %s\n' $$(( $$(date +%s) - start )) $$suite >> $$times; done; \
	echo "make test: time per suite"; cat $$times

test-rust: fixture
	$(CARGO) test -p flyteauth --all-targets
	$(CARGO) test -p flyteauth --doc

# The tests that time token expiry, UNDER_LOAD_RUNS times while busy loops (`yes`) occupy every
# core, as on a shared CI machine: the storms of tests/storm.rs (UNDER_LOAD_STORM_SECS each) and
# the expiry tests of tests/idp.rs and tests/interactive.rs, all at once (scripts/timing-suites).
# Every run must pass; scripts/under-load prints the pass count and always kills the busy loops.
# Each run's output is kept in target/under-load (in target/test-logs/under-load under make test).
UNDER_LOAD_RUNS       ?= 10
UNDER_LOAD_STORM_SECS ?= 16
# The test binaries test-rust has just built (cargo's `test` profile, unoptimised): the margins
# are whole seconds, which unoptimised code under load keeps as well (10/10 with a compile
# beside the busy loops), and a build of their own (optimised, `cross-test`) cost CI five
# minutes. UNDER_LOAD_PROFILE=cross-test times the optimised code instead.
UNDER_LOAD_PROFILE    ?= test
test-under-load: fixture
	$(CARGO) test --profile $(UNDER_LOAD_PROFILE) --no-run --test storm --test idp --test interactive --test hardening
	UNDER_LOAD_LOG_DIR=$(or $(FLYTEAUTH_TEST_LOG_DIR),$(ROOT)/target)/under-load UNDER_LOAD_SUMMARY='^storm:' \
	    FLYTEAUTH_STORM_SECS=$(UNDER_LOAD_STORM_SECS) CARGO=$(CARGO) \
	    scripts/under-load $(UNDER_LOAD_RUNS) scripts/timing-suites --profile $(UNDER_LOAD_PROFILE)

# Python keyring (what pyflyte uses) for the interop tests; jsonschema (with the RFC 3339
# date-time checker) for the credential-helper schema check.
PYENV := target/pyenv
PYENV_PACKAGES := keyring secretstorage jsonschema rfc3339-validator
$(PYENV)/.installed-2:
	python3 -m venv $(PYENV)
	$(PYENV)/bin/pip install --quiet --disable-pip-version-check $(PYENV_PACKAGES)
	touch $@

# The keyring cache against a real Secret Service (gnome-keyring on a private session bus),
# PKCE through real headless Chromium, and interop with Python keyring.
test-keyring: fixture $(PYENV)/.installed-2
	scripts/with-keyring env FLYTEAUTH_TEST_PYTHON=$(ROOT)/$(PYENV)/bin/python \
	    BROWSER=$(ROOT)/scripts/headless-browser \
	    $(CARGO) test --test keyring -- --ignored --test-threads 1

# The suites against other real tools, Keycloak, flytekit and flytectl, spend most of their time
# waiting (Keycloak's JVM start, the tokens' expiry): under make test they run side by side,
# with the config comparison against flytekit (which only computes) beside them, their
# binaries built first, each one's output printed whole when it ends.
test-interop: fixture
	$(CARGO) test --test keycloak --test flytekit_sharing --test flytectl_sharing --test config_flytekit --no-run
	$(MAKE) --no-print-directory -j4 --output-sync=target test-keycloak test-flytekit-sharing \
	    test-flytectl-sharing test-config-flytekit

# A second real IdP (tests/keycloak.rs): Keycloak, started by scripts/with-keycloak (downloaded
# from Maven Central once per machine into ~/.cache/flyteauth/keycloak, checked against its
# .sha1; run on Java 25 in start-dev mode), with a private Secret Service for the keyring checks.
# The test binary is built first, so that the build does not compete with Keycloak's start.
test-keycloak:
	$(CARGO) test --test keycloak --no-run
	KEYCLOAK_LOG=$(or $(FLYTEAUTH_TEST_LOG_DIR),$(ROOT)/target)/keycloak.log \
	    scripts/with-keycloak scripts/with-keyring $(CARGO) test --test keycloak -- --ignored

# Config resolution against flytekit's own PlatformConfig.auto() (tests/config_flytekit.rs):
# the same files and environment through both, in a venv with a pinned flytekit from PyPI.
FLYTEKIT_VERSION := 1.16.31
FLYTEKIT_VENV    := target/flytekit-venv
$(FLYTEKIT_VENV)/.installed-$(FLYTEKIT_VERSION):
	python3 -m venv $(FLYTEKIT_VENV)
	$(FLYTEKIT_VENV)/bin/pip install --quiet --disable-pip-version-check flytekit==$(FLYTEKIT_VERSION)
	touch $@

test-config-flytekit: $(FLYTEKIT_VENV)/.installed-$(FLYTEKIT_VERSION)
	FLYTEAUTH_TEST_FLYTEKIT_PYTHON=$(ROOT)/$(FLYTEKIT_VENV)/bin/python \
	    $(CARGO) test --test config_flytekit -- --ignored --nocapture

# What flytekit's KeyringStore needs on Linux (Python keyring with its Secret Service backend,
# secretstorage) and what tests/flytekit_sharing.rs lists the items with. flytekit's own
# requirements bring both today; this makes sure, without touching the pinned flytekit.
$(FLYTEKIT_VENV)/.keyring-$(FLYTEKIT_VERSION): $(FLYTEKIT_VENV)/.installed-$(FLYTEKIT_VERSION)
	$(FLYTEKIT_VENV)/bin/pip install --quiet --disable-pip-version-check keyring secretstorage
	$(FLYTEKIT_VENV)/bin/python -c 'import keyring, secretstorage'
	touch $@

# Logins shared with flytectl (tests/flytectl_sharing.rs): flytectl's own keyring token cache
# and flyteidl's admin client (tests/fixtures/flytectl) calling the flyteadmin fixture, and the
# flyteauth CLI, one config.yaml, a real Secret Service. ~2 minutes, most of it waiting for
# 40-second tokens to expire.
test-flytectl-sharing: fixture $(PYENV)/.installed-2
	scripts/with-keyring env FLYTEAUTH_TEST_PYTHON=$(ROOT)/$(PYENV)/bin/python \
	    $(CARGO) test --test flytectl_sharing -- --ignored --test-threads 1

# Logins shared with the real flytekit (tests/flytekit_sharing.rs): flytekit's own auth code
# (scripts/flytekit-auth.py drives its authenticators, keyring store and refreshes) and the
# flyteauth CLI, one config.yaml, the IdP fixture, a real Secret Service. ~5 minutes, most of
# it waiting for 15-second tokens to expire.
test-flytekit-sharing: fixture $(FLYTEKIT_VENV)/.keyring-$(FLYTEKIT_VERSION)
	scripts/with-keyring env FLYTEAUTH_TEST_FLYTEKIT_PYTHON=$(ROOT)/$(FLYTEKIT_VENV)/bin/python \
	    $(CARGO) test --test flytekit_sharing -- --ignored --test-threads 1

test-c: fixture
	bash tests/c/run.sh

# The CLI's outputs read by their real consumers (tests/consumers.rs): kubectl as an exec
# credential plugin, jq + curl, and the credential-helper answer against its JSON schema.
test-cli-consumers: fixture $(PYENV)/.installed-2
	@for tool in kubectl jq curl; do command -v $$tool >/dev/null || \
	    { echo "test-cli-consumers: $$tool is missing (.ci/run installs it)" >&2; exit 1; }; done
	FLYTEAUTH_TEST_PYTHON=$(ROOT)/$(PYENV)/bin/python $(CARGO) test --test consumers -- --ignored

# The Go binding: go vet, go test -race, and a -tags debug run that forces GC around C calls.
test-go: lib pkgconfig fixture
	bash bindings/go/test.sh

# The Java binding, the same JUnit suite twice: FFM on Java 25, JNI on Java 17.
test-java: lib fixture
	bash bindings/java/test.sh

# Install into a scratch prefix and build the demo the way a user would: with pkg-config.
test-pkgconfig: lib
	@tmp=$$(mktemp -d) && $(MAKE) --no-print-directory install PREFIX=$$tmp >/dev/null && \
	PKG_CONFIG_PATH=$$tmp/lib/pkgconfig $(CC) $(CFLAGS_DEMO) examples/c/demo.c -o $$tmp/demo \
	    $$(PKG_CONFIG_PATH=$$tmp/lib/pkgconfig pkg-config --cflags --libs flyteauth) -Wl,-rpath,$$tmp/lib && \
	PKG_CONFIG_PATH=$$tmp/lib/pkgconfig $(CC) $(CFLAGS_DEMO) -static-libgcc examples/c/demo.c -o $$tmp/demo-static \
	    $$(PKG_CONFIG_PATH=$$tmp/lib/pkgconfig pkg-config --cflags flyteauth) $$tmp/lib/libflyteauth.a \
	    $$(PKG_CONFIG_PATH=$$tmp/lib/pkgconfig pkg-config --libs-only-l --static flyteauth | sed 's/-lflyteauth//') && \
	test "$$(PKG_CONFIG_PATH=$$tmp/lib/pkgconfig pkg-config --modversion flyteauth)" = "$(VERSION)" && \
	test "$$($$tmp/bin/flyteauth --version)" = "flyteauth $(VERSION)" && \
	echo "pkg-config: installed library links (shared and static), version $(VERSION); bin/flyteauth installed"; \
	status=$$?; rm -rf $$tmp; exit $$status

# The README's quickstarts, built and run as a user copies them (scripts/readme-quickstarts);
# after test-java in make test, which builds the jar the Java quickstart runs against.
test-readme: lib cli pkgconfig fixture
	bash scripts/readme-quickstarts

demo: lib pkgconfig fixture
	@mkdir -p target/demo
	$(CC) $(CFLAGS_DEMO) examples/c/demo.c -o target/demo/demo-c -L$(RELEASE) -lflyteauth -Wl,-rpath,$(RELEASE)
	@scripts/with-idp sh -c 'target/demo/demo-c && \
	    (cd bindings/go/flyteauth && PKG_CONFIG_PATH=$(RELEASE)/pkgconfig go run -tags flyteauth_system ./examples/demo) && \
	    bash bindings/java/demo.sh'

# Side by side with flytekit and the Go admin client, then the report (benches/README.md).
bench: lib pkgconfig fixture
	bash benches/run.sh

# Fuzzing (issue 6): cargo-fuzz (libFuzzer, AddressSanitizer + LeakSanitizer). A smoke run
# of FUZZ_SECONDS per target. cargo-fuzz needs nightly compiler flags (-Zsanitizer); CI can
# only install from crates.io, not a nightly toolchain, so without one the stable compiler is
# run with RUSTC_BOOTSTRAP=1, which unlocks those flags (stable ships the sanitizer runtimes).
# Longer runs: cargo +nightly fuzz run <target> -- -max_total_time=3600
FUZZ_SECONDS ?= 30
FUZZ_TARGETS := config_json config_yaml discovery c_abi
FUZZ_CARGO = $(shell rustup toolchain list 2>/dev/null | grep -q '^nightly' && echo '$(CARGO) +nightly' || echo 'env RUSTC_BOOTSTRAP=1 $(CARGO)')
fuzz-smoke:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked --quiet; \
	mkdir -p target; \
	for t in $(FUZZ_TARGETS); do \
	    if ! $(FUZZ_CARGO) fuzz run $$t -- -max_total_time=$(FUZZ_SECONDS) > target/fuzz-$$t.log 2>&1; then \
	        tail -n 40 target/fuzz-$$t.log; echo "fuzz-smoke: $$t FAILED (fuzz/artifacts/$$t)"; exit 1; fi; \
	    echo "fuzz-smoke: $$t: $$(grep -E '^Done' target/fuzz-$$t.log)"; \
	done

# The CMake package (scripts/cmake-package, the generator of the release archives) is relocatable:
# it finds the library in <prefix>/lib and the headers in <prefix>/include, three directories
# above itself, so it is written only for that (the default) layout.
HOST_TARGET = $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
install: lib cli
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR)
	install -m 0755 $(RELEASE)/flyteauth $(DESTDIR)$(BINDIR)/flyteauth
	install -m 0644 include/flyteauth.h include/flyteauth.hpp include/flyteauth_grpc.hpp $(DESTDIR)$(INCLUDEDIR)/
	install -m 0755 $(RELEASE)/libflyteauth.so $(DESTDIR)$(LIBDIR)/libflyteauth.so.$(VERSION)
	ln -sf libflyteauth.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libflyteauth.so.$(SOMAJOR)
	ln -sf libflyteauth.so.$(SOMAJOR) $(DESTDIR)$(LIBDIR)/libflyteauth.so
	install -m 0644 $(RELEASE)/libflyteauth.a $(DESTDIR)$(LIBDIR)/libflyteauth.a
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' flyteauth.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/flyteauth.pc
	@if [ "$(LIBDIR)" = "$(PREFIX)/lib" ] && [ "$(INCLUDEDIR)" = "$(PREFIX)/include" ]; then \
	    scripts/cmake-package $(DESTDIR)$(LIBDIR)/cmake/flyteauth $(VERSION) $(or $(HOST_TARGET),unknown) linux yes \
	        libflyteauth.so.$(VERSION) "$(filter-out -lgcc_s -lc,$(STATIC_LIBS))" && \
	    echo "installed the CMake package: $(DESTDIR)$(LIBDIR)/cmake/flyteauth"; \
	else echo "install: no CMake package (it needs LIBDIR=\$$PREFIX/lib and INCLUDEDIR=\$$PREFIX/include)" >&2; fi

clean:
	$(CARGO) clean
	rm -rf tests/c/build tests/cpp/build

# Other platforms: Windows under Wine (test-windows), the macOS compile check (check-macos).
include mk/windows.mk mk/macos.mk
# Java release jars (java-dist, test-java-dist): see bindings/java/README.md.
include mk/java.mk
# Release archives, cross-target tests, the Go module's prebuilt libraries (issue 12).
include mk/dist.mk
# The C++ wrappers and the CMake package (test-cpp).
include mk/cpp.mk
