package org.flyte.auth;

/**
 * The server answered with something that is not a valid OAuth2 response. (Not to be confused with {@link java.net.ProtocolException}.)
 *
 * <p>Status {@link ErrorCode#PROTOCOL} of the native library.
 */
public class ProtocolException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public ProtocolException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.PROTOCOL.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
