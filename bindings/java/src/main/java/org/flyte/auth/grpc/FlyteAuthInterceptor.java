package org.flyte.auth.grpc;

import io.grpc.Attributes;
import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Deadline;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.flyte.auth.Authenticator;

/**
 * A grpc-java {@link ClientInterceptor} that authenticates every call with {@link
 * FlyteCallCredentials} and, when the server answers {@code UNAUTHENTICATED}, tells the {@link
 * Authenticator} which header value was rejected ({@link Authenticator#invalidate(String)}: one
 * refresh per rejected token, however many calls saw it) and retries the call once with the new
 * credentials.
 *
 * <pre>{@code
 * Channel channel = ClientInterceptors.intercept(
 *     ManagedChannelBuilder.forTarget("flyte.example.com:443").build(),
 *     new FlyteAuthInterceptor(auth));
 * }</pre>
 *
 * <p>Only unary calls are retried (their one request message is kept for the second attempt,
 * and nothing reaches the application's listener from the rejected attempt). Streaming calls
 * are not retried, but the rejected value is still invalidated before the application sees
 * {@code UNAUTHENTICATED}, so its own retry gets new credentials. Blocking work (the refresh)
 * runs on the executor given to the constructor, never on a transport thread, and is bounded by
 * the call's deadline.
 *
 * <p>The interceptor attaches its credentials to calls that have none (or {@link
 * FlyteCallCredentials}); calls that carry other {@link CallCredentials} are only passed through.
 */
public final class FlyteAuthInterceptor implements ClientInterceptor {
  private static final AtomicInteger THREADS = new AtomicInteger();
  private static volatile ExecutorService defaultExecutor;

  private final Authenticator authenticator;
  private final FlyteCallCredentials credentials;
  private final Executor executor;

  /**
   * An interceptor whose refreshes run on a shared pool of daemon threads ({@code
   * flyteauth-grpc-N}).
   *
   * @param authenticator the authenticator (not closed by the interceptor)
   */
  public FlyteAuthInterceptor(Authenticator authenticator) {
    this(authenticator, null);
  }

  /**
   * An interceptor whose refreshes run on {@code blockingExecutor}.
   *
   * @param authenticator the authenticator (not closed by the interceptor)
   * @param blockingExecutor where to run {@link Authenticator#invalidate(String)}, which may
   *     block on the network; null for the shared default pool
   */
  public FlyteAuthInterceptor(Authenticator authenticator, Executor blockingExecutor) {
    this.credentials = new FlyteCallCredentials(authenticator);
    this.authenticator = authenticator;
    this.executor = blockingExecutor != null ? blockingExecutor : sharedExecutor();
  }

  /**
   * The credentials this interceptor attaches.
   *
   * @return the credentials
   */
  public FlyteCallCredentials credentials() {
    return credentials;
  }

  /**
   * Wraps the call: authenticate, and on {@code UNAUTHENTICATED} invalidate and (unary) retry.
   *
   * @param method the method called
   * @param callOptions the call's options
   * @param next the channel to call
   * @return the wrapped call
   */
  @Override
  public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(
      MethodDescriptor<ReqT, RespT> method, CallOptions callOptions, Channel next) {
    CallCredentials existing = callOptions.getCredentials();
    if (existing != null && !(existing instanceof FlyteCallCredentials)) {
      return next.newCall(method, callOptions);
    }
    return new AuthCall<>(
        method, callOptions, next, method.getType() == MethodDescriptor.MethodType.UNARY);
  }

  private static Executor sharedExecutor() {
    ExecutorService e = defaultExecutor;
    if (e == null) {
      synchronized (FlyteAuthInterceptor.class) {
        e = defaultExecutor;
        if (e == null) {
          e =
              Executors.newCachedThreadPool(
                  r -> {
                    Thread t = new Thread(r, "flyteauth-grpc-" + THREADS.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                  });
          defaultExecutor = e;
        }
      }
    }
    return e;
  }

  private static Metadata copy(Metadata headers) {
    Metadata m = new Metadata();
    m.merge(headers);
    return m;
  }

  /**
   * One application call, made of one or two attempts on {@code next}. The application's calls
   * and the switch to the second attempt are serialized by {@code lock}.
   */
  private final class AuthCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {
    private final MethodDescriptor<ReqT, RespT> method;
    private final CallOptions options;
    private final Channel next;
    private final boolean retry;
    private final Object lock = new Object();

    /** Set once by start, before any attempt exists. */
    private volatile Listener<RespT> appListener;

    // Guarded by lock.
    private Metadata appHeaders;
    private ClientCall<ReqT, RespT> current;
    private ReqT message;
    private int requested;
    private boolean halfClosed;
    private Boolean compression;
    private boolean cancelled;
    private String cancelMessage;
    private Throwable cancelCause;

    AuthCall(MethodDescriptor<ReqT, RespT> method, CallOptions options, Channel next, boolean retry) {
      this.method = method;
      this.options = options;
      this.next = next;
      this.retry = retry;
    }

    @Override
    public void start(Listener<RespT> listener, Metadata headers) {
      synchronized (lock) {
        appListener = listener;
        appHeaders = copy(headers);
        startAttempt(1);
      }
    }

    /** Start attempt {@code n} and replay what the application did so far. Holds lock. */
    private void startAttempt(int n) {
      AtomicReference<String> sent = new AtomicReference<>();
      ClientCall<ReqT, RespT> call =
          next.newCall(
              method,
              options
                  .withCallCredentials(credentials)
                  .withOption(FlyteCallCredentials.SENT_VALUE, sent));
      current = call;
      call.start(new AttemptListener(n, sent, retry && n == 1), copy(appHeaders));
      if (compression != null) {
        call.setMessageCompression(compression);
      }
      if (requested > 0) {
        call.request(requested);
      }
      if (message != null) {
        call.sendMessage(message);
      }
      if (halfClosed) {
        call.halfClose();
      }
      if (cancelled) {
        call.cancel(cancelMessage, cancelCause);
      }
    }

    @Override
    public void request(int numMessages) {
      synchronized (lock) {
        requested += numMessages;
        current.request(numMessages);
      }
    }

    @Override
    public void cancel(String msg, Throwable cause) {
      synchronized (lock) {
        cancelled = true;
        cancelMessage = msg;
        cancelCause = cause;
        if (current != null) {
          current.cancel(msg, cause);
        }
      }
    }

    @Override
    public void halfClose() {
      synchronized (lock) {
        halfClosed = true;
        current.halfClose();
      }
    }

    @Override
    public void sendMessage(ReqT msg) {
      synchronized (lock) {
        if (retry) {
          message = msg;
        }
        current.sendMessage(msg);
      }
    }

    @Override
    public boolean isReady() {
      synchronized (lock) {
        return current.isReady();
      }
    }

    @Override
    public void setMessageCompression(boolean enabled) {
      synchronized (lock) {
        compression = enabled;
        current.setMessageCompression(enabled);
      }
    }

    @Override
    public Attributes getAttributes() {
      synchronized (lock) {
        return current.getAttributes();
      }
    }

    private Listener<RespT> listener() {
      return appListener;
    }

    /** Listens to one attempt; the first attempt of a unary call holds its events back. */
    private final class AttemptListener extends Listener<RespT> {
      private final int attempt;
      private final AtomicReference<String> sent;
      private final boolean holdBack;
      private Metadata heldHeaders;
      private final List<RespT> heldMessages = new ArrayList<>(1);

      AttemptListener(int attempt, AtomicReference<String> sent, boolean holdBack) {
        this.attempt = attempt;
        this.sent = sent;
        this.holdBack = holdBack;
      }

      @Override
      public void onHeaders(Metadata headers) {
        if (holdBack) {
          heldHeaders = headers;
        } else {
          listener().onHeaders(headers);
        }
      }

      @Override
      public void onMessage(RespT msg) {
        if (holdBack) {
          heldMessages.add(msg);
        } else {
          listener().onMessage(msg);
        }
      }

      @Override
      public void onReady() {
        listener().onReady();
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        final String rejected = sent.get();
        if (status.getCode() != Status.Code.UNAUTHENTICATED || rejected == null || attempt > 1) {
          deliver(status, trailers);
          return;
        }
        executor.execute(
            () -> {
              try {
                // The refresh is bounded by what is left of the call's deadline.
                Deadline deadline = options.getDeadline();
                Duration timeout = null;
                if (deadline != null) {
                  long left = deadline.timeRemaining(TimeUnit.NANOSECONDS);
                  if (left <= 0) {
                    deliver(status, trailers);
                    return;
                  }
                  timeout = Duration.ofNanos(left);
                }
                authenticator.invalidate(rejected, timeout);
              } catch (RuntimeException e) {
                deliver(
                    status.augmentDescription(
                        "flyteauth: refreshing the rejected credentials failed: " + e.getMessage()),
                    trailers);
                return;
              }
              if (!holdBack) {
                deliver(status, trailers); // streaming: no retry, but the next call is fresh
                return;
              }
              Status cancelledStatus;
              synchronized (lock) {
                if (!cancelled) {
                  startAttempt(2);
                  return;
                }
                cancelledStatus = Status.CANCELLED.withDescription(cancelMessage).withCause(cancelCause);
              }
              deliver(cancelledStatus, new Metadata());
            });
      }

      private void deliver(Status status, Metadata trailers) {
        Listener<RespT> app = listener();
        if (heldHeaders != null) {
          app.onHeaders(heldHeaders);
        }
        for (RespT m : heldMessages) {
          app.onMessage(m);
        }
        app.onClose(status, trailers);
      }
    }
  }
}
