# macOS (aarch64-apple-darwin, x86_64-apple-darwin): a compile check of the library and the
# CLI here (`cargo-zigbuild check` with Debian's cargo first on PATH; zig compiles ring's C;
# -Zbuild-std with Debian's rustc-web). The artifacts are built on a Mac (Apple's SDK is
# needed to link). See docs/PLATFORMS.md.
#
#   make check-macos     both targets

.PHONY: check-macos check-macos-aarch64 check-macos-x86_64

# zig and cargo-zigbuild, as scripts/install-cross-tools installs them.
CROSS_BIN   ?= $(ROOT)/target/cross/bin

check-macos: check-macos-aarch64 check-macos-x86_64

check-macos-aarch64 check-macos-x86_64: check-macos-%:
	PATH="$(CROSS_BIN):/usr/bin:$$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 cargo-zigbuild check --lib --bins \
	    --target $*-apple-darwin -Zbuild-std=std,panic_unwind
