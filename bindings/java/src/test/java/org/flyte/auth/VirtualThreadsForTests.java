package org.flyte.auth;

import java.lang.reflect.Method;

/** Virtual threads for tests compiled with --release 17 (they run on Java 21+ only). */
final class VirtualThreadsForTests {
  private VirtualThreadsForTests() {}

  /** Starts a virtual thread running {@code r}. */
  static Thread start(Runnable r) {
    try {
      Object builder = Thread.class.getMethod("ofVirtual").invoke(null);
      Method start = Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class);
      return (Thread) start.invoke(builder, r);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("virtual threads need Java 21+", e);
    }
  }
}
