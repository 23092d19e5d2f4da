package org.flyte.auth;

import java.time.Instant;
import java.util.AbstractMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The headers for one call, as returned by {@link Authenticator#metadata()}: an unmodifiable map
 * from lowercase header name to value (the auth header first, then {@code proxy-authorization}
 * when a proxy command is configured), plus when its token expires.
 *
 * <p>The values are credentials: {@link #toString()} shows the header names only.
 */
public final class AuthMetadata extends AbstractMap<String, String> {
  private final Map<String, String> headers;
  private final long expiresAtMillis;

  AuthMetadata(String[] pairs, long expiresAtMillis) {
    Map<String, String> map = new LinkedHashMap<>(Math.max(2, pairs.length));
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      map.put(pairs[i], pairs[i + 1]);
    }
    this.headers = Collections.unmodifiableMap(map);
    this.expiresAtMillis = expiresAtMillis;
  }

  /**
   * When the token in these headers expires ({@code flyteauth_metadata_expires_at_ms}): from the
   * token response's {@code expires_in}, or the JWT's {@code exp} for a cached token. Empty when
   * unknown: an opaque token without {@code expires_in}, or a token from an external command. The
   * library renews tokens before this instant; it is informational (e.g. for a cache of your own).
   *
   * @return the expiry, or empty
   */
  public Optional<Instant> expiresAt() {
    return expiresAtMillis == 0
        ? Optional.<Instant>empty()
        : Optional.of(Instant.ofEpochMilli(expiresAtMillis));
  }

  @Override
  public Set<Entry<String, String>> entrySet() {
    return headers.entrySet();
  }

  @Override
  public String get(Object key) {
    return headers.get(key);
  }

  @Override
  public boolean containsKey(Object key) {
    return headers.containsKey(key);
  }

  @Override
  public int size() {
    return headers.size();
  }

  /** The header names and the expiry; never a value. */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("AuthMetadata{");
    String sep = "";
    for (String k : headers.keySet()) {
      b.append(sep).append(k).append("=<redacted>");
      sep = ", ";
    }
    if (expiresAtMillis != 0) {
      b.append(sep).append("expiresAt=").append(Instant.ofEpochMilli(expiresAtMillis));
    }
    return b.append('}').toString();
  }
}
