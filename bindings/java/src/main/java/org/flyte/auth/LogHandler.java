package org.flyte.auth;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The native library's log records, in Java's logging: what the back ends hand to {@code
 * flyteauth_set_log_callback} (JNI: a global reference to this object; FFM: a static field). The
 * library calls {@link #log} on the thread that made the record, and {@link #released} once when
 * it will not call {@link #log} again.
 *
 * <p>Records go to the logger {@code org.flyte.auth}: a {@code System.Logger} on Java 11 and
 * later (so they reach whatever the application routes System.Logger to: java.util.logging by
 * default, SLF4J or Log4j through their bridges), a java.util.logging {@code Logger} on Java 8-10.
 * Levels map ERROR, WARN, INFO, DEBUG, TRACE to ERROR, WARNING, INFO, DEBUG, TRACE (SEVERE,
 * WARNING, INFO, FINE, FINEST in java.util.logging). While the binding is loaded, the library
 * writes nothing to stderr itself: its keyring warning and login prompts without a prompt
 * callback are WARNING records, which java.util.logging's default console handler prints to
 * stderr. {@code -Dflyteauth.log=native} keeps the library's own stderr output instead.
 *
 * <p>Neither method ever throws: an exception must not reach native code.
 */
final class LogHandler {
  /** The system property that keeps the library's own stderr output: "native". */
  static final String PROPERTY = "flyteauth.log";

  /** The logger's name. */
  static final String LOGGER = "org.flyte.auth";

  /** Where records go: one implementation per Java version. */
  interface Sink {
    /** Log {@code message} at {@code level} (a {@code flyteauth_log_level}, 1-5). */
    void log(int level, String target, String message);
  }

  private final Sink sink;
  private volatile boolean released;

  LogHandler(Sink sink) {
    this.sink = sink;
  }

  /** A record from the library. Never throws. */
  void log(int level, String target, String message) {
    try {
      if (message != null) {
        sink.log(level, target == null ? "flyteauth" : target, message);
      }
    } catch (Throwable t) {
      // A broken logging configuration must not break the library's thread; nothing to report to.
    }
  }

  /** The library will not call {@link #log} any more. */
  void released() {
    released = true;
  }

  /** For tests: whether {@link #released()} was called. */
  boolean isReleased() {
    return released;
  }

  /** The sink for this JVM: System.Logger when its class loads (Java 11+), else java.util.logging. */
  static Sink defaultSink() {
    try {
      return (Sink)
          Class.forName("org.flyte.auth.SystemLoggerSink").getDeclaredConstructor().newInstance();
    } catch (ReflectiveOperationException | LinkageError e) {
      return new JulSink();
    }
  }

  /** java.util.logging, for Java 8-10. */
  static final class JulSink implements Sink {
    private final Logger logger = Logger.getLogger(LOGGER);

    @Override
    public void log(int level, String target, String message) {
      Level l;
      switch (level) {
        case 1:
          l = Level.SEVERE;
          break;
        case 2:
          l = Level.WARNING;
          break;
        case 3:
          l = Level.INFO;
          break;
        case 4:
          l = Level.FINE;
          break;
        default:
          l = Level.FINEST;
      }
      if (logger.isLoggable(l)) {
        logger.logp(l, target, null, message);
      }
    }
  }

  /**
   * Route the library's records to Java's logging, once per JVM, unless {@code
   * -Dflyteauth.log=native}; a shutdown hook removes the callback again, so that no library
   * thread calls into a JVM that is exiting.
   */
  static void install(NativeApi api) {
    if ("native".equalsIgnoreCase(System.getProperty(PROPERTY, "").trim())) {
      return;
    }
    LogHandler handler = new LogHandler(defaultSink());
    api.setLogCallback(handler);
    try {
      Runtime.getRuntime().addShutdownHook(new Thread(() -> api.setLogCallback(null), "flyteauth-log-off"));
    } catch (IllegalStateException | SecurityException e) {
      // Already shutting down, or not allowed: the callback stays, which the back ends tolerate.
    }
  }
}
