package org.flyte.auth.bench;

import java.util.Map;
import org.flyte.auth.Authenticator;
import org.flyte.auth.FlyteAuthException;

/**
 * A fresh JVM to its first header, for the first-header benchmark (benches/README.md): create a
 * client-credentials authenticator against the local IdP from {@code FLYTEAUTH_IDP_*} (as set
 * by scripts/with-idp; the same configuration as benches/c/first_header.c), fetch the metadata
 * once, close, exit 0. Prints nothing on success (never a header value).
 *
 * <p>{@code first-header-cmd.sh ffm|jni} builds it and prints the command line that runs it.
 */
public final class FirstHeader {
  private FirstHeader() {}

  public static void main(String[] args) {
    String endpoint = System.getenv("FLYTEAUTH_IDP_ENDPOINT");
    String clientId = System.getenv("FLYTEAUTH_IDP_CLIENT_ID");
    String secret = System.getenv("FLYTEAUTH_IDP_CLIENT_SECRET");
    if (endpoint == null || clientId == null || secret == null) {
      System.err.println("FirstHeader: FLYTEAUTH_IDP_* are not set (run it through scripts/with-idp)");
      System.exit(2);
    }
    String config =
        "{\"endpoint\":"
            + quote(endpoint)
            + ",\"insecure\":true,\"authType\":\"ClientSecret\",\"clientId\":"
            + quote(clientId)
            + ",\"clientSecret\":"
            + quote(secret)
            + "}";
    // FLYTEAUTH_BENCH_CONFIG: the whole configuration, when the benchmark driver sets it
    // (e.g. with tokenUrl and scopes, so there is no discovery, like the Go admin client's).
    String given = System.getenv("FLYTEAUTH_BENCH_CONFIG");
    if (given != null && !given.isEmpty()) {
      config = given;
    }
    int status;
    try (Authenticator auth = Authenticator.fromJson(config)) {
      Map<String, String> headers = auth.metadata();
      status = headers.isEmpty() ? 1 : 0;
      if (status != 0) {
        System.err.println("FirstHeader: no header metadata");
      }
    } catch (FlyteAuthException e) {
      // The library's messages never contain a secret or a token.
      System.err.println("FirstHeader: " + e.getMessage());
      status = 1;
    }
    if (status != 0) {
      System.exit(status);
    }
  }

  /** A JSON string literal (the values come from the environment). */
  private static String quote(String s) {
    StringBuilder b = new StringBuilder(s.length() + 2).append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append('"').toString();
  }
}
