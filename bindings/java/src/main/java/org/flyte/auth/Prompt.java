package org.flyte.auth;

import java.util.Objects;
import java.util.Optional;

/**
 * What a person must do to log in, as handed to the callback of {@link
 * Authenticator#setPromptCallback(java.util.function.Consumer)}: open {@link #url()} in a browser
 * (PKCE), or open it and enter {@link #userCode()} (device flow). Immutable.
 *
 * <p>Neither the URL nor the user code is a long-lived secret (the library writes both to stderr
 * as well), but the code lets whoever enters it first complete this login: show it to the person
 * only.
 */
public final class Prompt {
  /** The kind of login prompt. */
  public enum Kind {
    /** Open {@link Prompt#url()} in a browser and log in (PKCE); there is no user code. */
    BROWSER,
    /**
     * Open {@link Prompt#url()} (the verification URI, with the code filled in when the server
     * allows it) on any device and enter {@link Prompt#userCode()} (device flow).
     */
    DEVICE_CODE
  }

  private final Kind kind;
  private final String url;
  private final String userCode;

  /**
   * Creates a prompt; normally only the binding does (and tests of callbacks).
   *
   * @param kind the kind
   * @param url the URL to open
   * @param userCode the code to enter (device flow), or null
   * @throws NullPointerException if {@code kind} or {@code url} is null
   */
  public Prompt(Kind kind, String url, String userCode) {
    this.kind = Objects.requireNonNull(kind, "kind");
    this.url = Objects.requireNonNull(url, "url");
    this.userCode = userCode;
  }

  /**
   * The kind of prompt.
   *
   * @return {@link Kind#BROWSER} or {@link Kind#DEVICE_CODE}
   */
  public Kind kind() {
    return kind;
  }

  /**
   * The URL to open.
   *
   * @return the PKCE authorization URL, or the device flow's verification URL
   */
  public String url() {
    return url;
  }

  /**
   * The code to enter at {@link #url()}: present for {@link Kind#DEVICE_CODE}, empty for {@link
   * Kind#BROWSER}.
   *
   * @return the user code, if any
   */
  public Optional<String> userCode() {
    return Optional.ofNullable(userCode);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof Prompt)) {
      return false;
    }
    Prompt p = (Prompt) o;
    return kind == p.kind && url.equals(p.url) && Objects.equals(userCode, p.userCode);
  }

  @Override
  public int hashCode() {
    return Objects.hash(kind, url, userCode);
  }

  @Override
  public String toString() {
    return "Prompt[" + kind + ", " + url + (userCode == null ? "]" : ", code " + userCode + "]");
  }
}
