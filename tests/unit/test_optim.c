/*
 * test_optim.c - the optimizers' descriptors (compiler/optim/NAME.c) hold
 * every fact about them, and the rest of the compiler reads those facts:
 * each descriptor's signature is the builtin of its name (listed between
 * the losses and the schedules), its update op is ops.def's NAME_update and
 * prints every argument after lr by name (ops.def's attribute column, which
 * repeats the names), its kernels and prologue declare only p, g, i and the
 * names it lists (state and locals), and plan.c keeps parameters' C names
 * off every one of those names, whichever optimizer the network uses.
 *
 * Each check runs over the whole table, so a new optimizer is tested by
 * its row alone.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "phase_util.h"

/* "optimizer NAME(lr=0.1, ...)": numbers whose default is 0 (or none) set
 * to 0.5, so that the optional parts of the update (momentum, weight
 * decay) are on; booleans `bools` */
static void opt_call(Buf *b, const OptimDesc *d, int bools) {
    buf_printf(b, "%s(lr=0.1", d->call.name);
    for (int k = 1; k < d->call.nargs; k++) {
        const ArgSpec *a = &d->call.args[k];
        if (a->kind == AK_BOOL)
            buf_printf(b, ", %s=%s", a->name, bools ? "true" : "false");
        else if (!a->def || strtod(a->def, NULL) == 0)
            buf_printf(b, ", %s=0.5", a->name);
    }
    buf_putc(b, ')');
}

static char *net_source(const OptimDesc *d, int bools, const char *param) {
    Buf call = {0}, src = {0};
    opt_call(&call, d, bools);
    buf_printf(&src, "network t\ninput x[3]\ntarget y[3]\nparam %s[3] init=uniform(-1, 1)\n"
                     "loss mse(x * %s, y)\noptimizer %s\n", param, param, call.data);
    buf_free(&call);
    return src.data;
}

/* the signature: lr first, numbers and booleans after it, as many as
 * Optimizer.hp holds; the builtin of that name is this row */
static void test_signature_is_the_builtin(void **state) {
    (void)state;
    int first = -1;
    for (int i = 0; i < builtin_count(); i++)
        if (builtin_at(i)->kind == CK_OPT) {
            if (first < 0)
                first = i;
            assert_ptr_equal(builtin_at(i), &optim_at(i - first)->call);
        }
    assert_true(first > 0);
    assert_int_equal(builtin_at(first - 1)->kind, CK_LOSS);
    assert_int_equal(builtin_at(first + optim_count())->kind, CK_SCHED);
    for (int i = 0; i < optim_count(); i++) {
        const OptimDesc *d = optim_at(i);
        assert_ptr_equal(builtin_find(d->call.name), &d->call);
        assert_ptr_equal(optim_find(d->call.name), d);
        assert_int_equal(d->call.kind, CK_OPT);
        assert_true(d->call.nargs >= 1 && d->call.nargs <= 9);
        assert_string_equal(d->call.args[0].name, "lr");
        for (int k = 0; k < NN_MAX_ARGS; k++) {
            assert_true((d->call.args[k].name != NULL) == (k < d->call.nargs));
            if (k < d->call.nargs)
                assert_true(d->call.args[k].kind == AK_NUM || d->call.args[k].kind == AK_BOOL);
        }
        assert_non_null(d->validate);
        assert_non_null(d->prologue);
        assert_non_null(d->kernel);
        assert_non_null(d->flops);
    }
    assert_null(optim_at(optim_count()));
}

/* the update op is NAME_update; its attributes name every argument after
 * lr: NAME=VALUE for numbers, NAME alone for a true boolean */
static void test_update_op_prints_the_arguments(void **state) {
    (void)state;
    for (int i = 0; i < optim_count(); i++) {
        const OptimDesc *d = optim_at(i);
        char *src = net_source(d, 0, "w");
        Phases t;
        if (ph_lower(&t, src, 0) < 0 || ph_autodiff(&t) < 0)
            fail_msg("%s: %s", src, ph_diag(&t));
        int u = -1;
        for (int v = 0; v < t.g.count; v++)
            if (t.g.nodes[v].func == FN_UPDATE)
                u = v;
        assert_true(u >= 0);
        char name[64];
        snprintf(name, sizeof name, "%s_update", d->call.name);
        assert_string_equal(ir_op_name(t.g.nodes[u].op), name);
        for (int bools = 0; bools < 2; bools++) {
            Node n = t.g.nodes[u];
            int nums = 0;
            for (int k = 1; k < d->call.nargs; k++)
                n.f[k - 1] = d->call.args[k].kind == AK_BOOL ? bools : 0.125 * k;
            Buf attrs = {0};
            ir_node_attrs(&attrs, &n);
            for (int k = 1; k < d->call.nargs; k++) {
                char want[64];
                if (d->call.args[k].kind == AK_BOOL) {
                    snprintf(want, sizeof want, " %s", d->call.args[k].name);
                    if ((strstr(attrs.data, want) != NULL) != bools)
                        fail_msg("%s: \"%s\" for %s=%d", name, attrs.data, d->call.args[k].name, bools);
                } else {
                    nums++;
                    snprintf(want, sizeof want, " %s=%g", d->call.args[k].name, 0.125 * k);
                    if (!strstr(attrs.data, want))
                        fail_msg("%s: \"%s\" lacks \"%s\"", name, attrs.data, want);
                }
            }
            int eqs = 0;
            for (const char *c = attrs.data; *c; c++)
                eqs += *c == '=';
            assert_int_equal(eqs, nums);
            buf_free(&attrs);
        }
        ph_free(&t);
        free(src);
    }
}

/* the names declared in `text`: "float x = ...", "const double a = ..., b = ...;" */
static int declared(const char *line, char names[][32], int max) {
    int n = 0;
    while (*line == ' ')
        line++;
    if (!strncmp(line, "const ", 6))
        line += 6;
    if (strncmp(line, "float ", 6) && strncmp(line, "double ", 7))
        return 0;
    line = strchr(line, ' ');
    for (;;) {
        while (*line == ' ' || *line == '*')
            line++;
        size_t len = 0;
        while (isalnum((unsigned char)line[len]) || line[len] == '_')
            len++;
        if (len && len < 32 && n < max) {
            memcpy(names[n], line, len);
            names[n++][len] = '\0';
        }
        int depth = 0; /* on to the next declarator: a comma outside parentheses */
        for (line += len; *line && !(depth == 0 && (*line == ',' || *line == ';')); line++)
            depth += (*line == '(') - (*line == ')');
        if (*line != ',')
            return n;
        line++;
    }
}

static int listed(const OptimDesc *d, const char *name) {
    if (!strcmp(name, "p") || !strcmp(name, "g") || !strcmp(name, "i"))
        return 1;
    for (int k = 0; k < OPTIM_MAX_STATE && d->state[k]; k++)
        if (!strcmp(d->state[k], name))
            return 1;
    for (int k = 0; k < OPTIM_MAX_LOCALS && d->locals[k]; k++)
        if (!strcmp(d->locals[k], name))
            return 1;
    return 0;
}

/* NET_run_update declares only what the descriptor lists, with its options
 * off and on (a configuration its checks refuse is skipped) */
static void test_kernels_declare_listed_names(void **state) {
    (void)state;
    for (int i = 0; i < optim_count(); i++) {
        const OptimDesc *d = optim_at(i);
        int compiled = 0;
        for (int bools = 0; bools < 2; bools++) {
            char *src = net_source(d, bools, "w");
            FILE *diag = fopen("/dev/null", "w");
            CompileOptions co = {0};
            co.path = "t.nn";
            co.header_name = "net.h";
            co.cmdline = "nngen test";
            co.opt_level = 2;
            co.diag = diag;
            Buf c = {0}, h = {0};
            if (nngen_compile(src, strlen(src), &co, &c, &h) == 0) {
                compiled++;
                const char *fn = strstr(c.data, "static void t_run_update(");
                assert_non_null(fn);
                const char *end = strstr(fn, "\n}\n");
                assert_non_null(end);
                for (const char *line = strchr(fn, '\n') + 1; line < end; line = strchr(line, '\n') + 1) {
                    char names[8][32];
                    for (int k = declared(line, names, 8) - 1; k >= 0; k--)
                        if (!listed(d, names[k]))
                            fail_msg("%s declares %s, which optim_%s does not list", src, names[k],
                                     d->call.name);
                }
                assert_non_null(strstr(c.data, "p[i]"));
            }
            fclose(diag);
            buf_free(&c);
            buf_free(&h);
            free(src);
        }
        assert_true(compiled > 0);
    }
}

/* a parameter named like any optimizer's state or local gets a '_' in C,
 * whichever optimizer the network has */
static void test_names_keep_params_off_optimizer_names(void **state) {
    (void)state;
    for (int i = 0; i < optim_count(); i++) {
        const OptimDesc *d = optim_at(i);
        const char *names[OPTIM_MAX_STATE + OPTIM_MAX_LOCALS];
        int count = 0;
        for (int k = 0; k < OPTIM_MAX_STATE && d->state[k]; k++)
            names[count++] = d->state[k];
        for (int k = 0; k < OPTIM_MAX_LOCALS && d->locals[k]; k++)
            names[count++] = d->locals[k];
        for (int k = 0; k < count; k++) {
            assert_true(optim_declares(names[k]));
            char *src = net_source(optim_at((i + 1) % optim_count()), 0, names[k]);
            Phases t;
            if (ph_all(&t, src, 0, 2) < 0)
                fail_msg("%s: %s", src, ph_diag(&t));
            char want[64];
            snprintf(want, sizeof want, "%s_", names[k]);
            assert_string_equal(ph_param_cname(&t.g, names[k]), want);
            ph_free(&t);
            free(src);
        }
    }
    assert_false(optim_declares("w"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_is_the_builtin),
        cmocka_unit_test(test_update_op_prints_the_arguments),
        cmocka_unit_test(test_kernels_declare_listed_names),
        cmocka_unit_test(test_names_keep_params_off_optimizer_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
