package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Blocking calls made by virtual threads do not pin their carrier ({@link OffCarrier}): {@link
 * CarrierProbe} in a fresh JVM with a single carrier thread, with each back end. Java 21+ (the
 * JNI run on Java 17 skips it; the FFM run on Java 25 runs both back ends).
 */
@EnabledForJreRange(min = JRE.JAVA_21)
class CarrierTest {
  @ParameterizedTest
  @ValueSource(strings = {"ffm", "jni"})
  void aVirtualThreadRunsWhileOthersWaitForAHangingIdp(String backend) throws Exception {
    if (backend.equals("ffm") && Runtime.version().feature() < 22) {
      return;
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java");
    cmd.add("-Djdk.virtualThreadScheduler.parallelism=1");
    cmd.add("-Djdk.virtualThreadScheduler.maxPoolSize=1");
    cmd.add("-Dflyteauth.backend=" + backend);
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.add("-Dflyteauth.log=native");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(CarrierProbe.class.getName());
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    boolean done = p.waitFor(90, TimeUnit.SECONDS);
    if (!done) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(done, "the probe hung: " + out);
    assertEquals(0, p.exitValue(), out);
    assertTrue(out.contains("OK " + backend), out);
  }
}
