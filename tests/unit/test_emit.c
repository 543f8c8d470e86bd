/*
 * test_emit.c - the C emitter: its utilities (emit_float, emit_line and
 * the indent, comment sanitizing, element counts), the locals each generated
 * function declares against what its code reads, the
 * API it writes (docs/c-api.md's names, macros and parameter table, checked on
 * the text), and determinism: compiling the same text twice through
 * nngen_compile gives byte-identical net.c and net.h. A matmul's scratch
 * is the runtime's nnrt_sgemm_ws_size for its largest product. The C names
 * of names.c: clashes with C and the kernels' locals, unique ports, and the
 * const structs of --weights read through views too.
 *
 * Whether the generated code compiles under gcc and clang with -Werror is
 * tests/compile's business; this file looks at the text only.
 */
#include <ctype.h>
#include <float.h>
#include <glob.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nn_runtime.h"
#include "phase_util.h"

/* ---- emit_float */

static const char *flt(double v) {
    static char out[64];
    Buf b = {0};
    emit_float(&b, v);
    snprintf(out, sizeof out, "%s", b.data);
    buf_free(&b);
    return out;
}

/* the literal reads back (as C would: strtof of the text before 'f') as f, bit for bit */
static void assert_round_trip(float f) {
    const char *s = flt(f);
    size_t n = strlen(s);
    assert_true(n >= 2);
    assert_int_equal(s[n - 1], 'f');
    char body[64];
    memcpy(body, s, n - 1);
    body[n - 1] = '\0';
    assert_non_null(strpbrk(body, ".eE")); /* a floating literal, never an integer */
    float back = strtof(body, NULL);
    uint32_t a, b;
    memcpy(&a, &f, 4);
    memcpy(&b, &back, 4);
    if (a != b)
        fail_msg("%.9g printed as %s reads back as %.9g", (double)f, s, (double)back);
}

static void test_emit_float_exact(void **state) {
    (void)state;
    assert_string_equal(flt(0.1f), "0.1f");
    assert_string_equal(flt(1e-8f), "1e-08f");
    assert_string_equal(flt(3.0f), "3.0f");
    assert_string_equal(flt(-0.0f), "-0.0f");
    assert_string_equal(flt(0.0), "0.0f");
    assert_string_equal(flt(1.0), "1.0f");
    assert_string_equal(flt(-2.5), "-2.5f");
    assert_string_equal(flt(0.5), "0.5f");
    assert_string_equal(flt(1e-3), "0.001f");
    assert_string_equal(flt(16777216.0), "16777216.0f");
    assert_string_equal(flt(1.0 / 3.0), "0.33333334f");
    assert_string_equal(flt(FLT_MAX), "3.4028235e+38f");
    assert_string_equal(flt(NAN), "NAN");
    assert_string_equal(flt(INFINITY), "INFINITY");
    assert_string_equal(flt(-INFINITY), "(-INFINITY)");
    /* a double beyond float range is infinite as a float */
    assert_string_equal(flt(1e39), "INFINITY");
    /* -0.0 keeps its sign */
    float z = strtof("-0.0", NULL);
    assert_true(signbit(z));
    assert_round_trip(-0.0f);
}

static void test_emit_float_round_trips(void **state) {
    (void)state;
    const float named[] = {0.1f, 1e-8f, 3.0f, -0.0f, 0.0f, 1e-45f, FLT_MIN, FLT_MAX, -FLT_MAX,
                           FLT_EPSILON, 0.7071f, 0.5774f, 1e-10f, 2e-3f, 0.999f, 123456.789f,
                           1.17549421e-38f, 8388607.5f};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        assert_round_trip(named[i]);
    /* every exponent, pseudo-random mantissas and signs (LCG, fixed seed) */
    uint32_t r = 12345;
    for (int i = 0; i < 200000; i++) {
        r = r * 1664525u + 1013904223u;
        uint32_t bits = r;
        if (((bits >> 23) & 0xff) == 0xff)
            continue; /* NaN, infinity: no literal */
        float f;
        memcpy(&f, &bits, 4);
        assert_round_trip(f);
    }
}

/* the shortest text: no literal has more significant digits than needed */
static void test_emit_float_shortest(void **state) {
    (void)state;
    assert_int_equal(strlen(flt(0.2f)), 4);  /* "0.2f" */
    assert_int_equal(strlen(flt(100.0f)), 6); /* "100.0f" */
    assert_string_equal(flt(1e20f), "1e+20f");
    assert_string_equal(flt(2.0f / 3.0f), "0.6666667f");
}

/* ---- lines, comments, identifiers, counts */

static void test_emit_lines_and_indent(void **state) {
    (void)state;
    Buf out = {0};
    Emit e = {.out = &out, .fn = FN_NONE};
    emit_line(&e, "int f(void);");
    emit_open(&e, "int f(void)");
    emit_line(&e, "int a = %d;", 3);
    emit_begin(&e);
    emit_line(&e, "a++;");
    emit_close(&e);
    emit_line(&e, "return a;");
    emit_close(&e);
    assert_int_equal(e.indent, 0);
    assert_string_equal(out.data, "int f(void);\n"
                                  "int f(void) {\n"
                                  "    int a = 3;\n"
                                  "    {\n"
                                  "        a++;\n"
                                  "    }\n"
                                  "    return a;\n"
                                  "}\n");
    buf_free(&out);
}

static const char *comment(const char *s, size_t max) {
    static char out[256];
    Buf b = {0};
    emit_comment_text(&b, s, strlen(s), max);
    snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    buf_free(&b);
    return out;
}

static void test_emit_comment_text(void **state) {
    (void)state;
    assert_string_equal(comment("  h = relu(x)", 100), "h = relu(x)");
    assert_string_equal(comment("a */ b", 100), "a * / b");      /* never closes the comment */
    assert_string_equal(comment("what?\?=", 100), "what? ?=");   /* no trigraph */
    assert_string_equal(comment("x \\", 100), "x ?");             /* no line splice */
    assert_string_equal(comment("t\tab\x01\xc3\xa9", 100), "t ab???"); /* printable ASCII only */
    assert_string_equal(comment("abcdefgh", 4), "abcd ...");
    assert_string_equal(comment("", 10), "");
}

static void test_emit_count(void **state) {
    (void)state;
    Phases t;
    ph_begin(&t, "");
    Shape s[] = {{1, 1, {3, 0, 0, 0}}, {1, 0, {0}}, {0, 2, {2, 3, 0, 0}}, {0, 0, {0}}, {1, 3, {2, 2, 2, 0}}};
    const char *want[] = {"(long)n * 3", "(long)n", "6", "1", "(long)n * 8"};
    for (int i = 0; i < 5; i++) {
        int id = ir_add(&t.g, OP_INPUT, FN_NONE, (Loc){0, 0}, 0, NULL);
        t.g.nodes[id].shape = s[i];
        Buf b = {0};
        emit_count(&b, &t.g, id);
        assert_string_equal(b.data, want[i]);
        buf_free(&b);
    }
    ph_free(&t);
}

/* ---- whole compilations */

typedef struct Out {
    Buf c, h;
    char *diag;
    size_t diag_len;
    int rc;
} Out;

static Out compile(const char *text, const char *path, int standalone, int infer_only, int max_batch) {
    Out o;
    memset(&o, 0, sizeof o);
    FILE *d = open_memstream(&o.diag, &o.diag_len);
    assert_non_null(d);
    CompileOptions co = {0};
    co.path = path;
    co.header_name = "net.h";
    co.cmdline = "nngen test";
    co.standalone = standalone;
    co.infer_only = infer_only;
    co.max_batch = max_batch;
    co.opt_level = 2;
    co.verify = 1;
    co.diag = d;
    o.rc = nngen_compile(text, strlen(text), &co, &o.c, &o.h);
    fclose(d);
    return o;
}

static void out_free(Out *o) {
    buf_free(&o->c);
    buf_free(&o->h);
    free(o->diag);
}

static void assert_contains(const char *text, const char *what) {
    if (!strstr(text, what))
        fail_msg("missing: %s", what);
}

static void assert_lacks(const char *text, const char *what) {
    if (strstr(text, what))
        fail_msg("unexpected: %s", what);
}

/* 1 when id occurs in code as a whole identifier, not after '.' or "->" */
static int uses_ident(const char *code, const char *id) {
    size_t len = strlen(id);
    for (const char *p = strstr(code, id); p; p = strstr(p + 1, id)) {
        int before = p > code && (isalnum((unsigned char)p[-1]) || p[-1] == '_' || p[-1] == '.' || p[-1] == '>');
        if (!before && !isalnum((unsigned char)p[len]) && p[len] != '_')
            return 1;
    }
    return 0;
}

/* One generated function (from "static" to the closing "}" at column 0),
 * checked against the locals its code recorded: each local declared at its
 * top is read below, n is declared exactly when the code reads it, and
 * (void)m stands exactly when nothing else reads m. Comments do not count. */
static void check_function(const char *start, const char *end) {
    char *f = strndup(start, (size_t)(end - start));
    assert_non_null(f);
    for (char *c = strstr(f, "/*"); c; c = strstr(c, "/*")) { /* comments out */
        char *stop = strstr(c + 2, "*/");
        size_t n = stop ? (size_t)(stop + 2 - c) : strlen(c);
        memset(c, ' ', n);
        c += n;
    }
    char *body = strchr(f, '\n') + 1; /* past the signature */
    char *code = body;
    int declared_n = 0, voided = 0;
    for (;;) { /* the declarations the emitter put first */
        char name[128];
        if (sscanf(code, " float *const %127[A-Za-z0-9_] = m->arena", name) == 1 ||
            sscanf(code, " const float *const %127[A-Za-z0-9_] = m->io.", name) == 1 ||
            sscanf(code, " const int32_t *const %127[A-Za-z0-9_] = m->io.", name) == 1) {
            char *rest = strchr(code, '\n') + 1;
            if (!uses_ident(rest, name))
                fail_msg("%s declared, not read, in %.60s", name, f);
            code = rest;
        } else if (strncmp(code, "    const int n = m->n;\n", 24) == 0) {
            declared_n = 1;
            code += 24;
        } else if (strncmp(code, "    (void)m;\n", 13) == 0) {
            voided = 1;
            code += 13;
        } else if (strncmp(code, "    struct ", 11) == 0 && strstr(code, " *const m = ctx;")) {
            code = strchr(code, '\n') + 1; /* an epilogue's model */
        } else {
            break;
        }
    }
    if (declared_n != uses_ident(code, "n"))
        fail_msg("n %s but %s in %.60s", declared_n ? "declared" : "not declared", declared_n ? "unread" : "read", f);
    if (voided && uses_ident(code, "m"))
        fail_msg("(void)m but m read in %.60s", f);
    if (!voided && code == body && !uses_ident(code, "m"))
        fail_msg("m unread and not voided in %.60s", f);
    free(f);
}

/* every run function and epilogue of the examples and of the gradient
 * check cases (every op, loss and optimizer), trained and not */
static void test_locals_as_recorded(void **state) {
    (void)state;
    glob_t gl;
    int functions = 0;
    assert_int_equal(glob(NN_SOURCE_DIR "/examples/*.nn", 0, NULL, &gl), 0);
    assert_int_equal(glob(NN_SOURCE_DIR "/tests/gradcheck/cases/*.nn", GLOB_APPEND, NULL, &gl), 0);
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        char *text = ph_read_file(gl.gl_pathv[i]);
        for (int mode = 0; mode < 2; mode++) {
            Out o = compile(text, gl.gl_pathv[i], 0, mode, 0);
            assert_int_equal(o.rc, 0);
            for (const char *p = strstr(o.c.data, "\nstatic "); p; p = strstr(p + 1, "\nstatic ")) {
                const char *eol = strchr(p + 1, '\n'), *run = strstr(p, "_run_"), *epi = strstr(p, "_epilogue_");
                if (!((run && run < eol) || (epi && epi < eol)) || eol[-1] != '{')
                    continue;
                const char *end = strstr(p, "\n}\n");
                assert_non_null(end);
                check_function(p + 1, end + 2);
                functions++;
            }
            out_free(&o);
        }
        free(text);
    }
    globfree(&gl);
    assert_true(functions > 40);
}

/* the first call of epilogue `name` from `from` on: an argument of a GEMM
 * call ("name, m);") or called by a small product's loops ("name(m, ") */
static const char *find_epilogue_call(const char *from, const char *name) {
    char arg[300], direct[300];
    snprintf(arg, sizeof arg, "%s, m);", name);
    snprintf(direct, sizeof direct, "%s(m, ", name);
    const char *a = strstr(from, arg), *d = strstr(from, direct);
    return !a ? d : !d ? a : a < d ? a : d;
}

/* The epilogue definitions in code: each name defined once, no two with the
 * same text (their names blanked), each defined before its first call;
 * returns how many are called from more than one run function. */
static int check_epilogues_once(const char *code) {
    char *names[256], *bodies[256];
    int count = 0, shared = 0;
    for (const char *p = strstr(code, "\nstatic void "); p; p = strstr(p + 1, "\nstatic void ")) {
        const char *name = p + 13, *paren = strchr(name, '(');
        if (!strstr(name, "_epilogue_") || strstr(name, "_epilogue_") > paren)
            continue;
        assert_true(count < 256);
        names[count] = strndup(name, (size_t)(paren - name));
        const char *end = strstr(paren, "\n}\n");
        assert_non_null(end);
        bodies[count] = strndup(paren, (size_t)(end - paren));
        for (int k = 0; k < count; k++) {
            if (strcmp(names[k], names[count]) == 0)
                fail_msg("%s defined twice", names[k]);
            if (strcmp(bodies[k], bodies[count]) == 0)
                fail_msg("%s and %s are the same function", names[k], names[count]);
        }
        const char *first = find_epilogue_call(end, names[count]);
        assert_non_null(first);
        assert_null(find_epilogue_call(code, names[count]) < end ? "called before its definition" : NULL);
        int callers = 0;
        const char *prev_run = NULL;
        for (const char *c = first; c; c = find_epilogue_call(c + 1, names[count])) {
            const char *run = c; /* the run function holding the call */
            while (run > code && strncmp(run, "\nstatic ", 8) != 0)
                run--;
            callers += run != prev_run;
            prev_run = run;
        }
        shared += callers > 1;
        count++;
    }
    for (int k = 0; k < count; k++) {
        free(names[k]);
        free(bodies[k]);
    }
    return shared;
}

/* a GEMM epilogue is written once per network, shared by the run functions
 * calling it (forward and loss compute the same nodes) */
static void test_epilogues_once_per_network(void **state) {
    (void)state;
    glob_t gl;
    int shared = 0;
    assert_int_equal(glob(NN_SOURCE_DIR "/examples/*.nn", 0, NULL, &gl), 0);
    assert_int_equal(glob(NN_SOURCE_DIR "/tests/gradcheck/cases/*.nn", GLOB_APPEND, NULL, &gl), 0);
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        char *text = ph_read_file(gl.gl_pathv[i]);
        Out o = compile(text, gl.gl_pathv[i], 0, 0, 0);
        assert_int_equal(o.rc, 0);
        shared += check_epilogues_once(o.c.data);
        out_free(&o);
        free(text);
    }
    globfree(&gl);
    assert_true(shared > 10);
}

/* same text, same flags: the same bytes, for every example and mode */
static void test_deterministic_output(void **state) {
    (void)state;
    glob_t gl;
    assert_int_equal(glob(NN_SOURCE_DIR "/examples/*.nn", 0, NULL, &gl), 0);
    assert_true(gl.gl_pathc >= 4);
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        char *text = ph_read_file(gl.gl_pathv[i]);
        assert_non_null(text);
        for (int mode = 0; mode < 3; mode++) {
            Out a = compile(text, gl.gl_pathv[i], mode == 1, mode == 2, 0);
            Out b = compile(text, gl.gl_pathv[i], mode == 1, mode == 2, 0);
            assert_string_equal(a.diag, "");
            assert_int_equal(a.rc, 0);
            assert_int_equal(b.rc, 0);
            assert_int_equal(a.c.len, b.c.len);
            assert_int_equal(a.h.len, b.h.len);
            assert_memory_equal(a.c.data, b.c.data, a.c.len);
            assert_memory_equal(a.h.data, b.h.data, a.h.len);
            out_free(&a);
            out_free(&b);
        }
        free(text);
    }
    globfree(&gl);
}

static void test_moons_api_text(void **state) {
    (void)state;
    char *text = ph_read_file(NN_SOURCE_DIR "/examples/moons.nn");
    assert_non_null(text);
    Out o = compile(text, "moons.nn", 0, 0, 0);
    assert_int_equal(o.rc, 0);
    const char *h = o.h.data, *c = o.c.data;
    assert_contains(h, "#include <stdint.h>\n");
    assert_contains(h, "#include <stddef.h>\n");
    assert_contains(h, "#include \"nn_runtime.h\"\n");
    assert_contains(h, "#define MOONS_MAX_BATCH 64\n");
    assert_contains(h, "#define MOONS_IN_X_SIZE 2\n");
    assert_contains(h, "#define MOONS_OUT_P_SIZE 2\n");
    assert_contains(h, "#define MOONS_PARAM_COUNT 4\n");
    assert_contains(h, "#define MOONS_PARAM_SCALARS 17\n");
    assert_contains(h, "typedef struct moons moons;\n");
    assert_contains(h, "void moons_init(moons *m, uint64_t seed);\n");
    assert_contains(h, "int moons_param_count(void);\n");
    assert_contains(h, "nn_param moons_param(moons *m, int i);\n");
    assert_contains(h, "void moons_forward(moons *m, const float *x, int n);\n");
    assert_contains(h, "const float *moons_output_p(const moons *m);\n");
    assert_contains(h, "float moons_train_step(moons *m, const float *x, const int32_t *y, int n);\n");
    assert_contains(h, "float moons_loss(moons *m, const float *x, const int32_t *y, int n);\n");
    assert_contains(h, "void moons_forward_train(moons *m, const float *x, const int32_t *y, int n);\n");
    assert_contains(h, "void moons_backward(moons *m);\n");
    assert_contains(h, "void moons_update(moons *m);\n");
    assert_contains(h, "void moons_epoch_end(moons *m);\n");
    assert_contains(h, "int moons_set_lr(moons *m, float lr);\n");
    assert_contains(h, "float moons_get_lr(const moons *m);\n");
    assert_contains(h, "int moons_save(const moons *m, const char *path);\n");
    assert_contains(h, "int moons_load(moons *m, const char *path);\n");
    /* the parameter table, in docs/language.md's order */
    const char *w1 = strstr(c, "{\"W1\", 2, {2, 3, 0, 0}, 6,");
    const char *b1 = strstr(c, "{\"b1\", 1, {3, 0, 0, 0}, 3,");
    const char *w2 = strstr(c, "{\"W2\", 2, {3, 2, 0, 0}, 6,");
    const char *b2 = strstr(c, "{\"b2\", 1, {2, 0, 0, 0}, 2,");
    assert_true(w1 && b1 && w2 && b2);
    assert_true(w1 < b1 && b1 < w2 && w2 < b2);
    /* no malloc, no rand(): all memory in the struct, the runtime's PRNG */
    assert_lacks(c, "malloc");
    assert_lacks(c, "rand(");
    assert_contains(c, "#include \"net.h\"\n");
    assert_lacks(c, "nnrt_sgemm(int"); /* the runtime is not pasted in */
    out_free(&o);
    free(text);
}

static void test_mnist_scalars_and_options(void **state) {
    (void)state;
    char *text = ph_read_file(NN_SOURCE_DIR "/examples/mnist_mlp.nn");
    assert_non_null(text);
    Out o = compile(text, "mnist_mlp.nn", 0, 1, 8);
    assert_int_equal(o.rc, 0);
    /* docs/c-api.md's own numbers: 784*128 + 128 + 128*10 + 10 */
    assert_contains(o.h.data, "#define MNIST_MLP_PARAM_SCALARS 101770\n");
    assert_contains(o.h.data, "#define MNIST_MLP_PARAM_COUNT 4\n");
    assert_contains(o.h.data, "#define MNIST_MLP_MAX_BATCH 8\n");
    assert_contains(o.h.data, "#define MNIST_MLP_IN_X_SIZE 784\n");
    assert_contains(o.h.data, "#define MNIST_MLP_OUT_P_SIZE 10\n");
    /* --infer-only: no training API, no gradients */
    assert_lacks(o.h.data, "train_step");
    assert_lacks(o.h.data, "_backward");
    assert_lacks(o.h.data, "} grad;");
    assert_contains(o.c.data, "{\"h.weight\", 2, {784, 128, 0, 0}, 100352, offsetof(mnist_mlp, param.h_weight), 0},");
    out_free(&o);
    free(text);
}

static void test_standalone_header(void **state) {
    (void)state;
    char *text = ph_read_file(NN_SOURCE_DIR "/examples/xor.nn");
    assert_non_null(text);
    Out o = compile(text, "xor.nn", 1, 0, 0);
    assert_int_equal(o.rc, 0);
    assert_lacks(o.h.data, "nn_runtime.h\"");
    assert_contains(o.h.data, "#ifndef NN_PARAM_DEFINED\n#define NN_PARAM_DEFINED\n");
    assert_contains(o.h.data, "typedef struct nn_param {");
    assert_contains(o.c.data, "#define NNRT_API static inline");
    assert_contains(o.c.data, "#ifndef NN_RUNTIME_H\n#define NN_RUNTIME_H\n"); /* the header, pasted */
    out_free(&o);
    free(text);
}

/* each op gets a comment with its source line; names from the DSL */
static void test_comments_and_names(void **state) {
    (void)state;
    Out o = compile("network t\ninput x[3]\nparam W[3, 2]\nhid = tanh(x @ W)  # a */ b\noutput p = hid\n", "dir/t.nn", 0,
                    0, 0);
    assert_int_equal(o.rc, 0);
    assert_contains(o.c.data, "/* t.nn:4: hid = tanh(x @ W)  # a * / b */");
    assert_contains(o.c.data, "float *const hid = m->arena + ");
    out_free(&o);
}

/* a network named like a local of the generated functions (m, p, i):
 * casts name the struct tag, which no local shadows */
static void test_network_named_like_a_local(void **state) {
    (void)state;
    const char *names[] = {"m", "p", "i"};
    for (int k = 0; k < 3; k++) {
        char src[256];
        snprintf(src, sizeof src, "network %s\ninput x[2]\nh = dense(x, 2)\noutput q = h\n", names[k]);
        Out o = compile(src, "t.nn", 0, 0, 0);
        assert_int_equal(o.rc, 0);
        char want[64];
        snprintf(want, sizeof want, "p[i] = %s_param((struct %s *)m, i);", names[k], names[k]);
        assert_contains(o.c.data, want);
        out_free(&o);
    }
}

/* no parameters: save and load pass an empty table, not an unwritten array */
static void test_no_params_weight_files(void **state) {
    (void)state;
    Out o = compile("network t\ninput x[2]\noutput p = relu(x)\n", "t.nn", 0, 0, 0);
    assert_int_equal(o.rc, 0);
    assert_contains(o.h.data, "#define T_PARAM_COUNT 0\n");
    assert_contains(o.c.data, "return nnrt_save(path, \"t\", NULL, T_PARAM_COUNT, NULL, T_BUFFER_COUNT);");
    assert_contains(o.c.data, "return nnrt_load(path, \"t\", NULL, T_PARAM_COUNT, NULL, T_BUFFER_COUNT);");
    assert_lacks(o.c.data, "nn_param p[");
    out_free(&o);
}

static void test_errors_leave_no_output(void **state) {
    (void)state;
    Out o = compile("network t\ninput x[3]\nparam W[4, 2]\noutput p = x @ W\n", "t.nn", 0, 0, 0);
    assert_int_equal(o.rc, -1);
    assert_int_equal(o.c.len, 0);
    assert_int_equal(o.h.len, 0);
    assert_string_equal(o.diag, "t.nn:4:14: error: matmul shapes [N, 3] @ [4, 2] do not agree (3 != 4)\n"
                                "    4 | output p = x @ W\n"
                                "      |              ^\n");
    out_free(&o);
}

static void test_emit_ir(void **state) {
    (void)state;
    CompileOptions co = {0};
    Buf c = {0}, h = {0};
    char *diag = NULL;
    size_t len;
    FILE *d = open_memstream(&diag, &len);
    co.path = "t.nn";
    co.emit = "ir";
    co.opt_level = 2;
    co.diag = d;
    const char *src = "network t\ninput x[3]\noutput p = relu(x) * 2\n";
    assert_int_equal(nngen_compile(src, strlen(src), &co, &c, &h), 0);
    fclose(d);
    assert_string_equal(c.data, "# network t: 4 nodes\n"
                                "v0 = input \"x\"  [N, 3]  t.nn:2:7  ; x\n"
                                "v1 = relu v0  [N, 3]  infer  t.nn:3:12  fused>v3\n"
                                "v2 = const 2  []  t.nn:3:22\n"
                                "v3 = mul v1, v2  [N, 3]  infer  t.nn:3:20  ; p\n");
    assert_int_equal(h.len, 0);
    buf_free(&c);
    buf_free(&h);
    free(diag);
}

/* every phase up to the plan, without a diagnostic */
static void all_ok(Phases *t, const char *src, int infer_only, int opt_level) {
    int rc = ph_all(t, src, infer_only, opt_level);
    assert_string_equal(ph_diag(t), "");
    assert_int_equal(rc, 0);
}

/* C names (names.c) that would clash with the kernels' locals or C get a '_' */
static void test_cnames(void **state) {
    (void)state;
    Phases t;
    all_ok(&t,
           "network t\ninput n[2]\nparam int_[2]\nparam b[2]\nh = dense(n * b, 2)\n"
           "i = exp(h)\noutput sum = i + int_\n",
           0, 0); /* -O0: at -O2, i is fused into sum's loop and has no name of its own */
    const Graph *g = &t.g;
    assert_string_equal(cnames_of(g)->port[0], "n_");
    assert_string_equal(ph_param_cname(g, "b"), "b_");
    assert_string_equal(ph_param_cname(g, "int_"), "int_");
    assert_string_equal(ph_param_cname(g, "h.weight"), "h_weight");
    assert_string_equal(ph_ref(g, ph_named(g, "i", FN_INFER)), "i_");
    assert_string_equal(ph_ref(g, ph_named(g, "sum", FN_INFER)), "sum_");
    assert_string_equal(ph_ref(g, ph_named(g, "h", FN_INFER)), "h");
    ph_free(&t);
}

/* two inputs whose C names would both be n_ (n is a kernel local) */
static void test_cnames_ports_unique(void **state) {
    (void)state;
    Phases t;
    all_ok(&t, "network t\ninput n[2]\ninput n_[2]\ninput n__1[2]\noutput p = n + n_ + n__1\n", 0, 2);
    const CNames *cn = cnames_of(&t.g);
    assert_string_equal(cn->port[0], "n_");
    assert_string_equal(cn->port[1], "n__1");
    assert_string_equal(cn->port[2], "n__1_2");
    ph_free(&t);
}

/* --weights: a parameter read through a view (reshape, as conv2d's bias is)
 * is read from the const struct like the parameter itself; the model struct
 * has no m->param then */
static void test_weights_through_a_view(void **state) {
    (void)state;
    float w[3] = {1, 2, 3};
    nn_param p = {"w", 1, {3, 0, 0, 0}, 3, w, NULL};
    unsigned char image[256];
    long len = nnrt_export("t", &p, 1, NULL, 0, image, sizeof image);
    assert_true(len > 0);
    const char *src = "network t\ninput x[3, 4]\nparam w[3]\noutput y = x + reshape(w, [3, 1])\n";
    CompileOptions co = {0};
    co.path = "t.nn";
    co.infer_only = 1;
    co.opt_level = 2;
    co.verify = 1;
    co.diag = stderr;
    co.weights_path = "t.nnw";
    co.weights = image;
    co.weights_len = (size_t)len;
    Buf c = {0}, h = {0};
    assert_int_equal(nngen_compile(src, strlen(src), &co, &c, &h), 0);
    assert_contains(c.data, "+ t_weights.w[i1]");
    assert_lacks(c.data, "m->param");
    buf_free(&c);
    buf_free(&h);
}

/* The compiler's copy of the GEMM workspace size agrees with the runtime's
 * for every form of matmul (plain, B^T, A^T) over a range of sizes; tiny
 * products get none, nor do small ones, which are loops (at most 16 x 16,
 * and 128 sums for A^T: matmul.c's matmul_small). */
static void test_matmul_scratch_matches_runtime(void **state) {
    (void)state;
    static const int sizes[] = {1, 2, 5, 6, 7, 16, 17, 31, 33, 100, 121, 256, 257, 513, 784, 1000};
    const int ns = (int)(sizeof sizes / sizeof sizes[0]);
    for (int form = 0; form < 3; form++)
        for (int a = 0; a < ns; a++)
            for (int b = 0; b < ns; b++)
                for (int batch = 1; batch <= 300; batch += 37) {
                    int k = sizes[a], m = sizes[b];
                    Graph g = {0};
                    Node nodes[3];
                    memset(nodes, 0, sizeof nodes);
                    g.nodes = nodes;
                    g.count = 3;
                    g.max_batch = batch;
                    Shape x = {1, 1, {k, 0, 0, 0}}, w = {0, 2, {k, m, 0, 0}}, wt = {0, 2, {m, k, 0, 0}};
                    Shape d = {1, 1, {m, 0, 0, 0}};
                    long M = batch, N = m, K = k;
                    nodes[0].shape = x;
                    nodes[1].shape = form == 1 ? wt : w;
                    nodes[2].in[0] = 0;
                    nodes[2].in[1] = 1;
                    nodes[2].i[1] = form == 1;
                    if (form == 2) { /* x^T d: [k, m], summed over the batch */
                        nodes[1].shape = d;
                        nodes[2].i[0] = 1;
                        M = k, N = m, K = batch;
                    }
                    long want = M * N * K < 16384 ? 0 : nnrt_sgemm_ws_size((int)M, (int)N, (int)K);
                    if (k <= 16 && m <= 16 && (form != 2 || k * m <= 128))
                        want = 0;
                    assert_int_equal(matmul_scratch(&g, &nodes[2]), want);
                }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emit_float_exact),
        cmocka_unit_test(test_emit_float_round_trips),
        cmocka_unit_test(test_emit_float_shortest),
        cmocka_unit_test(test_emit_lines_and_indent),
        cmocka_unit_test(test_emit_comment_text),
        cmocka_unit_test(test_emit_count),
        cmocka_unit_test(test_deterministic_output),
        cmocka_unit_test(test_locals_as_recorded),
        cmocka_unit_test(test_epilogues_once_per_network),
        cmocka_unit_test(test_moons_api_text),
        cmocka_unit_test(test_mnist_scalars_and_options),
        cmocka_unit_test(test_standalone_header),
        cmocka_unit_test(test_comments_and_names),
        cmocka_unit_test(test_network_named_like_a_local),
        cmocka_unit_test(test_no_params_weight_files),
        cmocka_unit_test(test_errors_leave_no_output),
        cmocka_unit_test(test_emit_ir),
        cmocka_unit_test(test_cnames),
        cmocka_unit_test(test_cnames_ports_unique),
        cmocka_unit_test(test_weights_through_a_view),
        cmocka_unit_test(test_matmul_scratch_matches_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
