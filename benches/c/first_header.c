/*
 * A fresh process to its first header: create an authenticator (client credentials against
 * the local IdP, from FLYTEAUTH_IDP_* as set by scripts/with-idp), fetch the metadata, exit.
 * Timed from outside by benches/c/spawn_stats.c (wall time and peak RSS per process).
 */
#include <stdio.h>
#include <stdlib.h>

#include "flyteauth.h"

int main(void) {
    char config[1024];
    snprintf(config, sizeof config,
             "{\"endpoint\":\"%s\",\"insecure\":true,\"authType\":\"ClientSecret\","
             "\"clientId\":\"%s\",\"clientSecret\":\"%s\"}",
             getenv("FLYTEAUTH_IDP_ENDPOINT"), getenv("FLYTEAUTH_IDP_CLIENT_ID"),
             getenv("FLYTEAUTH_IDP_CLIENT_SECRET"));
    /* FLYTEAUTH_BENCH_CONFIG: the whole configuration, when the benchmark driver sets it
     * (e.g. with tokenUrl and scopes, so there is no discovery, like the Go admin client's). */
    const char *given = getenv("FLYTEAUTH_BENCH_CONFIG");
    flyteauth_authenticator *a = NULL;
    flyteauth_metadata *md = NULL;
    flyteauth_error *err = NULL;
    if (flyteauth_authenticator_new(given && *given ? given : config, &a, &err) != FLYTEAUTH_OK ||
        flyteauth_authenticator_fetch_metadata(a, &md, &err) != FLYTEAUTH_OK) {
        fprintf(stderr, "%s\n", flyteauth_error_message(err));
        return 1;
    }
    int ok = flyteauth_metadata_len(md) >= 1;
    flyteauth_metadata_free(md);
    flyteauth_authenticator_free(a);
    return ok ? 0 : 1;
}
