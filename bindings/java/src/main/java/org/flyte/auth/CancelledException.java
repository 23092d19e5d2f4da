package org.flyte.auth;

/**
 * The call was cancelled: {@link Authenticator#close()} ends the blocking calls that are still waiting with this exception.
 *
 * <p>Status {@link ErrorCode#CANCELLED} of the native library.
 */
public class CancelledException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public CancelledException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.CANCELLED.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
