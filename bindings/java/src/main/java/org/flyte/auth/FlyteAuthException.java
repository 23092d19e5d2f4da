package org.flyte.auth;

/**
 * A failure reported by the flyteauth native library.
 *
 * <p>Each {@link ErrorCode} has a subclass (for example {@link AuthenticationException} when
 * the identity provider refused the credentials), so callers can catch what they handle.
 * Besides the message, an exception carries the HTTP status and the OAuth2 {@code error} /
 * {@code error_description} the server answered with, when there was one.
 *
 * <p>Messages never contain a secret, a token or an authorization code: the native library
 * guarantees this for its messages, and this binding adds none.
 *
 * <p>Unchecked, like the exceptions of most client libraries: whether a failure is worth
 * handling depends on the caller ({@link #isRetryable()} helps).
 */
public class FlyteAuthException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The C library's status number. */
  private final int statusCode;
  /** The HTTP status the server answered with, 0 if none. */
  private final int httpStatus;
  /** The OAuth2 {@code error} code, or null. */
  private final String oauthError;
  /** The OAuth2 {@code error_description}, or null. */
  private final String oauthErrorDescription;

  /**
   * Creates an exception; normally only the binding does.
   *
   * @param statusCode the C library's status number ({@link ErrorCode#value()})
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public FlyteAuthException(
      int statusCode,
      String message,
      int httpStatus,
      String oauthError,
      String oauthErrorDescription) {
    super(message);
    this.statusCode = statusCode;
    this.httpStatus = httpStatus;
    this.oauthError = oauthError;
    this.oauthErrorDescription = oauthErrorDescription;
  }

  /**
   * The kind of failure.
   *
   * @return the code, {@link ErrorCode#UNKNOWN} for a status this binding does not know
   */
  public ErrorCode code() {
    return ErrorCode.of(statusCode);
  }

  /**
   * The raw status number of the C library ({@code flyteauth_status}).
   *
   * @return the status, never 0 (success)
   */
  public int statusCode() {
    return statusCode;
  }

  /**
   * The HTTP status the server (identity provider or flyteadmin) answered with.
   *
   * @return the status, or 0 when no server answered
   */
  public int httpStatus() {
    return httpStatus;
  }

  /**
   * The OAuth2 {@code error} code the server answered with (RFC 6749 §5.2), for example
   * {@code "invalid_client"}.
   *
   * @return the code, or null if there was none
   */
  public String oauthError() {
    return oauthError;
  }

  /**
   * The OAuth2 {@code error_description} the server answered with.
   *
   * @return the description, or null if there was none
   */
  public String oauthErrorDescription() {
    return oauthErrorDescription;
  }

  /**
   * Whether trying again later may succeed: true for {@link ErrorCode#NETWORK} and {@link
   * ErrorCode#TIMEOUT}.
   *
   * @return whether the failure is transient
   */
  public boolean isRetryable() {
    ErrorCode c = code();
    return c == ErrorCode.NETWORK || c == ErrorCode.TIMEOUT;
  }

  /**
   * The exception for a failed native call: the subclass that matches {@code statusCode}.
   * Called by both back ends (by JNI from {@code flyteauth_jni.c}).
   */
  static FlyteAuthException fromNative(
      int statusCode, String message, int httpStatus, String oauthError, String description) {
    switch (ErrorCode.of(statusCode)) {
      case INVALID_ARGUMENT:
        return new InvalidArgumentException(message, httpStatus, oauthError, description);
      case CONFIG:
        return new ConfigException(message, httpStatus, oauthError, description);
      case DISCOVERY:
        return new DiscoveryException(message, httpStatus, oauthError, description);
      case AUTHENTICATION:
        return new AuthenticationException(message, httpStatus, oauthError, description);
      case NETWORK:
        return new NetworkException(message, httpStatus, oauthError, description);
      case TIMEOUT:
        return new TimeoutException(message, httpStatus, oauthError, description);
      case COMMAND:
        return new CommandException(message, httpStatus, oauthError, description);
      case CANCELLED:
        return new CancelledException(message, httpStatus, oauthError, description);
      case INTERNAL:
        return new InternalException(message, httpStatus, oauthError, description);
      case PROTOCOL:
        return new ProtocolException(message, httpStatus, oauthError, description);
      case UNSUPPORTED:
        return new UnsupportedException(message, httpStatus, oauthError, description);
      case LOGIN_REQUIRED:
        return new LoginRequiredException(message, httpStatus, oauthError, description);
      default:
        return new FlyteAuthException(statusCode, message, httpStatus, oauthError, description);
    }
  }
}
