package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** close(): idempotent, final, safe against concurrent calls, and backed by a Cleaner. */
class LifecycleTest {
  private static final String ECHO =
      "{\"authType\":\"ExternalCommand\",\"command\":[\"echo\",\"tok\"],"
          + "\"authorizationHeader\":\"authorization\"}";

  @Test
  void closeTwice() {
    Authenticator auth = Authenticator.fromJson(ECHO);
    auth.metadata();
    auth.close();
    auth.close();
    assertTrue(auth.isClosed());
  }

  @Test
  void useAfterCloseThrowsIllegalState() {
    Authenticator auth = Authenticator.fromJson(ECHO);
    Map<String, String> before = auth.metadata();
    auth.close();
    assertThrows(IllegalStateException.class, auth::metadata);
    assertThrows(IllegalStateException.class, auth::tryMetadata);
    assertThrows(IllegalStateException.class, auth::refresh);
    assertThrows(IllegalStateException.class, () -> auth.invalidate("Bearer tok"));
    assertThrows(IllegalStateException.class, () -> auth.setInteractive(false));
    assertEquals("Bearer tok", before.get("authorization"), "maps stay valid after close");
    assertFalse(auth.toString().contains("tok"));
  }

  @Test
  void closeWhileThreadsCallIt() throws Exception {
    Authenticator auth = Authenticator.fromJson(ECHO);
    auth.metadata();
    int threads = 8;
    CountDownLatch warmedUp = new CountDownLatch(threads);
    ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
    AtomicLong closedSeen = new AtomicLong();
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      Thread w =
          new Thread(
              () -> {
                long calls = 0;
                try {
                  for (; ; ) {
                    Map<String, String> md = (calls % 2 == 0) ? auth.metadata() : auth.tryMetadata();
                    if (md == null || !"Bearer tok".equals(md.get("authorization"))) {
                      throw new AssertionError("wrong metadata");
                    }
                    if (++calls == 1000) {
                      warmedUp.countDown();
                    }
                  }
                } catch (IllegalStateException closed) {
                  closedSeen.incrementAndGet();
                } catch (Throwable e) {
                  unexpected.add(e);
                } finally {
                  if (calls < 1000) {
                    warmedUp.countDown();
                  }
                }
              });
      w.start();
      workers.add(w);
    }
    assertTrue(warmedUp.await(30, TimeUnit.SECONDS));
    auth.close();
    for (Thread w : workers) {
      w.join(30_000);
      assertFalse(w.isAlive());
    }
    assertTrue(unexpected.isEmpty(), () -> "unexpected: " + unexpected);
    assertEquals(threads, closedSeen.get());
  }

  @Test
  void closeCancelsACallBlockedOnTheNetwork() throws Exception {
    // A server that accepts connections and never answers: the first metadata() blocks.
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      Future<Socket> accepted = pool.submit(silent::accept);
      String config =
          "{\"endpoint\":\"127.0.0.1:"
              + silent.getLocalPort()
              + "\",\"insecure\":true,\"authType\":\"ClientSecret\",\"clientId\":\"x\","
              + "\"clientSecret\":\"y\",\"perRetryTimeout\":\"120s\",\"maxRetries\":0}";
      Authenticator auth = Authenticator.fromJson(config);
      Future<Map<String, String>> call = pool.submit(() -> auth.metadata());
      try (Socket ignored = accepted.get(30, TimeUnit.SECONDS)) {
        // The call is now waiting for an answer that never comes.
        assertTimeoutPreemptively(Duration.ofSeconds(30), auth::close);
        ExecutionException e =
            assertThrows(ExecutionException.class, () -> call.get(30, TimeUnit.SECONDS));
        assertInstanceOf(CancelledException.class, e.getCause());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theCleanerFreesAnAuthenticatorThatWasNeverClosed() throws Exception {
    assertTrue(Cleaners.available());
    NativeHandle handle = handleOfAnAbandonedAuthenticator();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!handle.isClosed() && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(20);
    }
    assertTrue(handle.isClosed(), "the Cleaner closed the native handle");
  }

  private static NativeHandle handleOfAnAbandonedAuthenticator() throws Exception {
    Authenticator auth = Authenticator.fromJson(ECHO);
    auth.metadata();
    Field f = Authenticator.class.getDeclaredField("handle");
    f.setAccessible(true);
    return (NativeHandle) f.get(auth);
  }
}
