package org.flyte.auth;

/**
 * The identity provider refused the credentials: see {@link #oauthError()} (for example {@code invalid_client}) and {@link #httpStatus()}.
 *
 * <p>Status {@link ErrorCode#AUTHENTICATION} of the native library.
 */
public class AuthenticationException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public AuthenticationException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.AUTHENTICATION.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
