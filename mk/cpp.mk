# The C++ wrappers (issue 13): include/flyteauth.hpp, include/flyteauth_grpc.hpp and the
# installed CMake package, tested by tests/cpp/run.sh against the IdP fixture and a real gRPC
# C++ server. Needs g++, cmake, pkg-config and Debian's libgrpc++-dev + protobuf-compiler-grpc
# (installed by .ci/run). About 1-3 minutes, most of it compiling gRPC code.
#
#   make test-cpp              everything, natively
#   make test-cpp VALGRIND=1   also the wrapper test under valgrind

.PHONY: test-cpp

test-cpp: lib fixture
	VALGRIND=$(VALGRIND) bash tests/cpp/run.sh
