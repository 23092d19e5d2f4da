package org.flyte.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.ref.WeakReference;
import java.net.CookieManager;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.flyte.auth.testing.Idp;
import org.flyte.auth.testing.Json;
import org.flyte.auth.testing.Jwt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Login prompts: the device flow through the IdP fixture with the prompt delivered to a Java
 * callback on a library thread and approved by a scripted browser; the callback's release when it
 * is replaced, removed or its authenticator closed; non-interactive mode.
 */
class PromptCallbackTest {
  @RegisterExtension static final Idp IDP = new Idp();

  private static final ExecutorService POOL = Executors.newCachedThreadPool();

  @BeforeEach
  void reset() throws Exception {
    IDP.reset();
  }

  @AfterAll
  static void stopPool() {
    POOL.shutdownNow();
  }

  /** The device flow against the fixture; the in-memory token cache (no keyring here). */
  private static String deviceFlowConfig() {
    return "{\"endpoint\":\""
        + IDP.endpoint()
        + "\",\"insecure\":true,\"authType\":\"DeviceFlow\",\"tokenCache\":\"memory\"}";
  }

  @Test
  void aDeviceFlowLoginIsShownToTheCallbackAndCompletesOnceApproved() throws Exception {
    try (Authenticator auth = Authenticator.fromJson(deviceFlowConfig())) {
      CompletableFuture<Prompt> prompt = new CompletableFuture<>();
      CompletableFuture<Thread> thread = new CompletableFuture<>();
      auth.setPromptCallback(
          p -> {
            thread.complete(Thread.currentThread());
            prompt.complete(p);
          });
      Future<Map<String, String>> login = POOL.submit(() -> auth.metadata());

      Prompt p = prompt.get(30, TimeUnit.SECONDS);
      assertEquals(Prompt.Kind.DEVICE_CODE, p.kind());
      String code = p.userCode().orElseThrow(() -> new AssertionError("no user code: " + p));
      assertTrue(p.url().startsWith(IDP.url() + "/device"), p.url());
      assertTrue(
          p.url().contains(URLEncoder.encode(code, StandardCharsets.UTF_8)) || p.url().contains(code),
          () -> "the verification URL carries the code: " + p);
      assertFalse(login.isDone(), "metadata() waits for the person");
      assertNotEquals(Thread.currentThread(), thread.get(), "called on a library thread");

      approveDeviceCode(code);
      Map<String, String> md = login.get(60, TimeUnit.SECONDS);
      Map<String, Object> claims = Jwt.claims(md.get("flyte-authorization"));
      assertEquals("test-user", claims.get("sub"));
      assertEquals(1, Json.number(IDP.stats(), "device_auth_requests"));

      IDP.reset();
      assertSame(md, auth.metadata(), "the token is cached: no second login");
      assertEquals(0, Json.number(IDP.stats(), "requests"));
    }
  }

  @Test
  void aThrowingCallbackDoesNotBreakTheLogin() throws Exception {
    PrintStream stderr = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try (Authenticator auth = Authenticator.fromJson(deviceFlowConfig())) {
      CompletableFuture<String> code = new CompletableFuture<>();
      auth.setPromptCallback(
          p -> {
            code.complete(p.userCode().orElse(null));
            throw new IllegalStateException("the callback failed on purpose");
          });
      System.setErr(new PrintStream(captured, true, "UTF-8"));
      Future<Map<String, String>> login = POOL.submit(() -> auth.metadata());
      approveDeviceCode(code.get(30, TimeUnit.SECONDS));
      Map<String, String> md = login.get(60, TimeUnit.SECONDS);
      assertEquals("test-user", Jwt.claims(md.get("flyte-authorization")).get("sub"));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (!captured.toString("UTF-8").contains("failed on purpose")
          && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
    } finally {
      System.setErr(stderr);
    }
    String err = captured.toString("UTF-8");
    assertTrue(err.contains("the callback failed on purpose"), () -> "printed to stderr: " + err);
  }

  @Test
  void nonInteractiveFailsWithLoginRequiredWithoutPrompting() throws Exception {
    try (Authenticator auth = Authenticator.fromJson(deviceFlowConfig())) {
      List<Prompt> prompts = new CopyOnWriteArrayList<>();
      auth.setPromptCallback(prompts::add);
      auth.setInteractive(false);
      LoginRequiredException e = assertThrows(LoginRequiredException.class, auth::metadata);
      assertEquals(ErrorCode.LOGIN_REQUIRED, e.code());
      assertNull(auth.tryMetadata());
      assertEquals(0, Json.number(IDP.stats(), "device_auth_requests"), "no device login began");
      Thread.sleep(200); // a prompt is delivered asynchronously: give a wrong one time to arrive
      assertTrue(prompts.isEmpty(), () -> "no prompt: " + prompts);
    }
  }

  @Test
  void aReplacedOrRemovedCallbackIsReleasedOnce() throws Exception {
    try (Authenticator auth = Authenticator.fromJson(deviceFlowConfig())) {
      PromptHandler first = auth.promptCallback(capturing(new Object()));
      WeakReference<Consumer<Prompt>> firstCallback = callbackOf(first);
      PromptHandler second = auth.promptCallback(capturing(new Object()));
      assertTrue(first.awaitReleased(10, TimeUnit.SECONDS), "replacing releases the old callback");
      assertEquals(0, second.releaseCount());

      auth.setPromptCallback(null);
      assertTrue(second.awaitReleased(10, TimeUnit.SECONDS), "null releases the callback");

      PromptHandler third = auth.promptCallback(capturing(new Object()));
      auth.close();
      assertTrue(third.awaitReleased(10, TimeUnit.SECONDS), "closing releases the callback");

      assertEquals(1, first.releaseCount());
      assertEquals(1, second.releaseCount());
      assertEquals(1, third.releaseCount());
      assertThrows(IllegalStateException.class, () -> auth.setPromptCallback(p -> {}));

      // The back end dropped its reference (JNI global ref / FFM table): the callback can go.
      first = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (firstCallback.get() != null && System.nanoTime() < deadline) {
        System.gc();
        Thread.sleep(20);
      }
      assertNull(firstCallback.get(), "the released callback became collectable");
    }
  }

  /** A callback that is a distinct object (a non-capturing lambda would be a shared constant). */
  private static Consumer<Prompt> capturing(Object state) {
    return p -> state.hashCode();
  }

  /** A weak reference to the user's callback inside a registration. */
  @SuppressWarnings("unchecked")
  private static WeakReference<Consumer<Prompt>> callbackOf(PromptHandler handler) throws Exception {
    java.lang.reflect.Field f = PromptHandler.class.getDeclaredField("callback");
    f.setAccessible(true);
    return new WeakReference<>((Consumer<Prompt>) f.get(handler));
  }

  /**
   * What a person does in the browser: GET /device for the form's xsrf value, then POST it with
   * the user code and confirm=yes, with one cookie jar (the fixture's interaction cookies).
   */
  private static void approveDeviceCode(String userCode) throws Exception {
    assertNotNull(userCode, "a user code");
    HttpClient browser =
        HttpClient.newBuilder()
            .cookieHandler(new CookieManager())
            .followRedirects(HttpClient.Redirect.ALWAYS)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    String page =
        browser
            .send(
                HttpRequest.newBuilder(URI.create(IDP.url() + "/device")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    String marker = "name=\"xsrf\" value=\"";
    int start = page.indexOf(marker);
    assertTrue(start >= 0, () -> "an xsrf field on the device page: " + page);
    start += marker.length();
    String xsrf = page.substring(start, page.indexOf('"', start));
    String form =
        "xsrf="
            + URLEncoder.encode(xsrf, StandardCharsets.UTF_8)
            + "&user_code="
            + URLEncoder.encode(userCode, StandardCharsets.UTF_8)
            + "&confirm=yes";
    HttpResponse<String> answer =
        browser.send(
            HttpRequest.newBuilder(URI.create(IDP.url() + "/device"))
                .header("content-type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(200, answer.statusCode(), () -> "device approval: " + answer.body());
  }
}
