package org.flyte.auth.http;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import org.flyte.auth.Authenticator;

/**
 * Sends {@link java.net.http.HttpClient} requests with the {@link Authenticator}'s headers and,
 * when the server answers 401, invalidates the rejected value ({@link
 * Authenticator#invalidate(String)}) and sends the request once more with new credentials.
 *
 * <pre>{@code
 * FlyteHttpClient http = new FlyteHttpClient(HttpClient.newHttpClient(), auth);
 * HttpResponse<String> r = http.send(
 *     HttpRequest.newBuilder(URI.create("https://flyte.example.com/api/v1/projects")).build(),
 *     HttpResponse.BodyHandlers.ofString());
 * }</pre>
 *
 * <p>A retried request is sent again with the same {@link HttpRequest.BodyPublisher}, so it must
 * be reusable (those of {@link HttpRequest.BodyPublishers} for strings, byte arrays and files
 * are). The body of the rejected 401 response is discarded. Needs Java 11 ({@code
 * java.net.http}); the rest of flyteauth runs on Java 8.
 */
public final class FlyteHttpClient {
  private static final String PROXY_AUTHORIZATION = "proxy-authorization";

  private final HttpClient client;
  private final Authenticator authenticator;
  private final Executor executor;

  /**
   * A client that fetches credentials for {@link #sendAsync} on the common fork-join pool.
   *
   * @param client the HTTP client to send with
   * @param authenticator the authenticator (not closed by this client)
   */
  public FlyteHttpClient(HttpClient client, Authenticator authenticator) {
    this(client, authenticator, ForkJoinPool.commonPool());
  }

  /**
   * A client that fetches credentials for {@link #sendAsync} on {@code blockingExecutor}.
   *
   * @param client the HTTP client to send with
   * @param authenticator the authenticator (not closed by this client)
   * @param blockingExecutor where to wait for credentials when they must be obtained first
   */
  public FlyteHttpClient(HttpClient client, Authenticator authenticator, Executor blockingExecutor) {
    if (client == null || authenticator == null || blockingExecutor == null) {
      throw new NullPointerException("client, authenticator and blockingExecutor are required");
    }
    this.client = client;
    this.authenticator = authenticator;
    this.executor = blockingExecutor;
  }

  /**
   * The underlying HTTP client.
   *
   * @return the client
   */
  public HttpClient client() {
    return client;
  }

  /**
   * Sends {@code request} with the credentials' headers; on 401 invalidates them and sends it
   * once more. The wait for credentials is bounded by the request's {@code timeout()}, if it has
   * one ({@link org.flyte.auth.TimeoutException} when it passes).
   *
   * @param <T> the response body type
   * @param request the request (its own headers are kept, except those the credentials set)
   * @param handler the response body handler
   * @return the response (the second one after a 401)
   * @throws IOException if sending fails
   * @throws InterruptedException if interrupted while waiting for the response
   * @throws org.flyte.auth.FlyteAuthException if no credentials can be obtained
   */
  public <T> HttpResponse<T> send(HttpRequest request, HttpResponse.BodyHandler<T> handler)
      throws IOException, InterruptedException {
    Duration limit = request.timeout().orElse(null);
    Map<String, String> headers = authenticator.metadata(limit);
    HttpResponse<T> response = client.send(authorize(request, headers), handler);
    if (response.statusCode() != 401) {
      return response;
    }
    discard(response);
    authenticator.invalidate(authValue(headers), limit);
    return client.send(authorize(request, authenticator.metadata(limit)), handler);
  }

  /**
   * Sends {@code request} asynchronously, as {@link #send} does.
   *
   * @param <T> the response body type
   * @param request the request
   * @param handler the response body handler
   * @return the response, or a failure with the {@link org.flyte.auth.FlyteAuthException} or
   *     {@link IOException}
   */
  public <T> CompletableFuture<HttpResponse<T>> sendAsync(
      HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    Duration limit = request.timeout().orElse(null);
    return credentials(limit)
        .thenCompose(
            headers ->
                client
                    .sendAsync(authorize(request, headers), handler)
                    .thenCompose(
                        response -> {
                          if (response.statusCode() != 401) {
                            return CompletableFuture.completedFuture(response);
                          }
                          discard(response);
                          return CompletableFuture.supplyAsync(
                                  () -> {
                                    authenticator.invalidate(authValue(headers), limit);
                                    return authenticator.metadata(limit);
                                  },
                                  executor)
                              .thenCompose(fresh -> client.sendAsync(authorize(request, fresh), handler));
                        }));
  }

  /** The headers: at once on a valid token, else on the executor, waiting at most {@code limit}. */
  private CompletableFuture<Map<String, String>> credentials(Duration limit) {
    try {
      Map<String, String> now = authenticator.tryMetadata();
      if (now != null) {
        return CompletableFuture.completedFuture(now);
      }
    } catch (RuntimeException e) {
      CompletableFuture<Map<String, String>> failed = new CompletableFuture<>();
      failed.completeExceptionally(e);
      return failed;
    }
    return CompletableFuture.supplyAsync(() -> authenticator.metadata(limit), executor);
  }

  /**
   * A copy of {@code request} with {@code headers} set (replacing headers of the same name).
   *
   * @param request the request
   * @param headers the headers to set, e.g. from {@link Authenticator#metadata()}
   * @return the new request
   */
  public static HttpRequest authorize(HttpRequest request, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(request.uri());
    b.method(request.method(), request.bodyPublisher().orElse(HttpRequest.BodyPublishers.noBody()));
    for (Map.Entry<String, List<String>> h : request.headers().map().entrySet()) {
      if (headers.containsKey(h.getKey().toLowerCase(Locale.ROOT))) {
        continue;
      }
      for (String v : h.getValue()) {
        b.header(h.getKey(), v);
      }
    }
    request.timeout().ifPresent(b::timeout);
    request.version().ifPresent(b::version);
    b.expectContinue(request.expectContinue());
    headers.forEach(b::setHeader);
    return b.build();
  }

  private static String authValue(Map<String, String> headers) {
    for (Map.Entry<String, String> h : headers.entrySet()) {
      if (!PROXY_AUTHORIZATION.equals(h.getKey())) {
        return h.getValue();
      }
    }
    throw new IllegalStateException("flyteauth returned no auth header");
  }

  private static void discard(HttpResponse<?> response) {
    Object body = response.body();
    if (body instanceof AutoCloseable) {
      try {
        ((AutoCloseable) body).close();
      } catch (Exception ignored) {
        // the rejected response's body is of no interest
      }
    }
  }
}
