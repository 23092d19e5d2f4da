package org.flyte.auth;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * One registration of a prompt callback with the native library: what the back ends hand to
 * {@code flyteauth_authenticator_set_prompt_callback} as {@code user_data} (JNI: a global
 * reference to this object; FFM: a key into a table of these). The library calls {@link
 * #show} on one of its own threads whenever a person must act, and {@link #released} exactly
 * once when it will never call {@link #show} again; the back end then drops its reference, which
 * makes the user's callback collectable.
 *
 * <p>Neither method ever throws: an exception must not reach native code (an FFM upcall that
 * throws ends the JVM; a JNI one would be left pending on a library thread).
 */
final class PromptHandler {
  /** {@code FLYTEAUTH_PROMPT_BROWSER}. */
  static final int BROWSER = 1;
  /** {@code FLYTEAUTH_PROMPT_DEVICE_CODE}. */
  static final int DEVICE_CODE = 2;

  private final Consumer<Prompt> callback;
  private final AtomicInteger releases = new AtomicInteger();
  private final CountDownLatch released = new CountDownLatch(1);

  PromptHandler(Consumer<Prompt> callback) {
    if (callback == null) {
      throw new NullPointerException("callback");
    }
    this.callback = callback;
  }

  /**
   * A prompt from the library ({@code kind} is a {@code flyteauth_prompt_kind}). A throwing
   * callback must not break the login, which goes on regardless (the person may still open the
   * browser the library tried to start): its exception is printed to stderr and dropped.
   */
  void show(int kind, String url, String userCode) {
    try {
      Prompt.Kind k;
      if (kind == BROWSER) {
        k = Prompt.Kind.BROWSER;
      } else if (kind == DEVICE_CODE) {
        k = Prompt.Kind.DEVICE_CODE;
      } else {
        return; // a kind added by a newer library: this binding cannot describe it
      }
      if (url == null) {
        return; // not in the contract; nothing to show
      }
      callback.accept(new Prompt(k, url, userCode));
    } catch (Throwable t) {
      report(t);
    }
  }

  /** The library will not call {@link #show} any more. */
  void released() {
    releases.incrementAndGet();
    released.countDown();
  }

  /** For tests: how many times {@link #released()} was called (the contract says once). */
  int releaseCount() {
    return releases.get();
  }

  /** For tests: wait until {@link #released()} was called. */
  boolean awaitReleased(long timeout, TimeUnit unit) throws InterruptedException {
    return released.await(timeout, unit);
  }

  /** Print an exception of the user's callback to stderr; never throws. */
  static void report(Throwable t) {
    try {
      System.err.println("flyteauth: the login prompt callback threw (the login goes on):");
      t.printStackTrace();
    } catch (Throwable ignored) {
      // stderr itself failed: there is nowhere left to report to, and native code must not see it
    }
  }
}
