package org.flyte.auth;

/**
 * An argument was missing or invalid (for example a string with a NUL character); the message names it.
 *
 * <p>Status {@link ErrorCode#INVALID_ARGUMENT} of the native library.
 */
public class InvalidArgumentException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public InvalidArgumentException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.INVALID_ARGUMENT.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
