package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
 * 12-second tokens used by 32 threads for 24 seconds: every call succeeds, no expired token is
 * handed out, and the IdP sees one token request per refresh, however many threads there are (the
 * library renews in the background, once).
 *
 * <p>Margins are seconds, so that a shared, noisy machine cannot break them (as in the Rust suites,
 * tests/storm.rs): below 20 s the library's refresh lead is half the lifetime, jittered to 75-100
 * %, so a 12-second token is refreshed 5.5-7.5 s after it arrived, at least 4 s before it expires
 * (a 2-second token left about 0.75 s). The request bounds have a whole refresh of slack either
 * way ({@link #refreshRequestBounds}).
 */
class ExpiryTest {
  private static final long TTL_SECS = 12;

  @RegisterExtension
  static final Idp IDP = new Idp().with("IDP_ACCESS_TOKEN_TTL", Long.toString(TTL_SECS));

  private static final int THREADS = 32;
  /** Two whole lifetimes: three or four refreshes, at least two asserted. */
  private static final long RUN_NANOS = TimeUnit.SECONDS.toNanos(24);

  /**
   * The library's refresh rule without tokenRefreshWindow ({@code refresh_lead} in
   * src/authenticator.rs): 10 % of the lifetime, at least 10 s, never more than half of it.
   */
  static long refreshLeadNanos(long lifetimeNanos) {
    return Math.min(Math.max(lifetimeNanos / 10, TimeUnit.SECONDS.toNanos(10)), lifetimeNanos / 2);
  }

  /**
   * The token requests, {@code {least, most}}, an authenticator that refreshes in the background
   * may make during {@code windowNanos} (from before its first call to the moment the IdP's
   * counters are read) with tokens of {@code ttlNanos}, by the library's refresh rule: the same
   * derivation as {@code refresh_request_bounds} in tests/common/mod.rs. A token's lifetime runs
   * from when it arrived and is at most what the JWT's whole-second exp leaves: between the TTL
   * less a second and the TTL.
   *
   * <ul>
   *   <li>most: the first request, one per shortest gap (the shortest lifetime less its whole
   *       lead), and one whole refresh of slack (a slow request shortens the next lifetime).
   *   <li>least: the first request and one per longest gap (the TTL less 75 % of its lead), less
   *       one whole refresh of slack (a timer or a request delayed by a busy machine).
   * </ul>
   *
   * <p>Neither depends on the number of calling threads: a refresh per thread, or per call, is far
   * above most.
   */
  static long[] refreshRequestBounds(long ttlNanos, long windowNanos) {
    long shortestLifetime = ttlNanos - TimeUnit.SECONDS.toNanos(1);
    long shortestGap = shortestLifetime - refreshLeadNanos(shortestLifetime);
    long longestGap = ttlNanos - refreshLeadNanos(ttlNanos) * 3 / 4;
    long most = 1 + windowNanos / shortestGap + 1;
    long least = Math.max(1 + windowNanos / longestGap - 1, 1);
    return new long[] {least, most};
  }

  @Test
  void refreshRequestBoundsAreTheRustSuites() {
    // The figures of tests/storm.rs: 12-second tokens are refreshed every 5.5-7.5 s.
    long ttl = TimeUnit.SECONDS.toNanos(TTL_SECS);
    assertArrayEquals(new long[] {1, 2}, refreshRequestBounds(ttl, 0));
    assertArrayEquals(new long[] {1, 2}, refreshRequestBounds(ttl, TimeUnit.SECONDS.toNanos(5)));
    assertArrayEquals(new long[] {3, 6}, refreshRequestBounds(ttl, TimeUnit.SECONDS.toNanos(24)));
    assertArrayEquals(
        new long[] {3, 7}, refreshRequestBounds(ttl, TimeUnit.MILLISECONDS.toNanos(28_500)));
    assertEquals(TimeUnit.MINUTES.toNanos(6), refreshLeadNanos(TimeUnit.HOURS.toNanos(1)));
    assertEquals(TimeUnit.SECONDS.toNanos(10), refreshLeadNanos(TimeUnit.MINUTES.toNanos(1)));
  }

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
      long first = System.nanoTime();
      auth.metadata();
      IDP.reset(); // the fixture is shared by this class's tests: count from here on
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
      long grants = IDP.clientCredentialsGrants(); // the refreshes: the first request came before
      long window = System.nanoTime() - first;
      long[] bounds = refreshRequestBounds(TimeUnit.SECONDS.toNanos(TTL_SECS), window);

      System.out.printf(
          "ExpiryTest [%s, %s]: %d threads, %.1f s, %d calls, %d token requests (with the first;"
              + " expected %d..%d), %d distinct tokens, a token handed out at most %d ms after"
              + " its exp%n",
          Authenticator.backend(),
          workers.get(0).getClass().getSimpleName(),
          THREADS,
          elapsed,
          calls.get(),
          grants + 1,
          bounds[0],
          bounds[1],
          seen.size(),
          maxLateMillis.get());
      assertTrue(failures.isEmpty(), () -> "failed calls: " + failures);
      assertTrue(calls.get() > THREADS, "every thread made calls");
      assertTrue(grants >= 2, "tokens were renewed: " + grants + " token requests");
      // One request per refresh, whatever the number of threads, with a whole refresh of slack.
      assertTrue(
          grants + 1 >= bounds[0] && grants + 1 <= bounds[1],
          () ->
              (grants + 1)
                  + " token requests in "
                  + window / 1e9
                  + " s with "
                  + TTL_SECS
                  + "-second tokens and "
                  + THREADS
                  + " threads; expected "
                  + bounds[0]
                  + ".."
                  + bounds[1]);
      assertTrue(seen.size() >= 3, seen.size() + " distinct tokens");
      // The library serves a token until issue time + expires_in; the JWT's exp is the IdP's
      // issue time truncated to whole seconds + TTL, so up to 1 s earlier. Allow 1 s more for
      // the time between metadata() returning and this thread reading the clock. A token is
      // replaced at least 4 s before it expires, so a healthy run stays seconds below this.
      assertTrue(
          maxLateMillis.get() < 2000,
          () -> "a token was handed out " + maxLateMillis.get() + " ms after its exp");
    }
  }
}
