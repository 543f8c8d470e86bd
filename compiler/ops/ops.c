/*
 * ops.c - the op table, built from ops.def: one row per op with its name,
 * arity, flags and hooks. Everything that dispatches on an op goes through
 * op_table (or op_info), never through chains of comparisons.
 */
#include "nngen.h"

const OpInfo op_table[OP__COUNT] = {
#define OP(id, name, arity, flags, shape, grad, expr, emit) {name, arity, flags, shape, grad, expr, emit},
#include "ops.def"
#undef OP
};
