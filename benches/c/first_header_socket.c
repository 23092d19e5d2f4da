/*
 * The floor under benches/c/first_header_curl.c: the same one client-credentials POST to the
 * IdP's token endpoint, written by hand on a plain socket (HTTP/1.1, `Connection: close`), with
 * no library beyond libc. What is left is the process start, one TCP exchange on loopback and
 * the IdP's own time to issue a token, so it shows how much of every first-header figure is
 * the IdP's.
 *
 * Reads FLYTEAUTH_IDP_URL (http://127.0.0.1:PORT), FLYTEAUTH_IDP_CLIENT_ID and
 * FLYTEAUTH_IDP_CLIENT_SECRET (as set by scripts/with-idp). Timed by benches/c/spawn_stats.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "token_answer.h"

static void base64(const char *in, char *out) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n) v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

int main(void) {
    const char *idp = getenv("FLYTEAUTH_IDP_URL");
    const char *id = getenv("FLYTEAUTH_IDP_CLIENT_ID");
    const char *secret = getenv("FLYTEAUTH_IDP_CLIENT_SECRET");
    unsigned port = 0;
    if (!idp || !id || !secret || sscanf(idp, "http://127.0.0.1:%u", &port) != 1) {
        fprintf(stderr, "FLYTEAUTH_IDP_URL (http://127.0.0.1:PORT), _CLIENT_ID and _CLIENT_SECRET are required\n");
        return 2;
    }
    char credentials[512], basic[700], request[2048];
    snprintf(credentials, sizeof credentials, "%s:%s", id, secret);
    base64(credentials, basic);
    const char *form = "grant_type=client_credentials&scope=all&audience=https%3A%2F%2Fflyte.test%2Fapi";
    int len = snprintf(request, sizeof request,
                       "POST /token HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nAuthorization: Basic %s\r\n"
                       "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %zu\r\n"
                       "Accept: application/json\r\nConnection: close\r\n\r\n%s",
                       port, basic, strlen(form), form);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        write(fd, request, (size_t)len) != len) {
        perror("token request");
        return 1;
    }
    static char answer[16384];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof answer - 1 && (n = read(fd, answer + got, sizeof answer - 1 - got)) > 0)
        got += (size_t)n;
    answer[got] = '\0';
    close(fd);

    if (strncmp(answer, "HTTP/1.1 200", 12) != 0) {
        fprintf(stderr, "token request: %.40s\n", answer);
        return 1;
    }
    return write_header(answer);
}
