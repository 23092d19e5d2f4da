package org.flyte.auth;

/**
 * The native library's records in {@link System.Logger} {@code org.flyte.auth} (Java 11+; see
 * {@link LogHandler}). Loaded reflectively, so the Java 8 classes never refer to it.
 */
final class SystemLoggerSink implements LogHandler.Sink {
  private final System.Logger logger = System.getLogger(LogHandler.LOGGER);

  @Override
  public void log(int level, String target, String message) {
    System.Logger.Level l;
    switch (level) {
      case 1:
        l = System.Logger.Level.ERROR;
        break;
      case 2:
        l = System.Logger.Level.WARNING;
        break;
      case 3:
        l = System.Logger.Level.INFO;
        break;
      case 4:
        l = System.Logger.Level.DEBUG;
        break;
      default:
        l = System.Logger.Level.TRACE;
    }
    if (logger.isLoggable(l)) {
      logger.log(l, "{0}: {1}", target, message);
    }
  }
}
