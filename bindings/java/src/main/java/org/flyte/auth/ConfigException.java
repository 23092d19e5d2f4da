package org.flyte.auth;

/**
 * The configuration is wrong: an unknown key, a value of the wrong type, a missing value or an unreadable file. The message names the key (never a secret's value). Fix the configuration; retrying will not help.
 *
 * <p>Status {@link ErrorCode#CONFIG} of the native library.
 */
public class ConfigException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public ConfigException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.CONFIG.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
