/*
 * Hot-path harness: fetch_metadata + read key/value + metadata_free with a valid token,
 * timed with CLOCK_MONOTONIC over many iterations, plus a count of heap allocations made by
 * the loop. Linked statically with -Wl,--wrap=malloc,... so every allocation the library
 * makes goes through the counters below.
 *
 * Prints: median/min ns per call over RUNS runs of ITERS calls, allocations per call, and how
 * many threads the library started (the runtime's workers). With FLYTEAUTH_BENCH_RESULTS set,
 * also appends a JSON line there (benches/README.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flyteauth.h"

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
static volatile unsigned long allocations;
void *__wrap_malloc(size_t n) { allocations++; return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { allocations++; return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { allocations++; return __real_realloc(p, n); }

#define RUNS 15
#define ITERS 2000000

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The number of threads in this process. */
static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void) {
    const char *config = "{\"authType\":\"ExternalCommand\",\"command\":[\"echo\",\"bench-token\"],"
                         "\"authorizationHeader\":\"authorization\"}";
    flyteauth_authenticator *a = NULL;
    flyteauth_metadata *md = NULL;
    int threads_before = thread_count();
    if (flyteauth_authenticator_new(config, &a, NULL) != FLYTEAUTH_OK ||
        flyteauth_authenticator_fetch_metadata(a, &md, NULL) != FLYTEAUTH_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    flyteauth_metadata_free(md);
    int threads_started = thread_count() - threads_before;

    double per_call[RUNS];
    size_t sink = 0;
    unsigned long allocs_before = allocations;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < ITERS; i++) {
            flyteauth_metadata *m = NULL;
            if (flyteauth_authenticator_fetch_metadata(a, &m, NULL) != FLYTEAUTH_OK) return 1;
            sink += (size_t)flyteauth_metadata_key(m, 0)[0] + (size_t)flyteauth_metadata_value(m, 0)[0];
            flyteauth_metadata_free(m);
        }
        per_call[r] = (now_ns() - t0) / ITERS;
    }
    unsigned long allocs = allocations - allocs_before;
    qsort(per_call, RUNS, sizeof per_call[0], cmp);
    printf("C hot path (fetch_metadata + key + value + metadata_free, valid token):\n");
    printf("  median %.1f ns/call, min %.1f ns/call, max %.1f ns/call (%d runs x %d calls)\n",
           per_call[RUNS / 2], per_call[0], per_call[RUNS - 1], RUNS, ITERS);
    printf("  heap allocations in the loop: %lu (%.6f per call)\n", allocs,
           (double)allocs / ((double)RUNS * ITERS));
    printf("  threads started by the library: %d\n", threads_started);
    const char *results = getenv("FLYTEAUTH_BENCH_RESULTS");
    FILE *f = results && *results ? fopen(results, "a") : NULL;
    if (f) {
        fprintf(f,
                "{\"kind\":\"hot_path\",\"impl\":\"flyteauth\",\"lang\":\"C\","
                "\"label\":\"fetch_metadata + key + value + metadata_free\","
                "\"ns_per_op\":%.2f,\"min_ns_per_op\":%.2f,\"allocs_per_op\":%.6f,"
                "\"threads_started\":%d}\n",
                per_call[RUNS / 2], per_call[0], (double)allocs / ((double)RUNS * ITERS),
                threads_started);
        fclose(f);
    }
    flyteauth_authenticator_free(a);
    return sink == 0;
}
