/*
 * threads.c - hosted, NNRT_THREADS builds only: the worker pool behind the
 * threaded kernels (gemm.c, conv.c) of `nngen train`'s trainer. Without
 * NNRT_THREADS (libnnrt, --standalone and --freestanding code as users
 * build them, firmware) this part is empty and every kernel runs on the
 * caller's thread alone.
 *
 * A kernel splits its output into disjoint parts and calls nnrt_mt_run.
 * The caller's thread and the workers claim the parts one at a time (an
 * atomic counter) until none is left, each running its parts with a
 * scratch buffer of its own (the caller's own scratch on the caller's
 * thread, the pool's on a worker: nnrt_mt_reserve). A worker that the
 * system does not schedule (a loaded machine) leaves its share to the
 * others instead of holding the job up. Every output element is computed
 * by exactly one part, in the order the single-threaded kernel uses:
 * results are the same bits for every thread count, whoever runs a part.
 *
 * Invariants (the exceptions to internal.h's, in this part alone): the
 * pool is file-scope state: threads - 1 workers (nnrt_mt_set_threads, at
 * most NNRT_MT_MAX), started on the first parallel call that needs them
 * and kept for the life of the process; scratch comes from malloc (a
 * failure makes the kernel run on the caller's thread); one thread calls
 * the kernels (the trainer's), and a kernel called inside a part runs
 * alone (no nesting). Workers poll for a moment after a part (yielding
 * the core between polls), then sleep on a condition variable until the
 * next one.
 */
#include "internal.h"

#if NNRT_MT
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

enum { NNRT_MT_SPIN = 200 /* polls before a waiting thread sleeps (a few hundred microseconds at most) */ };
#define NNRT_MT_CLOSED 0xffffffffu /* the claim index of a finished job */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done; /* a new job for the workers; the last part finished */
    int threads, started;      /* wanted (>= 1), workers running */
    unsigned long long next;   /* the job's number << 32 | the next part to claim (atomic) */
    unsigned gen;              /* the job's number (the caller's copy) */
    int completed;             /* parts finished (atomic) */
    int busy;                  /* a job is running: kernels called inside it run alone */
    nnrt_mt_fn fn;             /* the job (atomic accesses: see nnrt_mt_claim) */
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
               NULL,
               NULL,
               0,
               {0},
               {0},
               {0}};

/* One poll's wait: the core goes to another runnable thread if there is
 * one (on a loaded machine, maybe the worker this thread waits for); a
 * pause instruction instead made two threads 1.3-1.4 times slower than
 * one on the MNIST MLP at load 6-7; 1.02-1.06 with the yield (bench/README.md,
 * "Threads"). */
static inline void nnrt_mt_pause(void) {
    sched_yield();
}

static inline unsigned nnrt_mt_job_of(unsigned long long next) {
    return (unsigned)(next >> 32);
}

/* waits, polling then sleeping, for a job other than `seen`; its number */
static inline unsigned nnrt_mt_next_job(unsigned seen) {
    unsigned g;
    int i;
    for (i = 0; i < NNRT_MT_SPIN; i++) {
        if ((g = nnrt_mt_job_of(__atomic_load_n(&nnrt_pool.next, __ATOMIC_SEQ_CST))) != seen)
            return g;
        nnrt_mt_pause();
    }
    pthread_mutex_lock(&nnrt_pool.mu);
    while ((g = nnrt_mt_job_of(__atomic_load_n(&nnrt_pool.next, __ATOMIC_SEQ_CST))) == seen)
        pthread_cond_wait(&nnrt_pool.wake, &nnrt_pool.mu);
    pthread_mutex_unlock(&nnrt_pool.mu);
    return g;
}

/* Claims and runs parts of job g until none is left: on worker w with its
 * scratch (read once a part is claimed: the caller may be growing it for
 * the next job before that), on the caller's thread (w == 0) with work0.
 * The job's fields are read before the claim, and the claim (a
 * compare-and-swap of the counter read with them) succeeds only if the
 * counter did not move: the job was then still g and unfinished (its
 * caller rewrites the fields only after closing it), so they were g's. */
static inline void nnrt_mt_claim(unsigned g, int w, float *work0) {
    for (;;) {
        unsigned long long v = __atomic_load_n(&nnrt_pool.next, __ATOMIC_SEQ_CST);
        nnrt_mt_fn fn = __atomic_load_n(&nnrt_pool.fn, __ATOMIC_SEQ_CST);
        void *ctx = __atomic_load_n(&nnrt_pool.ctx, __ATOMIC_SEQ_CST);
        int parts = __atomic_load_n(&nnrt_pool.parts, __ATOMIC_SEQ_CST);
        unsigned p = (unsigned)(v & 0xffffffffu);
        if (nnrt_mt_job_of(v) != g || p >= (unsigned)parts)
            return;
        if (!__atomic_compare_exchange_n(&nnrt_pool.next, &v, v + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            continue;
        fn(ctx, (int)p, parts, w ? nnrt_pool.work[w] : work0);
        if (__atomic_add_fetch(&nnrt_pool.completed, 1, __ATOMIC_SEQ_CST) == parts) {
            pthread_mutex_lock(&nnrt_pool.mu);
            pthread_cond_signal(&nnrt_pool.done);
            pthread_mutex_unlock(&nnrt_pool.mu);
        }
    }
}

static void *nnrt_mt_worker(void *arg) {
    const int w = (int)(ptrdiff_t)arg;
    unsigned seen = 0;
    for (;;) {
        seen = nnrt_mt_next_job(seen);
        nnrt_mt_claim(seen, w, NULL);
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
    const unsigned g = nnrt_pool.gen + 1;
    int i;
    if (parts < 2 || nnrt_pool.busy || nnrt_pool.threads < 2 || !nnrt_mt_start())
        return 0;
    nnrt_pool.busy = 1;
    nnrt_pool.gen = g;
    __atomic_store_n(&nnrt_pool.fn, fn, __ATOMIC_SEQ_CST);
    __atomic_store_n(&nnrt_pool.ctx, ctx, __ATOMIC_SEQ_CST);
    __atomic_store_n(&nnrt_pool.parts, parts, __ATOMIC_SEQ_CST);
    __atomic_store_n(&nnrt_pool.completed, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&nnrt_pool.mu);
    __atomic_store_n(&nnrt_pool.next, (unsigned long long)g << 32, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&nnrt_pool.wake);
    pthread_mutex_unlock(&nnrt_pool.mu);
    nnrt_mt_claim(g, 0, work0);
    for (i = 0; i < NNRT_MT_SPIN && __atomic_load_n(&nnrt_pool.completed, __ATOMIC_SEQ_CST) != parts; i++)
        nnrt_mt_pause();
    if (__atomic_load_n(&nnrt_pool.completed, __ATOMIC_SEQ_CST) != parts) {
        pthread_mutex_lock(&nnrt_pool.mu);
        while (__atomic_load_n(&nnrt_pool.completed, __ATOMIC_SEQ_CST) != parts)
            pthread_cond_wait(&nnrt_pool.done, &nnrt_pool.mu);
        pthread_mutex_unlock(&nnrt_pool.mu);
    }
    __atomic_store_n(&nnrt_pool.next, (unsigned long long)g << 32 | NNRT_MT_CLOSED, __ATOMIC_SEQ_CST);
    nnrt_pool.busy = 0;
    return parts;
}
#endif
