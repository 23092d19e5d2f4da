package org.flyte.auth.testing;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The identity provider fixture ({@code tests/fixtures/idp}, node-oidc-provider), one process
 * per test class: {@code @RegisterExtension static final Idp idp = new Idp();}.
 *
 * <p>Started with {@code IDP_PORT=0} and {@code IDP_EXIT_WITH_STDIN=1} (its stdin is a pipe, so
 * it exits with the test JVM even if that is killed); ready when it prints its JSON line.
 */
public final class Idp implements BeforeAllCallback, AfterAllCallback {
  /** The confidential test client. */
  public static final String CLIENT_ID = "test-confidential";
  /** Its secret. */
  public static final String CLIENT_SECRET = "test-secret";

  private static final Object NPM_LOCK = new Object();

  private final Map<String, String> env = new LinkedHashMap<>();
  private Process process;
  private int port;
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** A fixture with the default settings. */
  public Idp() {}

  /** A fixture with one more environment variable (e.g. IDP_ACCESS_TOKEN_TTL=12). */
  public Idp with(String name, String value) {
    env.put(name, value);
    return this;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    stop();
  }

  /** The fixture's directory (system property flyteauth.idp.dir, set by the pom). */
  public static File dir() {
    String d = System.getProperty("flyteauth.idp.dir", "../../tests/fixtures/idp");
    return new File(d).getAbsoluteFile();
  }

  private void start() throws Exception {
    File dir = dir();
    ensureInstalled(dir);
    ProcessBuilder pb = new ProcessBuilder("node", "server.js").directory(dir);
    pb.environment().put("IDP_PORT", "0");
    pb.environment().put("IDP_EXIT_WITH_STDIN", "1");
    pb.environment().putAll(env);
    pb.redirectError(ProcessBuilder.Redirect.INHERIT);
    process = pb.start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> ready = CompletableFuture.supplyAsync(() -> readLine(out));
    String line = ready.get(30, TimeUnit.SECONDS);
    if (line == null) {
      throw new IllegalStateException("the IdP fixture exited before its ready line");
    }
    Map<String, Object> info = Json.object(line);
    if (!Boolean.TRUE.equals(info.get("ready"))) {
      throw new IllegalStateException("unexpected first line from the IdP fixture: " + line);
    }
    port = (int) Json.number(info, "port");
    // Keep draining stdout so the fixture never blocks on a full pipe.
    Thread drain =
        new Thread(
            () -> {
              while (readLine(out) != null) {
                // discard
              }
            },
            "idp-stdout");
    drain.setDaemon(true);
    drain.start();
  }

  private static String readLine(BufferedReader r) {
    try {
      return r.readLine();
    } catch (IOException e) {
      return null;
    }
  }

  private static void ensureInstalled(File dir) throws Exception {
    synchronized (NPM_LOCK) {
      if (new File(dir, "node_modules").isDirectory()) {
        return;
      }
      Process npm =
          new ProcessBuilder("npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
              .directory(dir)
              .inheritIO()
              .start();
      if (!npm.waitFor(300, TimeUnit.SECONDS) || npm.exitValue() != 0) {
        throw new IllegalStateException("npm ci failed in " + dir);
      }
    }
  }

  private void stop() {
    if (process == null) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    process = null;
  }

  /** The port. */
  public int port() {
    return port;
  }

  /** The Flyte "endpoint" (host:port, used with "insecure": true). */
  public String endpoint() {
    return "127.0.0.1:" + port;
  }

  /** The base URL, e.g. http://127.0.0.1:PORT. */
  public String url() {
    return "http://127.0.0.1:" + port;
  }

  /** Client-credentials configuration JSON for this fixture. */
  public String clientSecretConfig(String secret) {
    return "{\"endpoint\":\""
        + endpoint()
        + "\",\"insecure\":true,\"authType\":\"ClientSecret\",\"clientId\":\""
        + CLIENT_ID
        + "\",\"clientSecret\":\""
        + secret
        + "\"}";
  }

  /** Client-credentials configuration JSON with the right secret. */
  public String clientSecretConfig() {
    return clientSecretConfig(CLIENT_SECRET);
  }

  /** GET /_test/stats. */
  public Map<String, Object> stats() throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url() + "/_test/stats")).build(),
            HttpResponse.BodyHandlers.ofString());
    return Json.object(r.body());
  }

  /** token_by_grant.client_credentials from /_test/stats. */
  public long clientCredentialsGrants() throws IOException, InterruptedException {
    return Json.number(stats(), "token_by_grant", "client_credentials");
  }

  /** POST /_test/reset. */
  public void reset() throws IOException, InterruptedException {
    http.send(
        HttpRequest.newBuilder(URI.create(url() + "/_test/reset"))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.discarding());
  }
}
