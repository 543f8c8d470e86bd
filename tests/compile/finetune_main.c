/*
 * finetune_main.c - one program, two builds of finetune/ft.nn (finetune.sh
 * compiles it against each): the plain training build, which starts from
 * src.nnw (tests/layers/ly_src.nn's weight file) by NET_load_pretrained
 * after NET_init, and `nngen ft.nn --weights src.nnw` (FT_CONST_SCALARS
 * defined), whose frozen tensors (feat's) are const data and whose NET_init
 * starts the others from the file (z) or their initializers (h, g). Both print to stdout, as the bits of each
 * float, every parameter and buffer after NET_init, the loss of each of a
 * few training steps and every tensor after them: finetune.sh requires
 * the two outputs to be equal. To stderr: "sizeof N" (the model struct),
 * and FAIL lines for what only the --weights build checks:
 *   - NET_param of a frozen tensor: grad NULL, value not inside the model;
 *     of a trainable one: grad and value inside the model
 *   - NET_load_pretrained and NET_import_pretrained skip the const tensors
 *     (of src.nnw they take z's two tensors alone)
 *   - NET_save writes every tensor (the file NET_load of the plain build
 *     reads) and NET_load of it, after NET_init with another seed, skips
 *     the const tensors and restores the others bit for bit
 * Exit 0 when no check failed.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ft.h"

static ft m;
static float x[8 * 36];
static int32_t y[8];
static int failures;

static void fail(const char *what, const char *name) {
    fprintf(stderr, "FAIL: %s%s%s\n", what, name ? ": " : "", name ? name : "");
    failures++;
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static void print_tensor(const char *when, nn_param p) {
    printf("%s %s", when, p.name);
    for (long k = 0; k < p.size; k++)
        printf(" %08lx", (unsigned long)bits(p.value[k]));
    printf("\n");
}

static void print_model(const char *when, ft *a) {
    for (int i = 0; i < FT_PARAM_COUNT; i++)
        print_tensor(when, ft_param(a, i));
    for (int i = 0; i < FT_BUFFER_COUNT; i++)
        print_tensor(when, ft_buffer(a, i));
}

#ifdef FT_CONST_SCALARS
static ft other;

static int in_model(const ft *a, const float *p) {
    const char *c = (const char *)p, *lo = (const char *)a;
    return c >= lo && c < lo + sizeof *a;
}

static int same_tensors(ft *a, ft *b) {
    for (int i = 0; i < FT_PARAM_COUNT; i++) {
        nn_param p = ft_param(a, i), q = ft_param(b, i);
        if (memcmp(p.value, q.value, sizeof(float) * (size_t)p.size))
            return 0;
    }
    for (int i = 0; i < FT_BUFFER_COUNT; i++) {
        nn_param p = ft_buffer(a, i), q = ft_buffer(b, i);
        if (memcmp(p.value, q.value, sizeof(float) * (size_t)p.size))
            return 0;
    }
    return 1;
}

static void check_const_build(void) {
    static unsigned char img[FT_WEIGHTS_BYTES];
    for (int i = 0; i < FT_PARAM_COUNT; i++) {
        nn_param p = ft_param(&m, i);
        int frozen = strncmp(p.name, "feat.", 5) == 0;
        if (frozen && (p.grad || in_model(&m, p.value)))
            fail("a frozen parameter has a gradient or lives in the model", p.name);
        if (!frozen && (!p.grad || !in_model(&m, p.value)))
            fail("a trainable parameter lacks a gradient or lives outside the model", p.name);
    }
    for (int i = 0; i < FT_BUFFER_COUNT; i++)
        if (in_model(&m, ft_buffer(&m, i).value))
            fail("a frozen batchnorm's buffer lives in the model", ft_buffer(&m, i).name);
    if (ft_load_pretrained(&m, "src.nnw") != 2) /* z.weight, z.bias; not feat's */
        fail("NET_load_pretrained: not z's two tensors of src.nnw alone", NULL);
    if (ft_save(&m, "out.nnw") != 0 || ft_export(&m, img, sizeof img) != FT_WEIGHTS_BYTES)
        fail("NET_save / NET_export", NULL);
    if (ft_import_pretrained(&m, img, sizeof img) != FT_PARAM_COUNT + FT_BUFFER_COUNT -
                                                           4 /* feat.gamma, beta, 1.weight, 1.bias */ - 2)
        fail("NET_import_pretrained: not every writable tensor of its own image", NULL);
    ft_init(&other, 99);
    if (same_tensors(&m, &other))
        fail("NET_init with another seed gave the same model", NULL);
    if (ft_load(&other, "out.nnw") != 0 || !same_tensors(&m, &other))
        fail("NET_load of NET_save's file did not restore the model", NULL);
    ft_init(&other, 99);
    if (ft_import(&other, img, sizeof img) != 0 || !same_tensors(&m, &other))
        fail("NET_import of NET_export's image did not restore the model", NULL);
}
#endif

int main(void) {
    unsigned s = 12345u;
    for (int i = 0; i < 8 * 36; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) % 2001) / 1000.0f - 1.0f;
    }
    for (int i = 0; i < 8; i++)
        y[i] = i % 3;
    fprintf(stderr, "sizeof %lu\n", (unsigned long)sizeof m);
    ft_init(&m, 7);
#ifndef FT_CONST_SCALARS
    if (ft_load_pretrained(&m, "src.nnw") != 8) /* feat's four parameters and two buffers, z's two */
        fail("the plain build's NET_load_pretrained did not take feat and z from src.nnw", NULL);
#endif
    print_model("init", &m);
    for (int step = 0; step < 4; step++)
        printf("loss %d %08lx\n", step, (unsigned long)bits(ft_train_step(&m, x, y, step % 2 ? 8 : 1)));
    print_model("trained", &m);
#ifdef FT_CONST_SCALARS
    check_const_build();
#endif
    return failures != 0;
}
