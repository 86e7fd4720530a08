/* runtime/threads.c -- the thread count and a parallel for on a small pool of worker threads.
 *
 * cattn_parallel_for() cuts [0, n) into a few contiguous chunks per thread; the calling thread
 * and the pool's workers take chunks in turn until none is left.  Who computes a chunk changes
 * nothing in it -- each item is computed exactly as it would be serially -- so results are bitwise
 * the same for every thread count and every schedule, and a thread that the OS holds back (another
 * library's threads spinning on its core, say) costs the others only its current chunk.  Handing
 * work to the pool costs a few microseconds where starting a thread cost ~40 us, so smaller
 * problems are worth splitting.  A parallel for inside a worker runs serially.
 */
#include "threads_os.h"  /* first: it sets _GNU_SOURCE for sched_getaffinity */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"

#define MAX_THREADS 256
#define NS_PER_THREAD 1e4 /* the time each thread must get for a second one to pay: handing a
                            * range to a spinning worker costs ~1-2 us here, to a sleeping one
                            * ~20 us (measured, 2-core VM) */
#define DEFAULT_FLOPS_PER_NS 50.0 /* without a rate source: a 2-core Zen 3 VM's AVX2 GEMM */

static double (*rate_source)(void) = NULL;  /* flops per ns of the active level (cost.c) */
void cattn_threads_set_rate_source(double (*flops_per_ns)(void)) { rate_source = flops_per_ns; }

static int num_threads = 0;  /* 0: not set yet */

/* Stopping: the flag a signal handler sets (lock-free, so async-signal-safe), seen only by the
 * calls made stoppable -- by the thread that made the call and the pool threads working for it --
 * so that a Ctrl-C aimed at one call never cuts short another thread's call. */
static atomic_int stop_requested = 0;
static CATTN_THREAD_LOCAL int stoppable = 0;

void cattn_request_stop(void) { atomic_store_explicit(&stop_requested, 1, memory_order_relaxed); }
void cattn_clear_stop(void) { atomic_store_explicit(&stop_requested, 0, memory_order_relaxed); }
void cattn_set_stoppable(int on) { stoppable = on; }
int cattn_stop_requested(void)
{
    return stoppable && atomic_load_explicit(&stop_requested, memory_order_relaxed);
}
static CATTN_THREAD_LOCAL int in_parallel = 0;

static int default_threads(void)
{
    const char *env = getenv("CATTN_NUM_THREADS");
    if (env != NULL && env[0] != '\0') {
        long v = strtol(env, NULL, 10);
        if (v >= 1) return v > MAX_THREADS ? MAX_THREADS : (int)v;
    }
    int n = os_cpus();
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : n;
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

/* ---- the pool ------------------------------------------------------------------------------
 * Workers are started on first use.  Between calls a worker spins for a few tens of microseconds
 * (calls often come back to back), then sleeps on a condition variable, so an idle pool costs
 * nothing.  One call at a time owns the pool (a call made while another owns it, from a second
 * Python thread say, starts threads of its own).  A call:
 *   1. writes its work, opens the gate for its generation and posts (generation, helpers);
 *   2. takes chunks itself; a worker that sees the post checks in at the gate, takes chunks, and
 *      reports when it is done;
 *   3. closes the gate once no chunk is left, and waits only for the workers that checked in --
 *      a worker that wakes later finds the gate closed and leaves the work alone.
 * fork(): the prepare handler waits until no call owns the pool; the child, which has none of
 * the parent's threads, gets an empty pool that starts its own workers when it first needs them
 * (tests/test_threads.py forks after using cattn). */
#define CHUNKS_MAX (4 * MAX_THREADS)
#define HELPER_BITS 9  /* helpers <= MAX_THREADS - 1 < 2^9                       */
#define GATE_CLOSED 1ULL
#define SPIN 4000      /* pause instructions before sleeping: ~10-100 us          */
#define LONG_CALL_NS 1e6 /* a call this long keeps its caller on its CPU (spread) */

typedef struct {
    cattn_range_fn fn;
    void *ctx;
    int stoppable;          /* the caller's: the threads that help it take it on */
    ptrdiff_t n, chunks;
    atomic_ptrdiff_t next;  /* the next chunk to take */
    int helpers;            /* the pool's workers asked to help (0 off the pool) */
    int stays;              /* the caller stays on its CPU: workers keep off it */
} work;

static void spread(int slot, const work *w, os_moved *m);

/* Take chunks of w until none is left; slot: 0 the caller, 1 + w the pool's worker w, -1 a
 * thread of run_on_new_threads (not spread). */
static void run_chunks(work *w, int slot, os_moved *m)
{
    int mine = stoppable;
    stoppable = w->stoppable;
    for (;;) {
        ptrdiff_t i = atomic_fetch_add_explicit(&w->next, 1, memory_order_relaxed);
        if (i >= w->chunks || cattn_stop_requested()) break;  /* done, or asked to stop */
        if (slot >= 0) spread(slot, w, m);
        w->fn(w->ctx, w->n * i / w->chunks, w->n * (i + 1) / w->chunks);
    }
    stoppable = mine;
}

static struct {
    os_mutex owner;               /* held by the call that uses the pool                     */
    os_mutex lock;                /* with the two conditions, for sleeping and waking         */
    os_cond wake, done;
    int workers;                  /* started so far (owner only)                             */
    int sleepers;                 /* workers asleep on `wake` (under lock)                   */
    _Atomic uint64_t call;        /* the post: (generation << HELPER_BITS) | helpers         */
    _Atomic uint64_t gate;        /* (generation << 16) | (checked in << 1) | closed          */
    atomic_int finished;          /* workers of this generation done with its work          */
    uint64_t born[MAX_THREADS];   /* `call` when worker w was started                     */
    _Atomic int where[MAX_THREADS]; /* the CPU of each thread of the call (slot), -1 unknown  */
    atomic_int clashed;           /* a worker found itself on another's CPU, in some call     */
    work w;
} pool = {OS_MUTEX_INIT, OS_MUTEX_INIT, OS_COND_INIT, OS_COND_INIT, 0, 0, 0, 0, 0, {0}, {0}, 0, {0}};

/* Spreading a call's threads over CPUs.  Some virtual machines' schedulers (this one's kernel
 * has a sched_vcpu_pack setting) put a thread woken after an idle spell on the CPU of the thread
 * that woke it, and move the two together again when they are split: two threads at one
 * thread's speed for most of a call.  So:
 *   1. before each chunk a thread records the CPU it runs on (one sched_getcpu, ~3 ns);
 *   2. a worker that finds another thread of the call on its own CPU moves off the CPUs the
 *      others are on, and goes back to its mask of before when its part of the call is done;
 *   3. once a worker has had to move, a call of LONG_CALL_NS or more keeps its caller on its CPU
 *      for the call (two system calls, ~4 us) so that it is not moved onto the worker's.
 * Where threads are spread anyway, step 1 is all that ever runs.  Measured on the 2-vCPU VM, 2
 * threads, calls 0.3 s apart (ab_builds.py --pause 0.3): 1024² float32 GEMM 19.8 -> 12.2 ms,
 * float16 decoding (8 heads x 32768 keys) 7.35 -> 6.42 ms; calls back to back: unchanged
 * (0.99-1.02x).  (Back to back, the 1024² GEMM takes 10.4 ms: what is left after a pause is
 * the VM's own, a thread runs slower for a while after sleeping, on one thread too.) */
static void spread(int slot, const work *w, os_moved *m)
{
    const int c = os_cpu_now();
    if (c < 0) return;
    atomic_store_explicit(&pool.where[slot], c, memory_order_relaxed);
    if (slot == 0) return;
    int busy[MAX_THREADS], nbusy = 0, clash = 0;
    for (int s = 0; s <= w->helpers; s++) {
        const int o = s == slot ? -1 : atomic_load_explicit(&pool.where[s], memory_order_relaxed);
        if (o < 0) continue;
        busy[nbusy++] = o;
        clash |= o == c;
    }
    if (clash && os_move_off(m, busy, nbusy))
        atomic_store_explicit(&pool.clashed, 1, memory_order_relaxed);
    else if (w->stays && !m->moved) {  /* keep off the caller's CPU before anyone moves us on */
        const int caller = atomic_load_explicit(&pool.where[0], memory_order_relaxed);
        os_move_off(m, &caller, 1);
    }
}

/* A worker's check-in for generation g: 1 when it may work on it (the gate is g's and open). */
static int check_in(uint64_t g)
{
    uint64_t v = atomic_load_explicit(&pool.gate, memory_order_acquire);
    while ((v >> 16) == (g & 0xffffffffffffULL) && !(v & GATE_CLOSED))
        if (atomic_compare_exchange_weak_explicit(&pool.gate, &v, v + 2, memory_order_acq_rel,
                                                  memory_order_acquire))
            return 1;
    return 0;
}

static void *worker(void *arg)
{
    int w = (int)(intptr_t)arg;
    os_moved moved = {0};
    in_parallel = 1;
    os_mutex_lock(&pool.lock);
    uint64_t seen = pool.born[w];  /* the call that started it is still to come */
    os_mutex_unlock(&pool.lock);
    for (;;) {
        uint64_t now = seen;
        for (int i = 0; i < SPIN && now == seen; i++) {
            os_pause();
            now = atomic_load_explicit(&pool.call, memory_order_acquire);
        }
        if (now == seen) {
            os_mutex_lock(&pool.lock);
            pool.sleepers++;
            while ((now = atomic_load_explicit(&pool.call, memory_order_acquire)) == seen)
                os_cond_wait(&pool.wake, &pool.lock);
            pool.sleepers--;
            os_mutex_unlock(&pool.lock);
        }
        seen = now;
        if (w >= (int)(now & ((1u << HELPER_BITS) - 1))) continue;  /* not needed this time */
        if (!check_in(now >> HELPER_BITS)) continue;                  /* came too late       */
        run_chunks(&pool.w, w + 1, &moved);
        os_move_back(&moved);
        atomic_fetch_add_explicit(&pool.finished, 1, memory_order_release);
        os_mutex_lock(&pool.lock);
        os_cond_signal(&pool.done);
        os_mutex_unlock(&pool.lock);
    }
    return NULL;
}

#if !defined(_WIN32)  /* fork() exists only here */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void fork_prepare(void)
{
    os_mutex_lock(&pool.owner);
    os_mutex_lock(&pool.lock);
}

static void fork_parent(void)
{
    os_mutex_unlock(&pool.lock);
    os_mutex_unlock(&pool.owner);
}

static void fork_child(void)  /* the workers did not come along */
{
    os_mutex_reset(&pool.owner);
    os_mutex_reset(&pool.lock);
    os_cond_reset(&pool.wake);
    os_cond_reset(&pool.done);
    pool.workers = pool.sleepers = 0;
}

static void register_atfork(void) { pthread_atfork(fork_prepare, fork_parent, fork_child); }
#endif

/* Run the chunks on up to t - 1 workers and this thread; 0 when the pool was busy. */
static int run_on_pool(cattn_range_fn fn, void *ctx, ptrdiff_t n, ptrdiff_t chunks, ptrdiff_t t,
                       int long_call)
{
#if !defined(_WIN32)
    pthread_once(&atfork_once, register_atfork);
#endif
    if (!os_mutex_trylock(&pool.owner)) return 0;
    uint64_t call = atomic_load_explicit(&pool.call, memory_order_relaxed);
    while (pool.workers < t - 1) {  /* start the missing workers; too few is fine too */
        os_mutex_lock(&pool.lock);
        pool.born[pool.workers] = call;
        os_mutex_unlock(&pool.lock);
        if (!os_thread_detached(worker, (void *)(intptr_t)pool.workers)) break;
        pool.workers++;
    }
    int helpers = pool.workers < t - 1 ? pool.workers : (int)t - 1;
    /* 1. the work, the gate, the post */
    uint64_t g = (call >> HELPER_BITS) + 1;
    pool.w.fn = fn;
    pool.w.ctx = ctx;
    pool.w.stoppable = stoppable;
    pool.w.n = n;
    pool.w.chunks = chunks;
    pool.w.helpers = helpers;
    atomic_store_explicit(&pool.w.next, 0, memory_order_relaxed);
    os_moved stay = {0};  /* once workers have had to move: keep this thread where it is */
    pool.w.stays = long_call && atomic_load_explicit(&pool.clashed, memory_order_relaxed) &&
                   os_stay(&stay);
    atomic_store_explicit(&pool.where[0], os_cpu_now(), memory_order_relaxed);
    for (int s = 1; s <= helpers; s++) atomic_store_explicit(&pool.where[s], -1, memory_order_relaxed);
    atomic_store_explicit(&pool.finished, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.gate, (g & 0xffffffffffffULL) << 16, memory_order_release);
    os_mutex_lock(&pool.lock);  /* a worker between its last look and its sleep holds it */
    atomic_store_explicit(&pool.call, g << HELPER_BITS | (uint64_t)helpers,
                          memory_order_release);
    if (pool.sleepers > 0) os_cond_broadcast(&pool.wake);
    os_mutex_unlock(&pool.lock);
    /* 2. chunks here too */
    run_chunks(&pool.w, 0, NULL);
    /* 3. close the gate; wait for those who checked in */
    uint64_t v = atomic_fetch_or_explicit(&pool.gate, GATE_CLOSED, memory_order_acq_rel);
    int in = (int)((v & 0xffff) >> 1);
    for (int i = 0; i < SPIN && atomic_load_explicit(&pool.finished, memory_order_acquire) < in; i++)
        os_pause();
    if (atomic_load_explicit(&pool.finished, memory_order_acquire) < in) {
        os_mutex_lock(&pool.lock);
        while (atomic_load_explicit(&pool.finished, memory_order_acquire) < in)
            os_cond_wait(&pool.done, &pool.lock);
        os_mutex_unlock(&pool.lock);
    }
    os_move_back(&stay);
    os_mutex_unlock(&pool.owner);
    return 1;
}

static void *run_work(void *arg)
{
    in_parallel = 1;
    run_chunks(arg, -1, NULL);
    return NULL;
}

/* The pool is busy: threads for this call only, taking chunks the same way. */
static void run_on_new_threads(cattn_range_fn fn, void *ctx, ptrdiff_t n, ptrdiff_t chunks,
                               ptrdiff_t t)
{
    work w = {fn, ctx, stoppable, n, chunks, 0, 0, 0};
    os_thread tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (ptrdiff_t i = 1; i < t; i++)  /* a thread that cannot start leaves its share to us */
        started[i] = os_thread_start(&tid[i], run_work, &w);
    run_chunks(&w, -1, NULL);
    for (ptrdiff_t i = 1; i < t; i++)
        if (started[i]) os_thread_join(tid[i]);
}

static double rate_now(void)  /* flops per ns, for the cost model's time */
{
    double per_ns = rate_source != NULL ? rate_source() : DEFAULT_FLOPS_PER_NS;
    return per_ns > 0 ? per_ns : DEFAULT_FLOPS_PER_NS;
}

ptrdiff_t cattn_parallel_threads(ptrdiff_t n, double work)
{
    ptrdiff_t t = in_parallel ? 1 : cattn_get_num_threads();
    if (t > n) t = n;
    if (t <= 1) return 1;
    double ns = work / rate_now();  /* the cost model's time */
    if (ns / NS_PER_THREAD < (double)t) t = (ptrdiff_t)(ns / NS_PER_THREAD);
    return t < 1 ? 1 : t;
}

void cattn_parallel_for(ptrdiff_t n, double work, int chunks_per_thread, cattn_range_fn fn,
                        void *ctx)
{
    if (n <= 0) return;
    ptrdiff_t t = cattn_parallel_threads(n, work);
    if (t <= 1) {
        fn(ctx, 0, n);
        return;
    }
    ptrdiff_t chunks = t * (chunks_per_thread < 1 ? 1 : chunks_per_thread);
    if (chunks > n) chunks = n;
    if (chunks > CHUNKS_MAX) chunks = CHUNKS_MAX;
    in_parallel = 1;
    const int long_call = work / rate_now() >= LONG_CALL_NS;
    if (!run_on_pool(fn, ctx, n, chunks, t, long_call)) run_on_new_threads(fn, ctx, n, chunks, t);
    in_parallel = 0;
}
