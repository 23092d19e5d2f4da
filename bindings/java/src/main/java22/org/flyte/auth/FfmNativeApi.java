package org.flyte.auth;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.ref.Reference;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The FFM back end ({@code java.lang.foreign}, Java 22+): downcalls straight into the C ABI of
 * {@code libflyteauth_jni.so}, which exports every {@code flyteauth_*} function. Compiled with
 * {@code --release 22} and loaded reflectively by {@link Backends} only on a Java 22+ runtime.
 *
 * <p>Functions are looked up once (static method handles); arguments live in confined arenas.
 * The calls of the hot path ({@code metadata_is_current}, and {@code try_fetch_metadata} /
 * {@code metadata_free} when the token changed) never block and never call back into Java, so
 * they are linked as critical functions: no thread-state transition, and the out-parameter of
 * {@code try_fetch_metadata} is a Java {@code long[1]} (one per platform thread, reused) passed
 * by address instead of native memory allocated per call. So a call on a valid token allocates
 * nothing on a platform thread. The functions that may call back into Java (the release
 * function of a prompt callback runs inside {@code set_prompt_callback} or {@code
 * authenticator_free}) are ordinary downcalls: an upcall from a critical one is not allowed.
 *
 * <p><b>Prompt callbacks.</b> There are two upcall stubs for the whole JVM, {@code prompt} and
 * {@code release}, allocated once in {@link Arena#global()} and never freed; the {@code
 * user_data} of a registration is a key into {@link #HANDLERS}, and {@code release} removes it.
 * Why not a stub per callback in an arena closed by {@code release}: {@code release} runs on a
 * library thread, possibly after {@code close()} and after the {@link Authenticator} is gone, and
 * a stub cannot free the arena it runs from; per-registration stubs would buy nothing but that
 * hazard, since {@code user_data} is needed to find the Java callback anyway (FFM has no global
 * references). So nothing native is allocated per registration, and a late {@code release} always
 * finds valid code. Both upcalls catch every {@link Throwable}: an exception escaping an upcall
 * ends the JVM.
 *
 * <p>Calls are restricted methods: run with {@code --enable-native-access=ALL-UNNAMED} (or the
 * jar's {@code Enable-Native-Access} manifest entry) to avoid the JDK's warning.
 */
final class FfmNativeApi implements NativeApi {
  private static final SymbolLookup LIB;

  /** The out-parameter of try_fetch_metadata for each platform thread. */
  private static final ThreadLocal<long[]> OUT = ThreadLocal.withInitial(() -> new long[1]);

  private static final MethodHandle VERSION;
  private static final MethodHandle NEW;
  private static final MethodHandle FROM_FLYTE_CONFIG;
  private static final MethodHandle FREE;
  private static final MethodHandle CANCEL_NEW;
  private static final MethodHandle CANCEL_CANCEL;
  private static final MethodHandle CANCEL_FREE;
  private static final MethodHandle TRY_FETCH;
  private static final MethodHandle IS_CURRENT;
  private static final MethodHandle SET_PROMPT_CALLBACK;
  private static final MethodHandle SET_LOG_CALLBACK;
  private static final MethodHandle FETCH_EX;
  private static final MethodHandle METADATA_LEN;
  private static final MethodHandle METADATA_KEY;
  private static final MethodHandle METADATA_VALUE;
  private static final MethodHandle METADATA_FREE;
  private static final MethodHandle LOGOUT;
  private static final MethodHandle REFRESH_EX;
  private static final MethodHandle INVALIDATE_EX;
  private static final MethodHandle SET_INTERACTIVE;
  private static final MethodHandle ERROR_CODE;
  private static final MethodHandle ERROR_MESSAGE;
  private static final MethodHandle ERROR_HTTP_STATUS;
  private static final MethodHandle ERROR_OAUTH_ERROR;
  private static final MethodHandle ERROR_OAUTH_DESCRIPTION;
  private static final MethodHandle ERROR_FREE;
  private static final MethodHandle STATUS_STR;
  private static final MethodHandle EXPIRES_AT_MS;
  private static final MethodHandle INSECURE;

  static {
    SymbolLookup[] found = new SymbolLookup[1];
    NativeLibrary.load(path -> found[0] = SymbolLookup.libraryLookup(Path.of(path), Arena.global()));
    LIB = found[0];

    VERSION = fn("flyteauth_version", FunctionDescriptor.of(ADDRESS));
    NEW = fn("flyteauth_authenticator_new", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    FROM_FLYTE_CONFIG =
        fn("flyteauth_authenticator_from_flyte_config", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    FREE = fn("flyteauth_authenticator_free", FunctionDescriptor.ofVoid(ADDRESS));
    CANCEL_NEW = fn("flyteauth_cancel_new", FunctionDescriptor.of(ADDRESS));
    CANCEL_CANCEL = fn("flyteauth_cancel_cancel", FunctionDescriptor.ofVoid(ADDRESS));
    CANCEL_FREE = fn("flyteauth_cancel_free", FunctionDescriptor.ofVoid(ADDRESS));
    TRY_FETCH =
        fn(
            "flyteauth_authenticator_try_fetch_metadata",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS),
            Linker.Option.critical(true));
    IS_CURRENT =
        fn(
            "flyteauth_authenticator_metadata_is_current",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS),
            Linker.Option.critical(false));
    SET_PROMPT_CALLBACK =
        fn(
            "flyteauth_authenticator_set_prompt_callback",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    SET_LOG_CALLBACK =
        fn("flyteauth_set_log_callback", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
    FETCH_EX =
        fn(
            "flyteauth_authenticator_fetch_metadata_ex",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS));
    METADATA_LEN =
        fn("flyteauth_metadata_len", FunctionDescriptor.of(JAVA_LONG, ADDRESS), Linker.Option.critical(false));
    METADATA_KEY =
        fn("flyteauth_metadata_key", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG), Linker.Option.critical(false));
    METADATA_VALUE =
        fn("flyteauth_metadata_value", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG), Linker.Option.critical(false));
    METADATA_FREE =
        fn("flyteauth_metadata_free", FunctionDescriptor.ofVoid(ADDRESS), Linker.Option.critical(false));
    LOGOUT = fn("flyteauth_authenticator_logout", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    REFRESH_EX =
        fn("flyteauth_authenticator_refresh_ex", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));
    INVALIDATE_EX =
        fn(
            "flyteauth_authenticator_invalidate_ex",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));
    SET_INTERACTIVE =
        fn("flyteauth_authenticator_set_interactive", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
    ERROR_CODE = fn("flyteauth_error_code", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    ERROR_MESSAGE = fn("flyteauth_error_message", FunctionDescriptor.of(ADDRESS, ADDRESS));
    ERROR_HTTP_STATUS = fn("flyteauth_error_http_status", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    ERROR_OAUTH_ERROR = fn("flyteauth_error_oauth_error", FunctionDescriptor.of(ADDRESS, ADDRESS));
    ERROR_OAUTH_DESCRIPTION =
        fn("flyteauth_error_oauth_error_description", FunctionDescriptor.of(ADDRESS, ADDRESS));
    ERROR_FREE = fn("flyteauth_error_free", FunctionDescriptor.ofVoid(ADDRESS));
    STATUS_STR = fn("flyteauth_status_str", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    EXPIRES_AT_MS =
        fn("flyteauth_metadata_expires_at_ms", FunctionDescriptor.of(JAVA_LONG, ADDRESS), Linker.Option.critical(false));
    INSECURE =
        fn("flyteauth_authenticator_insecure", FunctionDescriptor.of(JAVA_INT, ADDRESS), Linker.Option.critical(false));
  }

  private static MethodHandle fn(String name, FunctionDescriptor descriptor, Linker.Option... options) {
    MemorySegment symbol =
        LIB.find(name)
            .orElseThrow(() -> new UnsatisfiedLinkError("flyteauth: symbol " + name + " not found"));
    return Linker.nativeLinker().downcallHandle(symbol, descriptor, options);
  }

  /** Called reflectively by {@link Backends}. */
  FfmNativeApi() {}

  @Override
  public String name() {
    return "ffm";
  }

  @Override
  public String version() {
    try {
      return string((MemorySegment) VERSION.invokeExact());
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long newAuthenticator(byte[] configJson) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      MemorySegment err = arena.allocate(ADDRESS);
      int st = (int) NEW.invokeExact(arena.allocateFrom(JAVA_BYTE, configJson), out, err);
      check(st, err);
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long fromFlyteConfig(byte[] path) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      MemorySegment err = arena.allocate(ADDRESS);
      MemorySegment p = path == null ? MemorySegment.NULL : arena.allocateFrom(JAVA_BYTE, path);
      int st = (int) FROM_FLYTE_CONFIG.invokeExact(p, out, err);
      check(st, err);
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void freeAuthenticator(long a) {
    try {
      FREE.invokeExact(MemorySegment.ofAddress(a));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long newCancel() {
    try {
      return ((MemorySegment) CANCEL_NEW.invokeExact()).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void cancel(long c) {
    try {
      CANCEL_CANCEL.invokeExact(MemorySegment.ofAddress(c));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void freeCancel(long c) {
    try {
      CANCEL_FREE.invokeExact(MemorySegment.ofAddress(c));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long tryFetch(long a) {
    // The out-parameter: a per-thread long[1] on platform threads (no allocation per call);
    // virtual threads, which are cheap and many, get a fresh one.
    Thread self = Thread.currentThread();
    long[] out = self.isVirtual() ? new long[1] : OUT.get();
    int fresh;
    try {
      fresh = (int) TRY_FETCH.invokeExact(MemorySegment.ofAddress(a), MemorySegment.ofArray(out));
    } catch (Throwable t) {
      throw rethrow(t);
    }
    return fresh == 1 ? out[0] : 0;
  }

  @Override
  public boolean isCurrent(long a, long m, Object owner) {
    int current;
    try {
      current = (int) IS_CURRENT.invokeExact(MemorySegment.ofAddress(a), MemorySegment.ofAddress(m));
    } catch (Throwable t) {
      throw rethrow(t);
    }
    // `m` is released only once `owner` is unreachable (NativeHandle): keep it reachable until
    // the native call has returned, not just until `m` was read from it.
    Reference.reachabilityFence(owner);
    return current == 1;
  }

  @Override
  public long fetch(long a, long timeoutMs, long cancel) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment out = arena.allocate(ADDRESS);
      MemorySegment err = arena.allocate(ADDRESS);
      int st =
          (int)
              FETCH_EX.invokeExact(
                  MemorySegment.ofAddress(a), timeoutMs, MemorySegment.ofAddress(cancel), out, err);
      check(st, err);
      return out.get(ADDRESS, 0).address();
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public long expiresAtMs(long m) {
    try {
      return (long) EXPIRES_AT_MS.invokeExact(MemorySegment.ofAddress(m));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public boolean insecure(long a) {
    try {
      return (int) INSECURE.invokeExact(MemorySegment.ofAddress(a)) == 1;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public String[] read(long m) {
    try {
      MemorySegment md = MemorySegment.ofAddress(m);
      long n = (long) METADATA_LEN.invokeExact(md);
      String[] pairs = new String[(int) (2 * n)];
      for (long i = 0; i < n; i++) {
        pairs[(int) (2 * i)] = string((MemorySegment) METADATA_KEY.invokeExact(md, i));
        pairs[(int) (2 * i + 1)] = string((MemorySegment) METADATA_VALUE.invokeExact(md, i));
      }
      return pairs;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void freeMetadata(long m) {
    try {
      METADATA_FREE.invokeExact(MemorySegment.ofAddress(m));
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void logout(long a) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment err = arena.allocate(ADDRESS);
      int st = (int) LOGOUT.invokeExact(MemorySegment.ofAddress(a), err);
      check(st, err);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void refresh(long a, long timeoutMs, long cancel) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment err = arena.allocate(ADDRESS);
      int st =
          (int) REFRESH_EX.invokeExact(MemorySegment.ofAddress(a), timeoutMs, MemorySegment.ofAddress(cancel), err);
      check(st, err);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void setInteractive(long a, boolean interactive) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment err = arena.allocate(ADDRESS);
      int st = (int) SET_INTERACTIVE.invokeExact(MemorySegment.ofAddress(a), interactive ? 1 : 0, err);
      check(st, err);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void invalidate(long a, byte[] rejectedValue, long timeoutMs, long cancel) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment err = arena.allocate(ADDRESS);
      int st =
          (int)
              INVALIDATE_EX.invokeExact(
                  MemorySegment.ofAddress(a),
                  arena.allocateFrom(JAVA_BYTE, rejectedValue),
                  timeoutMs,
                  MemorySegment.ofAddress(cancel),
                  err);
      check(st, err);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Registered prompt callbacks by user_data (never 0, which would be NULL). */
  private static final ConcurrentHashMap<Long, PromptHandler> HANDLERS = new ConcurrentHashMap<>();

  private static final AtomicLong NEXT_KEY = new AtomicLong(1);

  /** The upcall stubs, created on first use (a few milliseconds), in the global arena. */
  private static final class Upcalls {
    static final MemorySegment PROMPT;
    static final MemorySegment RELEASE;
    static final MemorySegment LOG;
    static final MemorySegment LOG_RELEASE;

    static {
      try {
        MethodHandles.Lookup lookup = MethodHandles.lookup();
        Linker linker = Linker.nativeLinker();
        PROMPT =
            linker.upcallStub(
                lookup.findStatic(
                    FfmNativeApi.class,
                    "onPrompt",
                    MethodType.methodType(
                        void.class, MemorySegment.class, int.class, MemorySegment.class, MemorySegment.class)),
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
                Arena.global());
        RELEASE =
            linker.upcallStub(
                lookup.findStatic(
                    FfmNativeApi.class, "onRelease", MethodType.methodType(void.class, MemorySegment.class)),
                FunctionDescriptor.ofVoid(ADDRESS),
                Arena.global());
        LOG =
            linker.upcallStub(
                lookup.findStatic(
                    FfmNativeApi.class,
                    "onLog",
                    MethodType.methodType(
                        void.class, MemorySegment.class, int.class, MemorySegment.class, MemorySegment.class)),
                FunctionDescriptor.ofVoid(ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
                Arena.global());
        LOG_RELEASE =
            linker.upcallStub(
                lookup.findStatic(
                    FfmNativeApi.class, "onLogRelease", MethodType.methodType(void.class, MemorySegment.class)),
                FunctionDescriptor.ofVoid(ADDRESS),
                Arena.global());
      } catch (ReflectiveOperationException e) {
        throw new ExceptionInInitializerError(e);
      }
    }
  }

  /** {@code flyteauth_prompt_callback}, on a library thread. Never throws. */
  private static void onPrompt(MemorySegment userData, int kind, MemorySegment url, MemorySegment userCode) {
    try {
      PromptHandler handler = HANDLERS.get(userData.address());
      if (handler != null) {
        handler.show(kind, string(url), string(userCode));
      }
    } catch (Throwable t) {
      PromptHandler.report(t);
    }
  }

  /** {@code flyteauth_release_callback}: exactly once per registration. Never throws. */
  private static void onRelease(MemorySegment userData) {
    try {
      PromptHandler handler = HANDLERS.remove(userData.address());
      if (handler != null) {
        handler.released();
      }
    } catch (Throwable t) {
      PromptHandler.report(t);
    }
  }

  /**
   * The installed log handlers by user_data: the library's callback is process-wide, so there is
   * at most one, plus one being released.
   */
  private static final ConcurrentHashMap<Long, LogHandler> LOG_HANDLERS = new ConcurrentHashMap<>();

  /** {@code flyteauth_log_callback}, on the thread that made the record. Never throws. */
  private static void onLog(MemorySegment userData, int level, MemorySegment target, MemorySegment message) {
    try {
      LogHandler handler = LOG_HANDLERS.get(userData.address());
      if (handler != null) {
        handler.log(level, string(target), string(message));
      }
    } catch (Throwable t) {
      // LogHandler.log never throws; an OutOfMemoryError making the strings drops the record.
    }
  }

  /** The log callback's {@code flyteauth_release_callback}. Never throws. */
  private static void onLogRelease(MemorySegment userData) {
    try {
      LogHandler handler = LOG_HANDLERS.remove(userData.address());
      if (handler != null) {
        handler.released();
      }
    } catch (Throwable t) {
      // nothing to report to
    }
  }

  @Override
  public void setLogCallback(LogHandler handler) {
    try {
      if (handler == null) {
        int st =
            (int)
                SET_LOG_CALLBACK.invokeExact(
                    MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL, 0);
        if (st != 0) {
          throw new IllegalStateException("flyteauth_set_log_callback: status " + st);
        }
        return;
      }
      MemorySegment log = Upcalls.LOG;
      MemorySegment release = Upcalls.LOG_RELEASE;
      long key = NEXT_KEY.getAndIncrement();
      LOG_HANDLERS.put(key, handler);
      int st;
      try {
        st = (int) SET_LOG_CALLBACK.invokeExact(log, MemorySegment.ofAddress(key), release, 5);
      } catch (Throwable t) {
        LOG_HANDLERS.remove(key);
        throw t;
      }
      if (st != 0) {
        LOG_HANDLERS.remove(key); // on failure, release is not called: user_data stays ours
        throw new IllegalStateException("flyteauth_set_log_callback: status " + st);
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  @Override
  public void setPromptCallback(long a, PromptHandler handler) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment err = arena.allocate(ADDRESS);
      if (handler == null) {
        int st =
            (int)
                SET_PROMPT_CALLBACK.invokeExact(
                    MemorySegment.ofAddress(a), MemorySegment.NULL, MemorySegment.NULL, MemorySegment.NULL, err);
        check(st, err);
        return;
      }
      MemorySegment prompt = Upcalls.PROMPT;
      MemorySegment release = Upcalls.RELEASE;
      long key = NEXT_KEY.getAndIncrement();
      HANDLERS.put(key, handler);
      int st;
      try {
        st =
            (int)
                SET_PROMPT_CALLBACK.invokeExact(
                    MemorySegment.ofAddress(a), prompt, MemorySegment.ofAddress(key), release, err);
      } catch (Throwable t) {
        HANDLERS.remove(key);
        throw t;
      }
      if (st != 0) {
        HANDLERS.remove(key); // on failure, release is not called: user_data stays ours
      }
      check(st, err);
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /** Throw the exception for a failed call (status {@code st}, error in {@code *errOut}). */
  private static void check(int st, MemorySegment errOut) throws Throwable {
    if (st == 0) {
      return;
    }
    MemorySegment e = errOut.get(ADDRESS, 0);
    if (e.equals(MemorySegment.NULL)) {
      throw FlyteAuthException.fromNative(st, string((MemorySegment) STATUS_STR.invokeExact(st)), 0, null, null);
    }
    try {
      int code = (int) ERROR_CODE.invokeExact(e);
      String message = string((MemorySegment) ERROR_MESSAGE.invokeExact(e));
      int http = (int) ERROR_HTTP_STATUS.invokeExact(e);
      String oauth = string((MemorySegment) ERROR_OAUTH_ERROR.invokeExact(e));
      String description = string((MemorySegment) ERROR_OAUTH_DESCRIPTION.invokeExact(e));
      throw FlyteAuthException.fromNative(code, message, http, oauth, description);
    } finally {
      ERROR_FREE.invokeExact(e);
    }
  }

  /** A NUL-terminated UTF-8 string owned by the library; NULL gives null. */
  private static String string(MemorySegment p) {
    if (p.equals(MemorySegment.NULL)) {
      return null;
    }
    return p.reinterpret(Long.MAX_VALUE).getString(0);
  }

  private static RuntimeException rethrow(Throwable t) {
    if (t instanceof RuntimeException r) {
      throw r;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IllegalStateException("flyteauth: unexpected exception from a downcall", t);
  }
}
