#!/bin/sh
# scripts/mutate.sh - mutation testing: does a small break fail a test?
#
#   scripts/mutate.sh [-b BUILD] [NAME...]
#
# Applies each mutant of the list below (all, or those NAMEd) one at a time:
# a sed expression on one source file, which must change it; rebuilds the
# mutant's targets in BUILD (default: build, configured already); runs the
# ctest regex; restores the file (also on error or interrupt: a trap) and
# rebuilds those targets once more. A mutant that fails a test is killed; one
# that passes every test it ran survived, and is the finding. Prints one
# line per mutant and the survivors at the end; exit status 1 when any
# survived. Not in CI: a mutant rebuilds nngen and regenerates its targets.
#
# A mutant: NAME|FILE|SED EXPRESSION|TARGETS|CTEST REGEX ('|' separates the
# fields, so no field may hold one). A mutant whose tests all report
# "skipped" (the OpenBLAS ones without libopenblas) is listed as skipped.
set -u
build=build
if [ "${1:-}" = "-b" ]; then
    build=$2
    shift 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
[ -f "$build/CMakeCache.txt" ] || { echo "mutate.sh: $build is not a configured build" >&2; exit 2; }

MUTANTS='
softplus_large_sign|compiler/ops/activation.c|s/? %s : %s \/ (1.0f + expf/? -%s : %s \/ (1.0f + expf/|gradcheck_large_softplus gradcheck_act_softplus parity_large_softplus|^(gradcheck\.(large_softplus|act_softplus)|parity\.large_softplus)$
tanh_grad_sign|compiler/ops/activation.c|s/"(%s \* (1.0f - %s \* %s))"/"(%s * (1.0f + %s * %s))"/|gradcheck_act_tanh gradcheck_large_sigmoid_tanh parity_large_tanh|^(gradcheck\.(act_tanh|large_sigmoid_tanh)|parity\.large_tanh)$
sigmoid_grad_sign|compiler/ops/activation.c|s/"(%s \* (1.0f - %s) \* %s)"/"(%s * (1.0f + %s) * %s)"/|gradcheck_act_sigmoid gradcheck_large_sigmoid_tanh parity_large_sigmoid|^(gradcheck\.(act_sigmoid|large_sigmoid_tanh)|parity\.large_sigmoid)$
log_cosh_grad_sign|compiler/ops/loss_regression.c|s/"tanhf(%s - %s)"/"tanhf(%s + %s)"/|gradcheck_loss_log_cosh_msle gradcheck_large_log_cosh|^gradcheck\.(loss_log_cosh_msle|large_log_cosh)$
bce_logits_grad|compiler/ops/loss_class.c|s/"(1.0f \/ (1.0f + expf(-%s)) - %s)"/"(1.0f \/ (1.0f + expf(%s)) - %s)"/|gradcheck_loss_bce gradcheck_large_bce_logits parity_large_bce_logits|^(gradcheck\.(loss_bce|large_bce_logits)|parity\.large_bce_logits)$
adam_eps_default|compiler/optim/adam.c|s/{"eps", AK_NUM, "1e-8"}/{"eps", AK_NUM, "1e-6"}/|parity_opt_adam_default parity_opt_adam|^parity\.opt_adam(_default)?$
adam_beta2_default|compiler/optim/adam.c|s/{"beta2", AK_NUM, "0.999"}/{"beta2", AK_NUM, "0.99"}/|parity_opt_adam_default parity_opt_adam|^parity\.opt_adam(_default)?$
maxpool_backward_sign|runtime/src/conv.c|s/)\] += dyp\[i \* ow + j\];/)] -= dyp[i * ow + j];/|gradcheck_maxpool2d gradcheck_maxpool2d_rect|^gradcheck\.maxpool2d
pool_tie_last|runtime/src/conv.c|s/if (v > m /if (v >= m /|gradcheck_maxpool2d_ties parity_maxpool2d_ties test_rt_conv|^((gradcheck|parity)\.maxpool2d_ties|unit\.test_rt_conv)$
conv1x1_backward_alpha|runtime/src/conv.c|s/nnrt_sgemm(1, 0, d.kg, d.ohw, d.fg, 1.0f, wg/nnrt_sgemm(1, 0, d.kg, d.ohw, d.fg, -1.0f, wg/|gradcheck_conv2d_1x1|^gradcheck\.conv2d_1x1$
conv1x1_backward_transpose|runtime/src/conv.c|s/nnrt_sgemm(1, 0, d.kg, d.ohw, d.fg, 1.0f, wg/nnrt_sgemm(0, 0, d.kg, d.ohw, d.fg, 1.0f, wg/|gradcheck_conv2d_1x1|^gradcheck\.conv2d_1x1$
cosine_schedule|compiler/optim/schedule.c|s/(1.0 + %s(3.141592653589793 \* t \/ %s))/(1.0 + %s(3.14159 * t \/ %s))/|parity_sched_cosine parity_sched_cosine_default|^parity\.sched_cosine(_default)?$
weights_crc_check|runtime/src/weights.c|s/    if (crc_calc != crc_file)/    if (0 \&\& crc_calc != crc_file)/|test_rt_weights baddata_bd_adam|^(unit\.test_rt_weights|baddata\.bd_adam)$
pretrained_crc_check|runtime/src/weights.c|s/return crc_calc == crc_file ? NN_OK : NN_ERR_CHECKSUM;/return NN_OK;/|test_rt_weights baddata_bd_adam|^(unit\.test_rt_weights|baddata\.bd_adam)$
freeze_regularize_frozen|compiler/lower/lower.c|s/use = p->is_weight \&\& !p->frozen;/use = p->is_weight;/|parity_freeze_adamw_l2 parity_freeze_sgd_l1_weight_decay parity_freeze_adam|^parity\.freeze_(adam|adamw_l2|sgd_l1_weight_decay)$
freeze_batchnorm_batch_stats|compiler/ops/batchnorm.c|s/ lower_stmt_frozen(c)) {/ 0) {/|parity_freeze_batchnorm_1d parity_freeze_batchnorm_2d gradcheck_freeze_middle|^(parity\.freeze_batchnorm_(1d|2d)|gradcheck\.freeze_middle)$
blas_beta|compiler/ops/matmul.c|s/%s, %ld, 0.0f, %s, %ld);/%s, %ld, 1.0f, %s, %ld);/|nngen parity_blas_opt_adam parity_blas_opt_sgd_momentum parity_blas_reg_l2 parity_blas_loss_cross_entropy parity_blas_act_tanh parity_blas_act_relu parity_blas_loss_mse|^parity\.blas\.
ivdep_reduction|compiler/emit/emit.c|s/written >= 0 \&\& t.stride\[written\]\[d\] != 0/written >= 0/|nngen|^golden\.
wino_input_transform|runtime/src/conv.c|s/R(0, NNRT_MADD(NNRT_MADD(D(4), -5.0f, D(2)), 4.0f, D(0)));/R(0, NNRT_MADD(NNRT_MADD(D(4), -4.0f, D(2)), 4.0f, D(0)));/|test_rt_conv_native parity_native_lenet|^(unit\.test_rt_conv_native|parity\.native\.lenet)$
sparse_resume|runtime/src/conv.c|s/s\[a\]\[j\] = first ? zero : acc\[a \* (CB) + j\];/s[a][j] = zero;/|test_rt_conv test_rt_conv_native|^unit\.test_rt_conv(_native)?$
sparse_rows_window|runtime/src/conv.c|s/s\[r\]\[j\] = NNRT_MADD(s\[r\]\[j\], v, win\[ro\[r\] + j\]);/s[r][j] = NNRT_MADD(s[r][j], v, win[ro[r] + j + 1]);/|test_rt_conv parity_lenet|^(unit\.test_rt_conv|parity\.lenet)$
sparse_list|runtime/src/conv.c|s/return (nnrt_f2u(v) << 1) != 0;/return v > 0.0f;/|test_rt_conv parity_lenet|^(unit\.test_rt_conv|parity\.lenet)$
sparse_split|runtime/src/conv.c|s/int f0 = q->f \* part \/ parts, f1/int f0 = q->f * part \/ parts + (part > 0), f1/|test_rt_threads|^unit\.test_rt_threads$
sparse_input_repack|runtime/src/conv.c|s/packed = 0; \/\* the dense kernels used the scratch \*\//(void)packed;/|test_rt_conv test_rt_conv_native|^unit\.test_rt_conv(_native)?$
sparse_input_window|runtime/src/conv.c|s/row\[b \* (CB) + j\] = NNRT_MADD(row\[b \* (CB) + j\], v, u\[b\]\[j\]);/row[b * (CB) + j] = NNRT_MADD(row[b * (CB) + j], v, u[0][j]);/|test_rt_conv parity_lenet|^(unit\.test_rt_conv|parity\.lenet)$
'

mutated=
backup=
restore() {
    if [ -n "$mutated" ]; then
        cp "$backup" "$mutated" && rm -f "$backup"
        mutated=
    fi
}
trap 'restore; exit 130' INT TERM HUP
trap 'restore' EXIT

build_targets() { # build_targets TARGETS LOG
    # shellcheck disable=SC2086
    nice -n 10 cmake --build "$build" -j2 --target nngen $1 >"$2" 2>&1
}

wanted() { # wanted NAME: listed on the command line, or no names given
    [ -z "$names" ] && return 0
    for w in $names; do [ "$w" = "$1" ] && return 0; done
    return 1
}

names="$*"
log=$(mktemp)
: >"$log.result"
while IFS='|' read -r name file expr targets regex; do
    [ -n "$name" ] && wanted "$name" || continue
    backup=$(mktemp)
    cp "$file" "$backup" || exit 2
    mutated=$file
    if ! sed "$expr" "$backup" >"$file" || cmp -s "$file" "$backup"; then
        restore
        echo "$name: the expression changes nothing in $file (the source moved on: update the list)"
        echo "STALE $name" >>"$log.result"
        continue
    fi
    start=$(date +%s)
    if ! build_targets "$targets" "$log"; then
        verdict="killed (the build fails)"
    else
        nice -n 10 ctest --test-dir "$build" -R "$regex" >"$log" 2>&1
        rc=$?
        total=$(sed -n 's/.*tests passed, [0-9]* tests failed out of \([0-9]*\).*/\1/p' "$log")
        failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of.*/\1/p' "$log")
        skipped=$(grep -c '\*\*\*Skipped' "$log")
        if [ -z "$total" ]; then
            verdict="SKIPPED (no test matches $regex)"
        elif [ "$skipped" -eq "$total" ]; then
            verdict="SKIPPED (all $total tests skipped)"
        elif [ $rc -ne 0 ]; then
            verdict="killed ($failed of $total tests failed)"
        else
            verdict="SURVIVED ($total tests passed)"
        fi
    fi
    restore
    echo "$name: $verdict, $(($(date +%s) - start)) s"
    echo "$verdict" | grep -q '^SURVIVED' && echo "SURVIVED $name" >>"$log.result"
    build_targets "$targets" "$log" || build_targets "$targets" "$log" || { echo "mutate.sh: the restored tree does not build" >&2; exit 2; }
done <<EOF
$MUTANTS
EOF
status=0
if [ -s "$log.result" ]; then
    echo "not killed:"
    sed 's/^/  /' "$log.result"
    grep -q '^SURVIVED' "$log.result" && status=1
else
    echo "every mutant run was killed (or skipped)"
fi
rm -f "$log" "$log.result"
exit $status
