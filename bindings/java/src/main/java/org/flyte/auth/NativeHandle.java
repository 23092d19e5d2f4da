package org.flyte.auth;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The native side of one {@link Authenticator}: the {@code flyteauth_authenticator *}, a
 * {@code flyteauth_cancel *} for its blocking calls, a count of calls in flight and the Java map
 * of the last metadata snapshot.
 *
 * <p><b>Closing.</b> Every call {@link #acquire() acquires} the handle and releases it when done.
 * {@link #run()} (close, from {@link Authenticator#close()} or the Cleaner) marks the handle
 * closed so no new call starts, cancels the blocking calls still waiting (they end with {@link
 * CancelledException}), waits until the calls in flight have returned, and only then frees the
 * native objects. So closing concurrently with calls never frees memory a call still uses.
 *
 * <p>The count of calls in flight is striped over padded cells picked by thread, so threads
 * calling at once do not contend on one counter: a call increments its cell, then checks the
 * closed flag; close sets the flag, then sums the cells. Both are sequentially consistent
 * (volatile), so either the call sees the flag and backs out, or close sees the call.
 *
 * <p><b>The snapshot cache.</b> A metadata snapshot is immutable, so its Java map can be reused
 * as long as the library hands out the same snapshot. The cache keeps a reference to the
 * snapshot it describes (it frees it only when replaced), so while a snapshot is cached its
 * address cannot be reused by another one: comparing the address of a snapshot we hold with the
 * cached one is exact. A call on a valid token thus costs the fetch, a compare and a release,
 * and allocates no Java object.
 */
final class NativeHandle implements Runnable {
  /** Longs between two cells: 128 bytes, so two cells never share a cache line (or a pair). */
  private static final int STRIDE = 16;
  /** The number of cells, a power of two: 4 per CPU, at least 8, at most 64. */
  private static final int CELLS;

  static {
    int want = Math.max(8, Math.min(64, 4 * Runtime.getRuntime().availableProcessors()));
    CELLS = Integer.highestOneBit(want - 1) << 1;
  }

  /** A snapshot (a reference we own) and its headers as a map. */
  private static final class Snapshot {
    final long metadata;
    final Map<String, String> map;

    Snapshot(long metadata, Map<String, String> map) {
      this.metadata = metadata;
      this.map = map;
    }
  }

  private final NativeApi api;
  private final long authenticator;
  private final long cancel;
  /** Calls in flight, striped: cell i is element i * STRIDE. */
  private final AtomicLongArray inFlight = new AtomicLongArray(CELLS * STRIDE);

  private volatile boolean closed;

  private final AtomicReference<Snapshot> cache = new AtomicReference<>();

  NativeHandle(NativeApi api, long authenticator) {
    this.api = api;
    this.authenticator = authenticator;
    long c = api.newCancel();
    if (c == 0) {
      api.freeAuthenticator(authenticator);
      throw new OutOfMemoryError("flyteauth_cancel_new returned NULL");
    }
    this.cancel = c;
  }

  NativeApi api() {
    return api;
  }

  /**
   * Start a call; throws IllegalStateException once closed. Pass the result to {@link
   * #release(int)}.
   */
  int acquire() {
    long id = Thread.currentThread().getId();
    int cell = (int) ((id * 0x9E3779B97F4A7C15L) >>> 40) & (CELLS - 1);
    int i = cell * STRIDE;
    inFlight.getAndIncrement(i);
    if (closed) {
      release(i);
      throw new IllegalStateException("the flyteauth Authenticator is closed");
    }
    return i;
  }

  /** End a call started with {@link #acquire()}. */
  void release(int cell) {
    inFlight.getAndDecrement(cell);
    if (closed) {
      synchronized (this) {
        notifyAll();
      }
    }
  }

  boolean isClosed() {
    return closed;
  }

  private long callsInFlight() {
    long n = 0;
    for (int i = 0; i < CELLS; i++) {
      n += inFlight.get(i * STRIDE);
    }
    return n;
  }

  /** The headers for a call, blocking when the token must be obtained first. Acquired. */
  Map<String, String> metadata() {
    long m = api.tryFetch(authenticator);
    if (m == 0) {
      m = api.fetch(authenticator, cancel);
    }
    return adopt(m);
  }

  /** The headers when the token is fresh, else null; never blocks. Acquired. */
  Map<String, String> tryMetadata() {
    long m = api.tryFetch(authenticator);
    return m == 0 ? null : adopt(m);
  }

  void refresh() {
    api.refresh(authenticator, cancel);
  }

  void setInteractive(boolean interactive) {
    api.setInteractive(authenticator, interactive);
  }

  void invalidate(byte[] rejectedValue) {
    api.invalidate(authenticator, rejectedValue, cancel);
  }

  /** The map for snapshot {@code m}, a reference we own and give up here. */
  private Map<String, String> adopt(long m) {
    Snapshot cached = cache.get(); // read after fetching m: see the class comment
    if (cached != null && cached.metadata == m) {
      api.freeMetadata(m);
      return cached.map;
    }
    Map<String, String> map;
    try {
      map = toMap(api.read(m));
    } catch (RuntimeException | Error e) {
      api.freeMetadata(m);
      throw e;
    }
    Snapshot old = cache.getAndSet(new Snapshot(m, map));
    if (old != null) {
      api.freeMetadata(old.metadata);
    }
    return map;
  }

  private static Map<String, String> toMap(String[] pairs) {
    Map<String, String> map = new LinkedHashMap<>(pairs.length);
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      map.put(pairs[i], pairs[i + 1]);
    }
    return Collections.unmodifiableMap(map);
  }

  /** Close: idempotent; waits for the calls in flight (cancelling the blocking ones). */
  @Override
  public void run() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    api.cancel(cancel);
    boolean interrupted = false;
    synchronized (this) {
      while (callsInFlight() != 0) {
        try {
          wait();
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
    }
    Snapshot last = cache.getAndSet(null);
    if (last != null) {
      api.freeMetadata(last.metadata);
    }
    api.freeAuthenticator(authenticator);
    api.freeCancel(cancel);
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
