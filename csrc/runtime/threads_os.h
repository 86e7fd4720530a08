/* runtime/threads_os.h -- the little threads.c needs from the operating system, for POSIX threads
 * and for Win32, behind one interface:
 *   os_mutex    a lock: OS_MUTEX_INIT, os_mutex_lock / trylock (1 when taken) / unlock, os_mutex_reset
 *   os_cond     a condition variable on an os_mutex: OS_COND_INIT, os_cond_wait / signal / broadcast
 *   os_thread   a joinable thread: os_thread_start (1 when started), os_thread_join;
 *               os_thread_detached starts one nobody joins
 *   os_cpus()   the CPUs this process may run on
 *   os_pause()  a spin-wait hint to the core
 *   os_cpu_now(), os_move_off(), os_stay(), os_move_back()  where a thread runs, moving it off
 *               the CPUs of others or keeping it on its own (Linux; elsewhere the CPU is unknown
 *               and nothing moves) */
#ifndef CATTN_THREADS_OS_H
#define CATTN_THREADS_OS_H

/* Before any system header (immintrin.h below includes some): glibc reads it once, at the first,
 * and without it sched.h hides sched_getaffinity, sched_getcpu and CPU_COUNT. */
#if !defined(_WIN32) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif

#if defined(_M_X64) || defined(_M_IX86) || defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void os_pause(void) { _mm_pause(); }
#elif defined(_MSC_VER) && defined(_M_ARM64)
#include <intrin.h>
static inline void os_pause(void) { __yield(); }
#elif defined(__aarch64__) || defined(__arm__)
static inline void os_pause(void) { __asm__ __volatile__("yield"); }
#else
static inline void os_pause(void) {}
#endif

typedef void *(*os_thread_fn)(void *arg);

/* Every thread's stack, whatever the system's default (macOS: 512 KiB for a thread, Windows:
 * 1 MiB): a GEMM worker keeps its packed block of a there (kernels/gemm.inc, up to 256 KiB). */
#define OS_THREAD_STACK ((size_t)4 << 20)

#if defined(_WIN32)
/* ---- Win32: slim reader/writer locks, condition variables, _beginthreadex ---- */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <process.h>

typedef SRWLOCK os_mutex;
typedef CONDITION_VARIABLE os_cond;
typedef HANDLE os_thread;
#define OS_MUTEX_INIT SRWLOCK_INIT
#define OS_COND_INIT CONDITION_VARIABLE_INIT

static inline void os_mutex_lock(os_mutex *m) { AcquireSRWLockExclusive(m); }
static inline int os_mutex_trylock(os_mutex *m) { return TryAcquireSRWLockExclusive(m) != 0; }
static inline void os_mutex_unlock(os_mutex *m) { ReleaseSRWLockExclusive(m); }
static inline void os_mutex_reset(os_mutex *m) { InitializeSRWLock(m); }
static inline void os_cond_wait(os_cond *c, os_mutex *m) { SleepConditionVariableSRW(c, m, INFINITE, 0); }
static inline void os_cond_signal(os_cond *c) { WakeConditionVariable(c); }
static inline void os_cond_broadcast(os_cond *c) { WakeAllConditionVariable(c); }
static inline void os_cond_reset(os_cond *c) { InitializeConditionVariable(c); }

typedef struct {
    os_thread_fn fn;
    void *arg;
} os_start;

static unsigned __stdcall os_trampoline(void *p)
{
    os_start s = *(os_start *)p;
    HeapFree(GetProcessHeap(), 0, p);
    s.fn(s.arg);
    return 0;
}

static inline int os_thread_start(os_thread *t, os_thread_fn fn, void *arg)
{
    os_start *s = HeapAlloc(GetProcessHeap(), 0, sizeof *s);
    if (s == NULL) return 0;
    s->fn = fn, s->arg = arg;
    *t = (HANDLE)_beginthreadex(NULL, (unsigned)OS_THREAD_STACK, os_trampoline, s,
                                STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (*t == 0) HeapFree(GetProcessHeap(), 0, s);
    return *t != 0;
}
static inline void os_thread_join(os_thread t)
{
    WaitForSingleObject(t, INFINITE);
    CloseHandle(t);
}
static inline int os_thread_detached(os_thread_fn fn, void *arg)
{
    os_thread t;
    if (!os_thread_start(&t, fn, arg)) return 0;
    CloseHandle(t);
    return 1;
}
static inline int os_cpus(void)
{
    DWORD_PTR mine, system;
    if (GetProcessAffinityMask(GetCurrentProcess(), &mine, &system) && mine != 0) {
        int n = 0;
        for (; mine; mine &= mine - 1) n++;
        return n;
    }
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors > 0 ? (int)si.dwNumberOfProcessors : 1;
}

#else
/* ---- POSIX threads ---- */
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

typedef pthread_mutex_t os_mutex;
typedef pthread_cond_t os_cond;
typedef pthread_t os_thread;
#define OS_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#define OS_COND_INIT PTHREAD_COND_INITIALIZER

static inline void os_mutex_lock(os_mutex *m) { pthread_mutex_lock(m); }
static inline int os_mutex_trylock(os_mutex *m) { return pthread_mutex_trylock(m) == 0; }
static inline void os_mutex_unlock(os_mutex *m) { pthread_mutex_unlock(m); }
static inline void os_mutex_reset(os_mutex *m) { pthread_mutex_init(m, NULL); }
static inline void os_cond_wait(os_cond *c, os_mutex *m) { pthread_cond_wait(c, m); }
static inline void os_cond_signal(os_cond *c) { pthread_cond_signal(c); }
static inline void os_cond_broadcast(os_cond *c) { pthread_cond_broadcast(c); }
static inline void os_cond_reset(os_cond *c) { pthread_cond_init(c, NULL); }

static inline int os_thread_start(os_thread *t, os_thread_fn fn, void *arg)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, OS_THREAD_STACK);
    int rc = pthread_create(t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc == 0;
}
static inline void os_thread_join(os_thread t) { pthread_join(t, NULL); }
static inline int os_thread_detached(os_thread_fn fn, void *arg)
{
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, OS_THREAD_STACK);
    int rc = pthread_create(&t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    return rc == 0;
}
#if defined(__linux__) && defined(CPU_COUNT)
/* Where a thread runs, and moving it off the CPUs of others (threads.c spreads a call's threads
 * this way).  os_cpu_now(): the CPU the calling thread runs on, -1 if unknown.
 * os_move_off(m, busy, nbusy): keep the calling thread off the nbusy CPUs in busy -- its allowed
 * CPUs minus those, when any is left (then 1; its mask of before is kept in m);
 * os_stay(m): keep the calling thread on the CPU it runs on (1 when it did, its mask of before in
 * m); os_move_back(m): its mask of before. */
typedef struct {
    cpu_set_t before;
    int moved;
} os_moved;
static inline int os_cpu_now(void) { return sched_getcpu(); }
static inline int os_keep_to(os_moved *m, const cpu_set_t *set)  /* (m->before kept first) */
{
    if (CPU_COUNT(set) == 0 || sched_setaffinity(0, sizeof *set, set) != 0) return 0;
    m->moved = 1;
    return 1;
}
static inline int os_keep_before(os_moved *m)  /* the mask to go back to, unless kept already */
{
    return m->moved || sched_getaffinity(0, sizeof m->before, &m->before) == 0;
}
static inline int os_move_off(os_moved *m, const int *busy, int nbusy)
{
    if (!os_keep_before(m)) return 0;
    cpu_set_t set = m->before;
    for (int i = 0; i < nbusy; i++)
        if (busy[i] >= 0 && busy[i] < CPU_SETSIZE) CPU_CLR(busy[i], &set);
    return os_keep_to(m, &set);
}
static inline int os_stay(os_moved *m)
{
    const int c = sched_getcpu();
    if (c < 0 || c >= CPU_SETSIZE || !os_keep_before(m)) return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(c, &set);
    return os_keep_to(m, &set);
}
static inline void os_move_back(os_moved *m)
{
    if (m->moved) sched_setaffinity(0, sizeof m->before, &m->before);
    m->moved = 0;
}
#define OS_CAN_MOVE 1
#endif
static inline int os_cpus(void)
{
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 1 << 20 ? 1 << 20 : (int)n;
}
#endif

#ifndef OS_CAN_MOVE
/* Windows, macOS, ...: no CPU numbers, so threads are never moved */
typedef struct {
    int moved;
} os_moved;
static inline int os_cpu_now(void) { return -1; }
static inline int os_move_off(os_moved *m, const int *busy, int nbusy)
{
    (void)m, (void)busy, (void)nbusy;
    return 0;
}
static inline int os_stay(os_moved *m)
{
    (void)m;
    return 0;
}
static inline void os_move_back(os_moved *m) { (void)m; }
#endif

#endif /* CATTN_THREADS_OS_H */
