package org.flyte.auth;

/**
 * A request, an external command or the call itself did not finish in time. (Not to be confused with {@link java.util.concurrent.TimeoutException}.)
 *
 * <p>Status {@link ErrorCode#TIMEOUT} of the native library.
 */
public class TimeoutException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public TimeoutException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.TIMEOUT.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
