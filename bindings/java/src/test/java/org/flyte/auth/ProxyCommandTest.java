package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.flyte.auth.testing.Idp;
import org.flyte.auth.testing.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** proxyCommand: its token goes on every request to the IdP and into the metadata. */
class ProxyCommandTest {
  @RegisterExtension
  static final Idp IDP = new Idp().with("IDP_REQUIRE_PROXY_AUTH", "Bearer x");

  private static String config(boolean withProxy) {
    String base = IDP.clientSecretConfig();
    return withProxy ? base.replace("}", ",\"proxyCommand\":[\"echo\",\"x\"]}") : base;
  }

  @Test
  void proxyAuthorizationIsSentToTheIdpAndReturnedInTheMetadata() throws Exception {
    IDP.reset();
    try (Authenticator auth = Authenticator.fromJson(config(true))) {
      Map<String, String> md = auth.metadata();
      assertEquals("Bearer x", md.get("proxy-authorization"));
      assertTrue(md.get("flyte-authorization").startsWith("Bearer "));
      assertEquals(2, md.size());
    }
    Map<String, Object> stats = IDP.stats();
    assertEquals(0, Json.number(stats, "proxy_auth_rejections"));
    assertEquals(Json.number(stats, "requests"), Json.number(stats, "proxy_authorization", "Bearer x"));
    assertEquals(1, Json.number(stats, "token_by_grant", "client_credentials"));
  }

  @Test
  void withoutTheProxyTokenTheServerAnswers407() {
    try (Authenticator auth = Authenticator.fromJson(config(false))) {
      FlyteAuthException e = assertThrows(FlyteAuthException.class, auth::metadata);
      assertEquals(407, e.httpStatus(), e.getMessage());
    }
  }
}
