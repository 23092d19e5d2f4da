package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.flyte.auth.testing.Idp;
import org.flyte.auth.testing.Json;
import org.flyte.auth.testing.Jwt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link FlyteAuthConfig} (the JSON it writes, and an authenticator made from it against the IdP
 * fixture), {@link Authenticator#insecure()} and {@link AuthMetadata#expiresAt()} from the C ABI.
 */
class ConfigBuilderTest {
  @RegisterExtension static final Idp IDP = new Idp();

  @Test
  void theBuilderMakesAWorkingAuthenticator() {
    FlyteAuthConfig config =
        FlyteAuthConfig.builder()
            .endpoint(IDP.endpoint())
            .insecure(true)
            .authType(FlyteAuthConfig.AuthType.CLIENT_SECRET)
            .clientId(Idp.CLIENT_ID)
            .clientSecret(Idp.CLIENT_SECRET)
            .perRetryTimeout(Duration.ofSeconds(20))
            .maxRetries(2)
            .build();
    assertFalse(config.toString().contains(Idp.CLIENT_SECRET), config.toString());
    try (Authenticator auth = Authenticator.create(config)) {
      assertTrue(auth.insecure());
      AuthMetadata md = auth.metadata(Duration.ofSeconds(30));
      String value = md.get("flyte-authorization");
      assertTrue(value != null && value.startsWith("Bearer "), "a bearer token");
      assertFalse(md.toString().contains(value.substring(7)), "toString hides the token");
      // The expiry the library reports is the one in the JWT (which has whole seconds).
      long exp = ((Number) Jwt.claims(value).get("exp")).longValue() * 1000;
      Instant expiresAt = md.expiresAt().orElseThrow(AssertionError::new);
      long diff = expiresAt.toEpochMilli() - exp;
      assertTrue(Math.abs(diff) <= 1000, () -> "expiresAt " + expiresAt + " vs exp " + exp);
    }
  }

  @Test
  void insecureAndExpiryFromTheAbiForACommandToken() {
    try (Authenticator auth =
        Authenticator.create(
            FlyteAuthConfig.builder()
                .authType(FlyteAuthConfig.AuthType.EXTERNAL_COMMAND)
                .command("echo", "tok")
                .authorizationHeader("authorization")
                .build())) {
      assertFalse(auth.insecure());
      AuthMetadata md = auth.metadata();
      assertEquals("Bearer tok", md.get("authorization"));
      assertFalse(md.expiresAt().isPresent(), "a command token has no known expiry");
    }
  }

  @Test
  void everyKeyIsWrittenAndAcceptedByTheLibrary() throws Exception {
    FlyteAuthConfig config =
        FlyteAuthConfig.builder()
            .endpoint("dns:///flyte.example.com")
            .insecure(false)
            .insecureSkipVerify(false)
            .authType(FlyteAuthConfig.AuthType.PKCE)
            .clientId("flytepropeller")
            .clientSecretEnvVar("FLYTEAUTH_TEST_UNSET")
            .scopes("all", "offline")
            .audience("https://flyte.example.com")
            .resource("https://flyte.example.com/api")
            .useAudienceFromAdmin(true)
            .tokenUrl("https://idp.example.com/token")
            .authorizationHeader("flyte-authorization")
            .proxyCommand("echo", "proxy")
            .httpProxyUrl("http://proxy.example.com:3128")
            .pkceTimeout(Duration.ofMinutes(3))
            .pkceRefreshTime(Duration.ofMillis(1500))
            .deviceFlowTimeout(Duration.ofMinutes(10))
            .deviceFlowRefreshTime(Duration.ofSeconds(300))
            .deviceFlowPollInterval(Duration.ofSeconds(1).plusNanos(5))
            .tokenRefreshWindow(Duration.ofSeconds(30))
            .maxRetries(3)
            .perRetryTimeout(Duration.ofSeconds(15))
            .maxBackoffDelay(Duration.ofSeconds(8))
            .commandTimeout(Duration.ofSeconds(60))
            .interactive(false)
            .tokenCache(FlyteAuthConfig.TokenCache.MEMORY)
            .keyringLayouts(FlyteAuthConfig.KeyringLayout.FLYTECTL)
            .discovery(FlyteAuthConfig.Discovery.GRPC)
            .build();
    Map<String, Object> json = Json.object(config.toJson());
    Map<String, Object> pkce = new LinkedHashMap<>();
    pkce.put("timeout", "180s");
    pkce.put("refreshTime", "1500ms");
    Map<String, Object> device = new LinkedHashMap<>();
    device.put("timeout", "600s");
    device.put("refreshTime", "300s");
    device.put("pollInterval", "1s5ns");
    assertEquals(pkce, json.get("pkceConfig"));
    assertEquals(device, json.get("deviceFlowConfig"));
    assertEquals(Arrays.asList("all", "offline"), json.get("scopes"));
    assertEquals("Pkce", json.get("authType"));
    assertEquals("memory", json.get("tokenCache"));
    assertEquals(Arrays.asList("flytectl"), json.get("keyringLayouts"));
    assertEquals("grpc", json.get("discovery"));
    assertEquals("http://proxy.example.com:3128", json.get("httpProxyURL"));
    assertEquals(Boolean.FALSE, json.get("interactive"));
    assertEquals(3L, ((Number) json.get("maxRetries")).longValue());
    assertEquals(Arrays.asList("https://flyte.example.com/api"), json.get("resource"));
    assertEquals(25, json.size(), json.keySet().toString());
    // The library knows every key (an unknown one would be a ConfigException naming it).
    Authenticator.create(config).close();

    // The keys left: the other secret source, a CA file and a token command.
    Path secret = Files.createTempFile("flyteauth-secret", ".txt");
    try {
      Files.write(secret, "s3cret\n".getBytes(StandardCharsets.UTF_8));
      FlyteAuthConfig rest =
          FlyteAuthConfig.builder()
              .authType(FlyteAuthConfig.AuthType.EXTERNAL_COMMAND)
              .command("echo", "tok")
              .authorizationHeader("authorization")
              .clientSecretLocation(secret.toString())
              .caCertFilePath("/etc/ssl/certs/ca-certificates.crt")
              .build();
      Map<String, Object> restJson = Json.object(rest.toJson());
      assertEquals(Arrays.asList("echo", "tok"), restJson.get("command"));
      assertEquals(secret.toString(), restJson.get("clientSecretLocation"));
      assertEquals("/etc/ssl/certs/ca-certificates.crt", restJson.get("caCertFilePath"));
      // (clientSecretLocation needs a client-credentials setup; here only its JSON is checked.)
      FlyteAuthConfig runnable =
          FlyteAuthConfig.builder()
              .authType(FlyteAuthConfig.AuthType.EXTERNAL_COMMAND)
              .command("echo", "tok")
              .authorizationHeader("authorization")
              .caCertFilePath("/etc/ssl/certs/ca-certificates.crt")
              .build();
      try (Authenticator auth = Authenticator.create(runnable)) {
        assertEquals("Bearer tok", auth.metadata().get("authorization"));
      }
    } finally {
      Files.deleteIfExists(secret);
    }
  }

  @Test
  void stringsAreEscaped() {
    List<String> tricky =
        Arrays.asList(
            "quote \" backslash \\ slash /",
            "newline \n tab \t cr \r bell \u0007 nul-free \u001f del \u007f",
            "unicode é ü 中文 and an emoji \uD83D\uDE00",
            "");
    for (String s : tricky) {
      String json = FlyteAuthConfig.builder().clientId(s).build().toJson();
      assertEquals(s, Json.object(json).get("clientId"), json);
      for (char c : json.toCharArray()) {
        assertTrue(c >= 0x20, () -> "a raw control character in " + json);
      }
    }
    // The library reads them back the same way: a config with every tricky value is valid.
    Authenticator.create(
            FlyteAuthConfig.builder()
                .authType(FlyteAuthConfig.AuthType.EXTERNAL_COMMAND)
                .command(tricky)
                .authorizationHeader("authorization")
                .build())
        .close();
    // An unpaired surrogate has no UTF-8 form: escaped, so the library refuses it.
    String lone = FlyteAuthConfig.builder().clientId("a\uD800b").build().toJson();
    assertTrue(lone.contains("\\ud800"), lone);
    Throwable t =
        assertThrows(
            FlyteAuthException.class,
            () ->
                Authenticator.create(
                    FlyteAuthConfig.builder()
                        .authType(FlyteAuthConfig.AuthType.EXTERNAL_COMMAND)
                        .command("echo", "a\uD800b")
                        .authorizationHeader("authorization")
                        .build()));
    assertInstanceOf(ConfigException.class, t, t.toString());
  }

  @Test
  void nullsAndNegativeDurationsAreRefused() {
    FlyteAuthConfig.Builder b = FlyteAuthConfig.builder();
    assertThrows(NullPointerException.class, () -> b.endpoint(null));
    assertThrows(NullPointerException.class, () -> b.scopes((String) null));
    assertThrows(IllegalArgumentException.class, () -> b.perRetryTimeout(Duration.ofSeconds(-1)));
    assertThrows(IllegalArgumentException.class, () -> b.maxRetries(-1));
    assertThrows(NullPointerException.class, () -> Authenticator.create(null));
    assertEquals("{}", b.build().toJson());
  }
}
