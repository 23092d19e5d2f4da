package org.flyte.auth.grpc;

import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import org.flyte.auth.Authenticator;
import org.flyte.auth.FlyteAuthException;

/**
 * grpc-java {@link CallCredentials} that attach the {@link Authenticator}'s header metadata
 * (e.g. {@code flyte-authorization: Bearer ...}) to every call.
 *
 * <pre>{@code
 * FlyteCallCredentials creds = new FlyteCallCredentials(auth);
 * AdminServiceGrpc.AdminServiceBlockingStub stub =
 *     AdminServiceGrpc.newBlockingStub(channel).withCallCredentials(creds);
 * }</pre>
 *
 * <p>With a valid token the headers are applied at once, on the calling thread; otherwise the
 * token is obtained on the executor grpc-java provides for that purpose, never on a transport
 * thread. A failure fails the call with {@code UNAUTHENTICATED} (the credentials were refused
 * or are misconfigured), {@code UNAVAILABLE} (the identity provider could not be reached; a
 * retry may help) or {@code CANCELLED}/{@code INTERNAL}; the description is the library's
 * message, which never contains a secret.
 *
 * <p>These credentials do not refuse insecure (plaintext) channels: Flyte's {@code insecure:
 * true} setups use them. To refresh and retry when the server answers {@code UNAUTHENTICATED},
 * use {@link FlyteAuthInterceptor}, which attaches these credentials itself.
 */
public final class FlyteCallCredentials extends CallCredentials {
  /**
   * Where the interceptor wants to learn the auth header value that was sent on a call, so it
   * can invalidate exactly that value if the server rejects it.
   */
  static final CallOptions.Key<AtomicReference<String>> SENT_VALUE =
      CallOptions.Key.create("flyteauth-sent-auth-value");

  private static final String PROXY_AUTHORIZATION = "proxy-authorization";

  private final Authenticator authenticator;

  /**
   * Credentials backed by {@code authenticator}; closing the authenticator makes later calls
   * fail.
   *
   * @param authenticator the authenticator (not closed by these credentials)
   */
  public FlyteCallCredentials(Authenticator authenticator) {
    if (authenticator == null) {
      throw new NullPointerException("authenticator");
    }
    this.authenticator = authenticator;
  }

  /**
   * The authenticator behind these credentials.
   *
   * @return the authenticator
   */
  public Authenticator authenticator() {
    return authenticator;
  }

  /**
   * Applies the headers: at once when the token is valid, else on {@code appExecutor}.
   *
   * @param requestInfo the call being authorized
   * @param appExecutor grpc-java's executor for work that may block
   * @param applier receives the headers or the failure
   */
  @Override
  public void applyRequestMetadata(
      RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
    AtomicReference<String> sent = sentValueHolder(requestInfo);
    Map<String, String> headers;
    try {
      headers = authenticator.tryMetadata();
    } catch (RuntimeException e) {
      applier.fail(statusFor(e));
      return;
    }
    if (headers != null) {
      apply(headers, sent, applier);
      return;
    }
    appExecutor.execute(
        () -> {
          Map<String, String> fetched;
          try {
            fetched = authenticator.metadata();
          } catch (RuntimeException e) {
            applier.fail(statusFor(e));
            return;
          }
          apply(fetched, sent, applier);
        });
  }

  private static AtomicReference<String> sentValueHolder(RequestInfo info) {
    try {
      CallOptions options = info.getCallOptions();
      return options == null ? null : options.getOption(SENT_VALUE);
    } catch (UnsupportedOperationException e) {
      return null; // a RequestInfo from a test double or an old transport
    }
  }

  private static void apply(
      Map<String, String> headers, AtomicReference<String> sent, MetadataApplier applier) {
    Metadata md = new Metadata();
    String authValue = null;
    for (Map.Entry<String, String> h : headers.entrySet()) {
      md.put(Metadata.Key.of(h.getKey(), Metadata.ASCII_STRING_MARSHALLER), h.getValue());
      if (authValue == null && !PROXY_AUTHORIZATION.equals(h.getKey())) {
        authValue = h.getValue();
      }
    }
    if (sent != null) {
      sent.set(authValue);
    }
    applier.apply(md);
  }

  /** The status a call fails with when no credentials could be obtained. */
  static Status statusFor(Throwable e) {
    if (e instanceof FlyteAuthException) {
      FlyteAuthException f = (FlyteAuthException) e;
      Status base;
      switch (f.code()) {
        case NETWORK:
        case TIMEOUT:
        case DISCOVERY:
          base = Status.UNAVAILABLE;
          break;
        case CANCELLED:
          base = Status.CANCELLED;
          break;
        case INTERNAL:
          base = Status.INTERNAL;
          break;
        default:
          base = Status.UNAUTHENTICATED;
      }
      return base.withDescription("flyteauth: " + f.getMessage()).withCause(f);
    }
    if (e instanceof IllegalStateException) {
      return Status.INTERNAL.withDescription("flyteauth: " + e.getMessage()).withCause(e);
    }
    return Status.UNAUTHENTICATED
        .withDescription("flyteauth: could not get credentials: " + e)
        .withCause(e);
  }
}
