# Java release jars (issue 12, "Java that just works"): the JNI library of every target in one jar,
# and one Maven classifier jar per platform. bindings/java/README.md says how users depend on them.
#
#   make java-natives      for each of JAVA_TARGETS: the static library (cargo / cargo zigbuild, as
#                          `make dist` builds it), then bindings/java/build-native.sh --target
#                          -> bindings/java/build/native/<os>-<arch>[-musl]/
#   make java-dist         bindings/java/target/dist: flyteauth-<v>.jar with every native found under
#                          build/native, flyteauth-<v>-<platform>.jar with one each, the pom; fails
#                          when a platform of JAVA_EXPECTED is missing
#   make test-java-dist    java-dist, then the jars from a user's side (bindings/java/test-dist.sh:
#                          Java 17 JNI, Java 25 FFM, arm64 Java 17 under qemu; the musl natives
#                          through dlopen under musl's own loader)
#   make java-test-runtimes  Debian's openjdk-17-jre-headless:arm64 and musl (amd64, arm64),
#                          unpacked, not installed, into target/arm64-jvm and target/musl
#
# Cross builds need scripts/install-cross-tools (zig, cargo-zigbuild) on PATH:
#   eval "$(scripts/install-cross-tools --env)"
# and Debian's rustc-web for the targets rustup cannot add here (/usr/bin first on PATH).
# macOS natives (osx-x86_64, osx-aarch64) are linked by the release workflow on a Mac runner with
# the same build-native.sh; on Linux their targets are skipped with a note.

JAVA_CARGO_TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(ROOT)/target)
# Every target whose native goes into the jar when built here.
# x86_64-pc-windows-gnu is not in the default list: build-native.sh links its JNI DLL (the release
# workflow does, and `make java-natives JAVA_TARGETS=x86_64-pc-windows-gnu` here), but no Windows
# JVM runs on this machine to load it, so test-java-dist could not check it.
JAVA_TARGETS  ?= x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu \
                 x86_64-unknown-linux-musl aarch64-unknown-linux-musl
# The platforms CI must put in the jar; java-dist fails without one of them.
JAVA_EXPECTED ?= linux-x86_64 linux-aarch64
JAVA_JOBS     ?= $(or $(CARGO_BUILD_JOBS),2)
JAVA25_HOME   ?= /usr/lib/jvm/temurin-25-jdk-amd64
# Debian's rustc/cargo (rustc-web) for cross targets: its multiarch std (aarch64) and rust-src
# (-Zbuild-std); rustup's proxies in ~/.cargo/bin would shadow it.
JAVA_CROSS_ENV = PATH=/usr/bin:$$PATH RUSTC=/usr/bin/rustc CARGO_BUILD_JOBS=$(JAVA_JOBS) \
                 CARGO_TARGET_DIR=$(JAVA_CARGO_TARGET_DIR)

.PHONY: java-natives java-dist test-java-dist java-test-runtimes

java-natives: $(addprefix java-native-,$(JAVA_TARGETS))

# The static library of one target, then its JNI library.
#   glibc: zig links against GLIBC 2.17 (the .2.17 suffix); the JNI library is linked by zig the same way.
#   musl:  Debian has no musl std, so std is built from source (-Zbuild-std, RUSTC_BOOTSTRAP); the
#          same static library as the static musl archive of `make dist` (crt-static changes only
#          how a final executable is linked); build-native.sh links a shared library from it that
#          needs only musl's libc.
#   Windows: mingw-w64, std built from source likewise.
java-native-%:
	@case "$*" in \
	  *-apple-darwin) \
	    if [ "$$(uname -s)" != Darwin ]; then \
	      echo "java-natives: skipping $* (needs Apple's SDK: built by the release workflow on a Mac)"; exit 0; fi; \
	    MACOSX_DEPLOYMENT_TARGET=$${MACOSX_DEPLOYMENT_TARGET:-11.0} cargo build --release --locked --lib --target $* ;; \
	  *-linux-gnu) \
	    $(JAVA_CROSS_ENV) cargo zigbuild --release --locked --lib --target $*.2.17 ;; \
	  *-linux-musl) \
	    $(JAVA_CROSS_ENV) RUSTC_BOOTSTRAP=1 cargo zigbuild --release --locked --lib --target $* \
	        -Zbuild-std=std,panic_unwind ;; \
	  x86_64-pc-windows-gnu) \
	    $(JAVA_CROSS_ENV) RUSTC_BOOTSTRAP=1 CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc \
	        CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar \
	        cargo build --release --locked --lib --target $* -Zbuild-std=std,panic_unwind ;; \
	  *) echo "java-natives: unknown target $*" >&2; exit 1 ;; \
	esac && \
	JAVA_HOME=$(JAVA25_HOME) bindings/java/build-native.sh --target $* \
	    --static-lib $(JAVA_CARGO_TARGET_DIR)/$*/release/libflyteauth.a

java-dist:
	JAVA25_HOME=$(JAVA25_HOME) bindings/java/dist.sh --expect "$(JAVA_EXPECTED)"

test-java-dist: java-dist fixture java-test-runtimes
	bindings/java/test-dist.sh

# What test-dist.sh runs the foreign natives on, downloaded with apt-get and unpacked, not
# installed (installing an arm64 JVM would upgrade dozens of amd64 packages to matching versions).
java-test-runtimes: target/arm64-jvm/root/usr/lib/jvm/java-17-openjdk-arm64/bin/java \
                    target/musl/root-amd64/lib/ld-musl-x86_64.so.1

target/arm64-jvm/root/usr/lib/jvm/java-17-openjdk-arm64/bin/java:
	mkdir -p target/arm64-jvm && cd target/arm64-jvm && rm -f *.deb && \
	    apt-get download openjdk-17-jre-headless:arm64 && dpkg -x openjdk-17-jre-headless_*_arm64.deb root
	touch $@

target/musl/root-amd64/lib/ld-musl-x86_64.so.1:
	mkdir -p target/musl && cd target/musl && rm -f *.deb && apt-get download musl musl:arm64 && \
	    dpkg -x musl_*_amd64.deb root-amd64 && dpkg -x musl_*_arm64.deb root-arm64
	touch $@
