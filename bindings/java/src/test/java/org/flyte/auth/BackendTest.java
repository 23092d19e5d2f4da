package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Which back end runs, and that it talks to the library this checkout builds. */
class BackendTest {
  @Test
  void theRequestedBackendIsTheOneInUse() {
    String wanted = System.getProperty("flyteauth.backend");
    if (wanted != null && !wanted.isEmpty()) {
      assertEquals(wanted, Authenticator.backend());
    } else {
      String expected = Runtime.version().feature() >= 22 ? "ffm" : "jni";
      assertEquals(expected, Authenticator.backend());
    }
  }

  @Test
  void versionIsTheCrateVersion() throws Exception {
    String cargo = new String(Files.readAllBytes(Paths.get("../../Cargo.toml")));
    Matcher m = Pattern.compile("(?m)^version = \"([^\"]+)\"").matcher(cargo);
    assertTrue(m.find());
    assertEquals(m.group(1), Authenticator.version());
  }

  @Test
  void everyStatusMapsToItsException() {
    Class<?>[] expected = {
      null,
      InvalidArgumentException.class,
      ConfigException.class,
      DiscoveryException.class,
      AuthenticationException.class,
      NetworkException.class,
      TimeoutException.class,
      CommandException.class,
      CancelledException.class,
      InternalException.class,
      ProtocolException.class,
      UnsupportedException.class,
      LoginRequiredException.class,
    };
    for (int code = 1; code < expected.length; code++) {
      FlyteAuthException e = FlyteAuthException.fromNative(code, "m", 0, null, null);
      assertEquals(expected[code], e.getClass());
      assertEquals(code, e.code().value());
      assertEquals(code, e.statusCode());
    }
    FlyteAuthException future = FlyteAuthException.fromNative(99, "m", 0, null, null);
    assertEquals(FlyteAuthException.class, future.getClass());
    assertEquals(ErrorCode.UNKNOWN, future.code());
    assertEquals(99, future.statusCode());
  }

  @Test
  void classifierNamesThisPlatform() {
    String c = NativeLibrary.classifier();
    assertTrue(c.equals("linux-x86_64") || c.equals("linux-aarch64"), c);
  }
}
