/*
 * flyteauth demo (Java): create an authenticator, fetch the header metadata for a call, print it.
 *
 *   java -cp flyteauth-0.1.0.jar examples/Demo.java              config from the environment, as
 *        scripts/with-idp sets it up: FLYTEAUTH_IDP_ENDPOINT, FLYTEAUTH_IDP_CLIENT_ID and
 *        FLYTEAUTH_IDP_CLIENT_SECRET (client credentials, insecure)
 *   java -cp flyteauth-0.1.0.jar examples/Demo.java config.yaml  Flyte's config file (and the
 *        FLYTE_* environment overrides)
 *
 * (A single-file program: Java 11+ runs the source directly. bindings/java/demo.sh does it.)
 * Header values are credentials: the demo prints only their first characters.
 */
import java.nio.file.Paths;
import java.util.Map;
import org.flyte.auth.Authenticator;
import org.flyte.auth.FlyteAuthException;

public class Demo {
  public static void main(String[] args) {
    Authenticator auth;
    try {
      if (args.length > 0) {
        auth = Authenticator.fromFlyteConfig(Paths.get(args[0]));
      } else {
        String endpoint = System.getenv("FLYTEAUTH_IDP_ENDPOINT");
        String id = System.getenv("FLYTEAUTH_IDP_CLIENT_ID");
        String secret = System.getenv("FLYTEAUTH_IDP_CLIENT_SECRET");
        if (endpoint == null || id == null || secret == null) {
          System.err.println("usage: Demo [config.yaml]  (or run it through scripts/with-idp)");
          System.exit(2);
          return;
        }
        auth =
            Authenticator.fromJson(
                "{\"endpoint\": \"" + endpoint + "\", \"insecure\": true, \"authType\": \"ClientSecret\","
                    + " \"clientId\": \"" + id + "\", \"clientSecret\": \"" + secret + "\"}");
      }
    } catch (FlyteAuthException e) {
      fail("creating the authenticator", e);
      return;
    }
    try (Authenticator a = auth) {
      Map<String, String> headers = a.metadata();
      System.out.printf(
          "flyteauth %s (Java, %s): header metadata for a call%n",
          Authenticator.version(), Authenticator.backend());
      for (Map.Entry<String, String> h : headers.entrySet()) {
        String v = h.getValue();
        System.out.printf(
            "  %s: %s... (%d chars)%n", h.getKey(), v.substring(0, Math.min(20, v.length())), v.length());
      }
    } catch (FlyteAuthException e) {
      fail("fetching the header metadata", e);
    }
  }

  private static void fail(String what, FlyteAuthException e) {
    System.err.println(what + " failed: " + e.getMessage());
    if (e.oauthError() != null) {
      System.err.printf("  OAuth error: %s (HTTP %d)%n", e.oauthError(), e.httpStatus());
    }
    System.exit(1);
  }
}
