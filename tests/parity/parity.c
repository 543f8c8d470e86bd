/*
 * parity.c - generated code against a committed PyTorch 1.13 fixture.
 *
 * Compiled once, linked in every case (tests/parity/cases/NAME.nn) with
 * the C nngen generated for it and adapter.c compiled for it (parity.h):
 * it uses the generated API only (NET_init, NET_param, NET_train_step) and
 * the runtime's nn_param. Run as
 * `parity_NAME fixtures/NAME.txt`; the fixture (format in README.md and
 * make_fixtures.py) holds one batch, every parameter's initial value, the
 * loss PyTorch's step returned at each of its steps, and the parameters
 * after the last step, computed in float64 from the same float32 start.
 *
 * The runner sets every parameter by name from the fixture (a fixture
 * tensor the model lacks, one of another size, or a model parameter the
 * fixture does not set is a failure), runs as many NET_train_step calls
 * as the fixture has losses on its batch, and compares: the loss of each
 * step, the parameters after the last one, and, when the fixture gives
 * them (`grad` lines), every gradient of the first step. A fixture with
 * an `lr` trace (schedules) also compares the learning rate NET_get_lr
 * gives before each step, calls NET_epoch_end after every step when the
 * trace is per epoch (`lr epoch`: one step per epoch), and NET_set_lr
 * before the step a `set_lr` line names.
 *
 * Pass rule, per element c (C, float32) against t (PyTorch, float64):
 *     |c - t| <= RTOL * max(|t|, FLOOR * S),   RTOL = 1e-5, FLOOR = 0.1,
 * (RTOL = 1e-4 for long traces, runs of more than 50 steps: float32
 * rounding of a step feeds every later step),
 * S = max |t| over the compared set: one parameter tensor (its final
 * values), or the whole loss trace. Why a floor: the C code works in
 * float32 at the tensor's scale S, so an element that ends near zero after
 * updates of size ~S (Adam moves every element by ~lr whatever its size)
 * carries an absolute error of a few float32 epsilons of S (eps = 2^-23),
 * unrelated to its own magnitude; a purely relative test would fail on
 * rounding alone. Measured over all the cases, the worst |c - t| is 3.1
 * eps * S (most are 1 to 2). FLOOR = 0.1 lets an element smaller than S/10
 * be off by 1e-6 S = 8.4 eps * S, a margin of 2.7 over that measurement,
 * while every element within a factor 10 of S is held to the full 1e-5
 * relative. A wrong formula moves elements by O(lr * gradient), orders of
 * magnitude beyond either bound. Everything the C code returns or stores
 * must also be finite. Per case the runner reports the worst
 * |c - t| / max(|t|, FLOOR * S), the quantity held to RTOL.
 *
 * Freezing: a frozen parameter (NET_param(m, i).grad is NULL) must have
 * no grad line and every other one must have one (when the fixture has
 * any): PyTorch's requires_grad=False tensors and nngen's frozen ones are
 * the same set. Its final line is its init value (PyTorch never moved it).
 * `init NAME` may also name a buffer (a frozen batchnorm's running
 * statistics, set before the first step; otherwise NET_init's).
 *
 * Layer cases (make_fixtures.py's LAYER_CASES) add, all optional:
 *   grad NAME COUNT v...     every parameter's gradient after the first
 *                            training forward and backward (before the first
 *                            update): the runner then runs step 1 as
 *                            NET_forward_train, NET_backward, compare,
 *                            NET_update, and the others as NET_train_step
 *   buffer NAME COUNT v...   a buffer (running statistic) after the last step;
 *                            a model with buffers needs every one of them
 *   output o COUNT v...      the inference output o on the batch after the
 *                            last step (NET_forward; needs PARITY_OUTPUT)
 * each compared with the same rule (S per tensor).
 *
 * The network's sizes and functions come from parity_net (parity.h).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parity.h"

#define RTOL 1e-5
#define RTOL_LONG 1e-4  /* runs of more than LONG_RUN steps */
#define LONG_RUN 50
#define FLOOR 0.1
#define MAX_STEPS 1000
#define P (&parity_net)
#define NPARAM (P->nparam)
#define NBUFFER (P->nbuffer)

static float *x;          /* max_batch x in_x_size */
static float *y_real;     /* max_batch x target_size, a real target */
static int32_t *y_class;  /* max_batch, a class target */
static double want_loss[MAX_STEPS];
static double **want_final, **want_grad; /* per parameter; want_grad: the first step's gradients */
static double **want_buffer, *want_output;
static int *have_init, *have_buffer_init;
static int batch = -1, steps = -1;
static double want_lr[MAX_STEPS];
static int lr_mode = 0;             /* 'e': NET_epoch_end after every step, 's': not; 0: no lr trace */
static int set_lr_at = -1;          /* NET_set_lr(set_lr_value) before this step */
static double set_lr_value;
static double rtol = RTOL;
static int have_grads;

/* ---- the fixture reader: whitespace-separated tokens, '#' comments ------------ */

static FILE *fx;
static const char *fx_path;

static int fail(const char *fmt, const char *arg) {
    printf("%s: %s: ", P->name, fx_path);
    printf(fmt, arg);
    printf("\n");
    return 0;
}

/* the next token into tok (at most n - 1 chars); 0 at the end of the file */
static int token(char *tok, size_t n) {
    int c;
    for (;;) {
        while ((c = getc(fx)) != EOF && isspace(c))
            ;
        if (c != '#')
            break;
        while ((c = getc(fx)) != EOF && c != '\n')
            ;
    }
    size_t len = 0;
    while (c != EOF && !isspace(c)) {
        if (len + 1 >= n)
            return fail("token too long: %.40s...", tok);
        tok[len++] = (char)c;
        tok[len] = '\0';
        c = getc(fx);
    }
    return len > 0;
}

static int number(double *v) {
    char tok[64] = "", *end;
    if (!token(tok, sizeof tok))
        return fail("unexpected end of the fixture%s", "");
    *v = strtod(tok, &end);
    if (*end || end == tok || !isfinite(*v))
        return fail("not a finite number: '%s'", tok);
    return 1;
}

/* "COUNT v..." with COUNT == want, into the double array out */
static int numbers(double *out, long want, const char *what) {
    double cnt;
    if (!number(&cnt))
        return 0;
    if (cnt != (double)want) {
        printf("%s: %s: %s has %.0f numbers, the model needs %ld\n", P->name, fx_path, what, cnt, want);
        return 0;
    }
    for (long i = 0; i < want; i++)
        if (!number(&out[i]))
            return 0;
    return 1;
}

static int param_index(const char *name) {
    for (int i = 0; i < NPARAM; i++)
        if (strcmp(P->param(i).name, name) == 0)
            return i;
    return -1;
}

static int buffer_index(const char *name) {
    for (int i = 0; i < NBUFFER; i++)
        if (strcmp(P->buffer(i).name, name) == 0)
            return i;
    return -1;
}

/* "NAME COUNT v..." of a tensor of `size` into *slot (malloc'd); 0 on error */
static int read_values(double **slot, long size, const char *name) {
    if (*slot)
        return fail("'%s' given twice", name);
    double *v = malloc(sizeof(double) * (size_t)(size > 0 ? size : 1));
    if (!v || !numbers(v, size, name)) {
        free(v);
        return 0;
    }
    *slot = v;
    return 1;
}

/* "grad NAME COUNT v..." */
static int read_grad(void) {
    char name[256];
    if (!token(name, sizeof name))
        return fail("a parameter name is missing%s", "");
    int i = param_index(name);
    if (i < 0)
        return fail("the model has no parameter '%s'", name);
    have_grads = 1;
    return read_values(&want_grad[i], P->param(i).size, name);
}

/* "buffer NAME COUNT v..." */
static int read_buffer(void) {
    char name[256];
    if (!token(name, sizeof name))
        return fail("a buffer name is missing%s", "");
    int i = buffer_index(name);
    if (i < 0)
        return fail("the model has no buffer '%s'", name);
    return read_values(&want_buffer[i], P->buffer(i).size, name);
}

/* "output o COUNT v..." */
static int read_output(void) {
    char name[64];
    if (!token(name, sizeof name) || strcmp(name, "o") != 0)
        return fail("expected 'output o'%s", "");
    if (P->out_o_size == 0)
        return fail("the model has no output o%s", "");
    if (batch < 0)
        return fail("'output' before 'batch'%s", "");
    return read_values(&want_output, (long)batch * P->out_o_size, "output o");
}

/* "init NAME COUNT v..." of a buffer: its value before the first step */
static int read_buffer_init(const char *name) {
    int i = buffer_index(name);
    if (i < 0)
        return fail("the model has no parameter or buffer '%s'", name);
    if (have_buffer_init[i])
        return fail("buffer '%s' given twice", name);
    nn_param b = P->buffer(i);
    double *v = malloc(sizeof(double) * (size_t)b.size);
    if (!v || !numbers(v, b.size, name)) {
        free(v);
        return 0;
    }
    for (long j = 0; j < b.size; j++)
        b.value[j] = (float)v[j];
    have_buffer_init[i] = 1;
    free(v);
    return 1;
}

/* "init NAME COUNT v..." or "final NAME COUNT v..." (kind 'i' or 'f');
 * init may also name a buffer */
static int read_param(int kind) {
    char name[256];
    if (!token(name, sizeof name))
        return fail("a parameter name is missing%s", "");
    int i = param_index(name);
    if (i < 0 && kind == 'i')
        return read_buffer_init(name);
    if (i < 0)
        return fail("the model has no parameter '%s'", name);
    nn_param p = P->param(i);
    double **keep = kind == 'f' ? &want_final[i] : NULL;
    if (keep ? *keep != NULL : have_init[i])
        return fail("parameter '%s' given twice", name);
    double *v = malloc(sizeof(double) * (size_t)p.size);
    if (!v || !numbers(v, p.size, name)) {
        free(v);
        return 0;
    }
    if (keep) {
        *keep = v;
        return 1;
    }
    for (long j = 0; j < p.size; j++)
        p.value[j] = (float)v[j];
    have_init[i] = 1;
    free(v);
    return 1;
}

static int read_batch(void) {
    double v;
    if (!number(&v))
        return 0;
    if (v < 1 || v > P->max_batch || v != floor(v))
        return fail("bad batch size%s", "");
    batch = (int)v;
    return 1;
}

static int read_input(void) {
    char name[64];
    if (batch < 0 || !token(name, sizeof name) || strcmp(name, "x") != 0)
        return fail("expected 'input x' after 'batch'%s", "");
    long n = (long)batch * P->in_x_size;
    double *buf = malloc(sizeof(double) * (size_t)n);
    int ok = buf && numbers(buf, n, "input x");
    for (long i = 0; ok && i < n; i++)
        x[i] = (float)buf[i];
    free(buf);
    return ok;
}

static int read_target(void) {
    char name[64], kind[64];
    const char *want_kind = P->target_classes > 0 ? "class" : "real";
    if (batch < 0 || !token(name, sizeof name) || strcmp(name, "y") != 0 || !token(kind, sizeof kind))
        return fail("expected 'target y KIND' after 'batch'%s", "");
    if (strcmp(kind, want_kind) != 0) {
        printf("%s: %s: the fixture's target is '%s', the model's is %s\n", P->name, fx_path, kind, want_kind);
        return 0;
    }
    long n = (long)batch * P->target_size;
    double *buf = malloc(sizeof(double) * (size_t)n);
    int ok = buf && numbers(buf, n, "target y");
    for (long i = 0; ok && i < n; i++) {
        if (P->target_classes > 0) {
            if (buf[i] != floor(buf[i]) || buf[i] < 0 || buf[i] >= P->target_classes)
                ok = fail("a class label is not in [0, classes)%s", "");
            else
                y_class[i] = (int32_t)buf[i];
        } else
            y_real[i] = (float)buf[i];
    }
    free(buf);
    return ok;
}

static int read_losses(void) {
    double cnt;
    if (!number(&cnt))
        return 0;
    if (cnt < 1 || cnt > MAX_STEPS || cnt != floor(cnt))
        return fail("bad loss count%s", "");
    steps = (int)cnt;
    for (int i = 0; i < steps; i++)
        if (!number(&want_loss[i]))
            return 0;
    return 1;
}

/* "lr epoch|step COUNT v...": the learning rate each step used */
static int read_lr(void) {
    char mode[16];
    double cnt;
    if (!token(mode, sizeof mode) || (strcmp(mode, "epoch") != 0 && strcmp(mode, "step") != 0))
        return fail("expected 'lr epoch' or 'lr step'%s", "");
    lr_mode = mode[0];
    if (!number(&cnt))
        return 0;
    if (steps < 0 || cnt != steps)
        return fail("the lr trace must follow the losses and have as many numbers%s", "");
    for (int i = 0; i < steps; i++)
        if (!number(&want_lr[i]))
            return 0;
    return 1;
}

/* "set_lr STEP VALUE": NET_set_lr(VALUE) before step STEP (0-based) */
static int read_set_lr(void) {
    double at;
    if (!number(&at) || !number(&set_lr_value))
        return 0;
    if (at < 0 || at >= MAX_STEPS || at != floor(at) || set_lr_value != (float)set_lr_value)
        return fail("set_lr needs a step number and a float value%s", "");
    set_lr_at = (int)at;
    return 1;
}

static int read_fixture(void) {
    char tok[256];
    int have_net = 0, have_x = 0, have_y = 0;
    while (token(tok, sizeof tok)) {
        int ok;
        if (strcmp(tok, "network") == 0) {
            ok = token(tok, sizeof tok);
            if (!ok || strcmp(tok, P->name) != 0)
                return fail("the fixture is for network '%s'", ok ? tok : "?");
            have_net = 1;
        } else if (strcmp(tok, "batch") == 0)
            ok = read_batch();
        else if (strcmp(tok, "input") == 0)
            ok = have_x = read_input();
        else if (strcmp(tok, "target") == 0)
            ok = have_y = read_target();
        else if (strcmp(tok, "loss") == 0)
            ok = read_losses();
        else if (strcmp(tok, "lr") == 0)
            ok = read_lr();
        else if (strcmp(tok, "set_lr") == 0)
            ok = read_set_lr();
        else if (strcmp(tok, "init") == 0 || strcmp(tok, "final") == 0)
            ok = read_param(tok[0]);
        else if (strcmp(tok, "grad") == 0)
            ok = read_grad();
        else if (strcmp(tok, "buffer") == 0)
            ok = read_buffer();
        else if (strcmp(tok, "output") == 0)
            ok = read_output();
        else
            return fail("unknown keyword '%s'", tok);
        if (!ok)
            return 0;
    }
    if (!have_net || !have_x || !have_y || steps < 0)
        return fail("the fixture lacks network, input, target or loss%s", "");
    for (int i = 0; i < NPARAM; i++) {
        if (!have_init[i] || !want_final[i])
            return fail("the fixture lacks the init or final value of '%s'", P->param(i).name);
        /* a frozen parameter (no gradient in C) has no grad line, every other one has */
        if (have_grads && !want_grad[i] && P->param(i).grad)
            return fail("'%s' has a gradient in C but no grad line (frozen in PyTorch only?)", P->param(i).name);
        if (want_grad[i] && !P->param(i).grad)
            return fail("'%s' has a grad line but no gradient in C (frozen in nngen only?)", P->param(i).name);
    }
    for (int i = 0; i < NBUFFER; i++)
        if (!want_buffer[i])
            return fail("the fixture lacks the final value of the buffer '%s'", P->buffer(i).name);
    return 1;
}

static void free_fixture(void) {
    for (int i = 0; i < NPARAM; i++) {
        free(want_final[i]);
        free(want_grad[i]);
    }
    for (int i = 0; i < NBUFFER; i++)
        free(want_buffer[i]);
    free(want_output);
    free(want_final);
    free(want_grad);
    free(want_buffer);
    free(have_init);
    free(have_buffer_init);
    free(x);
    free(y_real);
    free(y_class);
}

/* the model's arrays, sized by parity_net; 0 when out of memory */
static int alloc_arrays(void) {
    size_t np = (size_t)NPARAM + 1, nb = (size_t)NBUFFER + 1; /* +1: never a zero-size request */
    want_final = calloc(np, sizeof *want_final);
    want_grad = calloc(np, sizeof *want_grad);
    want_buffer = calloc(nb, sizeof *want_buffer);
    have_init = calloc(np, sizeof *have_init);
    have_buffer_init = calloc(nb, sizeof *have_buffer_init);
    x = calloc((size_t)P->max_batch * (size_t)P->in_x_size, sizeof *x);
    y_real = calloc((size_t)P->max_batch * (size_t)P->target_size, sizeof *y_real);
    y_class = calloc((size_t)P->max_batch, sizeof *y_class);
    return want_final && want_grad && want_buffer && have_init && have_buffer_init && x && y_real && y_class;
}

/* ---- comparison ---------------------------------------------------------------- */

static double worst = -1;
static char worst_at[300];

/* compares got[0..n) with want[]: the number of failing elements */
static long compare(const char *what, const float *got, const double *want, long n) {
    double scale = 0;
    long bad = 0;
    for (long i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (long i = 0; i < n; i++) {
        double ref = fmax(fabs(want[i]), FLOOR * scale), err = fabs((double)got[i] - want[i]);
        double rel = ref > 0 ? err / ref : (err > 0 ? INFINITY : 0);
        if (!isfinite((double)got[i]))
            rel = INFINITY;
        if (rel > worst) {
            worst = rel;
            snprintf(worst_at, sizeof worst_at, "%s[%ld]", what, i);
        }
        if (!(rel <= rtol)) {
            if (bad < 5)
                printf("  %s[%ld]: C %.9g, PyTorch %.17g, relative error %.3g\n", what, i, got[i], want[i], rel);
            bad++;
        }
    }
    return bad;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FIXTURE.txt\n", argv[0]);
        return 2;
    }
    fx_path = argv[1];
    fx = fopen(fx_path, "r");
    if (!fx) {
        printf("%s: cannot open %s\n", P->name, fx_path);
        return 1;
    }
    if (!alloc_arrays()) {
        printf("%s: out of memory\n", P->name);
        fclose(fx);
        free_fixture();
        return 1;
    }
    P->init(1); /* state zeroed; every parameter is then set from the fixture */
    int ok = read_fixture();
    fclose(fx);
    if (!ok) {
        free_fixture();
        return 1;
    }

    static float got_loss[MAX_STEPS], got_lr[MAX_STEPS];
    const void *y = P->target_classes > 0 ? (const void *)y_class : (const void *)y_real;
    long bad = 0;
    if (steps > LONG_RUN)
        rtol = RTOL_LONG;
    for (int s = 0; s < steps; s++) {
        if (s == set_lr_at)
            P->set_lr((float)set_lr_value);
        got_lr[s] = P->get_lr();
        if (s > 0 || !have_grads) {
            got_loss[s] = P->train_step(x, y, batch);
        } else {
            P->forward_train(x, y, batch); /* step 1 in its phases: the gradients before the update */
            P->backward();
            got_loss[s] = P->loss();
            for (int i = 0; i < NPARAM; i++) {
                nn_param p = P->param(i);
                char what[300];
                if (!p.grad)
                    continue; /* frozen: read_fixture made sure the fixture has no gradient for it */
                snprintf(what, sizeof what, "grad %s", p.name);
                bad += compare(what, p.grad, want_grad[i], p.size);
            }
            P->update();
        }
        if (lr_mode == 'e')
            P->epoch_end();
    }
    bad += compare("loss", got_loss, want_loss, steps);
    if (lr_mode)
        bad += compare("lr", got_lr, want_lr, steps);
    for (int i = 0; i < NPARAM; i++) {
        nn_param p = P->param(i);
        bad += compare(p.name, p.value, want_final[i], p.size);
    }
    for (int i = 0; i < NBUFFER; i++) {
        nn_param b = P->buffer(i);
        bad += compare(b.name, b.value, want_buffer[i], b.size);
    }
    /* a network with `output o` is compared there too: a fixture without
     * the line would let the inference path go unchecked */
    if (P->out_o_size > 0 && !want_output) {
        printf("%s: the network has output o but the fixture has no 'output o' line\n", P->name);
        bad++;
    } else if (P->out_o_size > 0) {
        P->forward(x, batch);
        bad += compare("output o", P->output_o(), want_output, (long)batch * P->out_o_size);
    }
    free_fixture();
    printf("%s: %d steps, %d parameters, %ld failing elements, worst relative error %.3g at %s"
           " (tolerance %.0e)\n",
           P->name, steps, NPARAM, bad, worst, worst_at, rtol);
    return bad ? 1 : 0;
}
