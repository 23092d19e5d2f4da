package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.text.MessageFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * The native library's records reach Java's logging (System.Logger, whose default back end is
 * java.util.logging): the skip-verify warning as a WARNING of logger org.flyte.auth, with the
 * library module that made it.
 */
class LoggingTest {
  @Test
  void nativeRecordsReachTheOrgFlyteAuthLogger() {
    Logger logger = Logger.getLogger(LogHandler.LOGGER);
    List<String> seen = new CopyOnWriteArrayList<>();
    Handler handler =
        new Handler() {
          @Override
          public void publish(LogRecord r) {
            String text =
                r.getParameters() == null ? r.getMessage() : MessageFormat.format(r.getMessage(), r.getParameters());
            seen.add(r.getLevel() + " " + text);
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    logger.addHandler(handler);
    try {
      Authenticator.backend(); // loads the back end, which installs the log callback
      Authenticator.fromJson(
              "{\"endpoint\": \"dns:///flyte.invalid\", \"authType\": \"ClientSecret\", \"clientId\": \"a\","
                  + " \"clientSecret\": \"b\", \"insecureSkipVerify\": true}")
          .close();
    } finally {
      logger.removeHandler(handler);
    }
    assertTrue(
        seen.stream()
            .anyMatch(
                s ->
                    s.startsWith(Level.WARNING + " flyteauth::http: ")
                        && s.contains("insecureSkipVerify is on")),
        () -> "records seen: " + seen);
  }
}
