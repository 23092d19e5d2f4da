/*
 * Hot-path harness: the header metadata with a valid token, from C, at 1, 2, every core's
 * and 64 threads on one authenticator, beside the "limit" rows measured in the same run: the
 * same loads and clock read with no library code (issue 15).
 *
 * Rows, each per thread count:
 *   limit                    what a hot path that hands out a reference-counted snapshot must
 *                            do: one acquire load of a shared word, a coarse clock read, and
 *                            an increment and decrement of one shared reference count;
 *   limit, no shared write   the acquire load and the clock read alone: what a path that
 *                            writes nothing shared must do;
 *   owned snapshot           fetch_metadata + key + value + metadata_free;
 *   kept snapshot            one snapshot kept per thread, checked by metadata_is_current
 *                            before each use (fetched again when it is not current) + key +
 *                            value: what the Go and Java bindings do.
 *
 * Cost per call is each thread's CPU time (CLOCK_THREAD_CPUTIME_ID) over its calls, the mean
 * over threads, the median over RUNS runs: with more threads than cores, a thread's wall time
 * would count the time it waited for a core. Allocations in the loops are counted by linking
 * statically with -Wl,--wrap=malloc,... (benches/c/run.sh).
 *
 * Prints a table; with FLYTEAUTH_BENCH_RESULTS set, appends one JSON line per row and thread
 * count there (benches/README.md).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flyteauth.h"

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
static atomic_ulong allocations;
void *__wrap_malloc(size_t n) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed); return __real_realloc(p, n); }

#define RUNS 9
#define MAX_THREADS 64

/* Calls per thread per run: fewer with more threads, so a run stays short. */
static long iters_for(int threads) { return threads <= 2 ? 2000000 : threads <= 8 ? 500000 : 100000; }

enum row { LIMIT, LIMIT_NO_WRITE, OWNED, KEPT, ROWS };
static const char *const row_label[ROWS] = {
    "limit: acquire load + coarse clock + shared refcount inc/dec",
    "limit, no shared write: acquire load + coarse clock",
    "owned snapshot: fetch_metadata + key + value + metadata_free",
    "kept snapshot: metadata_is_current + key + value",
};

/* The limit rows' shared words, each on its own cache line, like the library's. */
static _Alignas(64) atomic_uint_fast64_t published = 1;
static _Alignas(64) atomic_long refcount = 1;
static _Alignas(64) uint64_t fresh_until;

static flyteauth_authenticator *auth;

struct job {
    enum row row;
    long iters;
    pthread_barrier_t *start;
    double ns_per_call;
    size_t sink;
    int failed;
};

static double cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint64_t coarse_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *worker(void *arg) {
    struct job *j = arg;
    size_t sink = 0;
    flyteauth_metadata *kept = NULL;
    if (j->row == KEPT && flyteauth_authenticator_fetch_metadata(auth, &kept, NULL) != FLYTEAUTH_OK) {
        j->failed = 1;
    }
    pthread_barrier_wait(j->start);
    double t0 = cpu_ns();
    for (long i = 0; i < j->iters && !j->failed; i++) {
        switch (j->row) {
        case LIMIT: {
            uint64_t g = atomic_load_explicit(&published, memory_order_acquire);
            if (coarse_ns() < fresh_until) sink += g;
            atomic_fetch_add_explicit(&refcount, 1, memory_order_relaxed);
            atomic_fetch_sub_explicit(&refcount, 1, memory_order_release);
            break;
        }
        case LIMIT_NO_WRITE: {
            uint64_t g = atomic_load_explicit(&published, memory_order_acquire);
            if (coarse_ns() < fresh_until) sink += g;
            break;
        }
        case OWNED: {
            flyteauth_metadata *m = NULL;
            if (flyteauth_authenticator_fetch_metadata(auth, &m, NULL) != FLYTEAUTH_OK) {
                j->failed = 1;
                break;
            }
            sink += (size_t)flyteauth_metadata_key(m, 0)[0] + (size_t)flyteauth_metadata_value(m, 0)[0];
            flyteauth_metadata_free(m);
            break;
        }
        case KEPT:
            if (!flyteauth_authenticator_metadata_is_current(auth, kept)) {
                flyteauth_metadata_free(kept);
                kept = NULL;
                if (flyteauth_authenticator_fetch_metadata(auth, &kept, NULL) != FLYTEAUTH_OK) {
                    j->failed = 1;
                    break;
                }
            }
            sink += (size_t)flyteauth_metadata_key(kept, 0)[0] + (size_t)flyteauth_metadata_value(kept, 0)[0];
            break;
        default:
            break;
        }
    }
    j->ns_per_call = (cpu_ns() - t0) / (double)j->iters;
    flyteauth_metadata_free(kept);
    j->sink = sink;
    return NULL;
}

/* One run of `row` on `threads` threads: the mean over threads of CPU ns per call. */
static double run_once(enum row row, int threads, size_t *sink, int *failed) {
    pthread_t tid[MAX_THREADS];
    struct job jobs[MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)threads);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){.row = row, .iters = iters_for(threads), .start = &start};
        pthread_create(&tid[t], NULL, worker, &jobs[t]);
    }
    double sum = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        sum += jobs[t].ns_per_call;
        *sink += jobs[t].sink;
        *failed |= jobs[t].failed;
    }
    pthread_barrier_destroy(&start);
    return sum / threads;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
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

int main(void) {
    const char *config = "{\"authType\":\"ExternalCommand\",\"command\":[\"echo\",\"bench-token\"],"
                         "\"authorizationHeader\":\"authorization\"}";
    flyteauth_metadata *md = NULL;
    int threads_before = thread_count();
    if (flyteauth_authenticator_new(config, &auth, NULL) != FLYTEAUTH_OK ||
        flyteauth_authenticator_fetch_metadata(auth, &md, NULL) != FLYTEAUTH_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    flyteauth_metadata_free(md);
    int threads_started = thread_count() - threads_before;
    fresh_until = coarse_ns() + 3600ull * 1000000000u;

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int counts[4] = {1, 2, (int)(cores < 1 ? 1 : cores > MAX_THREADS ? MAX_THREADS : cores), MAX_THREADS};
    int ncounts = 0;
    int uniq[4];
    for (int i = 0; i < 4; i++) {
        int seen = 0;
        for (int k = 0; k < ncounts; k++) seen |= uniq[k] == counts[i];
        if (!seen) uniq[ncounts++] = counts[i];
    }

    const char *results = getenv("FLYTEAUTH_BENCH_RESULTS");
    FILE *f = results && *results ? fopen(results, "a") : NULL;
    size_t sink = 0;
    int failed = 0;
    double med[ROWS][4] = {{0}};
    for (int r = 0; r < ROWS; r++) {
        for (int k = 0; k < ncounts; k++) {
            int threads = uniq[k];
            double per_run[RUNS];
            unsigned long allocs_before = atomic_load(&allocations);
            for (int i = 0; i < RUNS; i++) per_run[i] = run_once((enum row)r, threads, &sink, &failed);
            /* pthread_create allocates thread stacks and TLS: counted in, spread over calls. */
            double allocs = (double)(atomic_load(&allocations) - allocs_before) /
                            ((double)RUNS * threads * iters_for(threads));
            qsort(per_run, RUNS, sizeof per_run[0], cmp);
            med[r][k] = per_run[RUNS / 2];
            if (!f) continue;
            fprintf(f,
                    "{\"kind\":\"hot_path\",\"impl\":\"%s\",\"lang\":\"C\",\"label\":\"%s\","
                    "\"threads\":%d,\"cores\":%ld,\"ns_per_op\":%.2f,\"min_ns_per_op\":%.2f,"
                    "\"max_ns_per_op\":%.2f,\"allocs_per_op\":%.6f,\"threads_started\":%d",
                    r <= LIMIT_NO_WRITE ? "limit" : "flyteauth", row_label[r], threads, cores,
                    med[r][k], per_run[0], per_run[RUNS - 1], allocs, threads_started);
            if (r != LIMIT) fprintf(f, ",\"limit_ns_per_op\":%.2f", med[LIMIT][k]);
            fprintf(f, "}\n");
        }
    }
    if (f) fclose(f);
    printf("C hot path, CPU ns per call per thread (median of %d runs; %ld cores):\n", RUNS, cores);
    for (int table = 0; table < 2; table++) {
        if (table == 1) printf("as a ratio to the limit row at the same thread count:\n");
        printf("  %-62s", "threads");
        for (int k = 0; k < ncounts; k++) printf("  %7d", uniq[k]);
        printf("\n");
        for (int r = 0; r < ROWS; r++) {
            printf("  %-62s", row_label[r]);
            for (int k = 0; k < ncounts; k++)
                printf(table == 0 ? "  %7.1f" : "  %6.2fx", table == 0 ? med[r][k] : med[r][k] / med[LIMIT][k]);
            printf("\n");
        }
    }
    printf("  threads started by the library: %d\n", threads_started);
    flyteauth_authenticator_free(auth);
    if (failed) {
        fprintf(stderr, "a fetch failed\n");
        return 1;
    }
    return sink == 0;
}
