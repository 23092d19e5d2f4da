package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.flyte.auth.http.FlyteHttpClient;
import org.flyte.auth.testing.HangingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;

/**
 * Timeouts and cancellation of the blocking calls against an identity provider that accepts
 * connections and never answers (the acceptance: a 200 ms timeout returns in under a
 * second). Every wait is also guarded by a 30-second hang detector, so a regression fails instead
 * of stalling the suite.
 */
class DeadlineTest {
  private static final String ECHO =
      "{\"authType\":\"ExternalCommand\",\"command\":[\"echo\",\"tok\"],"
          + "\"authorizationHeader\":\"authorization\"}";
  private static final Duration TIMEOUT = Duration.ofMillis(200);
  /** The bound for a 200 ms timeout. */
  private static final long BOUND_NANOS = TimeUnit.SECONDS.toNanos(1);

  private static final ExecutorService POOL = Executors.newCachedThreadPool();

  @AfterAll
  static void shutDown() {
    POOL.shutdownNow();
  }

  /** Runs {@code call} on another thread: what it threw, failing if it takes 30 s (a hang). */
  private static Throwable failureOf(Callable<?> call) throws Exception {
    Future<?> f = POOL.submit(call);
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS), "the call failed");
    return e.getCause();
  }

  private static void assertTimesOutInTime(Callable<?> call) throws Exception {
    long[] elapsed = new long[1];
    Throwable t =
        failureOf(
            () -> {
              long start = System.nanoTime();
              try {
                return call.call();
              } finally {
                elapsed[0] = System.nanoTime() - start;
              }
            });
    assertInstanceOf(TimeoutException.class, t);
    assertTrue(
        elapsed[0] < BOUND_NANOS,
        () -> "a 200 ms timeout took " + elapsed[0] / 1_000_000 + " ms (bound: 1000 ms)");
  }

  @Test
  void metadataWithATimeoutReturnsInTimeAgainstAHangingIdp() throws Exception {
    try (HangingServer idp = new HangingServer();
        Authenticator auth = Authenticator.fromJson(idp.clientSecretConfig())) {
      assertTimesOutInTime(() -> auth.metadata(TIMEOUT));
      assertTimesOutInTime(() -> auth.metadata(TIMEOUT, new CancellationToken()));
    }
  }

  @Test
  void refreshAndInvalidateWithATimeoutReturnInTime() throws Exception {
    try (HangingServer idp = new HangingServer();
        Authenticator auth = Authenticator.fromJson(idp.clientSecretConfig())) {
      assertTimesOutInTime(
          () -> {
            auth.refresh(TIMEOUT);
            return null;
          });
    }
    // invalidate refreshes only a current token: one from a command whose later runs hang.
    Path marker = Files.createTempFile("flyteauth-deadline", ".marker");
    Files.delete(marker);
    String script =
        "if [ -e '" + marker + "' ]; then sleep 5; else : > '" + marker + "'; echo tok; fi";
    try (Authenticator auth =
        Authenticator.create(
            FlyteAuthConfig.builder()
                .authType(FlyteAuthConfig.AuthType.EXTERNAL_COMMAND)
                .command("sh", "-c", script)
                .authorizationHeader("authorization")
                .build())) {
      String value = auth.metadata().get("authorization");
      assertEquals("Bearer tok", value);
      assertTimesOutInTime(
          () -> {
            auth.invalidate(value, TIMEOUT);
            return null;
          });
    } finally {
      Files.deleteIfExists(marker);
    }
  }

  @Test
  void theHttpClientHelperBoundsTheWaitByTheRequestTimeout() throws Exception {
    try (HangingServer idp = new HangingServer();
        Authenticator auth = Authenticator.fromJson(idp.clientSecretConfig())) {
      FlyteHttpClient http = new FlyteHttpClient(HttpClient.newHttpClient(), auth);
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("http://" + idp.endpoint() + "/api/v1/projects"))
              .timeout(TIMEOUT)
              .build();
      assertTimesOutInTime(() -> http.send(request, HttpResponse.BodyHandlers.discarding()));
      Throwable async =
          failureOf(() -> http.sendAsync(request, HttpResponse.BodyHandlers.discarding()).get());
      assertInstanceOf(TimeoutException.class, async.getCause());
    }
  }

  @Test
  void aTokenCancelsABlockedCall() throws Exception {
    try (HangingServer idp = new HangingServer();
        Authenticator auth = Authenticator.fromJson(idp.clientSecretConfig())) {
      CancellationToken cancel = new CancellationToken();
      Future<AuthMetadata> call = POOL.submit(() -> auth.metadata(null, cancel));
      assertTrue(idp.awaitConnection(30), "the call reached the IdP");
      cancel.cancel();
      assertTrue(cancel.isCancelled());
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> call.get(30, TimeUnit.SECONDS));
      assertInstanceOf(CancelledException.class, e.getCause());
      // A cancelled token fails later calls that would have to wait, at once.
      assertInstanceOf(CancelledException.class, failureOf(() -> auth.metadata(null, cancel)));
      assertInstanceOf(
          CancelledException.class,
          failureOf(
              () -> {
                auth.refresh(null, cancel);
                return null;
              }));
      // The authenticator itself is fine.
      assertTimesOutInTime(() -> auth.metadata(TIMEOUT));
    }
  }

  @Test
  void aCancelledTokenDoesNotStopACallThatNeedNotWait() {
    try (Authenticator auth = Authenticator.fromJson(ECHO)) {
      auth.metadata();
      CancellationToken cancel = new CancellationToken();
      cancel.cancel();
      assertEquals("Bearer tok", auth.metadata(Duration.ZERO, cancel).get("authorization"));
      assertEquals("Bearer tok", auth.metadata(Duration.ofDays(365_000_000L)).get("authorization"));
      auth.refresh(Duration.ofSeconds(30), null);
      auth.invalidate("Bearer stale", Duration.ofSeconds(30), null);
    }
  }

  @Test
  void timeoutsBecomeWholeMilliseconds() {
    assertEquals(0, Authenticator.timeoutMillis(null));
    assertEquals(1, Authenticator.timeoutMillis(Duration.ZERO));
    assertEquals(1, Authenticator.timeoutMillis(Duration.ofSeconds(-5)));
    assertEquals(1, Authenticator.timeoutMillis(Duration.ofNanos(1)));
    assertEquals(200, Authenticator.timeoutMillis(Duration.ofMillis(200)));
    assertEquals(201, Authenticator.timeoutMillis(Duration.ofMillis(200).plusNanos(1)));
    assertEquals(Long.MAX_VALUE, Authenticator.timeoutMillis(Duration.ofSeconds(Long.MAX_VALUE)));
  }

  @Test
  @EnabledForJreRange(min = JRE.JAVA_21)
  void interruptingAVirtualThreadCancelsItsCall() throws Exception {
    try (HangingServer idp = new HangingServer();
        Authenticator auth = Authenticator.fromJson(idp.clientSecretConfig())) {
      Throwable[] thrown = new Throwable[1];
      boolean[] stillInterrupted = new boolean[1];
      Thread t =
          VirtualThreadsForTests.start(
              () -> {
                try {
                  auth.metadata();
                } catch (Throwable e) {
                  thrown[0] = e;
                }
                stillInterrupted[0] = Thread.currentThread().isInterrupted();
              });
      assertTrue(idp.awaitConnection(30), "the call reached the IdP");
      t.interrupt();
      t.join(30_000);
      assertTrue(!t.isAlive(), "the interrupted call returned");
      assertInstanceOf(CancelledException.class, thrown[0]);
      assertTrue(stillInterrupted[0], "the interrupt status is kept");
    }
  }
}
