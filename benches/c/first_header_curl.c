/*
 * The limit for a fresh process that must make one token request: the same exchange as
 * benches/c/first_header.c with `tokenUrl` configured (one client-credentials POST to the
 * IdP's token endpoint, HTTP Basic client authentication, the JSON answer read), done with
 * libcurl and nothing else, then the header printed to /dev/null. No configuration parsing,
 * no expiry bookkeeping, no runtime: what any C program needs to reach a first header.
 *
 * Reads FLYTEAUTH_IDP_URL, FLYTEAUTH_IDP_CLIENT_ID and FLYTEAUTH_IDP_CLIENT_SECRET (as set by
 * scripts/with-idp). Timed from outside by benches/c/spawn_stats.c, like the library's
 * programs; `make bench` reports them as ratios to this one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "token_answer.h"

struct body {
    char data[16384];
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t n, void *userdata) {
    struct body *b = userdata;
    size_t bytes = size * n;
    if (bytes > sizeof b->data - 1 - b->len) return 0; /* too large: curl fails the transfer */
    memcpy(b->data + b->len, ptr, bytes);
    b->len += bytes;
    b->data[b->len] = '\0';
    return bytes;
}

int main(void) {
    const char *idp = getenv("FLYTEAUTH_IDP_URL");
    const char *id = getenv("FLYTEAUTH_IDP_CLIENT_ID");
    const char *secret = getenv("FLYTEAUTH_IDP_CLIENT_SECRET");
    if (!idp || !id || !secret) {
        fprintf(stderr, "FLYTEAUTH_IDP_URL, _CLIENT_ID and _CLIENT_SECRET are required\n");
        return 2;
    }
    char url[512];
    snprintf(url, sizeof url, "%s/token", idp);

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return 1;
    CURL *curl = curl_easy_init();
    if (!curl) return 1;
    struct body body = {.len = 0};
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
    curl_easy_setopt(curl, CURLOPT_USERNAME, id);
    curl_easy_setopt(curl, CURLOPT_PASSWORD, secret);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS,
                     "grant_type=client_credentials&scope=all&audience=https%3A%2F%2Fflyte.test%2Fapi");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    if (rc != CURLE_OK || status != 200) {
        fprintf(stderr, "token request: %s, HTTP %ld\n", curl_easy_strerror(rc), status);
        return 1;
    }

    return write_header(body.data);
}
