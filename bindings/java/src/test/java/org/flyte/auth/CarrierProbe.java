package org.flyte.auth;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.flyte.auth.testing.HangingServer;

/**
 * The program {@link CarrierTest} runs in a JVM with one carrier thread for virtual threads
 * ({@code -Djdk.virtualThreadScheduler.parallelism=1}, {@code maxPoolSize=1}): virtual threads
 * block in {@code metadata()} against a hanging IdP, then another virtual thread must still run.
 * A blocking call that pinned the carrier would stop it. Prints one line; exit 0 when it ran.
 */
public final class CarrierProbe {
  static final int BLOCKED = 8;

  public static void main(String[] args) throws Exception {
    try (HangingServer idp = new HangingServer();
        Authenticator auth = Authenticator.fromJson(idp.clientSecretConfig())) {
      AtomicInteger cancelled = new AtomicInteger();
      List<Thread> blocked = new ArrayList<>();
      for (int i = 0; i < BLOCKED; i++) {
        blocked.add(
            VirtualThreadsForTests.start(
                () -> {
                  try {
                    auth.metadata();
                  } catch (CancelledException expected) {
                    cancelled.incrementAndGet();
                  }
                }));
      }
      if (!idp.awaitConnection(30)) {
        System.out.println("FAIL: no call reached the IdP");
        System.exit(1);
      }
      // Give the blocked threads time to be inside the library; each then holds a platform
      // thread of the flyteauth-blocking pool (not required, only so the check below is fair).
      long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (OffCarrier.poolSize() < BLOCKED && System.nanoTime() < until) {
        Thread.sleep(20);
      }
      CountDownLatch ran = new CountDownLatch(1);
      VirtualThreadsForTests.start(ran::countDown);
      if (!ran.await(20, TimeUnit.SECONDS)) {
        System.out.println("FAIL: a virtual thread could not run while " + BLOCKED + " were blocked in metadata()");
        System.out.flush();
        Runtime.getRuntime().halt(2); // the pinned threads would keep close() from returning
      }
      auth.close(); // cancels the blocked calls
      for (Thread t : blocked) {
        t.join(20_000);
      }
      if (cancelled.get() != BLOCKED) {
        System.out.println("FAIL: " + cancelled.get() + " of " + BLOCKED + " calls ended with CancelledException");
        System.exit(3);
      }
      System.out.println("OK " + Authenticator.backend() + " pool=" + OffCarrier.poolSize());
    }
  }
}
