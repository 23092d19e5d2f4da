package org.flyte.auth;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Blocking native calls made by a virtual thread (Java 21+) run on a platform thread while the
 * virtual thread parks, so its carrier is free for other virtual threads. A virtual thread inside
 * a native call (JNI or FFM) pins its carrier: with a hanging identity provider a few of them
 * would stop every other virtual thread of the JVM.
 *
 * <p>The platform threads ({@code flyteauth-blocking-N}, daemons) come from a pool that starts
 * none, keeps an idle one 30 s and hands a call to an idle thread or a new one, never a queue (a
 * queued call would wait for unrelated calls, past its own timeout). Beyond {@link #MAX_THREADS}
 * calls at once, a call runs on its virtual thread as before. Only the blocking path is moved: a
 * call on a valid token never comes here.
 *
 * <p>Interrupting the waiting virtual thread cancels its call ({@link CancelledException}, with
 * the interrupt status kept), since the wait is interruptible and the call cancellable. Compiled
 * for Java 8: {@code Thread.isVirtual()} is found reflectively.
 */
final class OffCarrier {
  static final int MAX_THREADS = 256;

  /** {@code Thread.isVirtual()}, or null before Java 21. */
  private static final MethodHandle IS_VIRTUAL;

  static {
    MethodHandle h = null;
    try {
      h =
          MethodHandles.publicLookup()
              .findVirtual(Thread.class, "isVirtual", MethodType.methodType(boolean.class));
    } catch (ReflectiveOperationException | RuntimeException e) {
      h = null; // before Java 21: no virtual threads
    }
    IS_VIRTUAL = h;
  }

  private static final class Pool {
    static final AtomicInteger THREADS = new AtomicInteger();
    static final ThreadPoolExecutor EXECUTOR =
        new ThreadPoolExecutor(
            0,
            MAX_THREADS,
            30,
            TimeUnit.SECONDS,
            new SynchronousQueue<Runnable>(),
            r -> {
              Thread t = new Thread(r, "flyteauth-blocking-" + THREADS.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
  }

  private OffCarrier() {}

  /** Whether the current thread is a virtual thread. */
  static boolean onVirtualThread() {
    if (IS_VIRTUAL == null) {
      return false;
    }
    try {
      return (boolean) IS_VIRTUAL.invokeExact(Thread.currentThread());
    } catch (Throwable t) {
      return false;
    }
  }

  /**
   * Runs {@code call} on a platform thread and waits for it, parked. Returns only once {@code call}
   * has returned (so its native arguments stay valid); an interrupt runs {@code cancel} and keeps
   * waiting for that.
   */
  static <T> T run(Callable<T> call, Runnable cancel) {
    FutureTask<T> task = new FutureTask<>(call);
    try {
      Pool.EXECUTOR.execute(task);
    } catch (RejectedExecutionException e) {
      task.run(); // every pool thread busy: run here, pinning the carrier, as without the pool
    }
    boolean interrupted = false;
    try {
      for (; ; ) {
        try {
          return task.get();
        } catch (InterruptedException e) {
          if (!interrupted) {
            interrupted = true;
            cancel.run();
          }
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof RuntimeException) {
            throw (RuntimeException) cause;
          }
          if (cause instanceof Error) {
            throw (Error) cause;
          }
          throw new IllegalStateException("flyteauth: unexpected exception", cause);
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** For tests: the pool's threads now. */
  static int poolSize() {
    return Pool.EXECUTOR.getPoolSize();
  }
}
