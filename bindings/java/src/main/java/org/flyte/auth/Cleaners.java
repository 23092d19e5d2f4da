package org.flyte.auth;

import java.lang.reflect.Method;
import java.util.concurrent.ThreadFactory;

/**
 * A {@code java.lang.ref.Cleaner} backstop on Java 9+, reached by reflection because this code
 * is compiled for Java 8. On Java 8 there is none: an {@link Authenticator} that is never closed
 * keeps its native memory until the JVM exits.
 */
final class Cleaners {
  private static final Object CLEANER;
  private static final Method REGISTER;
  private static final Method CLEAN;

  static {
    Object cleaner = null;
    Method register = null;
    Method clean = null;
    try {
      Class<?> cleanerClass = Class.forName("java.lang.ref.Cleaner");
      Class<?> cleanableClass = Class.forName("java.lang.ref.Cleaner$Cleanable");
      ThreadFactory threads =
          r -> {
            Thread t = new Thread(r, "flyteauth-cleaner");
            t.setDaemon(true);
            return t;
          };
      cleaner = cleanerClass.getMethod("create", ThreadFactory.class).invoke(null, threads);
      register = cleanerClass.getMethod("register", Object.class, Runnable.class);
      clean = cleanableClass.getMethod("clean");
    } catch (ReflectiveOperationException | RuntimeException e) {
      cleaner = null; // Java 8: no backstop
    }
    CLEANER = cleaner;
    REGISTER = register;
    CLEAN = clean;
  }

  private Cleaners() {}

  /** Whether a Cleaner backstop is available (Java 9+). */
  static boolean available() {
    return CLEANER != null;
  }

  /**
   * Run {@code action} once {@code owner} is unreachable; the returned Runnable runs it now
   * instead (at most once either way). {@code action} must not refer to {@code owner}.
   */
  static Runnable register(Object owner, Runnable action) {
    if (CLEANER == null) {
      return action;
    }
    final Object cleanable;
    try {
      cleanable = REGISTER.invoke(CLEANER, owner, action);
    } catch (ReflectiveOperationException e) {
      return action;
    }
    return () -> {
      try {
        CLEAN.invoke(cleanable);
      } catch (ReflectiveOperationException e) {
        action.run(); // idempotent
      }
    };
  }
}
