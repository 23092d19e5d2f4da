package org.flyte.auth;

/**
 * The server's auth metadata (OAuth2 discovery, Flyte's public client config) could not be fetched or understood.
 *
 * <p>Status {@link ErrorCode#DISCOVERY} of the native library.
 */
public class DiscoveryException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public DiscoveryException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.DISCOVERY.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
