# The C++ wrappers (issue 13): include/flyteauth.hpp, include/flyteauth_grpc.hpp and the
# installed CMake package, tested by tests/cpp/run.sh against the IdP fixture and a real gRPC
# C++ server. Needs g++, cmake, pkg-config and Debian's libgrpc++-dev + protobuf-compiler-grpc
# (installed by .ci/run). About 1-3 minutes, most of it compiling gRPC code.
#
#   make test-cpp              everything; the wrapper test also under valgrind (~5 s)
#   make test-cpp VALGRIND=0   without valgrind

.PHONY: test-cpp

test-cpp: lib fixture
	VALGRIND=$(or $(VALGRIND),1) bash tests/cpp/run.sh
