package org.flyte.auth;

/**
 * A bug in flyteauth (for example a panic caught at the C boundary). Please report it.
 *
 * <p>Status {@link ErrorCode#INTERNAL} of the native library.
 */
public class InternalException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public InternalException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.INTERNAL.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
