package org.flyte.auth;

/**
 * The kind of a failure: the {@code flyteauth_status} codes of the C library ({@code
 * include/flyteauth.h}), whose numbers are stable.
 *
 * <p>Each code but {@link #UNKNOWN} has its own subclass of {@link FlyteAuthException}.
 */
public enum ErrorCode {
  /** An argument was missing or not valid UTF-8; the message names it. */
  INVALID_ARGUMENT(1),
  /**
   * The configuration is wrong (unknown key, wrong type, missing value, unreadable file); the
   * message names the key. Retrying will not help.
   */
  CONFIG(2),
  /** The server's auth metadata could not be fetched or understood. */
  DISCOVERY(3),
  /** The identity provider refused the credentials; see the OAuth error and HTTP status. */
  AUTHENTICATION(4),
  /** A connection failed or the server kept answering 5xx/429; retrying later may help. */
  NETWORK(5),
  /** A request, a command or the call itself did not finish in time. */
  TIMEOUT(6),
  /** The external command ({@code command} / {@code proxyCommand}) failed. */
  COMMAND(7),
  /** The call was cancelled (for example because the authenticator was closed meanwhile). */
  CANCELLED(8),
  /** A bug in flyteauth. Please report it. */
  INTERNAL(9),
  /** The server answered with something that is not a valid OAuth2 response. */
  PROTOCOL(10),
  /** The configured flow is not available in this build of the native library. */
  UNSUPPORTED(11),
  /**
   * A person must log in (PKCE or device flow, no usable cached or refresh token), but the
   * authenticator is non-interactive. Run {@code flyteauth login}, then retry.
   */
  LOGIN_REQUIRED(12),
  /** A status this version of the binding does not know (a newer native library). */
  UNKNOWN(-1);

  private final int value;

  ErrorCode(int value) {
    this.value = value;
  }

  /**
   * The C library's number for this code.
   *
   * @return the {@code flyteauth_status} value, or -1 for {@link #UNKNOWN}
   */
  public int value() {
    return value;
  }

  /**
   * The code for a {@code flyteauth_status} number.
   *
   * @param status the number returned by the C library
   * @return its code, or {@link #UNKNOWN} for a number this binding does not know
   */
  public static ErrorCode of(int status) {
    for (ErrorCode c : values()) {
      if (c.value == status) {
        return c;
      }
    }
    return UNKNOWN;
  }
}
