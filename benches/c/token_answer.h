/*
 * The end of both first-header limit programs (first_header_curl.c, first_header_socket.c):
 * take the access token out of the token endpoint's JSON answer and write the header a client
 * would send, to /dev/null. The value is the string after "access_token" (the fixture's JSON
 * has no escapes in it; a real client would use a JSON parser, which costs microseconds).
 * Returns the program's exit status.
 */
#ifndef FLYTEAUTH_BENCH_TOKEN_ANSWER_H
#define FLYTEAUTH_BENCH_TOKEN_ANSWER_H

#include <stdio.h>
#include <string.h>

static int write_header(const char *json) {
    const char *key = strstr(json, "\"access_token\"");
    const char *start = key ? strchr(key + 14, '"') : NULL;
    const char *end = start ? strchr(start + 1, '"') : NULL;
    if (!end) {
        fprintf(stderr, "no access_token in the token response\n");
        return 1;
    }
    FILE *null = fopen("/dev/null", "w");
    if (!null) return 1;
    fprintf(null, "flyte-authorization: Bearer %.*s\n", (int)(end - start - 1), start + 1);
    fclose(null);
    return 0;
}

#endif
