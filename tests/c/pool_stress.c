/* pool_stress.c -- threads.c on its own, for ThreadSanitizer (tests/test_pool.py builds and runs
 * it with -fsanitize=thread): every item of every parallel for is computed exactly once, from one
 * calling thread and from several at once (the busy pool's fallback), with any chunking.  Prints
 * "ok" and exits 0, or says which check failed and exits 1. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include "runtime/dispatch.h"

#define N_MAX 4096

typedef struct {
    atomic_int hits[N_MAX];
} counts;

static void mark(void *ctx, ptrdiff_t begin, ptrdiff_t end)
{
    counts *c = ctx;
    for (ptrdiff_t i = begin; i < end; i++)
        atomic_fetch_add_explicit(&c->hits[i], 1, memory_order_relaxed);
}

/* one parallel for of n items: 0 when each item was visited once */
static int once(ptrdiff_t n, int chunks_per_thread)
{
    counts *c = calloc(1, sizeof *c);
    if (c == NULL) return 1;
    cattn_parallel_for(n, 1e12, chunks_per_thread, mark, c);
    int bad = 0;
    for (ptrdiff_t i = 0; i < n; i++) bad |= atomic_load(&c->hits[i]) != 1;
    free(c);
    return bad;
}

static void *caller(void *arg)
{
    int seed = (int)(intptr_t)arg, bad = 0;
    for (int r = 0; r < 300 && !bad; r++)
        bad = once(1 + (seed * 7919 + r * 104729) % N_MAX, 1 + r % 5);
    return (void *)(intptr_t)bad;
}

int main(void)
{
    cattn_set_num_threads(3);
    for (int r = 0; r < 2000; r++)
        if (once(1 + (r * 37) % 700, 1 + r % 4)) {
            printf("item count wrong (one caller, round %d)\n", r);
            return 1;
        }
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, caller, (void *)(intptr_t)(i + 1));
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        void *rc;
        pthread_join(t[i], &rc);
        bad |= rc != NULL;
    }
    if (bad) {
        printf("item count wrong (four callers at once)\n");
        return 1;
    }
    printf("ok\n");
    return 0;
}
