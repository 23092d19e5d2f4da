package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Configuration errors and the external command flow: no IdP needed. */
class ConfigTest {
  private static final String ECHO =
      "{\"authType\":\"ExternalCommand\",\"command\":[\"echo\",\"tok\"],"
          + "\"authorizationHeader\":\"authorization\"}";

  @Test
  void externalCommandTokenUnderTheConfiguredHeader() {
    try (Authenticator auth = Authenticator.fromJson(ECHO)) {
      Map<String, String> md = auth.metadata();
      assertEquals(1, md.size());
      assertEquals("Bearer tok", md.get("authorization"));
    }
  }

  @Test
  void failingCommandIsACommandError() {
    String config =
        "{\"authType\":\"ExternalCommand\",\"authorizationHeader\":\"authorization\","
            + "\"command\":[\"sh\",\"-c\",\"echo boom >&2; exit 3\"]}";
    try (Authenticator auth = Authenticator.fromJson(config)) {
      CommandException e = assertThrows(CommandException.class, auth::metadata);
      assertEquals(ErrorCode.COMMAND, e.code());
      assertTrue(e.getMessage().contains("boom"), e.getMessage());
      assertEquals(0, e.httpStatus());
    }
  }

  @Test
  void unknownKeyIsNamed() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> Authenticator.fromJson("{\"authType\":\"ClientSecret\",\"clientIdd\":\"x\"}"));
    assertEquals(ErrorCode.CONFIG, e.code());
    assertTrue(e.getMessage().contains("clientIdd"), e.getMessage());
  }

  @Test
  void wrongTypeIsNamedAndTheSecretIsNotEchoed() {
    String secret = "s3cr3t-do-not-print";
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                Authenticator.fromJson(
                    "{\"authType\":\"ClientSecret\",\"clientId\":\"x\",\"clientSecret\":\""
                        + secret
                        + "\",\"insecure\":\"yes\"}"));
    assertTrue(e.getMessage().contains("insecure"), e.getMessage());
    assertFalse(e.getMessage().contains(secret));
  }

  @Test
  void missingRequiredValueIsNamed() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () -> Authenticator.fromJson("{\"authType\":\"ClientSecret\",\"clientSecret\":\"x\"}"));
    assertTrue(e.getMessage().contains("clientId"), e.getMessage());
  }

  @Test
  void notJsonIsAConfigError() {
    assertThrows(ConfigException.class, () -> Authenticator.fromJson("admin: {}"));
  }

  @Test
  void nulAndNullArguments() {
    InvalidArgumentException e =
        assertThrows(InvalidArgumentException.class, () -> Authenticator.fromJson("{}\0{}"));
    assertTrue(e.getMessage().contains("configJson"), e.getMessage());
    assertThrows(NullPointerException.class, () -> Authenticator.fromJson(null));
    try (Authenticator auth = Authenticator.fromJson(ECHO)) {
      assertThrows(NullPointerException.class, () -> auth.invalidate(null));
      assertThrows(InvalidArgumentException.class, () -> auth.invalidate("Bearer \0"));
    }
  }

  @Test
  void nonAsciiTextRoundTripsInBothDirections() {
    // In: a command argument outside ASCII (and outside the BMP) reaches the command intact.
    String word = "t\u00f6k\uD83D\uDD11";
    String config =
        "{\"authType\":\"ExternalCommand\",\"authorizationHeader\":\"authorization\","
            + "\"command\":[\"sh\",\"-c\","
            + "\"[ \\\"$1\\\" = '" + word + "' ] && echo ok || echo bad\",\"sh\",\"" + word + "\"]}";
    try (Authenticator auth = Authenticator.fromJson(config)) {
      assertEquals("Bearer ok", auth.metadata().get("authorization"));
    }
    // Out: the command's stderr, quoted in the error message, decodes from UTF-8.
    String failing =
        "{\"authType\":\"ExternalCommand\",\"authorizationHeader\":\"authorization\","
            + "\"command\":[\"sh\",\"-c\",\"echo '" + word + "' >&2; exit 1\"]}";
    try (Authenticator auth = Authenticator.fromJson(failing)) {
      CommandException e = assertThrows(CommandException.class, auth::metadata);
      assertTrue(e.getMessage().contains(word), e.getMessage());
    }
  }
}
