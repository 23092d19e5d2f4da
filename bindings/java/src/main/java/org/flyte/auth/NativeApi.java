package org.flyte.auth;

/**
 * The C ABI of flyteauth as seen by {@link Authenticator}: one implementation per back end
 * (FFM in {@code FfmNativeApi}, JNI in {@link JniNativeApi}). Handles are native addresses
 * carried as {@code long}; strings go in as NUL-terminated UTF-8. Failed calls throw the
 * {@link FlyteAuthException} built by {@link FlyteAuthException#fromNative}.
 *
 * <p>The contract of each method is the one of the C function it names.
 */
interface NativeApi {
  /** "ffm" or "jni". */
  String name();

  /** {@code flyteauth_version}. */
  String version();

  /** {@code flyteauth_authenticator_new}: the handle (never 0). */
  long newAuthenticator(byte[] configJson);

  /** {@code flyteauth_authenticator_from_flyte_config}; {@code path} null: default lookup. */
  long fromFlyteConfig(byte[] path);

  /** {@code flyteauth_authenticator_free}. */
  void freeAuthenticator(long a);

  /** {@code flyteauth_cancel_new}. */
  long newCancel();

  /** {@code flyteauth_cancel_cancel}. */
  void cancel(long c);

  /** {@code flyteauth_cancel_free}. */
  void freeCancel(long c);

  /** {@code flyteauth_authenticator_try_fetch_metadata}: a fresh snapshot, or 0. Never blocks. */
  long tryFetch(long a);

  /**
   * {@code flyteauth_authenticator_metadata_is_current}: whether snapshot {@code m} is still
   * {@code a}'s current, fresh one. Never blocks. {@code owner} is the Java object whose
   * reachability keeps {@code m} alive (see {@link NativeHandle}); the implementation keeps it
   * strongly reachable until the native call has returned.
   */
  boolean isCurrent(long a, long m, Object owner);

  /**
   * {@code flyteauth_authenticator_fetch_metadata_ex}: the snapshot. {@code timeoutMs} 0: no
   * bound; {@code cancel} never 0.
   */
  long fetch(long a, long timeoutMs, long cancel);

  /** {@code flyteauth_metadata_expires_at_ms}: 0 when unknown. */
  long expiresAtMs(long m);

  /** {@code flyteauth_authenticator_insecure}. */
  boolean insecure(long a);

  /** The headers of snapshot {@code m}: {key0, value0, key1, value1, ...}. */
  String[] read(long m);

  /** {@code flyteauth_metadata_free}. */
  void freeMetadata(long m);

  /** {@code flyteauth_authenticator_logout}. */
  void logout(long a);

  /** {@code flyteauth_authenticator_refresh_ex} ({@code timeoutMs} 0: no bound). */
  void refresh(long a, long timeoutMs, long cancel);

  /** {@code flyteauth_authenticator_set_interactive}. */
  void setInteractive(long a, boolean interactive);

  /**
   * {@code flyteauth_authenticator_set_prompt_callback}: route prompts to {@code handler}
   * ({@code null}: remove the callback). The back end keeps {@code handler} reachable until the
   * library's release function runs, then calls {@link PromptHandler#released()} and drops it.
   */
  void setPromptCallback(long a, PromptHandler handler);

  /**
   * {@code flyteauth_set_log_callback} at TRACE, process-wide: route the library's records to
   * {@code handler} ({@code null}: remove the callback). The back end keeps {@code handler}
   * reachable until the library's release function runs, then calls {@link
   * LogHandler#released()}.
   */
  void setLogCallback(LogHandler handler);

  /** {@code flyteauth_authenticator_invalidate_ex} ({@code timeoutMs} 0: no bound). */
  void invalidate(long a, byte[] rejectedValue, long timeoutMs, long cancel);
}
