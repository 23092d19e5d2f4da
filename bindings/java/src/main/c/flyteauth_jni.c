/*
 * JNI glue for org.flyte.auth.JniNativeApi: each native method is one call (or a few) into the
 * flyteauth C ABI (include/flyteauth.h). No logic lives here beyond marshalling:
 *
 * - Handles (flyteauth_authenticator *, flyteauth_metadata *, flyteauth_cancel *) travel to
 *   Java as jlong. The Java side owns their lifetime (one free per handle).
 * - Strings from Java arrive as NUL-terminated UTF-8 byte[] (encoded by Java, so no modified
 *   UTF-8 and no surrogate confusion); strings to Java are decoded from UTF-8 here (invalid
 *   bytes become U+FFFD) and created with NewString.
 * - A failed call throws org.flyte.auth.FlyteAuthException (built by its static factory
 *   fromNative so the status-to-subclass mapping lives in Java) and frees the flyteauth_error.
 * - A prompt callback is an org.flyte.auth.PromptHandler held by a JNI global reference, which
 *   is the user_data of flyteauth_authenticator_set_prompt_callback; the library's release
 *   function deletes it (see "Login prompts" below).
 *
 * Built by build-native.sh against libflyteauth.a into one self-contained
 * libflyteauth_jni.so that also exports the flyteauth_* symbols for the FFM back end.
 */
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flyteauth.h"

static jclass exception_class;      /* org.flyte.auth.FlyteAuthException (global ref) */
static jmethodID exception_factory; /* static FlyteAuthException fromNative(int, String, int, String, String) */
static jclass string_class;         /* java.lang.String (global ref) */
static JavaVM *java_vm;             /* for the library's threads, which the JVM does not know */
static jclass prompt_class;         /* org.flyte.auth.PromptHandler (global ref) */
static jmethodID prompt_show;       /* void show(int kind, String url, String userCode) */
static jmethodID prompt_released;   /* void released() */
static jclass log_class;            /* org.flyte.auth.LogHandler (global ref) */
static jmethodID log_log;           /* void log(int level, String target, String message) */
static jmethodID log_released;      /* void released() */

#define H(p) ((void *)(intptr_t)(p))
#define J(p) ((jlong)(intptr_t)(p))

JNIEXPORT jint JNICALL JNI_OnLoad(JavaVM *vm, void *reserved) {
    (void)reserved;
    JNIEnv *env = NULL;
    if ((*vm)->GetEnv(vm, (void **)&env, JNI_VERSION_1_8) != JNI_OK)
        return JNI_ERR;
    jclass ex = (*env)->FindClass(env, "org/flyte/auth/FlyteAuthException");
    if (ex == NULL)
        return JNI_ERR;
    exception_factory = (*env)->GetStaticMethodID(
        env, ex, "fromNative",
        "(ILjava/lang/String;ILjava/lang/String;Ljava/lang/String;)Lorg/flyte/auth/FlyteAuthException;");
    if (exception_factory == NULL)
        return JNI_ERR;
    exception_class = (jclass)(*env)->NewGlobalRef(env, ex);
    jclass str = (*env)->FindClass(env, "java/lang/String");
    if (str == NULL)
        return JNI_ERR;
    string_class = (jclass)(*env)->NewGlobalRef(env, str);
    if (exception_class == NULL || string_class == NULL)
        return JNI_ERR;
    jclass prompt = (*env)->FindClass(env, "org/flyte/auth/PromptHandler");
    if (prompt == NULL)
        return JNI_ERR;
    prompt_show = (*env)->GetMethodID(env, prompt, "show", "(ILjava/lang/String;Ljava/lang/String;)V");
    prompt_released = (*env)->GetMethodID(env, prompt, "released", "()V");
    if (prompt_show == NULL || prompt_released == NULL)
        return JNI_ERR;
    /* Keeps the class (and so the method IDs) alive for as long as the library is loaded. */
    prompt_class = (jclass)(*env)->NewGlobalRef(env, prompt);
    if (prompt_class == NULL)
        return JNI_ERR;
    jclass log = (*env)->FindClass(env, "org/flyte/auth/LogHandler");
    if (log == NULL)
        return JNI_ERR;
    log_log = (*env)->GetMethodID(env, log, "log", "(ILjava/lang/String;Ljava/lang/String;)V");
    log_released = (*env)->GetMethodID(env, log, "released", "()V");
    if (log_log == NULL || log_released == NULL)
        return JNI_ERR;
    log_class = (jclass)(*env)->NewGlobalRef(env, log);
    if (log_class == NULL)
        return JNI_ERR;
    java_vm = vm;
    return JNI_VERSION_1_8;
}

/* A Java string from NUL-terminated UTF-8; NULL in, NULL out. Invalid UTF-8 becomes U+FFFD. */
static jstring new_string_utf8(JNIEnv *env, const char *s) {
    if (s == NULL)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    /* ASCII fast path (every header value): NewStringUTF is exact for it. */
    size_t i = 0;
    while (i < n && p[i] < 0x80)
        i++;
    if (i == n)
        return (*env)->NewStringUTF(env, s);

    jchar *buf = malloc((n + 1) * sizeof(jchar)); /* UTF-16 never needs more units than bytes */
    if (buf == NULL) {
        jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
        if (oom != NULL)
            (*env)->ThrowNew(env, oom, "flyteauth: decoding a native string");
        return NULL;
    }
    size_t len = 0;
    i = 0;
    while (i < n) {
        uint32_t c = p[i];
        size_t extra;
        uint32_t min;
        if (c < 0x80) {
            extra = 0; min = 0;
        } else if ((c & 0xE0) == 0xC0) {
            c &= 0x1F; extra = 1; min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            c &= 0x0F; extra = 2; min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            c &= 0x07; extra = 3; min = 0x10000;
        } else {
            buf[len++] = 0xFFFD; i++;
            continue;
        }
        size_t k = 1;
        for (; k <= extra; k++) {
            if (i + k >= n || (p[i + k] & 0xC0) != 0x80)
                break;
            c = (c << 6) | (p[i + k] & 0x3F);
        }
        if (k <= extra || c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
            buf[len++] = 0xFFFD;
            i += (k <= extra) ? k : extra + 1;
            continue;
        }
        i += extra + 1;
        if (c >= 0x10000) {
            c -= 0x10000;
            buf[len++] = (jchar)(0xD800 + (c >> 10));
            buf[len++] = (jchar)(0xDC00 + (c & 0x3FF));
        } else {
            buf[len++] = (jchar)c;
        }
    }
    jstring out = (*env)->NewString(env, buf, (jsize)len);
    free(buf);
    return out;
}

/* A malloc'd copy of a NUL-terminated UTF-8 byte[] (NULL array: NULL, no exception). */
static char *copy_bytes(JNIEnv *env, jbyteArray bytes, int *failed) {
    *failed = 0;
    if (bytes == NULL)
        return NULL;
    jsize n = (*env)->GetArrayLength(env, bytes);
    char *s = malloc((size_t)n + 1);
    if (s == NULL) {
        jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
        if (oom != NULL)
            (*env)->ThrowNew(env, oom, "flyteauth: copying an argument");
        *failed = 1;
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, bytes, 0, n, (jbyte *)s);
    s[n] = '\0';
    return s;
}

/* Throw the FlyteAuthException for a failed call and free `err`. */
static void throw_error(JNIEnv *env, flyteauth_status status, flyteauth_error *err) {
    const char *message = err ? flyteauth_error_message(err) : NULL;
    if (message == NULL)
        message = flyteauth_status_str((int)status);
    jint code = err ? (jint)flyteauth_error_code(err) : (jint)status;
    jint http = err ? (jint)flyteauth_error_http_status(err) : 0;
    jstring jmessage = new_string_utf8(env, message);
    jstring joauth = err ? new_string_utf8(env, flyteauth_error_oauth_error(err)) : NULL;
    jstring jdesc = err ? new_string_utf8(env, flyteauth_error_oauth_error_description(err)) : NULL;
    flyteauth_error_free(err);
    if ((*env)->ExceptionCheck(env))
        return;
    jobject ex = (*env)->CallStaticObjectMethod(env, exception_class, exception_factory, code,
                                                jmessage, http, joauth, jdesc);
    if (ex != NULL && !(*env)->ExceptionCheck(env))
        (*env)->Throw(env, (jthrowable)ex);
}

JNIEXPORT jstring JNICALL Java_org_flyte_auth_JniNativeApi_nVersion(JNIEnv *env, jclass cls) {
    (void)cls;
    return new_string_utf8(env, flyteauth_version());
}

JNIEXPORT jlong JNICALL Java_org_flyte_auth_JniNativeApi_nNew(JNIEnv *env, jclass cls,
                                                              jbyteArray json) {
    (void)cls;
    int failed;
    char *s = copy_bytes(env, json, &failed);
    if (failed)
        return 0;
    flyteauth_authenticator *a = NULL;
    flyteauth_error *err = NULL;
    flyteauth_status st = flyteauth_authenticator_new(s, &a, &err);
    free(s);
    if (st != FLYTEAUTH_OK) {
        throw_error(env, st, err);
        return 0;
    }
    return J(a);
}

JNIEXPORT jlong JNICALL Java_org_flyte_auth_JniNativeApi_nFromFlyteConfig(JNIEnv *env, jclass cls,
                                                                          jbyteArray path) {
    (void)cls;
    int failed;
    char *s = copy_bytes(env, path, &failed);
    if (failed)
        return 0;
    flyteauth_authenticator *a = NULL;
    flyteauth_error *err = NULL;
    flyteauth_status st = flyteauth_authenticator_from_flyte_config(s, &a, &err);
    free(s);
    if (st != FLYTEAUTH_OK) {
        throw_error(env, st, err);
        return 0;
    }
    return J(a);
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nFree(JNIEnv *env, jclass cls, jlong a) {
    (void)env; (void)cls;
    flyteauth_authenticator_free(H(a));
}

JNIEXPORT jlong JNICALL Java_org_flyte_auth_JniNativeApi_nCancelNew(JNIEnv *env, jclass cls) {
    (void)env; (void)cls;
    return J(flyteauth_cancel_new());
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nCancelCancel(JNIEnv *env, jclass cls,
                                                                      jlong c) {
    (void)env; (void)cls;
    flyteauth_cancel_cancel(H(c));
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nCancelFree(JNIEnv *env, jclass cls,
                                                                    jlong c) {
    (void)env; (void)cls;
    flyteauth_cancel_free(H(c));
}

/* The hot path: the current snapshot if it is fresh, else 0. Never blocks. */
JNIEXPORT jlong JNICALL Java_org_flyte_auth_JniNativeApi_nTryFetch(JNIEnv *env, jclass cls,
                                                                   jlong a) {
    (void)env; (void)cls;
    flyteauth_metadata *m = NULL;
    return flyteauth_authenticator_try_fetch_metadata(H(a), &m) == 1 ? J(m) : 0;
}

/*
 * The hot path once a snapshot is cached: whether `m` is still a's current, fresh snapshot.
 * `owner` (the Java object that owns `m`) is unused here: being an argument keeps it reachable,
 * so `m` cannot be released while this runs (see NativeHandle).
 */
JNIEXPORT jboolean JNICALL Java_org_flyte_auth_JniNativeApi_nIsCurrent(JNIEnv *env, jclass cls,
                                                                       jlong a, jlong m,
                                                                       jobject owner) {
    (void)env; (void)cls; (void)owner;
    return flyteauth_authenticator_metadata_is_current(H(a), H(m)) == 1 ? JNI_TRUE : JNI_FALSE;
}

/* timeout_ms: 0 for no bound (Java passes a positive count of milliseconds, or 0). */
JNIEXPORT jlong JNICALL Java_org_flyte_auth_JniNativeApi_nFetch(JNIEnv *env, jclass cls, jlong a,
                                                                jlong timeout_ms, jlong cancel) {
    (void)cls;
    flyteauth_metadata *m = NULL;
    flyteauth_error *err = NULL;
    flyteauth_status st = flyteauth_authenticator_fetch_metadata_ex(H(a), (uint64_t)timeout_ms,
                                                                    H(cancel), &m, &err);
    if (st != FLYTEAUTH_OK) {
        throw_error(env, st, err);
        return 0;
    }
    return J(m);
}

/* The headers of `m` as {key0, value0, key1, value1, ...}. */
JNIEXPORT jobjectArray JNICALL Java_org_flyte_auth_JniNativeApi_nRead(JNIEnv *env, jclass cls,
                                                                      jlong m) {
    (void)cls;
    const flyteauth_metadata *md = H(m);
    size_t n = flyteauth_metadata_len(md);
    jobjectArray out = (*env)->NewObjectArray(env, (jsize)(2 * n), string_class, NULL);
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        jstring k = new_string_utf8(env, flyteauth_metadata_key(md, i));
        if ((*env)->ExceptionCheck(env))
            return NULL;
        jstring v = new_string_utf8(env, flyteauth_metadata_value(md, i));
        if ((*env)->ExceptionCheck(env))
            return NULL;
        (*env)->SetObjectArrayElement(env, out, (jsize)(2 * i), k);
        (*env)->SetObjectArrayElement(env, out, (jsize)(2 * i + 1), v);
        (*env)->DeleteLocalRef(env, k);
        (*env)->DeleteLocalRef(env, v);
    }
    return out;
}

JNIEXPORT jlong JNICALL Java_org_flyte_auth_JniNativeApi_nExpiresAtMs(JNIEnv *env, jclass cls,
                                                                      jlong m) {
    (void)env; (void)cls;
    return (jlong)flyteauth_metadata_expires_at_ms(H(m));
}

JNIEXPORT jboolean JNICALL Java_org_flyte_auth_JniNativeApi_nInsecure(JNIEnv *env, jclass cls,
                                                                      jlong a) {
    (void)env; (void)cls;
    return flyteauth_authenticator_insecure(H(a)) == 1 ? JNI_TRUE : JNI_FALSE;
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nMetadataFree(JNIEnv *env, jclass cls,
                                                                      jlong m) {
    (void)env; (void)cls;
    flyteauth_metadata_free(H(m));
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nLogout(JNIEnv *env, jclass cls, jlong a) {
    (void)cls;
    flyteauth_error *err = NULL;
    flyteauth_status st = flyteauth_authenticator_logout(H(a), &err);
    if (st != FLYTEAUTH_OK)
        throw_error(env, st, err);
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nRefresh(JNIEnv *env, jclass cls, jlong a,
                                                                 jlong timeout_ms, jlong cancel) {
    (void)cls;
    flyteauth_error *err = NULL;
    flyteauth_status st =
        flyteauth_authenticator_refresh_ex(H(a), (uint64_t)timeout_ms, H(cancel), &err);
    if (st != FLYTEAUTH_OK)
        throw_error(env, st, err);
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nInvalidate(JNIEnv *env, jclass cls,
                                                                    jlong a, jbyteArray rejected,
                                                                    jlong timeout_ms, jlong cancel) {
    (void)cls;
    int failed;
    char *s = copy_bytes(env, rejected, &failed);
    if (failed)
        return;
    flyteauth_error *err = NULL;
    flyteauth_status st = flyteauth_authenticator_invalidate_ex(H(a), s, (uint64_t)timeout_ms,
                                                                 H(cancel), &err);
    free(s);
    if (st != FLYTEAUTH_OK)
        throw_error(env, st, err);
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nSetInteractive(JNIEnv *env, jclass cls,
                                                                        jlong a,
                                                                        jboolean interactive) {
    (void)cls;
    flyteauth_error *err = NULL;
    flyteauth_status st =
        flyteauth_authenticator_set_interactive(H(a), interactive ? 1 : 0, &err);
    if (st != FLYTEAUTH_OK)
        throw_error(env, st, err);
}

/*
 * Login prompts.
 *
 * The library calls prompt_callback on one of its own threads (tokio's blocking pool, whose
 * threads come and go: an idle one exits after ~10 s), and release_callback exactly once per
 * registration, on a library thread or synchronously inside set_prompt_callback /
 * authenticator_free on the Java thread that called them.
 *
 * Threads: a thread the JVM does not know is attached (as a daemon, so a callback in progress
 * never keeps the JVM from exiting) for the duration of the call and detached right after. A
 * prompt happens once per login, so the attach is not worth saving, and staying attached would
 * leave a java.lang.Thread behind for every pool thread that exits, unless we also detached in
 * a pthread key destructor. A thread that already is a Java thread (release from inside a JNI
 * call) is used as is and never detached. If the JVM cannot attach the thread (it is shutting
 * down), nothing is called and the global reference is left to the dying JVM.
 *
 * Exceptions: PromptHandler.show and .released catch everything themselves; whatever still
 * comes back (an OutOfMemoryError creating the strings, a StackOverflowError) is printed to
 * stderr by ExceptionDescribe, which also clears it, so no exception stays pending on a
 * library thread and the login goes on.
 */
static JNIEnv *attach_as(int *attached, const char *name) {
    *attached = 0;
    if (java_vm == NULL)
        return NULL;
    JNIEnv *env = NULL;
    jint st = (*java_vm)->GetEnv(java_vm, (void **)&env, JNI_VERSION_1_8);
    if (st == JNI_OK)
        return env;
    if (st != JNI_EDETACHED)
        return NULL;
    JavaVMAttachArgs args;
    args.version = JNI_VERSION_1_8;
    args.name = (char *)name;
    args.group = NULL;
    if ((*java_vm)->AttachCurrentThreadAsDaemon(java_vm, (void **)&env, &args) != JNI_OK)
        return NULL;
    *attached = 1;
    return env;
}

static JNIEnv *attach(int *attached) {
    return attach_as(attached, "flyteauth-prompt");
}

static void detach(int attached) {
    if (attached)
        (*java_vm)->DetachCurrentThread(java_vm);
}

static void prompt_callback(void *user_data, flyteauth_prompt_kind kind, const char *url,
                            const char *user_code) {
    int attached;
    JNIEnv *env = attach(&attached);
    if (env == NULL)
        return;
    /* A Java thread may arrive here inside a JNI call: keep its local references tidy. */
    if ((*env)->PushLocalFrame(env, 4) == 0) {
        jstring jurl = new_string_utf8(env, url);
        jstring jcode = NULL;
        if (!(*env)->ExceptionCheck(env))
            jcode = new_string_utf8(env, user_code);
        if (!(*env)->ExceptionCheck(env))
            (*env)->CallVoidMethod(env, (jobject)user_data, prompt_show, (jint)kind, jurl, jcode);
        if ((*env)->ExceptionCheck(env))
            (*env)->ExceptionDescribe(env); /* prints the stack trace to stderr and clears it */
        (*env)->PopLocalFrame(env, NULL);
    } else {
        (*env)->ExceptionDescribe(env);
    }
    detach(attached);
}

static void release_callback(void *user_data) {
    int attached;
    JNIEnv *env = attach(&attached);
    if (env == NULL)
        return;
    /* Called synchronously from nSetPromptCallback or nFree, the thread has no exception
     * pending (both calls start without one and make no Java call before the library's). */
    (*env)->CallVoidMethod(env, (jobject)user_data, prompt_released);
    if ((*env)->ExceptionCheck(env))
        (*env)->ExceptionDescribe(env);
    (*env)->DeleteGlobalRef(env, (jobject)user_data);
    detach(attached);
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nSetPromptCallback(JNIEnv *env, jclass cls,
                                                                           jlong a,
                                                                           jobject handler) {
    (void)cls;
    flyteauth_error *err = NULL;
    flyteauth_status st;
    if (handler == NULL) {
        st = flyteauth_authenticator_set_prompt_callback(H(a), NULL, NULL, NULL, &err);
    } else {
        jobject ref = (*env)->NewGlobalRef(env, handler);
        if (ref == NULL) {
            jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
            if (oom != NULL)
                (*env)->ThrowNew(env, oom, "flyteauth: a global reference for the prompt callback");
            return;
        }
        st = flyteauth_authenticator_set_prompt_callback(H(a), prompt_callback, ref,
                                                         release_callback, &err);
        if (st != FLYTEAUTH_OK)
            (*env)->DeleteGlobalRef(env, ref); /* on failure, user_data stays ours */
    }
    if (st != FLYTEAUTH_OK)
        throw_error(env, st, err);
}

/*
 * The library's log (LogHandler): log_callback runs on the thread that made the record (a
 * library thread, attached for the call as "flyteauth-log" like a prompt's, or a Java thread
 * inside a JNI call), log_release_callback once when the callback is replaced or removed. A
 * thread the dying JVM cannot attach drops its record.
 */
static void log_callback(void *user_data, flyteauth_log_level level, const char *target,
                         const char *message) {
    int attached;
    JNIEnv *env = attach_as(&attached, "flyteauth-log");
    if (env == NULL)
        return;
    /* A Java thread inside a JNI call may have an exception pending: never call Java then. */
    if (!(*env)->ExceptionCheck(env) && (*env)->PushLocalFrame(env, 4) == 0) {
        jstring jtarget = new_string_utf8(env, target);
        jstring jmessage = NULL;
        if (!(*env)->ExceptionCheck(env))
            jmessage = new_string_utf8(env, message);
        if (!(*env)->ExceptionCheck(env))
            (*env)->CallVoidMethod(env, (jobject)user_data, log_log, (jint)level, jtarget, jmessage);
        if ((*env)->ExceptionCheck(env))
            (*env)->ExceptionClear(env); /* LogHandler.log never throws; an OOM is dropped */
        (*env)->PopLocalFrame(env, NULL);
    }
    detach(attached);
}

static void log_release_callback(void *user_data) {
    int attached;
    JNIEnv *env = attach_as(&attached, "flyteauth-log");
    if (env == NULL)
        return;
    if (!(*env)->ExceptionCheck(env)) {
        (*env)->CallVoidMethod(env, (jobject)user_data, log_released);
        if ((*env)->ExceptionCheck(env))
            (*env)->ExceptionClear(env);
    }
    (*env)->DeleteGlobalRef(env, (jobject)user_data);
    detach(attached);
}

JNIEXPORT void JNICALL Java_org_flyte_auth_JniNativeApi_nSetLogCallback(JNIEnv *env, jclass cls,
                                                                        jobject handler) {
    (void)cls;
    if (handler == NULL) {
        flyteauth_set_log_callback(NULL, NULL, NULL, FLYTEAUTH_LOG_OFF);
        return;
    }
    jobject ref = (*env)->NewGlobalRef(env, handler);
    if (ref == NULL) {
        jclass oom = (*env)->FindClass(env, "java/lang/OutOfMemoryError");
        if (oom != NULL)
            (*env)->ThrowNew(env, oom, "flyteauth: a global reference for the log callback");
        return;
    }
    if (flyteauth_set_log_callback(log_callback, ref, log_release_callback, FLYTEAUTH_LOG_TRACE) !=
        FLYTEAUTH_OK)
        (*env)->DeleteGlobalRef(env, ref); /* on failure, user_data stays ours */
}
