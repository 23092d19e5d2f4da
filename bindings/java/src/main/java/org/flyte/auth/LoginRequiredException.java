package org.flyte.auth;

/**
 * A person must log in (PKCE or device flow, with no usable cached or refresh token), but the
 * authenticator is non-interactive ({@link Authenticator#setInteractive(boolean)} or the {@code
 * interactive} config key). Run {@code flyteauth login}, then retry.
 *
 * <p>Status {@link ErrorCode#LOGIN_REQUIRED} of the native library.
 */
public class LoginRequiredException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public LoginRequiredException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.LOGIN_REQUIRED.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
