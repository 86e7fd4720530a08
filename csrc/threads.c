/* threads.c -- the thread count and a parallel for.
 *
 * cattn_parallel_for() starts its helper threads for one call and joins them before it returns:
 * no pool outlives a call, so nothing is left half-owned in a child made by fork() (a child of a
 * process that used cattn can use cattn at once), and the cost -- tens of microseconds -- is only
 * paid for work large enough to hide it.  Work is split in contiguous, equal ranges that do not
 * depend on timing, and each item is computed exactly as it would be serially, so results are
 * bitwise the same for every thread count.  A parallel for inside a worker runs serially.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "kernels.h"

#define MAX_THREADS 256
#define WORK_PER_THREAD 2.5e7 /* flops per thread below which a thread does not pay (measured:
                                * a 256^3 GEMM and 8 heads of 128x128 attention are slower on
                                * two threads than on one here: spawning costs ~40 us) */

static int num_threads = 0;  /* 0: not set yet */
static _Thread_local int in_parallel = 0;

static int default_threads(void)
{
    const char *env = getenv("CATTN_NUM_THREADS");
    if (env != NULL && env[0] != '\0') {
        long v = strtol(env, NULL, 10);
        if (v >= 1) return v > MAX_THREADS ? MAX_THREADS : (int)v;
    }
#if defined(__linux__) && defined(_GNU_SOURCE)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set) > 0 ? CPU_COUNT(&set) : 1;
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

int cattn_get_num_threads(void)
{
    if (num_threads == 0) num_threads = default_threads();
    return num_threads;
}

void cattn_set_num_threads(int n)
{
    num_threads = n < 1 ? default_threads() : n > MAX_THREADS ? MAX_THREADS : n;
}

typedef struct {
    cattn_range_fn fn;
    void *ctx;
    ptrdiff_t begin, end;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    in_parallel = 1;
    j->fn(j->ctx, j->begin, j->end);
    return NULL;
}

void cattn_parallel_for(ptrdiff_t n, double work, cattn_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    ptrdiff_t t = in_parallel ? 1 : cattn_get_num_threads();
    if (t > n) t = n;
    if (work / WORK_PER_THREAD < (double)t) t = (ptrdiff_t)(work / WORK_PER_THREAD);
    if (t <= 1) {
        fn(ctx, 0, n);
        return;
    }
    job jobs[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (ptrdiff_t i = 0; i < t; i++) {
        jobs[i].fn = fn;
        jobs[i].ctx = ctx;
        jobs[i].begin = n * i / t;
        jobs[i].end = n * (i + 1) / t;
    }
    for (ptrdiff_t i = 1; i < t; i++)  /* a thread that cannot start leaves its range to us */
        started[i] = pthread_create(&tid[i], NULL, run_job, &jobs[i]) == 0;
    int was = in_parallel;
    in_parallel = 1;
    fn(ctx, jobs[0].begin, jobs[0].end);
    for (ptrdiff_t i = 1; i < t; i++) {
        if (started[i]) pthread_join(tid[i], NULL);
        else fn(ctx, jobs[i].begin, jobs[i].end);
    }
    in_parallel = was;
}
