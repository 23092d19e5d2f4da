package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.flyte.auth.testing.Idp;
import org.flyte.auth.testing.Secrets;
import org.flyte.auth.testing.Json;
import org.flyte.auth.testing.Jwt;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Client credentials against the real IdP, found through Flyte's discovery routes. */
class ClientCredentialsTest {
  @RegisterExtension static final Idp IDP = new Idp();

  @BeforeEach
  void reset() throws Exception {
    IDP.reset();
  }

  @Test
  void discoveryGivesAJwtForTheFlyteAudienceUnderFlytesHeaderKey() throws Exception {
    try (Authenticator auth = Authenticator.fromJson(IDP.clientSecretConfig())) {
      Map<String, String> md = auth.metadata();
      assertEquals(1, md.size(), "only the auth header: " + md.keySet());
      String value = md.get("flyte-authorization");
      assertNotNull(value, "authorization_metadata_key from /config/v1/flyte_client");
      assertTrue(value.startsWith("Bearer "));
      Map<String, Object> claims = Jwt.claims(value);
      assertEquals("https://flyte.test/api", claims.get("aud"));
      assertEquals(Idp.CLIENT_ID, claims.get("client_id"));
      assertEquals(1, IDP.clientCredentialsGrants());
      assertTrue(IDP.stats().containsKey("client_config_requests"));
    }
  }

  @Test
  void aValidTokenIsServedFromTheSameSnapshotWithoutTheIdp() throws Exception {
    try (Authenticator auth = Authenticator.fromJson(IDP.clientSecretConfig())) {
      Map<String, String> first = auth.metadata();
      for (int i = 0; i < 1000; i++) {
        assertSame(first, auth.metadata());
      }
      assertSame(first, auth.tryMetadata());
      assertThrows(UnsupportedOperationException.class, () -> first.put("x", "y"));
      assertEquals(1, IDP.clientCredentialsGrants());
    }
  }

  @Test
  void wrongSecretIsAnAuthenticationErrorWithTheOauthDetails() throws Exception {
    String secret = "wrong-secret-0123456789";
    try (Authenticator auth = Authenticator.fromJson(IDP.clientSecretConfig(secret))) {
      AuthenticationException e = assertThrows(AuthenticationException.class, auth::metadata);
      assertEquals(ErrorCode.AUTHENTICATION, e.code());
      assertEquals("invalid_client", e.oauthError());
      assertEquals(401, e.httpStatus());
      assertFalse(e.isRetryable());
      assertFalse(e.getMessage().contains(secret), "the secret must not be in the message");
      assertFalse(String.valueOf(e.oauthErrorDescription()).contains(secret));
      assertFalse(e.toString().contains(secret));
      assertTrue(e.getMessage().contains(Idp.CLIENT_ID), e.getMessage());
    }
  }

  @Test
  void refreshGetsANewTokenAndInvalidateOnlyRefreshesTheCurrentOne() throws Exception {
    try (Authenticator auth = Authenticator.fromJson(IDP.clientSecretConfig())) {
      String first = auth.metadata().get("flyte-authorization");
      auth.refresh();
      String second = auth.metadata().get("flyte-authorization");
      Secrets.assertDifferent(first, second, "after refresh");
      assertEquals(2, IDP.clientCredentialsGrants());

      auth.invalidate(first); // stale: someone already refreshed
      Secrets.assertSame(second, auth.metadata().get("flyte-authorization"), "after a stale invalidate");
      assertEquals(2, IDP.clientCredentialsGrants());

      auth.invalidate(second); // current: refresh once
      String third = auth.metadata().get("flyte-authorization");
      Secrets.assertDifferent(second, third, "after invalidating the current token");
      assertEquals(3, IDP.clientCredentialsGrants());

      auth.logout(); // forgets the token: nothing current, the next call gets a new one
      assertNull(auth.tryMetadata());
      Secrets.assertDifferent(third, auth.metadata().get("flyte-authorization"), "after logout");
      assertEquals(4, IDP.clientCredentialsGrants());
    }
  }

  @Test
  void aNonInteractiveAuthenticatorReportsThatALoginIsNeeded() throws Exception {
    String config =
        "{\"endpoint\":\""
            + IDP.endpoint()
            + "\",\"insecure\":true,\"authType\":\"DeviceFlow\",\"tokenCache\":\"memory\"}";
    try (Authenticator auth = Authenticator.fromJson(config)) {
      auth.setInteractive(false);
      LoginRequiredException e = assertThrows(LoginRequiredException.class, auth::metadata);
      assertEquals(ErrorCode.LOGIN_REQUIRED, e.code());
      assertEquals(0, Json.number(IDP.stats(), "device_auth_requests"), "no login was started");
    }
  }

  @Test
  void flyteConfigFileWithSecretFile(@TempDir Path dir) throws Exception {
    Path secret = dir.resolve("client_secret");
    Files.write(secret, (Idp.CLIENT_SECRET + "\n").getBytes(StandardCharsets.UTF_8));
    Path config = dir.resolve("config.yaml");
    String yaml =
        "admin:\n"
            + "  endpoint: dns:///"
            + IDP.endpoint()
            + "\n"
            + "  insecure: true\n"
            + "  authType: ClientSecret\n"
            + "  clientId: "
            + Idp.CLIENT_ID
            + "\n"
            + "  clientSecretLocation: "
            + secret
            + "\n";
    Files.write(config, yaml.getBytes(StandardCharsets.UTF_8));
    try (Authenticator auth = Authenticator.fromFlyteConfig(config)) {
      assertTrue(auth.metadata().get("flyte-authorization").startsWith("Bearer "));
    }
  }

  @Test
  void missingFlyteConfigFileIsAConfigError(@TempDir Path dir) {
    Path missing = dir.resolve("nope.yaml");
    ConfigException e =
        assertThrows(ConfigException.class, () -> Authenticator.fromFlyteConfig(missing));
    assertTrue(e.getMessage().contains("nope.yaml"), e.getMessage());
  }
}
