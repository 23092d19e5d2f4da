/*
 * The C test suite for flyteauth's C ABI (include/flyteauth.h).
 *
 * Self-contained C11 (no test framework). Run it through tests/c/run.sh, which builds the
 * library, links this file against both libflyteauth.so and libflyteauth.a and runs each
 * binary under valgrind inside scripts/with-idp. The fixture-backed cases need the variables
 * that scripts/with-idp exports (FLYTEAUTH_IDP_URL, FLYTEAUTH_IDP_ENDPOINT,
 * FLYTEAUTH_IDP_CLIENT_ID, FLYTEAUTH_IDP_CLIENT_SECRET); without them they fail, on purpose.
 *
 * Exit status: 0 when every check passed, 1 otherwise.
 */
#define _POSIX_C_SOURCE 200809L

#include "flyteauth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------ */
/* Checks                                                                                      */
/* ------------------------------------------------------------------------------------------ */

static atomic_int g_checks;
static atomic_int g_failures;

static void check_failed(const char *file, int line, const char *what) {
    atomic_fetch_add(&g_failures, 1);
    fprintf(stderr, "%s:%d: CHECK FAILED: %s\n", file, line, what);
}

/* CHECK(expr): expr must be true. */
#define CHECK(expr)                                                                            \
    do {                                                                                       \
        atomic_fetch_add(&g_checks, 1);                                                        \
        if (!(expr))                                                                           \
            check_failed(__FILE__, __LINE__, #expr);                                           \
    } while (0)

static int check_int_eq(const char *file, int line, const char *ea, const char *eb, long long a,
                        long long b) {
    atomic_fetch_add(&g_checks, 1);
    if (a == b)
        return 1;
    char buf[512];
    snprintf(buf, sizeof buf, "%s == %s (%lld != %lld)", ea, eb, a, b);
    check_failed(file, line, buf);
    return 0;
}
#define CHECK_INT_EQ(a, b) check_int_eq(__FILE__, __LINE__, #a, #b, (long long)(a), (long long)(b))

/* The status names make a failed status comparison readable. */
static int check_status(const char *file, int line, const char *expr, int got, int want) {
    atomic_fetch_add(&g_checks, 1);
    if (got == want)
        return 1;
    char buf[512];
    snprintf(buf, sizeof buf, "%s returned %d (%s), expected %d (%s)", expr, got,
             flyteauth_status_str(got), want, flyteauth_status_str(want));
    check_failed(file, line, buf);
    return 0;
}
#define CHECK_STATUS(call, want) check_status(__FILE__, __LINE__, #call, (int)(call), (int)(want))

static int check_str_eq(const char *file, int line, const char *ea, const char *eb,
                        const char *a, const char *b) {
    atomic_fetch_add(&g_checks, 1);
    if (a != NULL && b != NULL && strcmp(a, b) == 0)
        return 1;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s == %s (\"%s\" != \"%s\")", ea, eb, a ? a : "(NULL)",
             b ? b : "(NULL)");
    check_failed(file, line, buf);
    return 0;
}
#define CHECK_STR_EQ(a, b) check_str_eq(__FILE__, __LINE__, #a, #b, (a), (b))

static int check_contains(const char *file, int line, const char *ehay, const char *hay,
                          const char *needle, int want) {
    atomic_fetch_add(&g_checks, 1);
    int found = hay != NULL && strstr(hay, needle) != NULL;
    if (hay != NULL && found == want)
        return 1;
    char buf[2048];
    snprintf(buf, sizeof buf, "%s %s \"%s\" (it is \"%s\")", ehay,
             want ? "contains" : "does not contain", needle, hay ? hay : "(NULL)");
    check_failed(file, line, buf);
    return 0;
}
#define CHECK_CONTAINS(hay, needle) check_contains(__FILE__, __LINE__, #hay, (hay), (needle), 1)
#define CHECK_NOT_CONTAINS(hay, needle)                                                        \
    check_contains(__FILE__, __LINE__, #hay, (hay), (needle), 0)

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */
/* ------------------------------------------------------------------------------------------ */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *env_or_empty(const char *name) {
    const char *v = getenv(name);
    return v ? v : "";
}

static int have_fixture(void) {
    static const char *const vars[] = {"FLYTEAUTH_IDP_URL", "FLYTEAUTH_IDP_ENDPOINT",
                                       "FLYTEAUTH_IDP_CLIENT_ID", "FLYTEAUTH_IDP_CLIENT_SECRET"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        if (getenv(vars[i]) == NULL || *getenv(vars[i]) == '\0') {
            fprintf(stderr, "  %s is not set: run this test under scripts/with-idp\n", vars[i]);
            return 0;
        }
    }
    return 1;
}

/* A heap copy of s (the caller frees it); NULL stays NULL. */
static char *dup_str(const char *s) {
    if (s == NULL)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

/* The client-credentials config for the fixture, with `secret` as clientSecret and `extra`
 * (e.g. ", \"maxRetries\": 0", or "") appended inside the object. */
static void fixture_config(char *buf, size_t size, const char *endpoint, const char *secret,
                           const char *extra) {
    snprintf(buf, size,
             "{\"endpoint\": \"%s\", \"insecure\": true, \"authType\": \"ClientSecret\", "
             "\"clientId\": \"%s\", \"clientSecret\": \"%s\"%s}",
             endpoint, env_or_empty("FLYTEAUTH_IDP_CLIENT_ID"), secret, extra);
}

/* The fixture's total number of POST /token requests (GET /_test/stats), or -1. */
static long fixture_token_requests(void) {
    const char *url = getenv("FLYTEAUTH_IDP_URL");
    if (url == NULL)
        return -1;
    const char *colon = strrchr(url, ':');
    if (colon == NULL)
        return -1;
    long port = strtol(colon + 1, NULL, 10);
    if (port <= 0 || port > 65535)
        return -1;

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    static const char req[] =
        "GET /_test/stats HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    size_t sent = 0;
    while (sent < sizeof req - 1) {
        ssize_t n = write(fd, req + sent, sizeof req - 1 - sent);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        sent += (size_t)n;
    }
    char resp[8192];
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, resp + got, sizeof resp - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (got == sizeof resp - 1)
            break;
    }
    close(fd);
    resp[got] = '\0';
    const char *key = strstr(resp, "\"token_requests\":");
    if (key == NULL)
        return -1;
    return strtol(key + strlen("\"token_requests\":"), NULL, 10);
}

/* A 127.0.0.1 port where nothing listens: a socket bound to it but never listening (connect
 * gets ECONNREFUSED) that stays open, so no other process can take the port meanwhile. */
static int closed_port(int *fd_out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = 0;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        close(fd);
        return -1;
    }
    *fd_out = fd;
    return ntohs(sa.sin_port);
}

/* Create an empty temporary file ($TMPDIR, else /tmp) named <prefix>XXXXXX; its path goes in
 * buf. Returns 1 on success. */
static int make_temp_file(char *buf, size_t size, const char *prefix) {
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    int n = snprintf(buf, size, "%s/%sXXXXXX", dir, prefix);
    if (n < 0 || (size_t)n >= size)
        return 0;
    int fd = mkstemp(buf);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* The number of lines in `path` (one per run of a command that logs to it), or -1. */
static int count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF)
        lines += c == '\n';
    fclose(f);
    return lines;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Sentinels: out-parameters must be overwritten (with NULL) on entry / on success. */
static max_align_t g_sentinel_storage;
#define SENTINEL_AUTH ((flyteauth_authenticator *)(void *)&g_sentinel_storage)
#define SENTINEL_MD ((flyteauth_metadata *)(void *)&g_sentinel_storage)
#define SENTINEL_ERR ((flyteauth_error *)(void *)&g_sentinel_storage)

/* Check a failed call's error object: its code and a non-empty message. Returns the message
 * (owned by err) for further checks. */
static const char *check_error(const char *file, int line, const flyteauth_error *err,
                               flyteauth_status want) {
    atomic_fetch_add(&g_checks, 1);
    if (err == NULL) {
        check_failed(file, line, "err != NULL after a failed call");
        return NULL;
    }
    check_status(file, line, "flyteauth_error_code(err)", (int)flyteauth_error_code(err),
                 (int)want);
    const char *msg = flyteauth_error_message(err);
    atomic_fetch_add(&g_checks, 1);
    if (msg == NULL || *msg == '\0')
        check_failed(file, line, "flyteauth_error_message(err) is a non-empty string");
    return msg;
}
#define CHECK_ERROR(err, want) check_error(__FILE__, __LINE__, (err), (want))

/* Create an authenticator from JSON that must be accepted. */
static flyteauth_authenticator *must_new(const char *file, int line, const char *json) {
    flyteauth_authenticator *a = SENTINEL_AUTH;
    flyteauth_error *err = SENTINEL_ERR;
    int st = (int)flyteauth_authenticator_new(json, &a, &err);
    check_status(file, line, "flyteauth_authenticator_new(json)", st, FLYTEAUTH_OK);
    atomic_fetch_add(&g_checks, 1);
    if (err != NULL) {
        check_failed(file, line, "err is NULL after a successful call");
        if (err != SENTINEL_ERR) {
            fprintf(stderr, "    message: %s\n", flyteauth_error_message(err));
            flyteauth_error_free(err);
        }
    }
    atomic_fetch_add(&g_checks, 1);
    if (st == FLYTEAUTH_OK && (a == NULL || a == SENTINEL_AUTH)) {
        check_failed(file, line, "*out is a new authenticator after success");
        return NULL;
    }
    return st == FLYTEAUTH_OK ? a : NULL;
}
#define MUST_NEW(json) must_new(__FILE__, __LINE__, (json))

/* Fetch metadata that must succeed with one header; returns a heap copy of its value (free
 * it) and, if key_out is given, of its key. */
static char *must_fetch_value(const char *file, int line, flyteauth_authenticator *a,
                              char **key_out) {
    flyteauth_metadata *md = SENTINEL_MD;
    flyteauth_error *err = SENTINEL_ERR;
    int st = (int)flyteauth_authenticator_fetch_metadata(a, &md, &err);
    if (!check_status(file, line, "flyteauth_authenticator_fetch_metadata(a)", st,
                      FLYTEAUTH_OK)) {
        if (err != NULL && err != SENTINEL_ERR) {
            fprintf(stderr, "    message: %s\n", flyteauth_error_message(err));
            flyteauth_error_free(err);
        }
        return NULL;
    }
    atomic_fetch_add(&g_checks, 1);
    if (err != NULL)
        check_failed(file, line, "err is NULL after a successful fetch");
    atomic_fetch_add(&g_checks, 1);
    if (md == NULL || md == SENTINEL_MD) {
        check_failed(file, line, "*out is new metadata after a successful fetch");
        return NULL;
    }
    check_int_eq(file, line, "flyteauth_metadata_len(md)", "1",
                 (long long)flyteauth_metadata_len(md), 1);
    char *value = dup_str(flyteauth_metadata_value(md, 0));
    if (key_out != NULL)
        *key_out = dup_str(flyteauth_metadata_key(md, 0));
    atomic_fetch_add(&g_checks, 1);
    if (value == NULL)
        check_failed(file, line, "flyteauth_metadata_value(md, 0) != NULL");
    flyteauth_metadata_free(md);
    return value;
}
#define MUST_FETCH_VALUE(a, key_out) must_fetch_value(__FILE__, __LINE__, (a), (key_out))

/* ------------------------------------------------------------------------------------------ */
/* Cases                                                                                       */
/* ------------------------------------------------------------------------------------------ */

static void test_version(void) {
    const char *v = flyteauth_version();
    CHECK(v != NULL);
    CHECK_STR_EQ(v, FLYTEAUTH_VERSION);
    CHECK(flyteauth_version() == v); /* static */
    CHECK_INT_EQ(flyteauth_version_num(), FLYTEAUTH_VERSION_NUM);
    char parts[32];
    snprintf(parts, sizeof parts, "%d.%d.%d", FLYTEAUTH_VERSION_MAJOR, FLYTEAUTH_VERSION_MINOR,
             FLYTEAUTH_VERSION_PATCH);
    CHECK_STR_EQ(parts, FLYTEAUTH_VERSION);
#if FLYTEAUTH_VERSION_NUM < 100
#error "FLYTEAUTH_VERSION_NUM must be usable in #if"
#endif
}

static void test_status_str(void) {
    const char *names[13];
    for (int i = 0; i <= 12; i++) {
        names[i] = flyteauth_status_str(i);
        CHECK(names[i] != NULL);
        if (names[i] == NULL)
            continue;
        CHECK(*names[i] != '\0');
        CHECK(strcmp(names[i], "unknown status") != 0);
    }
    for (int i = 0; i <= 12; i++)
        for (int j = i + 1; j <= 12; j++)
            if (names[i] != NULL && names[j] != NULL && strcmp(names[i], names[j]) == 0) {
                char buf[128];
                snprintf(buf, sizeof buf, "status_str(%d) and status_str(%d) are both \"%s\"", i,
                         j, names[i]);
                check_failed(__FILE__, __LINE__, buf);
            }
    CHECK_STR_EQ(flyteauth_status_str(FLYTEAUTH_OK), "ok");
    CHECK_STR_EQ(flyteauth_status_str(FLYTEAUTH_ERR_AUTHENTICATION), "authentication error");
    CHECK_STR_EQ(flyteauth_status_str(13), "unknown status");
    CHECK_STR_EQ(flyteauth_status_str(-1), "unknown status");
    CHECK_STR_EQ(flyteauth_status_str(1000), "unknown status");
    /* The numbers are part of the ABI. */
    CHECK_INT_EQ(FLYTEAUTH_OK, 0);
    CHECK_INT_EQ(FLYTEAUTH_ERR_INVALID_ARGUMENT, 1);
    CHECK_INT_EQ(FLYTEAUTH_ERR_CONFIG, 2);
    CHECK_INT_EQ(FLYTEAUTH_ERR_DISCOVERY, 3);
    CHECK_INT_EQ(FLYTEAUTH_ERR_AUTHENTICATION, 4);
    CHECK_INT_EQ(FLYTEAUTH_ERR_NETWORK, 5);
    CHECK_INT_EQ(FLYTEAUTH_ERR_TIMEOUT, 6);
    CHECK_INT_EQ(FLYTEAUTH_ERR_COMMAND, 7);
    CHECK_INT_EQ(FLYTEAUTH_ERR_CANCELLED, 8);
    CHECK_INT_EQ(FLYTEAUTH_ERR_INTERNAL, 9);
    CHECK_INT_EQ(FLYTEAUTH_ERR_PROTOCOL, 10);
    CHECK_INT_EQ(FLYTEAUTH_ERR_UNSUPPORTED, 11);
    CHECK_INT_EQ(FLYTEAUTH_ERR_LOGIN_REQUIRED, 12);
}

static void test_happy_path(void) {
    if (!have_fixture()) {
        CHECK(!"the fixture is running (scripts/with-idp)");
        return;
    }
    char json[1024];
    fixture_config(json, sizeof json, env_or_empty("FLYTEAUTH_IDP_ENDPOINT"),
                   env_or_empty("FLYTEAUTH_IDP_CLIENT_SECRET"), "");
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL)
        return;

    long t0 = fixture_token_requests();
    CHECK(t0 >= 0);

    /* No token yet: the non-blocking form says so at once, without a request. */
    flyteauth_metadata *md = SENTINEL_MD;
    CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(a, &md), 0);
    CHECK(md == NULL);
    CHECK_INT_EQ(fixture_token_requests() - t0, 0);

    /* First fetch: discovery + one token request. */
    md = SENTINEL_MD;
    flyteauth_error *err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata(a, &md, &err), FLYTEAUTH_OK);
    CHECK(err == NULL);
    CHECK(md != NULL && md != SENTINEL_MD);
    if (md == NULL || md == SENTINEL_MD) {
        flyteauth_error_free(err == SENTINEL_ERR ? NULL : err);
        flyteauth_authenticator_free(a);
        return;
    }
    CHECK_INT_EQ(flyteauth_metadata_len(md), 1);
    CHECK_STR_EQ(flyteauth_metadata_key(md, 0), "flyte-authorization");
    const char *v = flyteauth_metadata_value(md, 0);
    CHECK(v != NULL && strncmp(v, "Bearer eyJ", strlen("Bearer eyJ")) == 0);
    CHECK(flyteauth_metadata_key(md, 1) == NULL);
    CHECK(flyteauth_metadata_value(md, 1) == NULL);
    CHECK(flyteauth_metadata_key(md, SIZE_MAX) == NULL);
    CHECK(flyteauth_metadata_value(md, SIZE_MAX) == NULL);
    char *first = dup_str(v);
    flyteauth_metadata_free(md);
    CHECK_INT_EQ(fixture_token_requests() - t0, 1);

    /* Second fetch: the cached token, no request. err may be NULL. */
    md = NULL;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata(a, &md, NULL), FLYTEAUTH_OK);
    CHECK(md != NULL);
    CHECK_STR_EQ(flyteauth_metadata_value(md, 0), first);
    flyteauth_metadata_free(md);
    CHECK_INT_EQ(fixture_token_requests() - t0, 1);

    /* The non-blocking form now serves the same snapshot. */
    md = SENTINEL_MD;
    CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(a, &md), 1);
    CHECK(md != NULL && md != SENTINEL_MD);
    if (md != NULL && md != SENTINEL_MD) {
        CHECK_INT_EQ(flyteauth_metadata_len(md), 1);
        CHECK_STR_EQ(flyteauth_metadata_key(md, 0), "flyte-authorization");
        CHECK_STR_EQ(flyteauth_metadata_value(md, 0), first);
        flyteauth_metadata_free(md);
    }
    CHECK_INT_EQ(fixture_token_requests() - t0, 1);

    /* The bounded fetch (no cancel signal), with a generous bound, also serves it. */
    md = NULL;
    err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata_ex(a, 30000, NULL, &md, &err),
                 FLYTEAUTH_OK);
    CHECK(err == NULL);
    CHECK_STR_EQ(flyteauth_metadata_value(md, 0), first);
    flyteauth_metadata_free(md);

    /* Refresh: a new token. */
    err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_refresh(a, &err), FLYTEAUTH_OK);
    CHECK(err == NULL);
    CHECK_INT_EQ(fixture_token_requests() - t0, 2);
    char *after_refresh = MUST_FETCH_VALUE(a, NULL);
    CHECK(after_refresh != NULL && first != NULL && strcmp(after_refresh, first) != 0);
    CHECK(after_refresh != NULL && strncmp(after_refresh, "Bearer eyJ", 10) == 0);

    err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_refresh_ex(a, 30000, NULL, &err), FLYTEAUTH_OK);
    CHECK(err == NULL);
    CHECK_INT_EQ(fixture_token_requests() - t0, 3);
    char *current = MUST_FETCH_VALUE(a, NULL);

    /* Invalidate a stale value: nothing to do, no request, same token. */
    err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_invalidate(a, "Bearer stale", &err), FLYTEAUTH_OK);
    CHECK(err == NULL);
    CHECK_STATUS(flyteauth_authenticator_invalidate(a, first ? first : "x", NULL), FLYTEAUTH_OK);
    CHECK_STATUS(flyteauth_authenticator_invalidate_ex(a, "Bearer stale", 30000, NULL, NULL),
                 FLYTEAUTH_OK);
    CHECK_INT_EQ(fixture_token_requests() - t0, 3);
    char *same = MUST_FETCH_VALUE(a, NULL);
    CHECK(same != NULL && current != NULL && strcmp(same, current) == 0);

    /* Invalidate the current value: one refresh, a different value. */
    err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_invalidate(a, current ? current : "x", &err),
                 FLYTEAUTH_OK);
    CHECK(err == NULL);
    CHECK_INT_EQ(fixture_token_requests() - t0, 4);
    char *key = NULL;
    char *after_invalidate = MUST_FETCH_VALUE(a, &key);
    CHECK(after_invalidate != NULL && current != NULL && strcmp(after_invalidate, current) != 0);
    CHECK_STR_EQ(key, "flyte-authorization");

    /* ... and again through the bounded form. */
    CHECK_STATUS(flyteauth_authenticator_invalidate_ex(
                     a, after_invalidate ? after_invalidate : "x", 30000, NULL, NULL),
                 FLYTEAUTH_OK);
    CHECK_INT_EQ(fixture_token_requests() - t0, 5);

    /* Logout forgets the token: the non-blocking form has none, and the next fetch gets a
     * new one with one token request. A value fetched before stays readable. */
    char *before_logout = MUST_FETCH_VALUE(a, NULL);
    err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_logout(a, &err), FLYTEAUTH_OK);
    CHECK(err == NULL);
    md = SENTINEL_MD;
    CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(a, &md), 0);
    CHECK(md == NULL);
    CHECK_INT_EQ(fixture_token_requests() - t0, 5);
    char *after_logout = MUST_FETCH_VALUE(a, NULL);
    CHECK(after_logout != NULL && before_logout != NULL && strcmp(after_logout, before_logout) != 0);
    CHECK_INT_EQ(fixture_token_requests() - t0, 6);
    free(before_logout);
    free(after_logout);

    /* Metadata stays valid after the authenticator is freed (from either fetch). */
    md = NULL;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata(a, &md, NULL), FLYTEAUTH_OK);
    flyteauth_metadata *md2 = NULL;
    CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(a, &md2), 1);
    char *expect = MUST_FETCH_VALUE(a, NULL);
    flyteauth_authenticator_free(a);
    CHECK_INT_EQ(flyteauth_metadata_len(md), 1);
    CHECK_STR_EQ(flyteauth_metadata_key(md, 0), "flyte-authorization");
    CHECK_STR_EQ(flyteauth_metadata_value(md, 0), expect);
    flyteauth_metadata_free(md);
    CHECK_INT_EQ(flyteauth_metadata_len(md2), 1);
    CHECK_STR_EQ(flyteauth_metadata_key(md2, 0), "flyte-authorization");
    CHECK_STR_EQ(flyteauth_metadata_value(md2, 0), expect);
    flyteauth_metadata_free(md2);

    free(first);
    free(after_refresh);
    free(current);
    free(same);
    free(key);
    free(after_invalidate);
    free(expect);
}

/* new() must fail with CONFIG; returns the message copy (free it) for further checks. */
static char *expect_config_error(const char *file, int line, const char *json) {
    flyteauth_authenticator *a = SENTINEL_AUTH;
    flyteauth_error *err = SENTINEL_ERR;
    check_status(file, line, "flyteauth_authenticator_new(json)",
                 (int)flyteauth_authenticator_new(json, &a, &err), FLYTEAUTH_ERR_CONFIG);
    atomic_fetch_add(&g_checks, 1);
    if (a != NULL) {
        check_failed(file, line, "*out is NULL after a failed new()");
        if (a != SENTINEL_AUTH)
            flyteauth_authenticator_free(a);
    }
    if (err == SENTINEL_ERR) {
        check_failed(file, line, "err was written");
        return NULL;
    }
    char *msg = dup_str(check_error(file, line, err, FLYTEAUTH_ERR_CONFIG));
    check_int_eq(file, line, "flyteauth_error_http_status(err)", "0",
                 flyteauth_error_http_status(err), 0);
    atomic_fetch_add(&g_checks, 1);
    if (flyteauth_error_oauth_error(err) != NULL)
        check_failed(file, line, "flyteauth_error_oauth_error(err) == NULL");
    flyteauth_error_free(err);

    /* The same call without err: same status, nothing to free. */
    a = SENTINEL_AUTH;
    check_status(file, line, "flyteauth_authenticator_new(json, &a, NULL)",
                 (int)flyteauth_authenticator_new(json, &a, NULL), FLYTEAUTH_ERR_CONFIG);
    atomic_fetch_add(&g_checks, 1);
    if (a != NULL)
        check_failed(file, line, "*out is NULL after a failed new() (err NULL)");
    return msg;
}
#define EXPECT_CONFIG_ERROR(json) expect_config_error(__FILE__, __LINE__, (json))

static void test_config_errors(void) {
    char *m;

    m = EXPECT_CONFIG_ERROR("{\"endpoint\": \"flyte.example.com\", ");
    CHECK_CONTAINS(m, "JSON");
    free(m);

    m = EXPECT_CONFIG_ERROR("[1, 2, 3]");
    free(m);

    m = EXPECT_CONFIG_ERROR("{\"endpoint\": \"flyte.example.com\", \"authType\": "
                            "\"ExternalCommand\", \"command\": [\"echo\", \"t\"], "
                            "\"bogusKeyXyz\": 1}");
    CHECK_CONTAINS(m, "bogusKeyXyz");
    free(m);

    m = EXPECT_CONFIG_ERROR("{\"endpoint\": \"flyte.example.com\", \"insecure\": \"yes\"}");
    CHECK_CONTAINS(m, "insecure");
    free(m);

    /* A secret of the wrong type is named but its value is never echoed. */
    m = EXPECT_CONFIG_ERROR("{\"endpoint\": \"flyte.example.com\", \"authType\": "
                            "\"ClientSecret\", \"clientId\": \"id\", \"clientSecret\": 987654321}");
    CHECK_CONTAINS(m, "clientSecret");
    CHECK_NOT_CONTAINS(m, "987654321");
    free(m);

    m = EXPECT_CONFIG_ERROR("{\"endpoint\": \"flyte.example.com\", \"authType\": "
                            "\"ClientSecret\", \"clientSecret\": \"s3cr3t-no-id-value\"}");
    CHECK_CONTAINS(m, "clientId");
    CHECK_NOT_CONTAINS(m, "s3cr3t-no-id-value");
    free(m);

    m = EXPECT_CONFIG_ERROR("{\"endpoint\": \"flyte.example.com\", \"authType\": "
                            "\"ExternalCommand\", \"command\": []}");
    CHECK_CONTAINS(m, "command");
    free(m);

    m = EXPECT_CONFIG_ERROR("{\"endpoint\": \"flyte.example.com\", \"authType\": "
                            "\"ExternalCommand\"}");
    CHECK_CONTAINS(m, "command");
    free(m);

    m = EXPECT_CONFIG_ERROR("{\"endpoint\": \"flyte.example.com\", \"authType\": \"Kerberos\"}");
    CHECK_CONTAINS(m, "authType");
    free(m);

    m = EXPECT_CONFIG_ERROR("{\"endpoint\": \"flyte.example.com\", \"authType\": "
                            "\"ExternalCommand\", \"command\": [\"echo\", \"t\"], "
                            "\"commandTimeout\": \"soon\"}");
    CHECK_CONTAINS(m, "commandTimeout");
    free(m);
}

/* A fetch that must fail with `want`; checks out/err and returns the error (free it). */
static flyteauth_error *expect_fetch_error(const char *file, int line, flyteauth_authenticator *a,
                                           uint64_t timeout_ms, flyteauth_status want) {
    flyteauth_metadata *md = SENTINEL_MD;
    flyteauth_error *err = SENTINEL_ERR;
    int st = timeout_ms ? (int)flyteauth_authenticator_fetch_metadata_ex(a, timeout_ms, NULL, &md,
                                                                               &err)
                        : (int)flyteauth_authenticator_fetch_metadata(a, &md, &err);
    check_status(file, line, "flyteauth_authenticator_fetch_metadata(a)", st, (int)want);
    atomic_fetch_add(&g_checks, 1);
    if (md != NULL) {
        check_failed(file, line, "*out is NULL after a failed fetch");
        if (md != SENTINEL_MD)
            flyteauth_metadata_free(md);
    }
    if (err == SENTINEL_ERR) {
        check_failed(file, line, "err was written");
        return NULL;
    }
    check_error(file, line, err, want);
    return err;
}
#define EXPECT_FETCH_ERROR(a, timeout_ms, want)                                                \
    expect_fetch_error(__FILE__, __LINE__, (a), (timeout_ms), (want))

static void test_authentication_error(void) {
    if (!have_fixture()) {
        CHECK(!"the fixture is running (scripts/with-idp)");
        return;
    }
    static const char wrong[] = "wrong-secret-QX7Zp93k";
    char json[1024];
    fixture_config(json, sizeof json, env_or_empty("FLYTEAUTH_IDP_ENDPOINT"), wrong, "");
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL)
        return;
    flyteauth_error *err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_AUTHENTICATION);
    if (err != NULL) {
        CHECK_STR_EQ(flyteauth_error_oauth_error(err), "invalid_client");
        CHECK_INT_EQ(flyteauth_error_http_status(err), 401);
        const char *msg = flyteauth_error_message(err);
        CHECK_NOT_CONTAINS(msg, wrong);
        CHECK_CONTAINS(msg, env_or_empty("FLYTEAUTH_IDP_CLIENT_ID"));
        const char *desc = flyteauth_error_oauth_error_description(err);
        if (desc != NULL)
            CHECK_NOT_CONTAINS(desc, wrong);
        flyteauth_error_free(err);
    }
    /* The failure is not cached as success; refresh and err == NULL report it too. */
    CHECK_STATUS(flyteauth_authenticator_refresh(a, NULL), FLYTEAUTH_ERR_AUTHENTICATION);
    flyteauth_metadata *md = SENTINEL_MD;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata(a, &md, NULL),
                 FLYTEAUTH_ERR_AUTHENTICATION);
    CHECK(md == NULL);
    md = SENTINEL_MD;
    CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(a, &md), 0);
    CHECK(md == NULL);
    flyteauth_authenticator_free(a);
}

static void test_network_error(void) {
    int fd = -1;
    int port = closed_port(&fd);
    CHECK(port > 0);
    if (port <= 0)
        return;
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "127.0.0.1:%d", port);
    static const char secret[] = "net-secret-Hy52rT";
    char json[1024];
    snprintf(json, sizeof json,
             "{\"endpoint\": \"%s\", \"insecure\": true, \"authType\": \"ClientSecret\", "
             "\"clientId\": \"some-client\", \"clientSecret\": \"%s\", \"maxRetries\": 0}",
             endpoint, secret);
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a != NULL) {
        double t = now_s();
        flyteauth_error *err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_NETWORK);
        CHECK(now_s() - t < 10.0);
        if (err != NULL) {
            CHECK_INT_EQ(flyteauth_error_http_status(err), 0);
            CHECK(flyteauth_error_oauth_error(err) == NULL);
            CHECK(flyteauth_error_oauth_error_description(err) == NULL);
            CHECK_CONTAINS(flyteauth_error_message(err), endpoint);
            CHECK_NOT_CONTAINS(flyteauth_error_message(err), secret);
            flyteauth_error_free(err);
        }
        flyteauth_authenticator_free(a);
    }
    close(fd);
}

static void test_discovery_error(void) {
    if (!have_fixture()) {
        CHECK(!"the fixture is running (scripts/with-idp)");
        return;
    }
    /* An endpoint with a path prefix under which the fixture has no AuthMetadataService:
     * GET /no-flyte-here/.well-known/oauth-authorization-server answers 404. */
    char endpoint[256];
    snprintf(endpoint, sizeof endpoint, "%s/no-flyte-here",
             env_or_empty("FLYTEAUTH_IDP_ENDPOINT"));
    char json[1024];
    fixture_config(json, sizeof json, endpoint, env_or_empty("FLYTEAUTH_IDP_CLIENT_SECRET"),
                   ", \"maxRetries\": 0");
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL)
        return;
    flyteauth_error *err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_DISCOVERY);
    if (err != NULL) {
        CHECK_INT_EQ(flyteauth_error_http_status(err), 404);
        CHECK(flyteauth_error_oauth_error(err) == NULL);
        CHECK_CONTAINS(flyteauth_error_message(err), "/no-flyte-here/.well-known/");
        CHECK_CONTAINS(flyteauth_error_message(err), "tokenUrl");
        CHECK_NOT_CONTAINS(flyteauth_error_message(err),
                           env_or_empty("FLYTEAUTH_IDP_CLIENT_SECRET"));
        flyteauth_error_free(err);
    }
    flyteauth_authenticator_free(a);
}

static void test_protocol_error(void) {
    if (!have_fixture()) {
        CHECK(!"the fixture is running (scripts/with-idp)");
        return;
    }
    /* tokenUrl points at a route that answers 404 with a text body, not an OAuth2 response.
     * scopes + authorizationHeader + tokenUrl: no discovery needed. */
    char json[1024];
    snprintf(json, sizeof json,
             "{\"authType\": \"ClientSecret\", \"clientId\": \"%s\", \"clientSecret\": \"%s\", "
             "\"tokenUrl\": \"%s/not-a-token-endpoint\", \"scopes\": [\"all\"], "
             "\"authorizationHeader\": \"authorization\", \"maxRetries\": 0}",
             env_or_empty("FLYTEAUTH_IDP_CLIENT_ID"), env_or_empty("FLYTEAUTH_IDP_CLIENT_SECRET"),
             env_or_empty("FLYTEAUTH_IDP_URL"));
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL)
        return;
    flyteauth_error *err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_PROTOCOL);
    if (err != NULL) {
        CHECK_INT_EQ(flyteauth_error_http_status(err), 404);
        CHECK_NOT_CONTAINS(flyteauth_error_message(err),
                           env_or_empty("FLYTEAUTH_IDP_CLIENT_SECRET"));
        flyteauth_error_free(err);
    }
    flyteauth_authenticator_free(a);
}

static int prompts_seen;
static int releases_seen;

static void count_release(void *user_data) {
    CHECK(user_data == &prompts_seen);
    releases_seen++;
}

static void count_prompt(void *user_data, flyteauth_prompt_kind kind, const char *url,
                         const char *user_code) {
    (void)kind;
    (void)url;
    (void)user_code;
    (*(int *)user_data)++;
}

static void test_login_required(void) {
    /* A PKCE authenticator that must never prompt: a needed login is LOGIN_REQUIRED, the
     * prompt callback is never called, and nothing is cached anywhere. */
    if (!have_fixture()) {
        return;
    }
    char json[512];
    snprintf(json, sizeof json,
             "{\"endpoint\": \"%s\", \"insecure\": true, \"authType\": \"Pkce\","
             " \"tokenCache\": \"memory\"}",
             getenv("FLYTEAUTH_IDP_ENDPOINT"));
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL)
        return;
    prompts_seen = 0;
    releases_seen = 0;
    CHECK_INT_EQ(flyteauth_authenticator_set_prompt_callback(a, count_prompt, &prompts_seen,
                                                             count_release, NULL),
                 FLYTEAUTH_OK);
    CHECK_INT_EQ(flyteauth_authenticator_set_interactive(a, 0, NULL), FLYTEAUTH_OK);
    flyteauth_error *err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_LOGIN_REQUIRED);
    if (err != NULL) {
        CHECK_CONTAINS(flyteauth_error_message(err), "flyteauth login");
        flyteauth_error_free(err);
    }
    CHECK_INT_EQ(prompts_seen, 0);
    CHECK_INT_EQ(releases_seen, 0);
    /* Replacing the callback releases the old user_data, exactly once. */
    CHECK_INT_EQ(flyteauth_authenticator_set_prompt_callback(a, NULL, NULL, NULL, NULL),
                 FLYTEAUTH_OK);
    CHECK_INT_EQ(releases_seen, 1);
    /* A callback still set when the authenticator is freed is released with it. */
    CHECK_INT_EQ(flyteauth_authenticator_set_prompt_callback(a, count_prompt, &prompts_seen,
                                                             count_release, NULL),
                 FLYTEAUTH_OK);
    CHECK_INT_EQ(flyteauth_authenticator_set_prompt_callback(NULL, count_prompt, NULL, NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK_INT_EQ(flyteauth_authenticator_set_interactive(NULL, 1, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);
    flyteauth_authenticator_free(a);
    CHECK_INT_EQ(releases_seen, 2);
}

/* The log callback: records, not stderr. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_text[16384];
static int log_bad_record;
static int log_releases;

static void collect_log(void *user_data, flyteauth_log_level level, const char *target,
                        const char *message) {
    (void)user_data;
    pthread_mutex_lock(&log_lock);
    if (level < FLYTEAUTH_LOG_ERROR || level > FLYTEAUTH_LOG_TRACE || target == NULL ||
        strncmp(target, "flyteauth", 9) != 0 || message == NULL)
        log_bad_record = 1;
    else
        snprintf(log_text + strlen(log_text), sizeof log_text - strlen(log_text), "%d %s: %s\n",
                 (int)level, target, message);
    pthread_mutex_unlock(&log_lock);
}

static void count_log_release(void *user_data) {
    CHECK(user_data == log_text);
    log_releases++;
}

/* Point fd 2 at a fresh temporary file; returns the saved fd 2 (restore_stderr puts it back
 * and returns what was written meanwhile, or NULL). */
static int capture_stderr(void) {
    char path[] = "/tmp/flyteauth-stderr-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static char *restore_stderr(int saved) {
    fflush(stderr);
    static char text[4096];
    memset(text, 0, sizeof text);
    off_t end = lseek(2, 0, SEEK_END);
    if (end > 0 && lseek(2, 0, SEEK_SET) == 0) {
        ssize_t n = read(2, text, sizeof text - 1);
        (void)n;
    }
    dup2(saved, 2);
    close(saved);
    return text;
}

/* A PKCE authenticator whose keyring cannot be reached, asked for a token non-interactively:
 * the cache reports the keyring as unusable once. */
static void touch_unreachable_keyring(void) {
    char json[512];
    snprintf(json, sizeof json,
             "{\"endpoint\": \"%s\", \"insecure\": true, \"authType\": \"Pkce\","
             " \"tokenCache\": \"keyring\", \"interactive\": false}",
             getenv("FLYTEAUTH_IDP_ENDPOINT"));
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL)
        return;
    flyteauth_error *err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_LOGIN_REQUIRED);
    flyteauth_error_free(err);
    flyteauth_authenticator_free(a);
}

static void test_log_callback(void) {
    if (!have_fixture()) {
        return;
    }
    /* No Secret Service here (a bus address that does not exist). */
    const char *bus = getenv("DBUS_SESSION_BUS_ADDRESS");
    char *saved_bus = bus ? strdup(bus) : NULL;
    setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/flyteauth-test-bus", 1);
    log_text[0] = 0;
    log_bad_record = 0;
    log_releases = 0;

    int saved = capture_stderr();
    CHECK(saved >= 0);
    CHECK_INT_EQ(flyteauth_set_log_callback(collect_log, log_text, count_log_release,
                                            FLYTEAUTH_LOG_INFO),
                 FLYTEAUTH_OK);
    flyteauth_authenticator *a = MUST_NEW(
        "{\"endpoint\": \"dns:///flyte.invalid\", \"authType\": \"ClientSecret\", \"clientId\": "
        "\"a\", \"clientSecret\": \"b\", \"insecureSkipVerify\": true}");
    flyteauth_authenticator_free(a);
    touch_unreachable_keyring();
    char *written = restore_stderr(saved);
    CHECK_STR_EQ(written, "");
    CHECK_INT_EQ(log_bad_record, 0);
    CHECK_CONTAINS(log_text, "2 flyteauth::http: flyteauth: insecureSkipVerify is on");
    CHECK_CONTAINS(log_text, "2 flyteauth::cache: flyteauth: warning: the OS keyring is not usable");
    CHECK(strstr(log_text, "clientSecret") == NULL);

    /* An invalid level changes nothing and does not release user_data. */
    CHECK_INT_EQ(flyteauth_set_log_callback(collect_log, log_text, count_log_release, 6),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK_INT_EQ(log_releases, 0);
    /* Replacing the callback releases the old user_data once; so does clearing it. */
    CHECK_INT_EQ(flyteauth_set_log_callback(collect_log, log_text, count_log_release,
                                            FLYTEAUTH_LOG_WARN),
                 FLYTEAUTH_OK);
    CHECK_INT_EQ(log_releases, 1);
    CHECK_INT_EQ(flyteauth_set_log_callback(NULL, NULL, NULL, FLYTEAUTH_LOG_OFF), FLYTEAUTH_OK);
    CHECK_INT_EQ(log_releases, 2);

    /* Without a callback the keyring warning goes to stderr again. */
    saved = capture_stderr();
    touch_unreachable_keyring();
    written = restore_stderr(saved);
    CHECK_CONTAINS(written, "the OS keyring is not usable");

    if (saved_bus) {
        setenv("DBUS_SESSION_BUS_ADDRESS", saved_bus, 1);
        free(saved_bus);
    } else {
        unsetenv("DBUS_SESSION_BUS_ADDRESS");
    }
}

static void test_command_error(void) {
    flyteauth_authenticator *a = MUST_NEW(
        "{\"authType\": \"ExternalCommand\", \"command\": [\"sh\", \"-c\", "
        "\"echo not-a-token-in-stdout; echo oops >&2; exit 3\"], "
        "\"authorizationHeader\": \"authorization\"}");
    if (a == NULL)
        return;
    flyteauth_error *err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_COMMAND);
    if (err != NULL) {
        const char *msg = flyteauth_error_message(err);
        CHECK_CONTAINS(msg, "exit status 3");
        CHECK_CONTAINS(msg, "oops");
        CHECK_NOT_CONTAINS(msg, "not-a-token-in-stdout");
        CHECK_INT_EQ(flyteauth_error_http_status(err), 0);
        CHECK(flyteauth_error_oauth_error(err) == NULL);
        flyteauth_error_free(err);
    }
    flyteauth_authenticator_free(a);

    /* A program that does not exist. */
    a = MUST_NEW("{\"authType\": \"ExternalCommand\", \"command\": "
                 "[\"/nonexistent/flyteauth-no-such-program\"], "
                 "\"authorizationHeader\": \"authorization\"}");
    if (a == NULL)
        return;
    err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_COMMAND);
    if (err != NULL) {
        CHECK_CONTAINS(flyteauth_error_message(err), "flyteauth-no-such-program");
        flyteauth_error_free(err);
    }
    flyteauth_authenticator_free(a);
}

static void test_command_bad_token(void) {
    /* A command that prints something that cannot go in a header: PROTOCOL, and the message
     * does not quote it. */
    flyteauth_authenticator *a =
        MUST_NEW("{\"authType\": \"ExternalCommand\", \"command\": [\"echo\", "
                 "\"bad token-with-space-Zq9\"], \"authorizationHeader\": \"authorization\"}");
    if (a == NULL)
        return;
    flyteauth_error *err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_PROTOCOL);
    if (err != NULL) {
        CHECK_NOT_CONTAINS(flyteauth_error_message(err), "token-with-space-Zq9");
        flyteauth_error_free(err);
    }
    flyteauth_authenticator_free(a);
}

static void test_command_happy_path(void) {
    flyteauth_authenticator *a =
        MUST_NEW("{\"authType\": \"ExternalCommand\", \"command\": [\"echo\", \"cmd-token\"], "
                 "\"authorizationHeader\": \"authorization\"}");
    if (a == NULL)
        return;
    char *key = NULL;
    char *value = MUST_FETCH_VALUE(a, &key);
    CHECK_STR_EQ(key, "authorization");
    CHECK_STR_EQ(value, "Bearer cmd-token");
    free(key);
    free(value);
    /* A command token has no known expiry: invalidating it runs the command again. */
    CHECK_STATUS(flyteauth_authenticator_invalidate(a, "Bearer cmd-token", NULL), FLYTEAUTH_OK);
    value = MUST_FETCH_VALUE(a, NULL);
    CHECK_STR_EQ(value, "Bearer cmd-token");
    free(value);
    flyteauth_authenticator_free(a);

    /* With proxyCommand: a second header, proxy-authorization. */
    a = MUST_NEW("{\"authType\": \"ExternalCommand\", \"command\": [\"echo\", \"cmd-token\"], "
                 "\"proxyCommand\": [\"echo\", \"proxy-token\"], "
                 "\"authorizationHeader\": \"authorization\"}");
    if (a == NULL)
        return;
    flyteauth_metadata *md = NULL;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata(a, &md, NULL), FLYTEAUTH_OK);
    CHECK_INT_EQ(flyteauth_metadata_len(md), 2);
    int seen_auth = 0, seen_proxy = 0;
    for (size_t i = 0; i < flyteauth_metadata_len(md); i++) {
        const char *k = flyteauth_metadata_key(md, i);
        const char *v = flyteauth_metadata_value(md, i);
        CHECK(k != NULL && v != NULL);
        if (k == NULL || v == NULL)
            continue;
        if (strcmp(k, "authorization") == 0) {
            seen_auth++;
            CHECK_STR_EQ(v, "Bearer cmd-token");
        } else if (strcmp(k, "proxy-authorization") == 0) {
            seen_proxy++;
            CHECK_STR_EQ(v, "Bearer proxy-token");
        } else {
            CHECK_STR_EQ(k, "authorization or proxy-authorization");
        }
    }
    CHECK_INT_EQ(seen_auth, 1);
    CHECK_INT_EQ(seen_proxy, 1);
    CHECK(flyteauth_metadata_key(md, 2) == NULL);
    CHECK(flyteauth_metadata_value(md, 2) == NULL);
    flyteauth_metadata_free(md);
    flyteauth_authenticator_free(a);
}

static void test_command_timeout(void) {
    flyteauth_authenticator *a =
        MUST_NEW("{\"authType\": \"ExternalCommand\", \"command\": [\"sleep\", \"5\"], "
                 "\"commandTimeout\": \"200ms\", \"authorizationHeader\": \"authorization\"}");
    if (a == NULL)
        return;
    double t = now_s();
    flyteauth_error *err = EXPECT_FETCH_ERROR(a, 0, FLYTEAUTH_ERR_TIMEOUT);
    double elapsed = now_s() - t;
    CHECK(elapsed < 4.0); /* killed after 200 ms, not after the 5 s sleep */
    if (err != NULL) {
        CHECK_CONTAINS(flyteauth_error_message(err), "commandTimeout");
        flyteauth_error_free(err);
    }
    flyteauth_authenticator_free(a);
}

static void test_call_timeout(void) {
    /* The bounded call gives up after 1 ms; the refresh it started keeps running, and an
     * unbounded call then shares it: the command runs exactly once (it logs each run to a
     * file). */
    char runs_path[512];
    int made = make_temp_file(runs_path, sizeof runs_path, "flyteauth-c-runs-");
    CHECK(made);
    if (!made)
        return;
    char json[1024];
    snprintf(json, sizeof json,
             "{\"authType\": \"ExternalCommand\", \"command\": [\"sh\", \"-c\", "
             "\"echo run >> %s; sleep 2; echo slow-token\"], "
             "\"authorizationHeader\": \"authorization\"}",
             runs_path);
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL) {
        unlink(runs_path);
        return;
    }
    double t = now_s();
    flyteauth_error *err = EXPECT_FETCH_ERROR(a, 1, FLYTEAUTH_ERR_TIMEOUT);
    CHECK(now_s() - t < 1.9); /* did not wait for the 2 s command */
    if (err != NULL)
        CHECK_CONTAINS(flyteauth_error_message(err), "did not complete");
    flyteauth_error_free(err);

    /* refresh_timeout is bounded the same way (it shares the running refresh). */
    err = SENTINEL_ERR;
    t = now_s();
    CHECK_STATUS(flyteauth_authenticator_refresh_ex(a, 1, NULL, &err), FLYTEAUTH_ERR_TIMEOUT);
    CHECK(now_s() - t < 1.9);
    CHECK(err != NULL && err != SENTINEL_ERR);
    if (err != NULL && err != SENTINEL_ERR) {
        CHECK_INT_EQ(flyteauth_error_code(err), FLYTEAUTH_ERR_TIMEOUT);
        flyteauth_error_free(err);
    }

    char *value = MUST_FETCH_VALUE(a, NULL);
    CHECK_STR_EQ(value, "Bearer slow-token");
    free(value);

    /* One run of the command for all three calls. */
    CHECK_INT_EQ(count_lines(runs_path), 1);
    unlink(runs_path);
    flyteauth_authenticator_free(a);
}

static void test_try_fetch(void) {
    /* A command token: try_fetch is 0 until a blocking fetch got one, then 1, without ever
     * running the command itself. */
    char runs_path[512];
    int made = make_temp_file(runs_path, sizeof runs_path, "flyteauth-c-runs-");
    CHECK(made);
    if (!made)
        return;
    char json[1024];
    snprintf(json, sizeof json,
             "{\"authType\": \"ExternalCommand\", \"command\": [\"sh\", \"-c\", "
             "\"echo run >> %s; echo try-token\"], \"authorizationHeader\": \"authorization\"}",
             runs_path);
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a != NULL) {
        flyteauth_metadata *md = SENTINEL_MD;
        CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(a, &md), 0);
        CHECK(md == NULL);
        CHECK_INT_EQ(count_lines(runs_path), 0);

        char *value = MUST_FETCH_VALUE(a, NULL);
        CHECK_STR_EQ(value, "Bearer try-token");
        free(value);
        CHECK_INT_EQ(count_lines(runs_path), 1);

        for (int i = 0; i < 100; i++) {
            md = SENTINEL_MD;
            if (!CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(a, &md), 1))
                break;
            CHECK(md != NULL && md != SENTINEL_MD);
            if (md == NULL || md == SENTINEL_MD)
                break;
            CHECK_STR_EQ(flyteauth_metadata_key(md, 0), "authorization");
            CHECK_STR_EQ(flyteauth_metadata_value(md, 0), "Bearer try-token");
            flyteauth_metadata_free(md);
        }
        CHECK_INT_EQ(count_lines(runs_path), 1);
        flyteauth_authenticator_free(a);
    }
    unlink(runs_path);
}

struct cancel_waiter {
    pthread_t thread;
    flyteauth_authenticator *a;
    const flyteauth_cancel *cancel;
    int kind; /* 0: fetch_metadata_ex, 1: refresh_ex */
    flyteauth_status status;
    int out_was_null; /* fetch: *out NULL after the call */
    flyteauth_status err_code;
    int err_has_message;
    double elapsed;
};

static void *cancel_waiter_main(void *arg) {
    struct cancel_waiter *w = arg;
    flyteauth_error *err = NULL;
    double t = now_s();
    if (w->kind == 0) {
        flyteauth_metadata *md = SENTINEL_MD;
        w->status = flyteauth_authenticator_fetch_metadata_ex(w->a, 0, w->cancel, &md, &err);
        w->out_was_null = md == NULL;
        if (md != NULL && md != SENTINEL_MD)
            flyteauth_metadata_free(md);
    } else {
        w->status = flyteauth_authenticator_refresh_ex(w->a, 0, w->cancel, &err);
        w->out_was_null = 1;
    }
    w->elapsed = now_s() - t;
    w->err_code = flyteauth_error_code(err);
    const char *msg = flyteauth_error_message(err);
    w->err_has_message = msg != NULL && *msg != '\0';
    flyteauth_error_free(err);
    return NULL;
}

static void test_cancel(void) {
    /* A command that takes 2 s and logs each run. */
    char runs_path[512];
    int made = make_temp_file(runs_path, sizeof runs_path, "flyteauth-c-runs-");
    CHECK(made);
    if (!made)
        return;
    char json[1024];
    snprintf(json, sizeof json,
             "{\"authType\": \"ExternalCommand\", \"command\": [\"sh\", \"-c\", "
             "\"echo run >> %s; sleep 2; echo cancel-token\"], "
             "\"authorizationHeader\": \"authorization\"}",
             runs_path);
    flyteauth_authenticator *a = MUST_NEW(json);
    flyteauth_cancel *c = flyteauth_cancel_new();
    flyteauth_cancel *pre = flyteauth_cancel_new();
    flyteauth_cancel *unused = flyteauth_cancel_new();
    CHECK(c != NULL && pre != NULL && unused != NULL);
    CHECK(c != pre && c != unused && pre != unused);
    if (a == NULL || c == NULL || pre == NULL || unused == NULL) {
        flyteauth_cancel_free(c);
        flyteauth_cancel_free(pre);
        flyteauth_cancel_free(unused);
        flyteauth_authenticator_free(a);
        unlink(runs_path);
        return;
    }

    /* A signal cancelled before the call: CANCELLED at once, from all three _ex calls. */
    flyteauth_cancel_cancel(pre);
    flyteauth_cancel_cancel(pre); /* any number of times */
    double t = now_s();
    flyteauth_metadata *md = SENTINEL_MD;
    flyteauth_error *err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata_ex(a, 0, pre, &md, &err),
                 FLYTEAUTH_ERR_CANCELLED);
    CHECK(md == NULL);
    if (err != SENTINEL_ERR) {
        CHECK_ERROR(err, FLYTEAUTH_ERR_CANCELLED);
        CHECK_INT_EQ(flyteauth_error_http_status(err), 0);
        flyteauth_error_free(err);
    } else {
        CHECK(!"err was written");
    }
    err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_refresh_ex(a, 0, pre, &err), FLYTEAUTH_ERR_CANCELLED);
    if (err != SENTINEL_ERR) {
        CHECK_ERROR(err, FLYTEAUTH_ERR_CANCELLED);
        flyteauth_error_free(err);
    }
    CHECK_STATUS(flyteauth_authenticator_invalidate_ex(a, "Bearer x", 0, pre, NULL),
                 FLYTEAUTH_ERR_CANCELLED);
    CHECK(now_s() - t < 1.0);

    /* Four calls (two fetches, two refreshes) wait on one signal in their own threads, all
     * on the one refresh running the 2 s command; cancelling the signal from this thread ends
     * every one of them promptly with CANCELLED. */
    struct cancel_waiter w[4];
    memset(w, 0, sizeof w);
    for (int i = 0; i < 4; i++) {
        w[i].a = a;
        w[i].cancel = c;
        w[i].kind = i < 2 ? 0 : 1; /* two fetches, two refreshes */
        CHECK(pthread_create(&w[i].thread, NULL, cancel_waiter_main, &w[i]) == 0);
    }
    sleep_ms(300);
    t = now_s();
    flyteauth_cancel_cancel(c);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_join(w[i].thread, NULL) == 0);
    double after_cancel = now_s() - t;
    CHECK(after_cancel < 1.2); /* promptly: not after the 2 s command */
    for (int i = 0; i < 4; i++) {
        CHECK_STATUS(w[i].status, FLYTEAUTH_ERR_CANCELLED);
        CHECK_INT_EQ(w[i].err_code, FLYTEAUTH_ERR_CANCELLED);
        CHECK(w[i].err_has_message);
        CHECK(w[i].out_was_null);
    }

    /* The shared refresh the cancelled calls started keeps running: an unbounded call joins it
     * and gets its token, and the command ran once for all of them. */
    char *value = MUST_FETCH_VALUE(a, NULL);
    CHECK_STR_EQ(value, "Bearer cancel-token");
    free(value);
    CHECK_INT_EQ(count_lines(runs_path), 1);

    /* A signal that is never cancelled changes nothing. */
    md = NULL;
    err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata_ex(a, 0, unused, &md, &err),
                 FLYTEAUTH_OK);
    CHECK(err == NULL);
    CHECK(md != NULL);
    if (md != NULL) {
        CHECK_STR_EQ(flyteauth_metadata_value(md, 0), "Bearer cancel-token");
        flyteauth_metadata_free(md);
    }
    CHECK_STATUS(flyteauth_authenticator_invalidate_ex(a, "Bearer stale", 0, unused, NULL),
                 FLYTEAUTH_OK);
    CHECK_INT_EQ(count_lines(runs_path), 1);

    flyteauth_cancel_free(c);
    flyteauth_cancel_free(pre);
    flyteauth_cancel_free(unused);
    flyteauth_authenticator_free(a);
    unlink(runs_path);
}

static char g_yaml_path[512];

/* Write `text` to a new temporary file, g_yaml_path. */
static int write_yaml(const char *text) {
    if (!make_temp_file(g_yaml_path, sizeof g_yaml_path, "flyteauth-c-config-"))
        return 0;
    FILE *f = fopen(g_yaml_path, "w");
    if (f == NULL)
        return 0;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static void test_from_flyte_config(void) {
    /* A file that does not exist. */
    flyteauth_authenticator *a = SENTINEL_AUTH;
    flyteauth_error *err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_from_flyte_config(
                     "/nonexistent/flyteauth/config.yaml", &a, &err),
                 FLYTEAUTH_ERR_CONFIG);
    CHECK(a == NULL);
    CHECK(err != SENTINEL_ERR);
    if (err != SENTINEL_ERR) {
        const char *msg = CHECK_ERROR(err, FLYTEAUTH_ERR_CONFIG);
        CHECK_CONTAINS(msg, "/nonexistent/flyteauth/config.yaml");
        flyteauth_error_free(err);
    }

    if (!have_fixture()) {
        CHECK(!"the fixture is running (scripts/with-idp)");
        return;
    }
    /* A real file whose secret comes from the variable it names. */
    char yaml[1024];
    snprintf(yaml, sizeof yaml,
             "admin:\n"
             "  endpoint: dns:///%s\n"
             "  insecure: true\n"
             "  authType: ClientSecret\n"
             "  clientId: %s\n"
             "  clientSecretEnvVar: FLYTEAUTH_C_TEST_CLIENT_SECRET\n"
             "logger:\n"
             "  level: 0\n",
             env_or_empty("FLYTEAUTH_IDP_ENDPOINT"), env_or_empty("FLYTEAUTH_IDP_CLIENT_ID"));
    CHECK(write_yaml(yaml));
    CHECK(setenv("FLYTEAUTH_C_TEST_CLIENT_SECRET", env_or_empty("FLYTEAUTH_IDP_CLIENT_SECRET"),
                 1) == 0);

    a = SENTINEL_AUTH;
    err = SENTINEL_ERR;
    CHECK_STATUS(flyteauth_authenticator_from_flyte_config(g_yaml_path, &a, &err), FLYTEAUTH_OK);
    CHECK(err == NULL);
    if (err != NULL && err != SENTINEL_ERR) {
        fprintf(stderr, "    message: %s\n", flyteauth_error_message(err));
        flyteauth_error_free(err);
    }
    if (a != NULL && a != SENTINEL_AUTH) {
        char *key = NULL;
        char *value = MUST_FETCH_VALUE(a, &key);
        CHECK_STR_EQ(key, "flyte-authorization");
        CHECK(value != NULL && strncmp(value, "Bearer eyJ", 10) == 0);
        free(key);
        free(value);
        flyteauth_authenticator_free(a);
    } else {
        CHECK(!"from_flyte_config returned an authenticator");
    }

    /* path NULL: $FLYTECTL_CONFIG. */
    CHECK(setenv("FLYTECTL_CONFIG", g_yaml_path, 1) == 0);
    a = NULL;
    CHECK_STATUS(flyteauth_authenticator_from_flyte_config(NULL, &a, NULL), FLYTEAUTH_OK);
    CHECK(a != NULL);
    if (a != NULL) {
        char *value = MUST_FETCH_VALUE(a, NULL);
        CHECK(value != NULL && strncmp(value, "Bearer eyJ", 10) == 0);
        free(value);
        flyteauth_authenticator_free(a);
    }
    /* $FLYTECTL_CONFIG naming a missing file is skipped with a warning, as in flytekit; with
     * no other file (HOME pointed at an empty directory) the endpoint is missing. */
    CHECK(setenv("FLYTECTL_CONFIG", "/nonexistent/flyteauth/flytectl.yaml", 1) == 0);
    char *saved_home = getenv("HOME") != NULL ? strdup(getenv("HOME")) : NULL;
    CHECK(setenv("HOME", "/nonexistent/flyteauth-home", 1) == 0);
    a = SENTINEL_AUTH;
    err = NULL;
    CHECK_STATUS(flyteauth_authenticator_from_flyte_config(NULL, &a, &err), FLYTEAUTH_ERR_CONFIG);
    CHECK(a == NULL);
    CHECK_CONTAINS(CHECK_ERROR(err, FLYTEAUTH_ERR_CONFIG), "endpoint");
    if (saved_home != NULL) {
        setenv("HOME", saved_home, 1);
        free(saved_home);
    } else {
        unsetenv("HOME");
    }
    flyteauth_error_free(err);
    unsetenv("FLYTECTL_CONFIG");

    /* The variable unset: the config names what is missing, not a secret. */
    unsetenv("FLYTEAUTH_C_TEST_CLIENT_SECRET");
    a = SENTINEL_AUTH;
    err = NULL;
    CHECK_STATUS(flyteauth_authenticator_from_flyte_config(g_yaml_path, &a, &err),
                 FLYTEAUTH_ERR_CONFIG);
    CHECK(a == NULL);
    CHECK_CONTAINS(CHECK_ERROR(err, FLYTEAUTH_ERR_CONFIG), "FLYTEAUTH_C_TEST_CLIENT_SECRET");
    flyteauth_error_free(err);

    /* Invalid YAML / an unknown key in admin: CONFIG naming the key. */
    unlink(g_yaml_path);
    CHECK(write_yaml("admin:\n  endpoint: x\n  notAFlyteKey: 1\n"));
    err = NULL;
    a = SENTINEL_AUTH;
    CHECK_STATUS(flyteauth_authenticator_from_flyte_config(g_yaml_path, &a, &err),
                 FLYTEAUTH_ERR_CONFIG);
    CHECK(a == NULL);
    CHECK_CONTAINS(CHECK_ERROR(err, FLYTEAUTH_ERR_CONFIG), "notAFlyteKey");
    flyteauth_error_free(err);
    unlink(g_yaml_path);
}

/* A call that must return INVALID_ARGUMENT with a message naming `name`. */
static void check_invalid_argument(const char *file, int line, const char *expr, int st,
                                   flyteauth_error *err, const char *name) {
    check_status(file, line, expr, st, FLYTEAUTH_ERR_INVALID_ARGUMENT);
    if (err == SENTINEL_ERR) {
        check_failed(file, line, "err was written");
        return;
    }
    const char *msg = check_error(file, line, err, FLYTEAUTH_ERR_INVALID_ARGUMENT);
    check_contains(file, line, expr, msg, name, 1);
    flyteauth_error_free(err);
}
#define CHECK_INVALID_ARGUMENT(call, err, name)                                                \
    do {                                                                                       \
        err = SENTINEL_ERR;                                                                    \
        int st_ = (int)(call);                                                                 \
        check_invalid_argument(__FILE__, __LINE__, #call, st_, (err), (name));                 \
    } while (0)

static void test_null_arguments(void) {
    static const char ok_json[] =
        "{\"authType\": \"ExternalCommand\", \"command\": [\"echo\", \"null-test\"], "
        "\"authorizationHeader\": \"authorization\"}";
    static const char bad_utf8[] = "{\"endpoint\": \"\xff\xfe\"}";
    flyteauth_error *err;
    flyteauth_authenticator *a;
    flyteauth_metadata *md;

    /* authenticator_new */
    a = SENTINEL_AUTH;
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_new(NULL, &a, &err), err, "config_json");
    CHECK(a == NULL);
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_new(ok_json, NULL, &err), err, "out");
    a = SENTINEL_AUTH;
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_new(bad_utf8, &a, &err), err, "config_json");
    CHECK(a == NULL);
    a = SENTINEL_AUTH;
    CHECK_STATUS(flyteauth_authenticator_new(NULL, &a, NULL), FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK(a == NULL);
    CHECK_STATUS(flyteauth_authenticator_new(ok_json, NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(flyteauth_authenticator_new(NULL, NULL, NULL), FLYTEAUTH_ERR_INVALID_ARGUMENT);

    /* from_flyte_config (path NULL is valid: default lookup) */
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_from_flyte_config("/x.yaml", NULL, &err), err,
                           "out");
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_from_flyte_config(NULL, NULL, &err), err,
                           "out");
    a = SENTINEL_AUTH;
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_from_flyte_config("/tmp/\xff.yaml", &a, &err),
                           err, "path");
    CHECK(a == NULL);
    CHECK_STATUS(flyteauth_authenticator_from_flyte_config("/x.yaml", NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);

    /* fetch_metadata / fetch_metadata_timeout */
    a = MUST_NEW(ok_json);
    md = SENTINEL_MD;
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_fetch_metadata(NULL, &md, &err), err, "`a`");
    CHECK(md == NULL);
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_fetch_metadata(a, NULL, &err), err, "out");
    md = SENTINEL_MD;
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_fetch_metadata_ex(NULL, 1000, NULL, &md, &err),
                           err, "`a`");
    CHECK(md == NULL);
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_fetch_metadata_ex(a, 1000, NULL, NULL, &err),
                           err, "out");
    md = SENTINEL_MD;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata(NULL, &md, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK(md == NULL);
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata(a, NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata(NULL, NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata_ex(NULL, 0, NULL, NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);

    /* refresh / refresh_timeout */
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_refresh(NULL, &err), err, "`a`");
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_refresh_ex(NULL, 1000, NULL, &err), err, "`a`");
    CHECK_STATUS(flyteauth_authenticator_refresh(NULL, NULL), FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(flyteauth_authenticator_refresh_ex(NULL, 0, NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);

    /* logout */
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_logout(NULL, &err), err, "`a`");
    CHECK_STATUS(flyteauth_authenticator_logout(NULL, NULL), FLYTEAUTH_ERR_INVALID_ARGUMENT);

    /* invalidate / invalidate_timeout */
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_invalidate(NULL, "Bearer x", &err), err,
                           "`a`");
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_invalidate(a, NULL, &err), err,
                           "rejected_value");
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_invalidate(a, "Bearer \xff", &err), err,
                           "rejected_value");
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_invalidate_ex(NULL, "Bearer x", 1, NULL, &err),
                           err, "`a`");
    CHECK_INVALID_ARGUMENT(flyteauth_authenticator_invalidate_ex(a, NULL, 1, NULL, &err), err,
                           "rejected_value");
    CHECK_STATUS(flyteauth_authenticator_invalidate(NULL, NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(flyteauth_authenticator_invalidate(a, NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(flyteauth_authenticator_invalidate_ex(a, NULL, 0, NULL, NULL),
                 FLYTEAUTH_ERR_INVALID_ARGUMENT);

    /* try_fetch_metadata never fails: NULL arguments give 0 (and *out NULL). */
    md = SENTINEL_MD;
    CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(NULL, &md), 0);
    CHECK(md == NULL);
    CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(a, NULL), 0);
    CHECK_INT_EQ(flyteauth_authenticator_try_fetch_metadata(NULL, NULL), 0);

    /* The cancel functions accept NULL. */
    flyteauth_cancel_cancel(NULL);
    flyteauth_cancel_free(NULL);

    /* The authenticator still works after all that. */
    char *value = MUST_FETCH_VALUE(a, NULL);
    CHECK_STR_EQ(value, "Bearer null-test");
    free(value);
    flyteauth_authenticator_free(a);

    /* Metadata accessors */
    CHECK_INT_EQ(flyteauth_metadata_len(NULL), 0);
    CHECK(flyteauth_metadata_key(NULL, 0) == NULL);
    CHECK(flyteauth_metadata_value(NULL, 0) == NULL);
    CHECK(flyteauth_metadata_key(NULL, SIZE_MAX) == NULL);
    CHECK(flyteauth_metadata_value(NULL, SIZE_MAX) == NULL);

    /* Error accessors */
    CHECK_INT_EQ(flyteauth_error_code(NULL), FLYTEAUTH_ERR_INVALID_ARGUMENT);
    CHECK(flyteauth_error_message(NULL) == NULL);
    CHECK_INT_EQ(flyteauth_error_http_status(NULL), 0);
    CHECK(flyteauth_error_oauth_error(NULL) == NULL);
    CHECK(flyteauth_error_oauth_error_description(NULL) == NULL);

    /* Release functions accept NULL. */
    flyteauth_authenticator_free(NULL);
    flyteauth_metadata_free(NULL);
    flyteauth_error_free(NULL);
    flyteauth_cancel_free(NULL);
    CHECK(1);
}

/* ------------------------------------------------------------------------------------------ */
/* Threads                                                                                     */
/* ------------------------------------------------------------------------------------------ */

#define N_THREADS 16
#define N_ITERATIONS 200

struct worker {
    pthread_t thread;
    flyteauth_authenticator *a;
    pthread_barrier_t *barrier;
    const char *rejected; /* invalidate workers */
    char *first_value;    /* fetch workers: the first value seen (heap) */
    int failures;         /* calls that failed or saw another value */
};

static void *fetch_worker(void *arg) {
    struct worker *w = arg;
    pthread_barrier_wait(w->barrier);
    for (int i = 0; i < N_ITERATIONS; i++) {
        flyteauth_metadata *md = NULL;
        flyteauth_error *err = NULL;
        flyteauth_status st = flyteauth_authenticator_fetch_metadata(w->a, &md, &err);
        if (st != FLYTEAUTH_OK) {
            fprintf(stderr, "  fetch in a thread: %s: %s\n", flyteauth_status_str(st),
                    flyteauth_error_message(err));
            flyteauth_error_free(err);
            w->failures++;
            continue;
        }
        if (err != NULL || md == NULL || flyteauth_metadata_len(md) != 1) {
            w->failures++;
        } else {
            const char *key = flyteauth_metadata_key(md, 0);
            const char *value = flyteauth_metadata_value(md, 0);
            if (key == NULL || strcmp(key, "flyte-authorization") != 0 || value == NULL ||
                strncmp(value, "Bearer eyJ", 10) != 0)
                w->failures++;
            else if (w->first_value == NULL)
                w->first_value = dup_str(value);
            else if (strcmp(w->first_value, value) != 0)
                w->failures++;
        }
        flyteauth_metadata_free(md);
        /* The non-blocking form, concurrently: the token is fresh, so always 1. */
        md = NULL;
        if (flyteauth_authenticator_try_fetch_metadata(w->a, &md) != 1 || md == NULL ||
            w->first_value == NULL ||
            strcmp(flyteauth_metadata_value(md, 0), w->first_value) != 0)
            w->failures++;
        flyteauth_metadata_free(md);
    }
    return NULL;
}

static void *invalidate_worker(void *arg) {
    struct worker *w = arg;
    pthread_barrier_wait(w->barrier);
    flyteauth_error *err = NULL;
    flyteauth_status st = flyteauth_authenticator_invalidate(w->a, w->rejected, &err);
    if (st != FLYTEAUTH_OK || err != NULL) {
        fprintf(stderr, "  invalidate in a thread: %s: %s\n", flyteauth_status_str(st),
                flyteauth_error_message(err));
        flyteauth_error_free(err);
        w->failures++;
    }
    return NULL;
}

/* Run `child(arg)` in a forked child process (its answer: nonzero = success) and return that
 * answer, or 0 if the child could not report. The child reports through a pipe, not its exit
 * status: under valgrind the child's exit status is valgrind's verdict on the heap it
 * inherited from the parent. A child waiting on something of the parent's (its runtime, a
 * lock held by one of its threads) waits forever: an alarm turns that hang into a failure. */
static int in_forked_child(int (*child)(void *), void *arg) {
    int report[2];
    if (pipe(report) != 0)
        return 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        alarm(60);
        char verdict = child(arg) ? 'y' : 'n';
        ssize_t written = write(report[1], &verdict, 1);
        _exit(written == 1 ? 0 : 1);
    }
    close(report[1]);
    char verdict = 0;
    int reported = pid > 0 && read(report[0], &verdict, 1) == 1;
    close(report[0]);
    int status = 0;
    if (pid > 0)
        waitpid(pid, &status, 0);
    return reported && verdict == 'y';
}

static int refresh_then_fetch(void *arg) {
    flyteauth_authenticator *a = arg;
    /* A refresh needs the network: a new runtime and a new HTTP client in the child. */
    flyteauth_error *err = NULL;
    int ok = flyteauth_authenticator_refresh(a, &err) == FLYTEAUTH_OK;
    if (!ok)
        fprintf(stderr, "fork child: refresh failed: %s\n", flyteauth_error_message(err));
    flyteauth_error_free(err);
    flyteauth_metadata *m = NULL;
    ok = ok && flyteauth_authenticator_fetch_metadata(a, &m, NULL) == FLYTEAUTH_OK &&
         flyteauth_metadata_len(m) == 1;
    flyteauth_metadata_free(m);
    return ok;
}

static int fetch_with_proxy_token(void *arg) {
    flyteauth_metadata *m = NULL;
    flyteauth_error *err = NULL;
    int ok = flyteauth_authenticator_fetch_metadata(arg, &m, &err) == FLYTEAUTH_OK &&
             flyteauth_metadata_len(m) == 2;
    if (err != NULL)
        fprintf(stderr, "fork child: %s\n", flyteauth_error_message(err));
    flyteauth_error_free(err);
    flyteauth_metadata_free(m);
    return ok;
}

static void test_fork(void) {
    /* After fork(), the child gets a working library: its own runtime and connection pool
     * (the parent's threads do not exist in the child), and the parent keeps working. */
    if (!have_fixture()) {
        CHECK(!"the fixture is running (scripts/with-idp)");
        return;
    }
    char json[1024];
    fixture_config(json, sizeof json, env_or_empty("FLYTEAUTH_IDP_ENDPOINT"),
                   env_or_empty("FLYTEAUTH_IDP_CLIENT_SECRET"), "");
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL)
        return;
    flyteauth_metadata *md = NULL;
    CHECK_STATUS(flyteauth_authenticator_fetch_metadata(a, &md, NULL), FLYTEAUTH_OK);
    flyteauth_metadata_free(md);
    CHECK(in_forked_child(refresh_then_fetch, a));
    CHECK_STATUS(flyteauth_authenticator_refresh(a, NULL), FLYTEAUTH_OK);
    flyteauth_authenticator_free(a);
}

static void *fetch_in_thread(void *arg) {
    flyteauth_metadata *md = NULL;
    int ok = flyteauth_authenticator_fetch_metadata((flyteauth_authenticator *)arg, &md, NULL) ==
             FLYTEAUTH_OK;
    flyteauth_metadata_free(md);
    return ok ? arg : NULL;
}

static void test_fork_mid_refresh(void) {
    /* fork() while the parent is in the middle of its first refresh: its discovery fetch is
     * in flight and its proxyCommand holds the command lock. Neither can ever finish in the
     * child, so the child must not wait for them: it gets its own discovery cells, command
     * lock and keyring connection, and logs in by itself. */
    if (!have_fixture()) {
        CHECK(!"the fixture is running (scripts/with-idp)");
        return;
    }
    char started[512];
    CHECK(make_temp_file(started, sizeof started, "flyteauth-fork-started-"));
    unlink(started);
    /* The proxy command says when it started, then takes 5 s. */
    char extra[1024];
    snprintf(extra, sizeof extra,
             ", \"proxyCommand\": [\"sh\", \"-c\", \"touch %s; sleep 5; echo proxy-token\"]",
             started);
    char json[2048];
    fixture_config(json, sizeof json, env_or_empty("FLYTEAUTH_IDP_ENDPOINT"),
                   env_or_empty("FLYTEAUTH_IDP_CLIENT_SECRET"), extra);
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL)
        return;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, fetch_in_thread, a) == 0);
    /* Wait (generously) until the parent's refresh is inside the proxy command. */
    for (int i = 0; i < 600 && access(started, F_OK) != 0; i++)
        sleep_ms(100);
    CHECK(access(started, F_OK) == 0);
    CHECK(in_forked_child(fetch_with_proxy_token, a));
    void *joined = NULL;
    CHECK(pthread_join(t, &joined) == 0);
    CHECK(joined == a);
    unlink(started);
    flyteauth_authenticator_free(a);
}

static void test_threads(void) {
    if (!have_fixture()) {
        CHECK(!"the fixture is running (scripts/with-idp)");
        return;
    }
    char json[1024];
    fixture_config(json, sizeof json, env_or_empty("FLYTEAUTH_IDP_ENDPOINT"),
                   env_or_empty("FLYTEAUTH_IDP_CLIENT_SECRET"), "");
    flyteauth_authenticator *a = MUST_NEW(json);
    if (a == NULL)
        return;
    long t0 = fixture_token_requests();
    CHECK(t0 >= 0);

    pthread_barrier_t barrier;
    CHECK(pthread_barrier_init(&barrier, NULL, N_THREADS) == 0);
    struct worker w[N_THREADS];
    memset(w, 0, sizeof w);

    /* 16 threads x 200 fetches on a fresh authenticator: the first token is shared. */
    for (int i = 0; i < N_THREADS; i++) {
        w[i].a = a;
        w[i].barrier = &barrier;
        CHECK(pthread_create(&w[i].thread, NULL, fetch_worker, &w[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        CHECK(pthread_join(w[i].thread, NULL) == 0);
    for (int i = 0; i < N_THREADS; i++) {
        CHECK_INT_EQ(w[i].failures, 0);
        CHECK(w[i].first_value != NULL);
        if (w[i].first_value != NULL && w[0].first_value != NULL)
            CHECK(strcmp(w[i].first_value, w[0].first_value) == 0);
    }
    CHECK_INT_EQ(fixture_token_requests() - t0, 1); /* concurrent callers shared one request */

    /* 16 threads invalidate the same (current) value at once: one refresh. */
    char *rejected = dup_str(w[0].first_value);
    for (int i = 0; i < N_THREADS; i++) {
        free(w[i].first_value);
        w[i].first_value = NULL;
        w[i].failures = 0;
        w[i].rejected = rejected ? rejected : "Bearer none";
        CHECK(pthread_create(&w[i].thread, NULL, invalidate_worker, &w[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        CHECK(pthread_join(w[i].thread, NULL) == 0);
    for (int i = 0; i < N_THREADS; i++)
        CHECK_INT_EQ(w[i].failures, 0);
    CHECK_INT_EQ(fixture_token_requests() - t0, 2); /* a burst of rejections: one refresh */
    char *after = MUST_FETCH_VALUE(a, NULL);
    CHECK(after != NULL && rejected != NULL && strcmp(after, rejected) != 0);

    /* And a burst with a value that was never current: no refresh at all. */
    for (int i = 0; i < N_THREADS; i++) {
        w[i].rejected = "Bearer stale";
        CHECK(pthread_create(&w[i].thread, NULL, invalidate_worker, &w[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++)
        CHECK(pthread_join(w[i].thread, NULL) == 0);
    for (int i = 0; i < N_THREADS; i++)
        CHECK_INT_EQ(w[i].failures, 0);
    CHECK_INT_EQ(fixture_token_requests() - t0, 2);
    char *still = MUST_FETCH_VALUE(a, NULL);
    CHECK(after != NULL && still != NULL && strcmp(after, still) == 0);

    pthread_barrier_destroy(&barrier);
    free(rejected);
    free(after);
    free(still);
    flyteauth_authenticator_free(a);
}

/* ------------------------------------------------------------------------------------------ */

struct test_case {
    const char *name;
    void (*fn)(void);
};

static const struct test_case TESTS[] = {
    {"version", test_version},
    {"status_str", test_status_str},
    {"happy_path", test_happy_path},
    {"config_errors", test_config_errors},
    {"authentication_error", test_authentication_error},
    {"network_error", test_network_error},
    {"discovery_error", test_discovery_error},
    {"protocol_error", test_protocol_error},
    {"login_required", test_login_required},
    {"log_callback", test_log_callback},
    {"command_error", test_command_error},
    {"command_bad_token", test_command_bad_token},
    {"command_happy_path", test_command_happy_path},
    {"command_timeout", test_command_timeout},
    {"call_timeout", test_call_timeout},
    {"try_fetch", test_try_fetch},
    {"cancel", test_cancel},
    {"from_flyte_config", test_from_flyte_config},
    {"null_arguments", test_null_arguments},
    {"threads", test_threads},
    {"fork", test_fork},
    {"fork_mid_refresh", test_fork_mid_refresh},
};

int main(int argc, char **argv) {
    size_t n = sizeof TESTS / sizeof TESTS[0];
    int failed_cases = 0, ran = 0;
    double start = now_s();
    for (size_t i = 0; i < n; i++) {
        /* Optional filter: run only the cases named on the command line. */
        if (argc > 1) {
            int wanted = 0;
            for (int j = 1; j < argc; j++)
                wanted |= strcmp(argv[j], TESTS[i].name) == 0;
            if (!wanted)
                continue;
        }
        int before = atomic_load(&g_failures);
        double t = now_s();
        printf("[ RUN  ] %s\n", TESTS[i].name);
        fflush(stdout);
        TESTS[i].fn();
        int failed = atomic_load(&g_failures) - before;
        printf("[ %s ] %s (%.2f s)\n", failed ? "FAIL" : " OK ", TESTS[i].name, now_s() - t);
        fflush(stdout);
        failed_cases += failed != 0;
        ran++;
    }
    printf("%d case(s), %d check(s), %d failure(s), %d failed case(s), %.2f s\n", ran,
           atomic_load(&g_checks), atomic_load(&g_failures), failed_cases, now_s() - start);
    if (ran == 0) {
        fprintf(stderr, "no test case matched\n");
        return 1;
    }
    return atomic_load(&g_failures) == 0 ? 0 : 1;
}
