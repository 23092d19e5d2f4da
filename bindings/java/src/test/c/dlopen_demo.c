/*
 * Load a built JNI library the way a JVM does (dlopen, then symbols by name, as the FFM back end
 * looks them up) and get the header metadata from the IdP fixture through the C ABI it exports.
 * For the natives no JVM here can run: the musl ones (Alpine's JVM is a musl process, so this is
 * compiled by `zig cc -target <arch>-linux-musl` and run by musl's dynamic loader).
 *
 *   dlopen_demo <libflyteauth_jni.so>     FLYTEAUTH_IDP_* from scripts/with-idp
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flyteauth.h"

#define LOOKUP(name)                                                          \
    __typeof__(&name) p_##name = (__typeof__(&name))dlsym(lib, #name);        \
    if (!p_##name) {                                                          \
        fprintf(stderr, "dlopen_demo: %s is not exported: %s\n", #name, dlerror()); \
        return 1;                                                             \
    }

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <libflyteauth_jni.so>\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "dlopen_demo: %s\n", dlerror());
        return 1;
    }
    LOOKUP(flyteauth_version)
    LOOKUP(flyteauth_authenticator_new)
    LOOKUP(flyteauth_authenticator_fetch_metadata)
    LOOKUP(flyteauth_authenticator_free)
    LOOKUP(flyteauth_metadata_len)
    LOOKUP(flyteauth_metadata_key)
    LOOKUP(flyteauth_metadata_value)
    LOOKUP(flyteauth_metadata_free)
    LOOKUP(flyteauth_error_message)
    LOOKUP(flyteauth_error_free)
    if (!dlsym(lib, "JNI_OnLoad")) {
        fprintf(stderr, "dlopen_demo: JNI_OnLoad is not exported\n");
        return 1;
    }

    const char *endpoint = getenv("FLYTEAUTH_IDP_ENDPOINT");
    const char *id = getenv("FLYTEAUTH_IDP_CLIENT_ID");
    const char *secret = getenv("FLYTEAUTH_IDP_CLIENT_SECRET");
    if (!endpoint || !id || !secret) {
        fprintf(stderr, "dlopen_demo: run it through scripts/with-idp\n");
        return 2;
    }
    char config[1024];
    snprintf(config, sizeof config,
             "{\"endpoint\": \"%s\", \"insecure\": true, \"authType\": \"ClientSecret\","
             " \"clientId\": \"%s\", \"clientSecret\": \"%s\"}",
             endpoint, id, secret);

    flyteauth_authenticator *auth = NULL;
    flyteauth_error *err = NULL;
    flyteauth_metadata *md = NULL;
    if (p_flyteauth_authenticator_new(config, &auth, &err) != FLYTEAUTH_OK ||
        p_flyteauth_authenticator_fetch_metadata(auth, &md, &err) != FLYTEAUTH_OK) {
        fprintf(stderr, "dlopen_demo: %s\n", err ? p_flyteauth_error_message(err) : "(no details)");
        p_flyteauth_error_free(err);
        p_flyteauth_authenticator_free(auth);
        return 1;
    }
    printf("flyteauth %s (dlopen): header metadata for a call\n", p_flyteauth_version());
    for (size_t i = 0; i < p_flyteauth_metadata_len(md); i++) {
        const char *value = p_flyteauth_metadata_value(md, i);
        printf("  %s: %.20s... (%zu chars)\n", p_flyteauth_metadata_key(md, i), value, strlen(value));
    }
    p_flyteauth_metadata_free(md);
    p_flyteauth_authenticator_free(auth);
    return 0;
}
