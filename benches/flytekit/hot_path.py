"""flytekit hot path: the auth header for one call with a valid token already held.

1. `Authenticator.fetch_grpc_call_auth_metadata()` on a ClientCredentialsAuthenticator built by
   flytekit's `get_authenticator` (see _common.py), after one `refresh_credentials()`. flytekit
   does no expiry check here: it returns `(header_key, "Bearer " + token)` whenever creds are set
   (flytekit/clients/auth/authenticator.py, Authenticator.fetch_grpc_call_auth_metadata).
2. What a unary gRPC call pays for auth in `AuthUnaryInterceptor.intercept_unary_unary`
   (flytekit/clients/grpc_utils/auth_interceptor.py): the `authenticator` property, the fetch
   above, a copy of the caller's metadata plus the header, a new `_ClientCallDetails`, and
   `fut.exception()` on the result. It is driven directly with a continuation that returns an
   already-completed future, so no gRPC server is needed; the cost of calling that stub
   continuation is measured alone and subtracted. The extra layer grpc.intercept_channel adds
   per interceptor is not included (that needs a real channel).

Timing: time.perf_counter_ns around batches of calls (the loop body is unrolled 10x so loop
overhead is small); the result is the median over batches in ns per call.
Usage: python hot_path.py [--batches N] (under scripts/with-idp).
"""

import argparse
import statistics
import sys
import time

from _common import build_authenticator, emit
from flytekit.clients.grpc_utils.auth_interceptor import AuthUnaryInterceptor, _ClientCallDetails


def median_ns_per_call(body, calls_per_batch, batches, warmup=3):
    """body() makes calls_per_batch calls; returns the median ns/call over `batches` batches."""
    for _ in range(warmup):
        body()
    per_call = []
    for _ in range(batches):
        t0 = time.perf_counter_ns()
        body()
        per_call.append((time.perf_counter_ns() - t0) / calls_per_batch)
    return statistics.median(per_call), min(per_call)


def bench_fetch(auth, batches):
    fetch = auth.fetch_grpc_call_auth_metadata
    outer = 5000

    def body():
        for _ in range(outer):
            fetch(); fetch(); fetch(); fetch(); fetch()  # noqa: E702
            fetch(); fetch(); fetch(); fetch(); fetch()  # noqa: E702

    return median_ns_per_call(body, outer * 10, batches)


class _DoneFuture:
    """Stands in for the completed call grpc hands back: no exception, so no refresh/retry."""

    __slots__ = ()

    def exception(self):
        return None


def bench_interceptor(auth, batches):
    interceptor = AuthUnaryInterceptor(lambda: auth)
    done = _DoneFuture()
    # What flytekit's raw client passes: metadata=None (flytekit/clients/raw.py, self._metadata).
    details = _ClientCallDetails("/flyteidl.service.AdminService/ListProjects", None, None, None)
    sent = []

    def continuation(call_details, request):
        return done

    # The interceptor must hand the header on; check once, outside the timing.
    def recording(call_details, request):
        sent.append(call_details.metadata)
        return done

    interceptor.intercept_unary_unary(recording, details, None)
    assert sent and sent[0] and sent[0][-1][0] == auth._header_key, "no auth metadata added"

    intercept = interceptor.intercept_unary_unary
    outer = 2000

    def body():
        for _ in range(outer):
            intercept(continuation, details, None); intercept(continuation, details, None)  # noqa: E702
            intercept(continuation, details, None); intercept(continuation, details, None)  # noqa: E702
            intercept(continuation, details, None); intercept(continuation, details, None)  # noqa: E702
            intercept(continuation, details, None); intercept(continuation, details, None)  # noqa: E702
            intercept(continuation, details, None); intercept(continuation, details, None)  # noqa: E702

    def stub_only():
        for _ in range(outer):
            continuation(details, None); continuation(details, None)  # noqa: E702
            continuation(details, None); continuation(details, None)  # noqa: E702
            continuation(details, None); continuation(details, None)  # noqa: E702
            continuation(details, None); continuation(details, None)  # noqa: E702
            continuation(details, None); continuation(details, None)  # noqa: E702

    gross, _ = median_ns_per_call(body, outer * 10, batches)
    stub, _ = median_ns_per_call(stub_only, outer * 10, batches)
    return gross - stub, gross, stub


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=60)
    args = ap.parse_args()

    _, auth = build_authenticator()
    auth.refresh_credentials()  # one client_credentials grant at the fixture
    if not auth.fetch_grpc_call_auth_metadata():
        sys.exit("no credentials after refresh_credentials()")

    fetch_med, fetch_min = bench_fetch(auth, args.batches)
    label = (
        "flytekit 1.16.31 ClientCredentialsAuthenticator.fetch_grpc_call_auth_metadata(), "
        "valid token (flytekit does no expiry check on this path)"
    )
    emit({"kind": "hot_path", "impl": "flytekit", "lang": "Python", "label": label,
          "ns_per_op": round(fetch_med, 1)})
    print(f"{label}: {fetch_med:.1f} ns/op (median of {args.batches} batches; min {fetch_min:.1f})")

    net, gross, stub = bench_interceptor(auth, args.batches)
    label = (
        "flytekit 1.16.31 AuthUnaryInterceptor.intercept_unary_unary, auth cost per unary call "
        "(fetch + metadata copy + new call details + fut.exception(); no expiry check), "
        "stub continuation subtracted"
    )
    emit({"kind": "hot_path", "impl": "flytekit", "lang": "Python", "label": label,
          "ns_per_op": round(net, 1)})
    print(f"{label}: {net:.1f} ns/op ({gross:.1f} with the stub continuation, stub alone {stub:.1f})")


if __name__ == "__main__":
    main()
