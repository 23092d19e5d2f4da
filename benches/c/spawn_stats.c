/*
 * Time fresh processes: run a command RUNS times (after one warm-up), each a new process,
 * and print the median/min/p90 wall time and the median/max peak RSS. The command's stdout
 * goes to /dev/null; its stderr is kept.
 *
 *   spawn_stats RUNS LABEL command [args...]
 *
 * LABEL is "impl/lang/free text" (e.g. "flyteauth/C/client credentials"); with
 * FLYTEAUTH_BENCH_RESULTS set, a first_header JSON line (benches/README.md) is appended there.
 *
 * Written in C on purpose: a child's peak RSS (ru_maxrss) includes the image it was forked
 * from before exec, so the launcher must be small; a Python or shell launcher would add its
 * own megabytes to every figure.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s RUNS LABEL command [args...]\n", argv[0]);
        return 2;
    }
    int runs = atoi(argv[1]);
    if (runs < 1 || runs > 10000) return 2;
    double *wall = calloc((size_t)runs, sizeof *wall), *rss = calloc((size_t)runs, sizeof *rss);
    if (!wall || !rss) return 2;
    for (int i = -1; i < runs; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid_t pid = fork();
        if (pid == 0) {
            /* What a program prints (e.g. `flyteauth token`'s token) is not wanted here. */
            int null = open("/dev/null", O_WRONLY);
            if (null < 0 || dup2(null, STDOUT_FILENO) < 0) _exit(126);
            execvp(argv[3], &argv[3]);
            _exit(127);
        }
        int status;
        struct rusage ru;
        if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) return 2;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "run %d failed (status %d)\n", i, status);
            return 1;
        }
        if (i < 0) continue; /* warm-up */
        wall[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
        rss[i] = (double)ru.ru_maxrss / 1024.0;
    }
    qsort(wall, (size_t)runs, sizeof *wall, cmp);
    qsort(rss, (size_t)runs, sizeof *rss, cmp);
    printf("%s: first header in median %.2f ms (min %.2f, p90 %.2f) over %d processes; "
           "peak RSS median %.1f MB, max %.1f MB\n",
           argv[2], wall[runs / 2], wall[0], wall[(runs * 9) / 10 - (runs >= 10 ? 1 : 0)], runs,
           rss[runs / 2], rss[runs - 1]);
    const char *results = getenv("FLYTEAUTH_BENCH_RESULTS");
    FILE *f = results && *results ? fopen(results, "a") : NULL;
    if (f) {
        /* LABEL is impl/lang/text; none of the three may contain a quote or backslash. */
        char label[256];
        snprintf(label, sizeof label, "%s", argv[2]);
        if (strpbrk(label, "\"\\")) return 2;
        char *impl = label, *lang = strchr(impl, '/'), *text = NULL;
        if (lang) {
            *lang++ = '\0';
            text = strchr(lang, '/');
            if (text) *text++ = '\0';
        }
        fprintf(f,
                "{\"kind\":\"first_header\",\"impl\":\"%s\",\"lang\":\"%s\",\"label\":\"%s\","
                "\"runs\":%d,\"median_ms\":%.3f,\"min_ms\":%.3f,\"p90_ms\":%.3f,"
                "\"rss_median_mb\":%.2f,\"rss_max_mb\":%.2f}\n",
                impl, lang ? lang : "", text ? text : "", runs, wall[runs / 2], wall[0],
                wall[(runs * 9) / 10 - (runs >= 10 ? 1 : 0)], rss[runs / 2], rss[runs - 1]);
        fclose(f);
    }
    free(wall);
    free(rss);
    return 0;
}
