package org.flyte.auth;

/**
 * The JNI back end: {@code src/main/c/flyteauth_jni.c}, a thin C shim over the C ABI. Used on
 * Java 8-21, or anywhere with {@code -Dflyteauth.backend=jni}.
 */
final class JniNativeApi implements NativeApi {
  static {
    // A lambda, not a method reference: System.load binds the library to its caller's loader.
    NativeLibrary.load(path -> System.load(path));
  }

  @Override
  public String name() {
    return "jni";
  }

  @Override
  public String version() {
    return nVersion();
  }

  @Override
  public long newAuthenticator(byte[] configJson) {
    return nNew(configJson);
  }

  @Override
  public long fromFlyteConfig(byte[] path) {
    return nFromFlyteConfig(path);
  }

  @Override
  public void freeAuthenticator(long a) {
    nFree(a);
  }

  @Override
  public long newCancel() {
    return nCancelNew();
  }

  @Override
  public void cancel(long c) {
    nCancelCancel(c);
  }

  @Override
  public void freeCancel(long c) {
    nCancelFree(c);
  }

  @Override
  public long tryFetch(long a) {
    return nTryFetch(a);
  }

  @Override
  public boolean isCurrent(long a, long m, Object owner) {
    // `owner` is an argument of the native method, so the JVM keeps it reachable (a JNI local
    // reference) until the call returns; the C code does not use it otherwise.
    return nIsCurrent(a, m, owner);
  }

  @Override
  public long fetch(long a, long timeoutMs, long cancel) {
    return nFetch(a, timeoutMs, cancel);
  }

  @Override
  public long expiresAtMs(long m) {
    return nExpiresAtMs(m);
  }

  @Override
  public boolean insecure(long a) {
    return nInsecure(a);
  }

  @Override
  public String[] read(long m) {
    return nRead(m);
  }

  @Override
  public void freeMetadata(long m) {
    nMetadataFree(m);
  }

  @Override
  public void logout(long a) {
    nLogout(a);
  }

  @Override
  public void refresh(long a, long timeoutMs, long cancel) {
    nRefresh(a, timeoutMs, cancel);
  }

  @Override
  public void setInteractive(long a, boolean interactive) {
    nSetInteractive(a, interactive);
  }

  @Override
  public void invalidate(long a, byte[] rejectedValue, long timeoutMs, long cancel) {
    nInvalidate(a, rejectedValue, timeoutMs, cancel);
  }

  @Override
  public void setPromptCallback(long a, PromptHandler handler) {
    nSetPromptCallback(a, handler);
  }

  @Override
  public void setLogCallback(LogHandler handler) {
    nSetLogCallback(handler);
  }

  private static native void nSetLogCallback(LogHandler handler);

  private static native String nVersion();

  private static native long nNew(byte[] configJson);

  private static native long nFromFlyteConfig(byte[] path);

  private static native void nFree(long a);

  private static native long nCancelNew();

  private static native void nCancelCancel(long c);

  private static native void nCancelFree(long c);

  private static native long nTryFetch(long a);

  private static native boolean nIsCurrent(long a, long m, Object owner);

  private static native long nFetch(long a, long timeoutMs, long cancel);

  private static native long nExpiresAtMs(long m);

  private static native boolean nInsecure(long a);

  private static native String[] nRead(long m);

  private static native void nMetadataFree(long m);

  private static native void nLogout(long a);

  private static native void nRefresh(long a, long timeoutMs, long cancel);

  private static native void nSetInteractive(long a, boolean interactive);

  private static native void nInvalidate(long a, byte[] rejectedValue, long timeoutMs, long cancel);

  /** {@code handler} null: remove the callback. Otherwise a global reference becomes user_data. */
  private static native void nSetPromptCallback(long a, PromptHandler handler);
}
