package org.flyte.auth;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.util.Map;
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
   * Creates an authenticator from Flyte's {@code config.yaml} (its {@code admin:} section) and
   * the {@code FLYTE_*} environment overrides, which win over the file as in flytekit.
   *
   * @param path the file; null means {@code $FLYTECTL_CONFIG}, else {@code
   *     ~/.flyte/config.yaml}, else no file (environment only)
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
   * @return the headers, an unmodifiable map with lowercase keys, in the library's order
   * @throws FlyteAuthException if no token can be obtained (e.g. {@link AuthenticationException},
   *     {@link NetworkException})
   * @throws IllegalStateException if the authenticator is closed
   */
  public Map<String, String> metadata() {
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      return h.metadata();
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
  public Map<String, String> tryMetadata() {
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
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      h.refresh();
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
    if (rejectedValue == null) {
      throw new NullPointerException("rejectedValue");
    }
    byte[] value = cString(rejectedValue, "rejectedValue");
    NativeHandle h = handle;
    int cell = h.acquire();
    try {
      h.invalidate(value);
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
