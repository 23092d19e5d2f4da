package org.flyte.auth;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A typed configuration for {@link Authenticator#create(FlyteAuthConfig)}: the keys of the
 * {@code admin:} section of Flyte's {@code config.yaml} (what {@link
 * Authenticator#fromJson(String)} takes as JSON), set by name instead of written as JSON.
 *
 * <pre>{@code
 * FlyteAuthConfig config = FlyteAuthConfig.builder()
 *     .endpoint("dns:///flyte.example.com")
 *     .authType(FlyteAuthConfig.AuthType.CLIENT_SECRET)
 *     .clientId("my-app")
 *     .clientSecretLocation("/etc/secrets/client_secret")
 *     .scopes("all")
 *     .build();
 * try (Authenticator auth = Authenticator.create(config)) { ... }
 * }</pre>
 *
 * <p>Only the keys that were set are written; the library applies its defaults to the rest and
 * checks the whole configuration when the authenticator is created (a missing or inconsistent
 * value is a {@link ConfigException} naming the key). Durations are written as Go duration
 * strings ({@code "15s"}, {@code "1500ms"}). The builder checks nothing but {@code null}s and
 * negative durations: the rules live in the library, once for every language.
 *
 * <p>Immutable. {@link #toString()} never shows the inline {@link Builder#clientSecret(String)
 * clientSecret}; {@link #toJson()}, which is what the library is given, contains it.
 */
public final class FlyteAuthConfig {
  /** The {@code authType} values (flytekit's other spellings are accepted in JSON). */
  public enum AuthType {
    /** OAuth2 client credentials ({@code ClientSecret}). */
    CLIENT_SECRET("ClientSecret"),
    /** Authorization code with PKCE in a browser ({@code Pkce}). */
    PKCE("Pkce"),
    /** A command that prints the token ({@code ExternalCommand}). */
    EXTERNAL_COMMAND("ExternalCommand"),
    /** The device authorization grant, RFC 8628 ({@code DeviceFlow}). */
    DEVICE_FLOW("DeviceFlow");

    private final String value;

    AuthType(String value) {
      this.value = value;
    }

    /**
     * The value written to the configuration, e.g. {@code "ClientSecret"}.
     *
     * @return the value
     */
    public String value() {
      return value;
    }
  }

  /**
   * The {@code keyringLayouts} elements: the keyring layouts a login or refresh is written in
   * (both are always read).
   */
  public enum KeyringLayout {
    /** pyflyte's: service = the endpoint, users access_token, refresh_token, id_token. */
    FLYTEKIT("flytekit"),
    /** flytectl's: service flytectl, user {@code dns:///<endpoint>:flytectl-user}, one JSON. */
    FLYTECTL("flytectl");

    private final String value;

    KeyringLayout(String value) {
      this.value = value;
    }

    /**
     * The value written to the configuration, e.g. {@code "flytectl"}.
     *
     * @return the value
     */
    public String value() {
      return value;
    }
  }

  /**
   * The {@code discovery} values: how flyteadmin's AuthMetadataService is asked. gRPC uses the
   * same TLS, CA, proxy and proxy-authorization settings as HTTP (h2c when insecure).
   */
  public enum Discovery {
    /**
     * The HTTP routes, then gRPC when they fail (404, a body that is not the JSON document, no
     * connection), for ingresses that route only gRPC to flyteadmin (the default).
     */
    AUTO("auto"),
    /** Only the HTTP routes ({@code /.well-known/oauth-authorization-server}, ...). */
    HTTP("http"),
    /** Only gRPC ({@code flyteidl.service.AuthMetadataService}), as flytekit and flytectl do. */
    GRPC("grpc");

    private final String value;

    Discovery(String value) {
      this.value = value;
    }

    /**
     * The value written to the configuration, e.g. {@code "grpc"}.
     *
     * @return the value
     */
    public String value() {
      return value;
    }
  }

  /** The {@code tokenCache} values: where interactive logins (PKCE, device flow) are kept. */
  public enum TokenCache {
    /** The OS keyring, shared with pyflyte and flytectl (the default). */
    KEYRING("keyring"),
    /** This process's memory only. */
    MEMORY("memory");

    private final String value;

    TokenCache(String value) {
      this.value = value;
    }

    /**
     * The value written to the configuration, e.g. {@code "keyring"}.
     *
     * @return the value
     */
    public String value() {
      return value;
    }
  }

  /** Key to value: String, Boolean, Integer, List of String, or Map (a nested object). */
  private final Map<String, Object> values;

  private FlyteAuthConfig(Map<String, Object> values) {
    this.values = values;
  }

  /**
   * A new builder with no key set.
   *
   * @return the builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The configuration as the JSON object the C ABI takes ({@code flyteauth_authenticator_new}).
   * Contains the inline client secret if one was set: do not log it.
   *
   * @return the JSON text
   */
  public String toJson() {
    StringBuilder b = new StringBuilder(256);
    writeObject(b, values);
    return b.toString();
  }

  /** The keys that are set, with the inline client secret's value hidden. */
  @Override
  public String toString() {
    Map<String, Object> shown = new LinkedHashMap<>(values);
    if (shown.containsKey("clientSecret")) {
      shown.put("clientSecret", "<redacted>");
    }
    StringBuilder b = new StringBuilder("FlyteAuthConfig");
    writeObject(b, shown);
    return b.toString();
  }

  private static void writeObject(StringBuilder b, Map<String, Object> object) {
    b.append('{');
    String sep = "";
    for (Map.Entry<String, Object> e : object.entrySet()) {
      b.append(sep);
      writeString(b, e.getKey());
      b.append(':');
      writeValue(b, e.getValue());
      sep = ",";
    }
    b.append('}');
  }

  @SuppressWarnings("unchecked")
  private static void writeValue(StringBuilder b, Object v) {
    if (v instanceof String) {
      writeString(b, (String) v);
    } else if (v instanceof Boolean || v instanceof Integer) {
      b.append(v);
    } else if (v instanceof List) {
      b.append('[');
      String sep = "";
      for (Object item : (List<Object>) v) {
        b.append(sep);
        writeValue(b, item);
        sep = ",";
      }
      b.append(']');
    } else if (v instanceof Map) {
      writeObject(b, (Map<String, Object>) v);
    } else {
      throw new IllegalStateException("unexpected config value type " + v.getClass());
    }
  }

  /**
   * A JSON string (RFC 8259): quote, backslash and control characters escaped; other characters
   * as they are (the text goes to the library as UTF-8), except an unpaired surrogate, which has
   * no UTF-8 form: it is written as its {@code \\uXXXX} escape so that the library rejects it
   * rather than receive a silently replaced character.
   */
  static void writeString(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"':
          b.append("\\\"");
          break;
        case '\\':
          b.append("\\\\");
          break;
        case '\n':
          b.append("\\n");
          break;
        case '\r':
          b.append("\\r");
          break;
        case '\t':
          b.append("\\t");
          break;
        case '\b':
          b.append("\\b");
          break;
        case '\f':
          b.append("\\f");
          break;
        default:
          if (c < 0x20 || c == 0x7f) {
            unicodeEscape(b, c);
          } else if (Character.isHighSurrogate(c)
              && i + 1 < s.length()
              && Character.isLowSurrogate(s.charAt(i + 1))) {
            b.append(c).append(s.charAt(++i));
          } else if (Character.isSurrogate(c)) {
            unicodeEscape(b, c);
          } else {
            b.append(c);
          }
      }
    }
    b.append('"');
  }

  private static void unicodeEscape(StringBuilder b, char c) {
    String hex = Integer.toHexString(c);
    b.append("\\u");
    for (int k = hex.length(); k < 4; k++) {
      b.append('0');
    }
    b.append(hex);
  }

  /**
   * A Go duration string: whole seconds as {@code "90s"}, whole milliseconds as {@code
   * "1500ms"}, else seconds and nanoseconds ({@code "1s5ns"}).
   */
  static String goDuration(Duration d, String key) {
    if (d == null) {
      throw new NullPointerException(key);
    }
    if (d.isNegative()) {
      throw new IllegalArgumentException(key + " must not be negative: " + d);
    }
    long s = d.getSeconds();
    int nanos = d.getNano();
    if (nanos == 0) {
      return s + "s";
    }
    if (nanos % 1_000_000 == 0 && s < Long.MAX_VALUE / 1000 - 1) {
      return (s * 1000 + nanos / 1_000_000) + "ms";
    }
    return s == 0 ? nanos + "ns" : s + "s" + nanos + "ns";
  }

  /**
   * Sets the keys of a {@link FlyteAuthConfig}. Each setter replaces an earlier value of its key;
   * {@code null} arguments are a {@link NullPointerException}. Not thread-safe.
   */
  public static final class Builder {
    private final Map<String, Object> values = new LinkedHashMap<>();
    private final Map<String, Object> pkce = new LinkedHashMap<>();
    private final Map<String, Object> deviceFlow = new LinkedHashMap<>();

    private Builder() {}

    private Builder put(String key, Object value) {
      if (value == null) {
        throw new NullPointerException(key);
      }
      values.put(key, value);
      return this;
    }

    private static List<String> list(String key, List<String> items) {
      if (items == null) {
        throw new NullPointerException(key);
      }
      List<String> copy = new ArrayList<>(items);
      for (String item : copy) {
        if (item == null) {
          throw new NullPointerException(key + " element");
        }
      }
      return Collections.unmodifiableList(copy);
    }

    /**
     * {@code endpoint}: flyteadmin's address, e.g. {@code "dns:///flyte.example.com"} or {@code
     * "flyte.example.com:443"}.
     *
     * @param endpoint the endpoint
     * @return this builder
     */
    public Builder endpoint(String endpoint) {
      return put("endpoint", endpoint);
    }

    /**
     * {@code insecure}: talk plain HTTP to the endpoint.
     *
     * @param insecure whether to use plain HTTP
     * @return this builder
     */
    public Builder insecure(boolean insecure) {
      return put("insecure", insecure);
    }

    /**
     * {@code insecureSkipVerify}: do not verify TLS certificates (never in production).
     *
     * @param skip whether to skip verification
     * @return this builder
     */
    public Builder insecureSkipVerify(boolean skip) {
      return put("insecureSkipVerify", skip);
    }

    /**
     * {@code caCertFilePath}: extra PEM CA certificates to trust.
     *
     * @param path the PEM file
     * @return this builder
     */
    public Builder caCertFilePath(String path) {
      return put("caCertFilePath", path);
    }

    /**
     * {@code authType}.
     *
     * @param type the flow
     * @return this builder
     */
    public Builder authType(AuthType type) {
      if (type == null) {
        throw new NullPointerException("authType");
      }
      return put("authType", type.value());
    }

    /**
     * {@code clientId}.
     *
     * @param clientId the OAuth2 client id
     * @return this builder
     */
    public Builder clientId(String clientId) {
      return put("clientId", clientId);
    }

    /**
     * {@code clientSecret}: the secret inline (prefer {@link #clientSecretLocation} or {@link
     * #clientSecretEnvVar}). Never shown by {@link FlyteAuthConfig#toString()}.
     *
     * @param secret the client secret
     * @return this builder
     */
    public Builder clientSecret(String secret) {
      return put("clientSecret", secret);
    }

    /**
     * {@code clientSecretLocation}: a file holding the client secret.
     *
     * @param path the file
     * @return this builder
     */
    public Builder clientSecretLocation(String path) {
      return put("clientSecretLocation", path);
    }

    /**
     * {@code clientSecretEnvVar}: an environment variable holding the client secret.
     *
     * @param name the variable's name
     * @return this builder
     */
    public Builder clientSecretEnvVar(String name) {
      return put("clientSecretEnvVar", name);
    }

    /**
     * {@code scopes}; none set means the server's.
     *
     * @param scopes the scopes
     * @return this builder
     */
    public Builder scopes(String... scopes) {
      if (scopes == null) {
        throw new NullPointerException("scopes");
      }
      return scopes(Arrays.asList(scopes));
    }

    /**
     * {@code scopes}; none set means the server's.
     *
     * @param scopes the scopes
     * @return this builder
     */
    public Builder scopes(List<String> scopes) {
      return put("scopes", list("scopes", scopes));
    }

    /**
     * {@code audience}.
     *
     * @param audience the audience
     * @return this builder
     */
    public Builder audience(String audience) {
      return put("audience", audience);
    }

    /**
     * {@code resource}: RFC 8707 resource indicators (absolute URIs), sent on the authorization,
     * device authorization and token requests alongside {@code audience} (flyteauth extension).
     *
     * @param resources the resource indicators
     * @return this builder
     */
    public Builder resource(String... resources) {
      if (resources == null) {
        throw new NullPointerException("resource");
      }
      return resource(Arrays.asList(resources));
    }

    /**
     * {@code resource}: RFC 8707 resource indicators (absolute URIs), sent on the authorization,
     * device authorization and token requests alongside {@code audience} (flyteauth extension).
     *
     * @param resources the resource indicators
     * @return this builder
     */
    public Builder resource(List<String> resources) {
      return put("resource", list("resource", resources));
    }

    /**
     * {@code useAudienceFromAdmin}: use the server's audience even if {@code audience} is set.
     *
     * @param use whether to
     * @return this builder
     */
    public Builder useAudienceFromAdmin(boolean use) {
      return put("useAudienceFromAdmin", use);
    }

    /**
     * {@code tokenUrl}: the token endpoint (skips the server's OAuth2 metadata).
     *
     * @param url the token endpoint
     * @return this builder
     */
    public Builder tokenUrl(String url) {
      return put("tokenUrl", url);
    }

    /**
     * {@code authorizationHeader}: the header the token goes in (else the server's, else {@code
     * authorization}).
     *
     * @param header the header name
     * @return this builder
     */
    public Builder authorizationHeader(String header) {
      return put("authorizationHeader", header);
    }

    /**
     * {@code command}: the argv of the token command ({@link AuthType#EXTERNAL_COMMAND}).
     *
     * @param argv the program and its arguments
     * @return this builder
     */
    public Builder command(String... argv) {
      if (argv == null) {
        throw new NullPointerException("command");
      }
      return command(Arrays.asList(argv));
    }

    /**
     * {@code command}: the argv of the token command ({@link AuthType#EXTERNAL_COMMAND}).
     *
     * @param argv the program and its arguments
     * @return this builder
     */
    public Builder command(List<String> argv) {
      return put("command", list("command", argv));
    }

    /**
     * {@code proxyCommand}: the argv of the command whose output goes in {@code
     * proxy-authorization}.
     *
     * @param argv the program and its arguments
     * @return this builder
     */
    public Builder proxyCommand(String... argv) {
      if (argv == null) {
        throw new NullPointerException("proxyCommand");
      }
      return proxyCommand(Arrays.asList(argv));
    }

    /**
     * {@code proxyCommand}: the argv of the command whose output goes in {@code
     * proxy-authorization}.
     *
     * @param argv the program and its arguments
     * @return this builder
     */
    public Builder proxyCommand(List<String> argv) {
      return put("proxyCommand", list("proxyCommand", argv));
    }

    /**
     * {@code httpProxyURL}: an HTTP(S) proxy for every request the library makes.
     *
     * @param url the proxy URL
     * @return this builder
     */
    public Builder httpProxyUrl(String url) {
      return put("httpProxyURL", url);
    }

    /**
     * {@code pkceConfig.timeout}: how long to wait for the browser login (default 2m).
     *
     * @param timeout the timeout
     * @return this builder
     */
    public Builder pkceTimeout(Duration timeout) {
      pkce.put("timeout", goDuration(timeout, "pkceConfig.timeout"));
      return put("pkceConfig", Collections.unmodifiableMap(pkce));
    }

    /**
     * {@code pkceConfig.refreshTime}: refresh this long before expiry (default 5m).
     *
     * @param refreshTime the lead
     * @return this builder
     */
    public Builder pkceRefreshTime(Duration refreshTime) {
      pkce.put("refreshTime", goDuration(refreshTime, "pkceConfig.refreshTime"));
      return put("pkceConfig", Collections.unmodifiableMap(pkce));
    }

    /**
     * {@code deviceFlowConfig.timeout}: the overall deadline of a device login (default 10m).
     *
     * @param timeout the timeout
     * @return this builder
     */
    public Builder deviceFlowTimeout(Duration timeout) {
      deviceFlow.put("timeout", goDuration(timeout, "deviceFlowConfig.timeout"));
      return put("deviceFlowConfig", Collections.unmodifiableMap(deviceFlow));
    }

    /**
     * {@code deviceFlowConfig.refreshTime}: refresh this long before expiry (default 5m).
     *
     * @param refreshTime the lead
     * @return this builder
     */
    public Builder deviceFlowRefreshTime(Duration refreshTime) {
      deviceFlow.put("refreshTime", goDuration(refreshTime, "deviceFlowConfig.refreshTime"));
      return put("deviceFlowConfig", Collections.unmodifiableMap(deviceFlow));
    }

    /**
     * {@code deviceFlowConfig.pollInterval}: used when the server sends no {@code interval}
     * (default 5s).
     *
     * @param interval the interval
     * @return this builder
     */
    public Builder deviceFlowPollInterval(Duration interval) {
      deviceFlow.put("pollInterval", goDuration(interval, "deviceFlowConfig.pollInterval"));
      return put("deviceFlowConfig", Collections.unmodifiableMap(deviceFlow));
    }

    /**
     * {@code tokenRefreshWindow}: refresh this long before expiry (capped at half the lifetime).
     *
     * @param window the window
     * @return this builder
     */
    public Builder tokenRefreshWindow(Duration window) {
      return put("tokenRefreshWindow", goDuration(window, "tokenRefreshWindow"));
    }

    /**
     * {@code maxRetries}: retries after the first attempt on transient errors (default 4).
     *
     * @param retries the number of retries, not negative
     * @return this builder
     */
    public Builder maxRetries(int retries) {
      if (retries < 0) {
        throw new IllegalArgumentException("maxRetries must not be negative: " + retries);
      }
      return put("maxRetries", retries);
    }

    /**
     * {@code perRetryTimeout}: the timeout of each HTTP attempt (default 15s).
     *
     * @param timeout the timeout
     * @return this builder
     */
    public Builder perRetryTimeout(Duration timeout) {
      return put("perRetryTimeout", goDuration(timeout, "perRetryTimeout"));
    }

    /**
     * {@code maxBackoffDelay}: the longest wait between two attempts (default 8s).
     *
     * @param delay the delay
     * @return this builder
     */
    public Builder maxBackoffDelay(Duration delay) {
      return put("maxBackoffDelay", goDuration(delay, "maxBackoffDelay"));
    }

    /**
     * {@code commandTimeout}: how long {@code command} / {@code proxyCommand} may run (default
     * 60s).
     *
     * @param timeout the timeout
     * @return this builder
     */
    public Builder commandTimeout(Duration timeout) {
      return put("commandTimeout", goDuration(timeout, "commandTimeout"));
    }

    /**
     * {@code interactive}: whether a person may be asked to log in (default true).
     *
     * @param interactive whether to allow login prompts
     * @return this builder
     */
    public Builder interactive(boolean interactive) {
      return put("interactive", interactive);
    }

    /**
     * {@code tokenCache}: where interactive logins are kept.
     *
     * @param cache the cache
     * @return this builder
     */
    public Builder tokenCache(TokenCache cache) {
      if (cache == null) {
        throw new NullPointerException("tokenCache");
      }
      return put("tokenCache", cache.value());
    }

    /**
     * {@code discovery}: how flyteadmin's AuthMetadataService is asked (HTTP, then gRPC, by
     * default).
     *
     * @param discovery the protocol(s)
     * @return this builder
     */
    public Builder discovery(Discovery discovery) {
      if (discovery == null) {
        throw new NullPointerException("discovery");
      }
      return put("discovery", discovery.value());
    }

    /**
     * {@code keyringLayouts}: the keyring layouts a login or refresh is written in; not set
     * means both (pyflyte's and flytectl's), none means none (the keyring is only read).
     *
     * @param layouts the layouts
     * @return this builder
     */
    public Builder keyringLayouts(KeyringLayout... layouts) {
      if (layouts == null) {
        throw new NullPointerException("keyringLayouts");
      }
      List<String> names = new ArrayList<>();
      for (KeyringLayout layout : layouts) {
        if (layout == null) {
          throw new NullPointerException("keyringLayouts element");
        }
        names.add(layout.value());
      }
      return put("keyringLayouts", Collections.unmodifiableList(names));
    }

    /**
     * The configuration with the keys set so far.
     *
     * @return an immutable configuration
     */
    public FlyteAuthConfig build() {
      Map<String, Object> copy = new LinkedHashMap<>(values);
      if (copy.containsKey("pkceConfig")) {
        copy.put("pkceConfig", Collections.unmodifiableMap(new LinkedHashMap<>(pkce)));
      }
      if (copy.containsKey("deviceFlowConfig")) {
        copy.put("deviceFlowConfig", Collections.unmodifiableMap(new LinkedHashMap<>(deviceFlow)));
      }
      return new FlyteAuthConfig(Collections.unmodifiableMap(copy));
    }
  }
}
