/**
 * grpc-java adapters: {@link org.flyte.auth.grpc.FlyteCallCredentials} attaches the header
 * metadata to calls; {@link org.flyte.auth.grpc.FlyteAuthInterceptor} also invalidates a rejected
 * token and retries a unary call once on {@code UNAUTHENTICATED}.
 *
 * <p>grpc-java ({@code io.grpc:grpc-api}) is an optional dependency of flyteauth: only code that
 * uses this package needs it on the class path.
 */
package org.flyte.auth.grpc;
