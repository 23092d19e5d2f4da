package org.flyte.auth;

import java.lang.reflect.InvocationTargetException;
import java.util.Locale;

/**
 * Chooses the native back end once per JVM: FFM on Java 22+, JNI before, or what the system
 * property {@code flyteauth.backend} ({@code ffm} or {@code jni}) says.
 *
 * <p>The FFM classes are compiled for Java 22 and only ever loaded (reflectively) on a Java 22+
 * runtime, so older JVMs never see them.
 */
final class Backends {
  /** The system property that forces a back end: "ffm" or "jni". */
  static final String PROPERTY = "flyteauth.backend";

  private static final String FFM_CLASS = "org.flyte.auth.FfmNativeApi";

  private static NativeApi api;
  private static Error failure;

  private Backends() {}

  /** The back end of this JVM; throws UnsatisfiedLinkError when it cannot be loaded. */
  static synchronized NativeApi get() {
    if (api != null) {
      return api;
    }
    if (failure != null) {
      throw copy(failure);
    }
    try {
      api = select();
      try {
        LogHandler.install(api);
      } catch (RuntimeException | LinkageError e) {
        // Logging is not worth failing the back end for: the library keeps writing to stderr.
      }
      return api;
    } catch (Error e) {
      failure = e;
      throw e;
    }
  }

  private static NativeApi select() {
    String wanted = System.getProperty(PROPERTY, "").trim().toLowerCase(Locale.ROOT);
    int feature = javaFeatureVersion();
    switch (wanted) {
      case "jni":
        return jni();
      case "ffm":
        if (feature < 22) {
          throw new UnsatisfiedLinkError(
              "flyteauth: -D" + PROPERTY + "=ffm needs Java 22 or later; this is Java " + feature);
        }
        return ffm();
      case "":
        // In a GraalVM native image, JNI (META-INF/native-image has its metadata), not FFM.
        if (feature >= 22 && System.getProperty("org.graalvm.nativeimage.imagecode") == null) {
          try {
            return ffm();
          } catch (LinkageError e) {
            // For example a jar built without the FFM classes: JNI still works.
            try {
              return jni();
            } catch (LinkageError jniFailure) {
              jniFailure.addSuppressed(e);
              throw jniFailure;
            }
          }
        }
        return jni();
      default:
        throw new UnsatisfiedLinkError(
            "flyteauth: unknown -D" + PROPERTY + "=" + wanted + " (expected ffm or jni)");
    }
  }

  private static NativeApi jni() {
    try {
      return new JniNativeApi();
    } catch (ExceptionInInitializerError e) {
      throw unwrap(e);
    }
  }

  private static NativeApi ffm() {
    try {
      Class<?> c = Class.forName(FFM_CLASS);
      return (NativeApi) c.getDeclaredConstructor().newInstance();
    } catch (ClassNotFoundException e) {
      UnsatisfiedLinkError err =
          new UnsatisfiedLinkError("flyteauth: the FFM back end is not in this jar");
      err.initCause(e);
      throw err;
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      UnsatisfiedLinkError err =
          new UnsatisfiedLinkError("flyteauth: the FFM back end failed to start: " + cause);
      err.initCause(cause);
      throw err;
    } catch (ReflectiveOperationException e) {
      UnsatisfiedLinkError err = new UnsatisfiedLinkError("flyteauth: the FFM back end: " + e);
      err.initCause(e);
      throw err;
    } catch (ExceptionInInitializerError e) {
      throw unwrap(e);
    }
  }

  private static Error unwrap(ExceptionInInitializerError e) {
    Throwable cause = e.getCause();
    if (cause instanceof Error) {
      return (Error) cause;
    }
    UnsatisfiedLinkError err =
        new UnsatisfiedLinkError("flyteauth: loading the native library failed: " + cause);
    err.initCause(cause);
    return err;
  }

  /** A fresh error with the first failure as cause, so every caller gets its own stack trace. */
  private static Error copy(Error first) {
    UnsatisfiedLinkError err = new UnsatisfiedLinkError(first.getMessage());
    err.initCause(first);
    return err;
  }

  /** 8 for "1.8", 17 for "17", 25 for "25". */
  static int javaFeatureVersion() {
    String spec = System.getProperty("java.specification.version", "1.8");
    try {
      if (spec.startsWith("1.")) {
        return Integer.parseInt(spec.substring(2));
      }
      int dot = spec.indexOf('.');
      return Integer.parseInt(dot < 0 ? spec : spec.substring(0, dot));
    } catch (NumberFormatException e) {
      return 8;
    }
  }
}
