# Windows (x86_64-pc-windows-gnu), built with mingw-w64 and run under Wine 8: see
# docs/PLATFORMS.md and scripts/windows. Needs the cross tools of scripts/install-cross-tools.
#
#   make build-windows   flyteauth.dll, libflyteauth.dll.a, libflyteauth.a, flyteauth.exe
#   make test-windows    build-windows, the Rust unit tests under Wine, then the C demo and
#                        `flyteauth token` under Wine against the IdP fixture (plain http)

.PHONY: build-windows test-windows test-windows-unit test-windows-demo

WINDOWS := $(ROOT)/scripts/windows

build-windows:
	$(WINDOWS) build

test-windows-unit:
	$(WINDOWS) unit

test-windows-demo: build-windows fixture
	$(WINDOWS) demo

test-windows: build-windows test-windows-unit test-windows-demo
