package org.flyte.auth;

import java.lang.ref.PhantomReference;
import java.lang.ref.Reference;
import java.lang.ref.ReferenceQueue;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The native side of one {@link Authenticator}: the {@code flyteauth_authenticator *}, the
 * {@code flyteauth_cancel *} of each blocking call in progress, a count of calls in flight and the
 * Java map of the last metadata snapshot.
 *
 * <p><b>Blocking calls.</b> Each blocking call ({@code *_ex}) gets a {@code flyteauth_cancel} of
 * its own, cancelled by whichever comes first: {@link #run() close}, the caller's {@link
 * CancellationToken}, or (on a virtual thread, see {@link OffCarrier}) an interrupt. The call frees
 * it once the native call has returned, under the lock its cancel action takes, so no cancel ever
 * reaches a freed one. The timeout goes to the library as is.
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
 * <p><b>The snapshot cache.</b> A metadata snapshot is immutable, so its Java map is built once
 * and kept, with the snapshot (one native reference owned by the cache), in a {@link Snapshot}.
 * A call on a valid token asks the library only whether the cached snapshot is still the current
 * one ({@code flyteauth_authenticator_metadata_is_current}: no reference-count traffic, which
 * costs a cache-line transfer per call when threads share the snapshot) and returns the cached
 * map; it allocates nothing. When the answer is no (a new token, or the refresh window), it falls
 * back to {@code try_fetch_metadata}, and then to the blocking {@code fetch_metadata_ex}, and
 * publishes the new snapshot with a compare-and-set.
 *
 * <p><b>When a replaced snapshot is released.</b> A thread may read the cached {@code Snapshot},
 * be preempted, and pass its pointer to {@code metadata_is_current} only after another thread
 * has replaced it. Releasing the replaced snapshot at once would let that call see a freed
 * pointer, or worse a new snapshot allocated at the same address, and return the old map as
 * current. So the release is tied to reachability: the native reference of a published {@code
 * Snapshot} is released only once the garbage collector has found the object unreachable (a
 * {@link PhantomReference}, processed on the next publication or at close), and every native use
 * of its pointer keeps the object reachable until the native call has returned (it is an argument
 * of the JNI method; FFM uses {@code Reference.reachabilityFence}). An unreachable object is in no
 * thread's hands, so no thread can still use its pointer, whatever the scheduling. Close frees
 * whatever is left once no call is in flight, which is the other moment no thread can use one. A
 * snapshot that lost the compare-and-set was never seen by another thread and is released at
 * once. Each native reference is released exactly once: by whoever removes its entry from {@link
 * #owned}.
 *
 * <p>Comparing the address of a snapshot we hold with the cached one is exact, because both are
 * live references at the moment of the comparison (the cached one is reachable from our stack).
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

  /** A published snapshot (one native reference, released through its {@link Owner}) and its map. */
  private static final class Snapshot {
    final long metadata;
    final AuthMetadata map;

    Snapshot(long metadata, AuthMetadata map) {
      this.metadata = metadata;
      this.map = map;
    }
  }

  /** The native reference of a published snapshot, released once the snapshot is unreachable. */
  private static final class Owner extends PhantomReference<Snapshot> {
    final long metadata;

    Owner(Snapshot snapshot, ReferenceQueue<Snapshot> queue) {
      super(snapshot, queue);
      this.metadata = snapshot.metadata;
    }
  }

  /** The flyteauth_cancel of one blocking call; {@link #run()} cancels it until it is freed. */
  private static final class CallCancel implements Runnable {
    private final NativeApi api;
    final long cancel;
    private boolean freed; // guarded by this

    CallCancel(NativeApi api, long cancel) {
      this.api = api;
      this.cancel = cancel;
    }

    @Override
    public synchronized void run() {
      if (!freed) {
        api.cancel(cancel);
      }
    }

    void free() {
      synchronized (this) {
        freed = true;
      }
      api.freeCancel(cancel);
    }
  }

  /** One blocking native call, given its flyteauth_cancel. */
  interface Blocking {
    long call(long cancel);
  }

  private final NativeApi api;
  private final long authenticator;
  /** The blocking calls in progress, cancelled by close. */
  private final Set<CallCancel> blockingCalls =
      Collections.newSetFromMap(new ConcurrentHashMap<CallCancel, Boolean>());
  /**
   * Calls in flight, striped: cell i is element (i + 1) * STRIDE. The padding before the first
   * cell and after the last keeps the cells off the cache lines of neighbouring objects that every
   * call reads, such as this AtomicLongArray itself, allocated just before its array: with cell 0
   * at the start, two threads of which one hashed to cell 0 took 128 ns per call instead of 38
   * (JNI, Java 17).
   */
  private final AtomicLongArray inFlight = new AtomicLongArray((CELLS + 2) * STRIDE);

  private volatile boolean closed;

  private final AtomicReference<Snapshot> cache = new AtomicReference<>();
  /** Published snapshots whose native reference is not released yet (guarded by itself). */
  private final Set<Owner> owned = new HashSet<>();
  /** Where the GC puts the {@link Owner}s of unreachable snapshots. */
  private final ReferenceQueue<Snapshot> unreachable = new ReferenceQueue<>();

  NativeHandle(NativeApi api, long authenticator) {
    this.api = api;
    this.authenticator = authenticator;
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
    int i = (cell + 1) * STRIDE;
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
    for (int i = 1; i <= CELLS; i++) {
      n += inFlight.get(i * STRIDE);
    }
    return n;
  }

  /**
   * The headers for a call, blocking when the token must be obtained first. Acquired. {@code
   * timeoutMs} 0: no bound; {@code token} may be null.
   */
  AuthMetadata metadata(final long timeoutMs, CancellationToken token) {
    Snapshot s = cache.get();
    if (s != null && api.isCurrent(authenticator, s.metadata, s)) {
      return s.map;
    }
    long m = api.tryFetch(authenticator);
    if (m == 0) {
      m = blocking(token, c -> api.fetch(authenticator, timeoutMs, c));
    }
    return publish(m);
  }

  boolean insecure() {
    return api.insecure(authenticator);
  }

  /**
   * Runs a blocking call with a flyteauth_cancel of its own, cancelled by close, {@code token} and
   * (on a virtual thread, which waits parked) an interrupt. Acquired.
   */
  private long blocking(CancellationToken token, final Blocking op) {
    final long c = api.newCancel();
    if (c == 0) {
      throw new OutOfMemoryError("flyteauth_cancel_new returned NULL");
    }
    CallCancel cc = new CallCancel(api, c);
    boolean listening = false;
    blockingCalls.add(cc);
    try {
      // close() sets `closed`, then cancels what it finds here: either it found us, or we see it.
      if (closed) {
        cc.run();
      }
      if (token != null) {
        listening = token.add(cc);
        if (!listening) {
          cc.run();
        }
      }
      if (OffCarrier.onVirtualThread()) {
        return OffCarrier.run(() -> op.call(c), cc);
      }
      return op.call(c);
    } finally {
      if (listening) {
        token.remove(cc);
      }
      blockingCalls.remove(cc);
      cc.free();
    }
  }

  /** The headers when the token is fresh, else null; never blocks. Acquired. */
  AuthMetadata tryMetadata() {
    Snapshot s = cache.get();
    if (s != null && api.isCurrent(authenticator, s.metadata, s)) {
      return s.map;
    }
    long m = api.tryFetch(authenticator);
    return m == 0 ? null : publish(m);
  }

  void refresh(final long timeoutMs, CancellationToken token) {
    blocking(
        token,
        c -> {
          api.refresh(authenticator, timeoutMs, c);
          return 0;
        });
  }

  void logout() {
    // No bound and nothing to cancel (the library bounds the revocation); blocking() keeps a
    // virtual thread's carrier free while it runs.
    blocking(
        null,
        c -> {
          api.logout(authenticator);
          return 0;
        });
  }

  void setInteractive(boolean interactive) {
    api.setInteractive(authenticator, interactive);
  }

  void setPromptCallback(PromptHandler handler) {
    api.setPromptCallback(authenticator, handler);
  }

  void invalidate(final byte[] rejectedValue, final long timeoutMs, CancellationToken token) {
    blocking(
        token,
        c -> {
          api.invalidate(authenticator, rejectedValue, timeoutMs, c);
          return 0;
        });
  }

  /** The map for snapshot {@code m}, a reference we own and give up here. Acquired. */
  private AuthMetadata publish(long m) {
    Snapshot cached = cache.get();
    if (cached != null && cached.metadata == m) {
      // The same snapshot (the refresh window, or threads racing to publish it): both are live
      // references now, so equal addresses are the same snapshot. Ours is surplus.
      api.freeMetadata(m);
      return cached.map;
    }
    Snapshot fresh;
    try {
      fresh = new Snapshot(m, new AuthMetadata(api.read(m), api.expiresAtMs(m)));
    } catch (RuntimeException | Error e) {
      api.freeMetadata(m);
      throw e;
    }
    // The Owner exists before the snapshot can become unreachable, and is in `owned` (strongly
    // reachable, so the GC enqueues it) before this method returns.
    Owner owner = new Owner(fresh, unreachable);
    if (!cache.compareAndSet(cached, fresh)) {
      // Another thread published meanwhile; it may well be newer. Ours was never visible.
      owner.clear();
      api.freeMetadata(m);
      return fresh.map;
    }
    List<Owner> dead = new ArrayList<>();
    synchronized (owned) {
      owned.add(owner);
      for (Reference<? extends Snapshot> r; (r = unreachable.poll()) != null; ) {
        if (owned.remove(r)) {
          dead.add((Owner) r);
        }
      }
    }
    for (Owner o : dead) {
      api.freeMetadata(o.metadata);
    }
    return fresh.map;
  }

  /** For tests: published snapshots whose native reference is not released yet. */
  int ownedSnapshots() {
    synchronized (owned) {
      return owned.size();
    }
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
    for (CallCancel c : blockingCalls) {
      c.run();
    }
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
    // No call is in flight and none can start: no thread can use a snapshot's pointer any more.
    cache.set(null);
    synchronized (owned) {
      for (Owner o : owned) {
        o.clear();
        api.freeMetadata(o.metadata);
      }
      owned.clear();
    }
    api.freeAuthenticator(authenticator);
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }
}
