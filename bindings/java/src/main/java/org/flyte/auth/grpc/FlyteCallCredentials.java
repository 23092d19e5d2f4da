package org.flyte.auth.grpc;

import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.Status;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.flyte.auth.Authenticator;
import org.flyte.auth.CancellationToken;
import org.flyte.auth.ErrorCode;
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
 * thread.
 *
 * <p><b>Deadlines.</b> The wait for a token is bounded by the call's deadline ({@code
 * CallOptions.getDeadline()}, e.g. {@code stub.withDeadlineAfter(...)}): what is left of it is
 * the timeout of {@link Authenticator#metadata(Duration, CancellationToken)}, so a call whose
 * identity provider hangs fails with {@code DEADLINE_EXCEEDED} on time and frees the executor
 * thread. Cancelling the call's {@link Context} (e.g. a cancelled server call the client call was
 * made from) cancels the wait ({@code CANCELLED}).
 *
 * <p>A failure fails the call with {@code UNAUTHENTICATED} (the credentials were refused or are
 * misconfigured), {@code UNAVAILABLE} (the identity provider could not be reached, or did not
 * answer in time without a call deadline; a retry may help), {@code DEADLINE_EXCEEDED}, or
 * {@code CANCELLED}/{@code INTERNAL}; the description is the library's message, which never
 * contains a secret.
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
   * Applies the headers: at once when the token is valid, else on {@code appExecutor}, waiting at
   * most until the call's deadline.
   *
   * @param requestInfo the call being authorized
   * @param appExecutor grpc-java's executor for work that may block
   * @param applier receives the headers or the failure
   */
  @Override
  public void applyRequestMetadata(
      RequestInfo requestInfo, Executor appExecutor, MetadataApplier applier) {
    CallOptions options = callOptions(requestInfo);
    AtomicReference<String> sent = options == null ? null : options.getOption(SENT_VALUE);
    final Deadline deadline = options == null ? null : options.getDeadline();
    final Context context = Context.current();
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
          Duration timeout = null;
          if (deadline != null) {
            long left = deadline.timeRemaining(TimeUnit.NANOSECONDS);
            if (left <= 0) {
              applier.fail(
                  Status.DEADLINE_EXCEEDED.withDescription(
                      "flyteauth: the call's deadline passed before credentials were obtained"));
              return;
            }
            timeout = Duration.ofNanos(left);
          }
          // A no-op for a context that cannot be cancelled (e.g. the root context).
          final CancellationToken cancel = new CancellationToken();
          Context.CancellationListener onCancel = c -> cancel.cancel();
          context.addListener(onCancel, Runnable::run);
          Map<String, String> fetched;
          try {
            fetched = authenticator.metadata(timeout, cancel);
          } catch (RuntimeException e) {
            applier.fail(statusFor(e, deadline != null));
            return;
          } finally {
            context.removeListener(onCancel);
          }
          apply(fetched, sent, applier);
        });
  }

  private static CallOptions callOptions(RequestInfo info) {
    try {
      return info.getCallOptions();
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
    return statusFor(e, false);
  }

  /** {@code byDeadline}: the wait was bounded by the call's deadline, so a timeout is its expiry. */
  static Status statusFor(Throwable e, boolean byDeadline) {
    if (e instanceof FlyteAuthException) {
      FlyteAuthException f = (FlyteAuthException) e;
      Status base;
      if (byDeadline && f.code() == ErrorCode.TIMEOUT) {
        return Status.DEADLINE_EXCEEDED.withDescription("flyteauth: " + f.getMessage()).withCause(f);
      }
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
