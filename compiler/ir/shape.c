/*
 * shape.c - the shape checker's shared parts.
 *
 * Every op's own rule lives with the op (ops/<op>.c), and ops/check.c runs
 * them; this file holds what the rules share: NumPy broadcasting with a
 * symbolic batch dimension, the error format that shows both shapes, and
 * the size limit.
 *
 * A shape is the per-sample dims plus a flag for the leading batch dimension
 * N. Broadcasting aligns trailing dims; N behaves as one more leading dim
 * that only a batched operand has, so [N, 3] + [3] is [N, 3] and [N, 3] +
 * [2, 3] is an error (2 would have to line up with N).
 */
#include <string.h>

#include "ir/ir.h"

void shape_error2(Graph *g, const Node *n, const char *what, const Shape *a, const char *opname, const Shape *b,
                  const char *why) {
    Buf sa = {0}, sb = {0};
    (void)g;
    shape_print(&sa, a);
    shape_print(&sb, b);
    if (why && *why)
        diag_error(n->loc, "%s shapes %s %s %s do not agree (%s)", what, sa.data, opname, sb.data, why);
    else
        diag_error(n->loc, "%s shapes %s %s %s do not agree", what, sa.data, opname, sb.data);
    buf_free(&sa);
    buf_free(&sb);
}

/* The op's symbol in messages: "+" for add, the op name otherwise. */
static const char *op_symbol(Op op) {
    switch (op) {
    case OP_ADD:
        return "+";
    case OP_SUB:
        return "-";
    case OP_MUL:
        return "*";
    case OP_DIV:
        return "/";
    default:
        return "and";
    }
}

/* NumPy broadcasting of a and b into out, aligning trailing dims. */
int shape_broadcast(Graph *g, Node *n, const Shape *a, const Shape *b, Shape *out) {
    Shape r = {0};
    r.batched = a->batched || b->batched;
    r.rank = a->rank > b->rank ? a->rank : b->rank;
    for (int i = 0; i < r.rank; i++) {
        int ia = a->rank - r.rank + i, ib = b->rank - r.rank + i;
        int da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            char why[64];
            snprintf(why, sizeof why, "%d != %d", da, db);
            shape_error2(g, n, ir_op_name(n->op), a, op_symbol(n->op), b, why);
            return -1;
        }
        r.dims[i] = da == 1 ? db : da;
    }
    /* An unbatched operand of higher rank than the batched one would put one
     * of its dims against N, which no value of N can be sure to match. */
    if ((a->batched && !b->batched && b->rank > a->rank) || (b->batched && !a->batched && a->rank > b->rank)) {
        shape_error2(g, n, ir_op_name(n->op), a, op_symbol(n->op), b,
                     "a dimension would stand against the batch dimension N");
        return -1;
    }
    *out = r;
    return 0;
}

/* docs/language.md: a tensor's per-sample size times NET_MAX_BATCH stays below
 * 2^31 (so every index fits an int and every size a long). Doubles hold
 * the product exactly far past that. */
int shape_check_size(Graph *g, Loc loc, const char *what, const Shape *s) {
    double per = 1;
    for (int d = 0; d < s->rank; d++)
        per *= s->dims[d];
    double total = per * (s->batched ? g->max_batch : 1);
    if (total < 2147483648.0)
        return 0;
    Buf b = {0};
    shape_print(&b, s);
    if (s->batched)
        diag_error(loc,
                   "%s, %s, has too many elements (%.0f per sample, %.0f for a "
                   "batch of %d; the limit is 2^31)",
                   what, b.data, per, total, g->max_batch);
    else
        diag_error(loc, "%s, %s, has too many elements (%.0f; the limit is 2^31)", what, b.data, total);
    buf_free(&b);
    return -1;
}
