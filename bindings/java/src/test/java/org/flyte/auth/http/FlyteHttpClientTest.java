package org.flyte.auth.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.sun.net.httpserver.HttpServer;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProxySelector;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.flyte.auth.Authenticator;
import org.flyte.auth.testing.Idp;
import org.flyte.auth.testing.Secrets;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** FlyteHttpClient against a local HTTP server that answers 401 for revoked tokens. */
class FlyteHttpClientTest {
  @RegisterExtension static final Idp IDP = new Idp();

  private static final Set<String> revoked = ConcurrentHashMap.newKeySet();
  private static final List<String> attempts = new CopyOnWriteArrayList<>();
  private static final List<String> proxyHeaders = new CopyOnWriteArrayList<>();
  private static volatile boolean rejectAll;
  private static HttpServer server;

  private Authenticator auth;
  private FlyteHttpClient http;

  @BeforeAll
  static void startServer() throws Exception {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/api/v1/projects",
        exchange -> {
          String value = exchange.getRequestHeaders().getFirst("flyte-authorization");
          attempts.add(String.valueOf(value));
          proxyHeaders.add(String.valueOf(exchange.getRequestHeaders().getFirst("proxy-authorization")));
          String custom = exchange.getRequestHeaders().getFirst("x-custom");
          boolean ok =
              value != null && value.startsWith("Bearer ") && !revoked.contains(value) && !rejectAll;
          byte[] body = (ok ? "projects for " + custom : "unauthorized").getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(ok ? 200 : 401, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
  }

  @AfterAll
  static void stopServer() {
    server.stop(0);
  }

  @BeforeEach
  void setUp() throws Exception {
    revoked.clear();
    rejectAll = false;
    attempts.clear();
    proxyHeaders.clear();
    IDP.reset();
    auth = Authenticator.fromJson(IDP.clientSecretConfig());
    http = new FlyteHttpClient(HttpClient.newHttpClient(), auth);
  }

  @AfterEach
  void tearDown() {
    auth.close();
  }

  private HttpRequest request() {
    return HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/api/v1/projects"))
        .header("x-custom", "me")
        .build();
  }

  @Test
  void addsTheHeadersAndRetriesOnceAfter401() throws Exception {
    HttpResponse<String> r = http.send(request(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertEquals("projects for me", r.body(), "the request's own headers are kept");
    String first = attempts.get(0);

    revoked.add(first);
    attempts.clear();
    r = http.send(request(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertEquals(2, attempts.size());
    Secrets.assertDifferent(first, attempts.get(1), "retry");
    assertEquals(2, IDP.clientCredentialsGrants());
  }

  @Test
  void asyncRetriesToo() throws Exception {
    http.send(request(), HttpResponse.BodyHandlers.discarding());
    revoked.add(attempts.get(0));
    attempts.clear();
    HttpResponse<String> r =
        http.sendAsync(request(), HttpResponse.BodyHandlers.ofString()).get(60, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode());
    assertEquals(2, attempts.size());
  }

  @Test
  void aServerThatKeepsRejectingGetsExactlyOneRetry() throws Exception {
    rejectAll = true;
    HttpResponse<String> r = http.send(request(), HttpResponse.BodyHandlers.ofString());
    assertEquals(401, r.statusCode());
    assertEquals(2, attempts.size());
  }

  @Test
  void proxyAuthorizationIsSetAndReachesAnHttpProxy() throws Exception {
    String config = IDP.clientSecretConfig().replace("}", ",\"proxyCommand\":[\"echo\",\"px\"]}");
    try (Authenticator withProxy = Authenticator.fromJson(config)) {
      HttpRequest authorized = FlyteHttpClient.authorize(request(), withProxy.metadata());
      assertEquals("Bearer px", authorized.headers().firstValue("proxy-authorization").orElse(null));
      assertEquals("me", authorized.headers().firstValue("x-custom").orElse(null));

      // java.net.http sends Proxy-* headers only to an HTTP proxy (it drops them on direct
      // connections): let the test server be that proxy for a plain-http URL.
      HttpClient viaProxy =
          HttpClient.newBuilder().proxy(ProxySelector.of(server.getAddress())).build();
      FlyteHttpClient client = new FlyteHttpClient(viaProxy, withProxy);
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("http://flyte.invalid/api/v1/projects"))
              .header("x-custom", "proxied")
              .build();
      HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
      assertEquals("projects for proxied", r.body());
      assertEquals("Bearer px", proxyHeaders.get(0));
    }
  }
}
