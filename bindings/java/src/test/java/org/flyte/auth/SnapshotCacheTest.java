package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The cached snapshot of {@link NativeHandle}: reused while the library says it is current,
 * replaced after a refresh, and the replaced ones released once unreachable (or at close).
 */
class SnapshotCacheTest {
  /** A new token at every run of the command. */
  private static final String COUNTER =
      "{\"authType\":\"ExternalCommand\",\"command\":[\"sh\",\"-c\",\"date +%s%N\"],"
          + "\"authorizationHeader\":\"authorization\"}";

  @Test
  void aRefreshReplacesTheSnapshotAndReplacedOnesAreReleased() throws Exception {
    try (Authenticator auth = Authenticator.fromJson(COUNTER)) {
      NativeHandle handle = handleOf(auth);
      Map<String, String> previous = auth.metadata();
      for (int i = 0; i < 20; i++) {
        auth.refresh();
        Map<String, String> md = auth.metadata();
        assertNotSame(previous, md, "a new snapshot after refresh()");
        assertTrue(!previous.get("authorization").equals(md.get("authorization")));
        assertSame(md, auth.metadata(), "then the cached one");
        assertSame(md, auth.tryMetadata());
        previous = md;
      }
      // 21 snapshots were published; those replaced are released once the GC found them
      // unreachable, at the next publication.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (handle.ownedSnapshots() > 2 && System.nanoTime() < deadline) {
        System.gc();
        Thread.sleep(10);
        auth.refresh();
        auth.metadata();
      }
      assertTrue(handle.ownedSnapshots() <= 2, handle.ownedSnapshots() + " snapshots still held");
      auth.close();
      assertEquals(0, handle.ownedSnapshots(), "close releases the rest");
    }
  }

  @Test
  void threadsReadWhileAnotherRefreshes() throws Exception {
    Authenticator auth = Authenticator.fromJson(COUNTER);
    NativeHandle handle = handleOf(auth);
    auth.metadata();
    AtomicBoolean stop = new AtomicBoolean();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    AtomicLong calls = new AtomicLong();
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread reader =
          new Thread(
              () -> {
                long n = 0;
                try {
                  while (!stop.get()) {
                    Map<String, String> md = (n % 3 == 0) ? auth.tryMetadata() : auth.metadata();
                    if (md != null && !md.get("authorization").matches("Bearer [0-9]+")) {
                      throw new AssertionError("bad header");
                    }
                    n++;
                  }
                } catch (Throwable e) {
                  failures.add(e);
                } finally {
                  calls.addAndGet(n);
                }
              });
      threads.add(reader);
    }
    threads.forEach(Thread::start);
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1500);
    int refreshes = 0;
    while (System.nanoTime() < until) {
      auth.refresh();
      refreshes++;
      if (refreshes % 20 == 0) {
        System.gc();
      }
    }
    stop.set(true);
    for (Thread t : threads) {
      t.join(30_000);
    }
    assertTrue(failures.isEmpty(), () -> "failures: " + failures);
    assertTrue(calls.get() > 0 && refreshes > 5, calls.get() + " calls, " + refreshes + " refreshes");
    auth.close();
    assertEquals(0, handle.ownedSnapshots());
  }

  private static NativeHandle handleOf(Authenticator auth) throws Exception {
    Field f = Authenticator.class.getDeclaredField("handle");
    f.setAccessible(true);
    return (NativeHandle) f.get(auth);
  }
}
