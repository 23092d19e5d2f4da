package org.flyte.auth;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * A signal that ends blocking {@link Authenticator} calls early: pass it to {@link
 * Authenticator#metadata(java.time.Duration, CancellationToken)}, {@link
 * Authenticator#refresh(java.time.Duration, CancellationToken)} or {@link
 * Authenticator#invalidate(String, java.time.Duration, CancellationToken)}, and call {@link
 * #cancel()} from another thread.
 *
 * <pre>{@code
 * CancellationToken cancel = new CancellationToken();
 * executor.submit(() -> auth.metadata(Duration.ofSeconds(30), cancel));
 * ...
 * cancel.cancel();   // the call ends with CancelledException
 * }</pre>
 *
 * <p>Cancelling ends every call waiting with this token with {@link CancelledException}, and makes
 * every later call with it that would have to wait fail at once; a call that can complete without
 * waiting (e.g. {@code metadata} with a valid token) still succeeds. A refresh that a cancelled call
 * started or joined keeps running for the other callers. Cancelling cannot be undone; use a new
 * token for new work. One token may serve any number of calls, on any number of authenticators and
 * threads.
 *
 * <p>A token holds no native resource (each blocking call uses the library's {@code
 * flyteauth_cancel} of its own, which the token cancels), so it needs no closing.
 */
public final class CancellationToken {
  private final Object lock = new Object();
  private volatile boolean cancelled;
  /** The cancel actions of the calls waiting with this token (guarded by lock). */
  private final Map<Runnable, Boolean> waiting = new IdentityHashMap<>();

  /** A new token, not cancelled. */
  public CancellationToken() {}

  /** Cancels: idempotent, safe from any thread, returns without waiting for the calls to end. */
  public void cancel() {
    List<Runnable> actions;
    synchronized (lock) {
      if (cancelled) {
        return;
      }
      cancelled = true;
      actions = new ArrayList<>(waiting.keySet());
      waiting.clear();
    }
    for (Runnable r : actions) {
      r.run();
    }
  }

  /**
   * Whether {@link #cancel()} was called.
   *
   * @return true once cancelled
   */
  public boolean isCancelled() {
    return cancelled;
  }

  /** Registers a call's cancel action; false (not registered) when already cancelled. */
  boolean add(Runnable action) {
    synchronized (lock) {
      if (cancelled) {
        return false;
      }
      waiting.put(action, Boolean.TRUE);
      return true;
    }
  }

  void remove(Runnable action) {
    synchronized (lock) {
      waiting.remove(action);
    }
  }

  @Override
  public String toString() {
    return cancelled ? "CancellationToken[cancelled]" : "CancellationToken[]";
  }
}
