package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.flyte.auth.testing.Idp;
import org.flyte.auth.testing.Jwt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * 2-second tokens used by 32 threads for ~5 seconds: every call succeeds, no expired token is
 * handed out, and the IdP sees about one token request per expiry, however many threads there
 * are (the library renews in the background, once).
 */
class ExpiryTest {
  @RegisterExtension static final Idp IDP = new Idp().with("IDP_ACCESS_TOKEN_TTL", "2");

  private static final int THREADS = 32;
  private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(5);

  @Test
  void platformThreads() throws Exception {
    hammer(
        r -> {
          Thread t = new Thread(r);
          t.setDaemon(true);
          return t;
        });
  }

  @Test
  @EnabledForJreRange(min = JRE.JAVA_21)
  void virtualThreads() throws Exception {
    Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
    java.lang.reflect.Method unstarted =
        Class.forName("java.lang.Thread$Builder").getMethod("unstarted", Runnable.class);
    hammer(
        r -> {
          try {
            return (Thread) unstarted.invoke(builder, r);
          } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
          }
        });
  }

  private void hammer(Function<Runnable, Thread> threads) throws Exception {
    try (Authenticator auth = Authenticator.fromJson(IDP.clientSecretConfig())) {
      auth.metadata();
      IDP.reset();
      Set<String> seen = ConcurrentHashMap.newKeySet();
      ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
      AtomicLong calls = new AtomicLong();
      AtomicLong maxLateMillis = new AtomicLong(Long.MIN_VALUE);
      long start = System.nanoTime();
      long deadline = start + RUN_NANOS;
      List<Thread> workers = new ArrayList<>();
      for (int i = 0; i < THREADS; i++) {
        Thread t =
            threads.apply(
                () -> {
                  String last = null;
                  long exp = 0;
                  long late = Long.MIN_VALUE;
                  long n = 0;
                  try {
                    while (System.nanoTime() < deadline) {
                      Map<String, String> md = auth.metadata();
                      long now = System.currentTimeMillis();
                      String value = md.get("flyte-authorization");
                      if (value == null || !value.startsWith("Bearer ")) {
                        throw new AssertionError("no auth header");
                      }
                      if (!value.equals(last)) {
                        last = value;
                        seen.add(value);
                        exp = ((Number) Jwt.claims(value).get("exp")).longValue() * 1000;
                      }
                      late = Math.max(late, now - exp);
                      if ((++n & 1023) == 0) {
                        Thread.yield(); // let the other virtual threads run on the carriers
                      }
                    }
                  } catch (Throwable e) {
                    failures.add(e);
                  } finally {
                    calls.addAndGet(n);
                    maxLateMillis.accumulateAndGet(late, Math::max);
                  }
                });
        workers.add(t);
      }
      workers.forEach(Thread::start);
      for (Thread t : workers) {
        t.join(60_000);
      }
      double elapsed = (System.nanoTime() - start) / 1e9;
      long grants = IDP.clientCredentialsGrants();

      System.out.printf(
          "ExpiryTest [%s, %s]: %d threads, %.1f s, %d calls, %d token requests, %d distinct tokens,"
              + " a token handed out at most %d ms after its exp%n",
          Authenticator.backend(),
          workers.get(0).getClass().getSimpleName(),
          THREADS,
          elapsed,
          calls.get(),
          grants,
          seen.size(),
          maxLateMillis.get());
      assertTrue(failures.isEmpty(), () -> "failed calls: " + failures);
      assertTrue(calls.get() > THREADS, "every thread made calls");
      assertTrue(grants >= 2, "tokens were renewed: " + grants + " token requests");
      assertTrue(
          grants <= elapsed + 2,
          () -> grants + " token requests in " + elapsed + " s with " + THREADS + " threads");
      assertTrue(seen.size() >= 3, seen.size() + " distinct tokens");
      // The library serves a token until issue time + expires_in; the JWT's exp is the IdP's
      // issue time truncated to whole seconds + TTL, so up to 1 s earlier. Allow 1 s more for
      // the time between metadata() returning and this thread reading the clock.
      assertTrue(
          maxLateMillis.get() < 2000,
          () -> "a token was handed out " + maxLateMillis.get() + " ms after its exp");
    }
  }
}
