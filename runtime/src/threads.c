/*
 * threads.c - hosted, NNRT_THREADS builds only: the worker pool behind the
 * threaded kernels (gemm.c, conv.c) of `nngen train`'s trainer. Without
 * NNRT_THREADS (libnnrt, --standalone and --freestanding code as users
 * build them, firmware) this part is empty and every kernel runs on the
 * caller's thread alone.
 *
 * A kernel splits its output into disjoint parts and calls nnrt_mt_run:
 * part 0 runs on the caller's thread, parts 1.. on workers, each part with
 * a scratch buffer of its own (the caller's for part 0, the pool's for the
 * others, nnrt_mt_reserve). Every output element is computed by exactly one
 * part, in the order the single-threaded kernel uses: results are the same
 * bits for every thread count.
 *
 * Invariants (the exceptions to internal.h's, in this part alone): the
 * pool is file-scope state: threads - 1 workers (nnrt_mt_set_threads, at
 * most NNRT_MT_MAX), started on the first parallel call that needs them
 * and kept for the life of the process; scratch comes from malloc (a
 * failure makes the kernel run on the caller's thread); one thread calls
 * the kernels (the trainer's), and a kernel called inside a part runs
 * alone (no nesting). Workers spin for a moment after a part, then sleep on
 * a condition variable until the next one.
 */
#include "internal.h"

#if NNRT_MT
#include <pthread.h>
#include <stdlib.h>

enum { NNRT_MT_SPIN = 2000 /* polls before a waiting thread sleeps (tens of microseconds) */ };

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done; /* a new job for the workers; the last part finished */
    int threads, started;      /* wanted (>= 1), workers running (threads - 1 once started) */
    unsigned gen;              /* the job's number: workers wait for it to change */
    int pending;               /* parts on workers not finished */
    int busy;                  /* a job is running: kernels called inside it run alone */
    nnrt_mt_fn fn;
    void *ctx;
    int parts;
    float *work[NNRT_MT_MAX];
    long work_len[NNRT_MT_MAX];
    pthread_t tid[NNRT_MT_MAX];
} nnrt_pool = {PTHREAD_MUTEX_INITIALIZER,
               PTHREAD_COND_INITIALIZER,
               PTHREAD_COND_INITIALIZER,
               1,
               0,
               0,
               0,
               0,
               0,
               0,
               0,
               {0},
               {0},
               {0}};

static inline void nnrt_mt_pause(void) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
}

/* waits, spinning then sleeping, until the job number is no longer seen */
static inline unsigned nnrt_mt_next_job(unsigned seen) {
    unsigned g;
    int i;
    for (i = 0; i < NNRT_MT_SPIN; i++) {
        if ((g = __atomic_load_n(&nnrt_pool.gen, __ATOMIC_ACQUIRE)) != seen)
            return g;
        nnrt_mt_pause();
    }
    pthread_mutex_lock(&nnrt_pool.mu);
    while ((g = __atomic_load_n(&nnrt_pool.gen, __ATOMIC_ACQUIRE)) == seen)
        pthread_cond_wait(&nnrt_pool.wake, &nnrt_pool.mu);
    pthread_mutex_unlock(&nnrt_pool.mu);
    return g;
}

static void *nnrt_mt_worker(void *arg) {
    const int w = (int)(ptrdiff_t)arg;
    unsigned seen = 0;
    for (;;) {
        seen = nnrt_mt_next_job(seen);
        if (w < nnrt_pool.parts)
            nnrt_pool.fn(nnrt_pool.ctx, w, nnrt_pool.parts, nnrt_pool.work[w]);
        if (__atomic_sub_fetch(&nnrt_pool.pending, 1, __ATOMIC_ACQ_REL) == 0) {
            pthread_mutex_lock(&nnrt_pool.mu);
            pthread_cond_signal(&nnrt_pool.done);
            pthread_mutex_unlock(&nnrt_pool.mu);
        }
    }
    return NULL;
}

/* starts the workers the thread count asks for; 0 when none could start */
static inline int nnrt_mt_start(void) {
    while (nnrt_pool.started < nnrt_pool.threads - 1) {
        const int w = nnrt_pool.started + 1;
        if (pthread_create(&nnrt_pool.tid[w], NULL, nnrt_mt_worker, (void *)(ptrdiff_t)w) != 0)
            break;
        nnrt_pool.started++;
    }
    return nnrt_pool.started > 0;
}

/* workers started stay; fewer threads leave some of them idle */
NNRT_PRIVATE void nnrt_mt_set_threads(int n) {
    if (!nnrt_pool.busy)
        nnrt_pool.threads = n < 1 ? 1 : n > NNRT_MT_MAX ? NNRT_MT_MAX : n;
}

NNRT_PRIVATE int nnrt_mt_threads(void) {
    return nnrt_pool.busy ? 1 : nnrt_pool.threads;
}

NNRT_PRIVATE nnrt_mt_fn nnrt_mt_job(void) {
    return nnrt_pool.busy ? nnrt_pool.fn : NULL;
}

/* scratch of floats for each worker; 0 when it cannot be had */
NNRT_PRIVATE int nnrt_mt_reserve(long floats) {
    int w;
    if (!nnrt_mt_start())
        return 0;
    for (w = 1; w <= nnrt_pool.started; w++) {
        if (nnrt_pool.work_len[w] >= floats)
            continue;
        free(nnrt_pool.work[w]);
        nnrt_pool.work_len[w] = 0;
        if (!(nnrt_pool.work[w] = (float *)malloc((size_t)floats * sizeof(float))))
            return 0;
        nnrt_pool.work_len[w] = floats;
    }
    return 1;
}

NNRT_PRIVATE int nnrt_mt_run(nnrt_mt_fn fn, void *ctx, int parts, float *work0) {
    int i;
    if (parts < 2 || nnrt_pool.busy || !nnrt_mt_start())
        return 0;
    if (parts > nnrt_pool.threads)
        parts = nnrt_pool.threads;
    if (parts > nnrt_pool.started + 1) /* a worker that could not start */
        parts = nnrt_pool.started + 1;
    nnrt_pool.busy = 1;
    nnrt_pool.fn = fn;
    nnrt_pool.ctx = ctx;
    nnrt_pool.parts = parts;
    __atomic_store_n(&nnrt_pool.pending, nnrt_pool.started, __ATOMIC_RELAXED);
    pthread_mutex_lock(&nnrt_pool.mu);
    __atomic_store_n(&nnrt_pool.gen, nnrt_pool.gen + 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&nnrt_pool.wake);
    pthread_mutex_unlock(&nnrt_pool.mu);
    fn(ctx, 0, parts, work0);
    for (i = 0; i < NNRT_MT_SPIN && __atomic_load_n(&nnrt_pool.pending, __ATOMIC_ACQUIRE) != 0; i++)
        nnrt_mt_pause();
    if (__atomic_load_n(&nnrt_pool.pending, __ATOMIC_ACQUIRE) != 0) {
        pthread_mutex_lock(&nnrt_pool.mu);
        while (__atomic_load_n(&nnrt_pool.pending, __ATOMIC_ACQUIRE) != 0)
            pthread_cond_wait(&nnrt_pool.done, &nnrt_pool.mu);
        pthread_mutex_unlock(&nnrt_pool.mu);
    }
    nnrt_pool.busy = 0;
    return parts;
}
#endif
