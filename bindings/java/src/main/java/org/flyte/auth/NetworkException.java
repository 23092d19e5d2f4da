package org.flyte.auth;

/**
 * A connection failed, or the server kept answering 5xx/429 after the configured retries; retrying later may help.
 *
 * <p>Status {@link ErrorCode#NETWORK} of the native library.
 */
public class NetworkException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public NetworkException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.NETWORK.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
