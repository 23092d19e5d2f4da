package org.flyte.auth;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * Flyte client authentication: turns configuration into the header metadata to attach to each
 * call to a Flyte backend (flyteadmin over gRPC or HTTP), and refreshes credentials when the
 * server rejects them.
 *
 * <pre>{@code
 * try (Authenticator auth = Authenticator.fromFlyteConfig(null)) {   // ~/.flyte/config.yaml
 *   Map<String, String> headers = auth.metadata();   // e.g. flyte-authorization: Bearer ...
 *   ...
 *   // the server answered UNAUTHENTICATED / 401 for a header value:
 *   auth.invalidate(headers.get("flyte-authorization"));
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> An authenticator is safe for any number of threads, platform or virtual.
 * With a valid token {@link #metadata()} returns at once: no lock, no network, and the same map
 * instance for as long as the token is current. When the token must be obtained or refreshed, it
 * blocks the calling thread; however many threads find the token expired at once, one request
 * goes to the identity provider. Tokens are renewed in the background shortly before they expire.
 *
 * <p><b>Timeouts and cancellation.</b> The blocking calls have forms with a timeout and a {@link
 * CancellationToken}: {@link #metadata(Duration, CancellationToken)}, {@link #refresh(Duration,
 * CancellationToken)}, {@link #invalidate(String, Duration, CancellationToken)}. A call that runs
 * out of time throws {@link TimeoutException}, a cancelled one {@link CancelledException}; either
 * way a refresh it started or joined goes on for the other callers. On a virtual thread (Java
 * 21+) a blocking call runs on a platform thread while the virtual thread waits parked, so it
 * never pins its carrier; interrupting that virtual thread cancels the call. A platform thread
 * waiting in the native library does not notice interrupts: use a token.
 *
 * <p><b>Lifetime.</b> Close an authenticator when done ({@link AutoCloseable}; closing twice is
 * fine). Calls that are waiting in the native library when it is closed end with {@link
 * CancelledException}; calls after close throw {@link IllegalStateException}. On Java 9+ a
 * {@code java.lang.ref.Cleaner} frees an authenticator that was never closed once it is
 * unreachable; on Java 8 there is no such backstop.
 *
 * <p><b>Native code.</b> The work is done by the flyteauth native library, reached through FFM
 * ({@code java.lang.foreign}) on Java 22+ and JNI before; see {@link #backend()}. The {@code
 * flyteauth.backend} system property ({@code ffm} or {@code jni}) overrides the choice, and
 * {@code flyteauth.library.path} names a library file to load instead of the one in the jar.
 */
public final class Authenticator implements AutoCloseable {
  private final NativeHandle handle;
  private final Runnable closer;

  private Authenticator(NativeApi api, long authenticator) {
    this.handle = new NativeHandle(api, authenticator);
    this.closer = Cleaners.register(this, handle);
  }

  /**
   * Creates an authenticator from a JSON object with the keys of the {@code admin:} section of
   * Flyte's {@code config.yaml}, plus an optional inline {@code clientSecret}; for example
   *
   * <pre>{@code
   * {"endpoint": "dns:///flyte.example.com", "authType": "ClientSecret",
   *  "clientId": "my-app", "clientSecretLocation": "/etc/secrets/client_secret"}
   * }</pre>
   *
   * <p>Does no network I/O: discovery and the first token happen on the first {@link
   * #metadata()}. The configuration is checked completely here.
   *
   * @param configJson the configuration, a JSON object
   * @return a new authenticator; close it when done
   * @throws ConfigException for an unknown key, a value of the wrong type or a missing value (the
   *     message names the key, never a secret's value)
   * @throws InvalidArgumentException if {@code configJson} contains a NUL character
   * @throws NullPointerException if {@code configJson} is null
   * @throws UnsatisfiedLinkError if the native library cannot be loaded
   */
  public static Authenticator fromJson(String configJson) {
    if (configJson == null) {
      throw new NullPointerException("configJson");
    }
    NativeApi api = Backends.get();
    return new Authenticator(api, api.newAuthenticator(cString(configJson, "configJson")));
  }

  /**
   * Creates an authenticator from a typed configuration; the same as {@link #fromJson(String)}
   * with {@link FlyteAuthConfig#toJson() config.toJson()}.
   *
   * <pre>{@code
   * Authenticator auth = Authenticator.create(FlyteAuthConfig.builder()
   *     .endpoint("dns:///flyte.example.com")
   *     .authType(FlyteAuthConfig.AuthType.CLIENT_SECRET)
   *     .clientId("my-app")
   *     .clientSecretLocation("/etc/secrets/client_secret")
   *     .build());
   * }</pre>
   *
   * @param config the configuration
   * @return a new authenticator; close it when done
   * @throws ConfigException when the library rejects the configuration (the message names the
   *     key)
   * @throws NullPointerException if {@code config} is null
   * @throws UnsatisfiedLinkError if the native library cannot be loaded
   */
  public static Authenticator create(FlyteAuthConfig config) {
    if (config == null) {
      throw new NullPointerException("config");
    }
    return fromJson(config.toJson());
  }

  /**
   * Creates an authenticator from Flyte's {@code config.yaml} (its {@code admin:} section) and
   * the {@code FLYTE_*} environment overrides, which win over the file as in flytekit.
   *
   * @param path the file; null means flytekit's lookup: {@code $FLYTECTL_CONFIG} (skipped with
   *     a warning when it names no file), {@code ./flytekit.config}, {@code ~/.flyte/config}
   *     (INI), {@code ~/.flyte/config.yaml}, else no file (environment only)
   * @return a new authenticator; close it when done
   * @throws ConfigException if the file cannot be read or its configuration is wrong
   * @throws IllegalArgumentException if {@code path} is not on the default file system
   * @throws UnsatisfiedLinkError if the native library cannot be loaded
   */
  public static Authenticator fromFlyteConfig(Path path) {
    byte[] file = null;
    if (path != null) {
      if (path.getFileSystem() != FileSystems.getDefault()) {
        throw new IllegalArgumentException("path must be on the default file system: " + path);
      }
      file = cString(path.toAbsolutePath().toString(), "path");
    }
    NativeApi api = Backends.get();
    return new Authenticator(api, api.fromFlyteConfig(file));
  }

  /**
   * The headers for a call: the auth header (key from {@code authorizationHeader}, else the
   * server's public client config, e.g. {@code flyte-authorization}, else {@code authorization};
   * value {@code "Bearer <token>"}), plus {@code proxy-authorization} when a proxy command is
   * configured.
   *
   * <p>With a valid token this returns at once, without locking or touching the network, and
   * returns the same map for as long as the token is current. Otherwise it blocks while the token
   * is obtained or refreshed (concurrent callers share one request). The values are credentials:
   * do not log them.
   *
   * @return the headers, an unmodifiable map with lowercase keys, in the library's order, with
   *     the token's {@link AuthMetadata#expiresAt() expiry}
   * @throws FlyteAuthException if no token can be obtained (e.g. {@link AuthenticationException},
   *     {@link NetworkException})
   * @throws IllegalStateException if the authenticator is closed
   */
  public AuthMetadata metadata() {
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      return h.metadata(0, null);
    } finally {
      h.release(cell);
    }
  }

  /**
   * {@link #metadata()}, giving up after {@code timeout}: at once with a valid token, else a
   * {@link TimeoutException} once {@code timeout} has passed. For a gRPC call, pass what is left
   * of its deadline ({@code FlyteCallCredentials} does).
   *
   * @param timeout how long to wait at most (rounded up to whole milliseconds; zero or negative:
   *     fail unless the headers are available at once); null: no bound beyond the configured
   *     per-request timeouts and retries
   * @return the headers as for {@link #metadata()}
   * @throws TimeoutException if {@code timeout} passed first
   * @throws FlyteAuthException if no token can be obtained
   * @throws IllegalStateException if the authenticator is closed
   */
  public AuthMetadata metadata(Duration timeout) {
    return metadata(timeout, null);
  }

  /**
   * {@link #metadata(Duration)} that {@code cancel} can end early.
   *
   * @param timeout as for {@link #metadata(Duration)}; null: no bound
   * @param cancel cancels the call (see {@link CancellationToken}); null: none
   * @return the headers as for {@link #metadata()}
   * @throws TimeoutException if {@code timeout} passed first
   * @throws CancelledException if {@code cancel} was cancelled (or, on a virtual thread, the
   *     thread interrupted) before the headers were obtained
   * @throws FlyteAuthException if no token can be obtained
   * @throws IllegalStateException if the authenticator is closed
   */
  public AuthMetadata metadata(Duration timeout, CancellationToken cancel) {
    long ms = timeoutMillis(timeout);
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      return h.metadata(ms, cancel);
    } finally {
      h.release(cell);
    }
  }

  /**
   * Whether this authenticator talks plain HTTP to its endpoint: the {@code insecure} setting after
   * the config file and the environment were applied ({@code flyteauth_authenticator_insecure}).
   * Use it to choose a plaintext or a TLS channel.
   *
   * @return true for plain HTTP
   * @throws IllegalStateException if the authenticator is closed
   */
  public boolean insecure() {
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      return h.insecure();
    } finally {
      h.release(cell);
    }
  }

  /**
   * The headers for a call if the current token is valid and not due for refresh, without ever
   * blocking; null otherwise (call {@link #metadata()} then, e.g. from a thread that may block).
   * Meant for callbacks that must not block, such as grpc-java's {@code CallCredentials}.
   *
   * @return the headers as for {@link #metadata()}, or null
   * @throws IllegalStateException if the authenticator is closed
   */
  public AuthMetadata tryMetadata() {
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      return h.tryMetadata();
    } finally {
      h.release(cell);
    }
  }

  /**
   * Gets new credentials now. Concurrent callers share one refresh. Blocks. After a server
   * rejected a call, prefer {@link #invalidate(String)}, which does not refresh twice for one
   * rejected token.
   *
   * @throws FlyteAuthException if the refresh fails
   * @throws IllegalStateException if the authenticator is closed
   */
  public void refresh() {
    refresh(null, null);
  }

  /**
   * {@link #refresh()}, giving up with {@link TimeoutException} after {@code timeout}.
   *
   * @param timeout how long to wait at most (as for {@link #metadata(Duration)}); null: no bound
   * @throws TimeoutException if {@code timeout} passed first
   * @throws FlyteAuthException if the refresh fails
   * @throws IllegalStateException if the authenticator is closed
   */
  public void refresh(Duration timeout) {
    refresh(timeout, null);
  }

  /**
   * {@link #refresh()} with a bound and a cancellation token.
   *
   * @param timeout how long to wait at most (as for {@link #metadata(Duration)}); null: no bound
   * @param cancel cancels the call; null: none
   * @throws TimeoutException if {@code timeout} passed first
   * @throws CancelledException if the call was cancelled
   * @throws FlyteAuthException if the refresh fails
   * @throws IllegalStateException if the authenticator is closed
   */
  public void refresh(Duration timeout, CancellationToken cancel) {
    long ms = timeoutMillis(timeout);
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      h.refresh(ms, cancel);
    } finally {
      h.release(cell);
    }
  }

  /**
   * Logs out: forgets the login in memory and in the keyring, and revokes the refresh token at
   * the identity provider (RFC 7009) when its metadata advertises a revocation endpoint. The
   * next call that needs a token logs in again, or throws {@link LoginRequiredException} when
   * not interactive. A failed revocation is a warning (logger {@code org.flyte.auth}), never
   * an exception; it waits at most about 10 s per refresh token. Blocks.
   *
   * @throws IllegalStateException if the authenticator is closed
   */
  public void logout() {
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      h.logout();
    } finally {
      h.release(cell);
    }
  }

  /**
   * Tells the authenticator that the server rejected a header value (UNAUTHENTICATED / 401):
   * refreshes only if that value is still the current one; otherwise another caller already
   * refreshed and this returns at once. A burst of rejections of one token costs one refresh.
   * Blocks while refreshing.
   *
   * @param rejectedValue the header value the server rejected, e.g. {@code "Bearer eyJ..."}
   * @throws FlyteAuthException if the refresh fails
   * @throws InvalidArgumentException if {@code rejectedValue} contains a NUL character
   * @throws NullPointerException if {@code rejectedValue} is null
   * @throws IllegalStateException if the authenticator is closed
   */
  public void invalidate(String rejectedValue) {
    invalidate(rejectedValue, null, null);
  }

  /**
   * {@link #invalidate(String)}, giving up with {@link TimeoutException} after {@code timeout}.
   *
   * @param rejectedValue the header value the server rejected
   * @param timeout how long to wait at most (as for {@link #metadata(Duration)}); null: no bound
   * @throws TimeoutException if {@code timeout} passed first
   * @throws FlyteAuthException if the refresh fails
   * @throws NullPointerException if {@code rejectedValue} is null
   * @throws IllegalStateException if the authenticator is closed
   */
  public void invalidate(String rejectedValue, Duration timeout) {
    invalidate(rejectedValue, timeout, null);
  }

  /**
   * {@link #invalidate(String)} with a bound and a cancellation token.
   *
   * @param rejectedValue the header value the server rejected
   * @param timeout how long to wait at most (as for {@link #metadata(Duration)}); null: no bound
   * @param cancel cancels the call; null: none
   * @throws TimeoutException if {@code timeout} passed first
   * @throws CancelledException if the call was cancelled
   * @throws FlyteAuthException if the refresh fails
   * @throws InvalidArgumentException if {@code rejectedValue} contains a NUL character
   * @throws NullPointerException if {@code rejectedValue} is null
   * @throws IllegalStateException if the authenticator is closed
   */
  public void invalidate(String rejectedValue, Duration timeout, CancellationToken cancel) {
    if (rejectedValue == null) {
      throw new NullPointerException("rejectedValue");
    }
    byte[] value = cString(rejectedValue, "rejectedValue");
    long ms = timeoutMillis(timeout);
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      h.invalidate(value, ms, cancel);
    } finally {
      h.release(cell);
    }
  }

  /**
   * Allows or forbids asking a person to log in (the PKCE and device flows), overriding the
   * {@code interactive} config key. A server that must never block on a person forbids it: a
   * needed login then fails with {@link LoginRequiredException} instead of a prompt (on stderr
   * and to the {@link #setPromptCallback prompt callback}).
   *
   * @param interactive whether a login prompt is allowed
   * @throws IllegalStateException if the authenticator is closed
   */
  public void setInteractive(boolean interactive) {
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      h.setInteractive(interactive);
    } finally {
      h.release(cell);
    }
  }

  /**
   * Shows login prompts your own way (a GUI, an IDE, a notification): {@code callback} is called
   * whenever a person must act, with the PKCE login URL ({@link Prompt.Kind#BROWSER}) or the
   * device flow's URL and user code ({@link Prompt.Kind#DEVICE_CODE}). Without a callback the
   * prompt is written to stderr; for PKCE the library also tries to open a browser. Replaces the
   * previous callback; {@code null} removes it.
   *
   * <p>The callback runs on a thread of the native library, not on the thread that called {@link
   * #metadata()}; that call keeps waiting until the person has logged in (or it times out). The
   * callback must return promptly and must not call this authenticator. An exception it throws
   * is printed to stderr and does not affect the login.
   *
   * <p>The library holds the callback until it is replaced or removed (and a prompt it is showing
   * has returned), or until the authenticator is closed: so a callback that refers to this
   * authenticator keeps it reachable, and the {@code Cleaner} backstop cannot free it; close it.
   *
   * @param callback receives each prompt; null removes the callback
   * @throws IllegalStateException if the authenticator is closed
   */
  public void setPromptCallback(Consumer<Prompt> callback) {
    promptCallback(callback);
  }

  /** {@link #setPromptCallback}, returning the registration (null for null), for tests. */
  PromptHandler promptCallback(Consumer<Prompt> callback) {
    PromptHandler handler = callback == null ? null : new PromptHandler(callback);
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      h.setPromptCallback(handler);
    } finally {
      h.release(cell);
    }
    return handler;
  }

  /**
   * Releases the native authenticator. Idempotent. Blocking calls still waiting in the library
   * end with {@link CancelledException}; this waits until every call in progress has returned.
   * Later calls throw {@link IllegalStateException}. Maps returned earlier stay valid.
   */
  @Override
  public void close() {
    closer.run();
  }

  /**
   * Whether {@link #close()} was called.
   *
   * @return true once closed
   */
  public boolean isClosed() {
    return handle.isClosed();
  }

  /**
   * The version of the native flyteauth library, e.g. {@code "0.1.0"}.
   *
   * @return the version
   * @throws UnsatisfiedLinkError if the native library cannot be loaded
   */
  public static String version() {
    return Backends.get().version();
  }

  /**
   * The native back end in use in this JVM: {@code "ffm"} (Java 22+) or {@code "jni"}.
   *
   * @return the back end's name
   * @throws UnsatisfiedLinkError if the native library cannot be loaded
   */
  public static String backend() {
    return Backends.get().name();
  }

  /** Never shows configuration or credentials. */
  @Override
  public String toString() {
    return "Authenticator[" + handle.api().name() + (isClosed() ? ", closed]" : "]");
  }

  /**
   * The {@code timeout_ms} of the C ABI: 0 (no bound) for null; otherwise whole milliseconds,
   * rounded up, at least 1 (a zero or negative timeout has already passed), saturating.
   */
  static long timeoutMillis(Duration timeout) {
    if (timeout == null) {
      return 0;
    }
    if (timeout.isNegative() || timeout.isZero()) {
      return 1;
    }
    long seconds = timeout.getSeconds();
    if (seconds >= Long.MAX_VALUE / 1000 - 1) {
      return Long.MAX_VALUE;
    }
    return seconds * 1000 + (timeout.getNano() + 999_999) / 1_000_000;
  }

  /** NUL-terminated UTF-8; a NUL inside would silently truncate the string in C. */
  private static byte[] cString(String s, String argument) {
    if (s.indexOf('\0') >= 0) {
      throw new InvalidArgumentException(
          "invalid argument: `" + argument + "` contains a NUL character", 0, null, null);
    }
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    byte[] z = new byte[utf8.length + 1];
    System.arraycopy(utf8, 0, z, 0, utf8.length);
    return z;
  }
}
