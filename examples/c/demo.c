/*
 * flyteauth demo: create an authenticator, fetch the header metadata for a call, print it.
 *
 *   demo                      config from the environment (as `make demo` sets it up):
 *                             FLYTEAUTH_IDP_ENDPOINT, FLYTEAUTH_IDP_CLIENT_ID and
 *                             FLYTEAUTH_IDP_CLIENT_SECRET, client credentials, insecure
 *   demo path/to/config.yaml  Flyte's config file (and the FLYTE_* environment overrides)
 *
 * Header values are credentials: the demo prints only their first characters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flyteauth.h"

static int fail(const char *what, flyteauth_error *err) {
    fprintf(stderr, "%s failed: %s\n", what,
            err ? flyteauth_error_message(err) : "(no details)");
    if (err && flyteauth_error_oauth_error(err))
        fprintf(stderr, "  OAuth error: %s (HTTP %d)\n", flyteauth_error_oauth_error(err),
                flyteauth_error_http_status(err));
    flyteauth_error_free(err);
    return 1;
}

int main(int argc, char **argv) {
    flyteauth_authenticator *auth = NULL;
    flyteauth_error *err = NULL;
    flyteauth_status st;

    if (argc > 1) {
        st = flyteauth_authenticator_from_flyte_config(argv[1], &auth, &err);
    } else {
        const char *endpoint = getenv("FLYTEAUTH_IDP_ENDPOINT");
        const char *id = getenv("FLYTEAUTH_IDP_CLIENT_ID");
        const char *secret = getenv("FLYTEAUTH_IDP_CLIENT_SECRET");
        if (!endpoint || !id || !secret) {
            fprintf(stderr, "usage: %s [config.yaml]  (or run it through scripts/with-idp)\n", argv[0]);
            return 2;
        }
        char config[1024];
        snprintf(config, sizeof config,
                 "{\"endpoint\": \"%s\", \"insecure\": true, \"authType\": \"ClientSecret\","
                 " \"clientId\": \"%s\", \"clientSecret\": \"%s\"}",
                 endpoint, id, secret);
        st = flyteauth_authenticator_new(config, &auth, &err);
    }
    if (st != FLYTEAUTH_OK)
        return fail("creating the authenticator", err);

    flyteauth_metadata *md = NULL;
    st = flyteauth_authenticator_fetch_metadata(auth, &md, &err);
    if (st != FLYTEAUTH_OK) {
        flyteauth_authenticator_free(auth);
        return fail("fetching the header metadata", err);
    }
    printf("flyteauth %s (C): header metadata for a call\n", flyteauth_version());
    for (size_t i = 0; i < flyteauth_metadata_len(md); i++) {
        const char *value = flyteauth_metadata_value(md, i);
        printf("  %s: %.20s... (%zu chars)\n", flyteauth_metadata_key(md, i), value, strlen(value));
    }
    flyteauth_metadata_free(md);
    flyteauth_authenticator_free(auth);
    return 0;
}
