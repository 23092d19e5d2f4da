package org.flyte.auth.testing;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/** Reads the claims of a JWT access token (no signature check: the IdP is local). */
public final class Jwt {
  private Jwt() {}

  /** The claims of the token in a "Bearer <jwt>" header value. */
  public static Map<String, Object> claims(String bearerValue) {
    String token = bearerValue.startsWith("Bearer ") ? bearerValue.substring(7) : bearerValue;
    String[] parts = token.split("\\.");
    if (parts.length != 3) {
      throw new IllegalArgumentException("not a JWT (" + parts.length + " parts)");
    }
    byte[] payload = Base64.getUrlDecoder().decode(parts[1]);
    return Json.object(new String(payload, StandardCharsets.UTF_8));
  }
}
