package org.flyte.auth;

/**
 * The external command ({@code command} or {@code proxyCommand}) failed; the message has its exit status and standard error.
 *
 * <p>Status {@link ErrorCode#COMMAND} of the native library.
 */
public class CommandException extends FlyteAuthException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception; normally only the binding does.
   *
   * @param message what went wrong (must not contain a secret)
   * @param httpStatus the HTTP status the server answered with, 0 if none
   * @param oauthError the OAuth2 {@code error} code, or null
   * @param oauthErrorDescription the OAuth2 {@code error_description}, or null
   */
  public CommandException(String message, int httpStatus, String oauthError, String oauthErrorDescription) {
    super(ErrorCode.COMMAND.value(), message, httpStatus, oauthError, oauthErrorDescription);
  }
}
