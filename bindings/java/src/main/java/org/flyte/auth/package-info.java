/**
 * Flyte client authentication for the JVM, over the flyteauth native library.
 *
 * <p>{@link org.flyte.auth.Authenticator} turns Flyte configuration (a JSON object with the
 * {@code admin:} keys of {@code config.yaml}, or the file itself) into the header metadata for
 * each call to flyteadmin, and refreshes credentials when the server rejects them. Failures are
 * {@link org.flyte.auth.FlyteAuthException}s, one subclass per {@link org.flyte.auth.ErrorCode}.
 *
 * <p>Adapters: {@link org.flyte.auth.grpc} for grpc-java (an optional dependency) and {@link
 * org.flyte.auth.http} for {@code java.net.http} (Java 11+). Everything else runs on Java 8+.
 */
package org.flyte.auth;
