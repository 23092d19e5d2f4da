package org.flyte.auth;

/**
 * The configured flow is not available in this build of the native library.
 *
 * <p>Status {@link ErrorCode#UNSUPPORTED} of the native library.
 */
public class UnsupportedException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public UnsupportedException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.UNSUPPORTED.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
