/*
 * freeze_test.c - freeze and pretrained weights through the generated API:
 *   - ly_ft's frozen parameters (feat: conv2d + batchnorm) have no gradient,
 *     keep their values through training steps (AdamW's decay and l2 skip
 *     them) and the frozen batchnorm keeps its running statistics; the
 *     trainable ones change; NET_TRAINABLE_SCALARS counts the trainable ones
 *   - NET_load_pretrained / NET_import_pretrained from ly_src's file: the
 *     count of tensors copied (name and shape equal), z.weight and z.bias of
 *     another shape skipped, values copied exactly
 *   - a damaged (one flipped byte), truncated or missing file is refused with
 *     a negative status and the model unchanged
 * argv[1]: a scratch directory for the weight files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ly_ft.h"
#include "ly_src.h"

#include "check.h"

static float x[8 * 36];
static int32_t y3[8], y2[8];

static void fill(void) {
    unsigned s = 12345u;
    for (int i = 0; i < 8 * 36; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (float)((s >> 8) % 2001) / 1000.0f - 1.0f;
    }
    for (int i = 0; i < 8; i++) {
        y3[i] = i % 3;
        y2[i] = i % 2;
    }
}

static int is_frozen(const char *name) {
    return strncmp(name, "feat.", 5) == 0;
}

static void check_training(void) {
    static ly_ft m, before;
    ly_ft_init(&m, 7);
    long trainable = 0;
    for (int i = 0; i < LY_FT_PARAM_COUNT; i++) {
        nn_param p = ly_ft_param(&m, i);
        CHECK(is_frozen(p.name) == (p.grad == NULL), "%s: grad %s", p.name, p.grad ? "set" : "NULL");
        if (!is_frozen(p.name))
            trainable += p.size;
    }
    CHECK(LY_FT_TRAINABLE_SCALARS == trainable, "NET_TRAINABLE_SCALARS %ld, trainable %ld",
          (long)LY_FT_TRAINABLE_SCALARS, trainable);
    CHECK(LY_FT_TRAINABLE_SCALARS < LY_FT_PARAM_SCALARS, "nothing frozen");
    CHECK(LY_SRC_TRAINABLE_SCALARS == LY_SRC_PARAM_SCALARS, "unfrozen network: every scalar trains");
    before = m;
    for (int step = 0; step < 5; step++) {
        float loss = ly_ft_train_step(&m, x, y2, 1); /* n = 1: a frozen batchnorm needs no batch statistics */
        CHECK(loss == loss, "step %d: loss NaN", step);
        ly_ft_train_step(&m, x, y2, 8);
    }
    for (int i = 0; i < LY_FT_PARAM_COUNT; i++) {
        nn_param p = ly_ft_param(&m, i), q = ly_ft_param(&before, i);
        int same = memcmp(p.value, q.value, sizeof(float) * (size_t)p.size) == 0;
        CHECK(same == is_frozen(p.name), "%s %s through training", p.name, same ? "unchanged" : "changed");
    }
    for (int i = 0; i < LY_FT_BUFFER_COUNT; i++) {
        nn_param p = ly_ft_buffer(&m, i), q = ly_ft_buffer(&before, i);
        CHECK(memcmp(p.value, q.value, sizeof(float) * (size_t)p.size) == 0, "%s: a frozen batchnorm's running "
              "statistic changed", p.name);
    }
}

static long file_bytes(const char *path, unsigned char *buf, long cap) {
    FILE *f = fopen(path, "rb");
    long n = f ? (long)fread(buf, 1, (size_t)cap, f) : -1;
    if (f)
        fclose(f);
    return n;
}

static void write_bytes(const char *path, const unsigned char *buf, long n) {
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(buf, 1, (size_t)n, f);
        fclose(f);
    }
}

static int same_model(const ly_ft *a, const ly_ft *b) {
    return memcmp(&a->param, &b->param, sizeof a->param) == 0 && memcmp(&a->buffer, &b->buffer, sizeof a->buffer) == 0;
}

static void check_pretrained(const char *dir) {
    static ly_src src;
    static ly_ft m, before;
    static unsigned char img[LY_SRC_WEIGHTS_BYTES + 16];
    char path[1024], bad[1024];
    snprintf(path, sizeof path, "%s/ly_src.nnw", dir);
    snprintf(bad, sizeof bad, "%s/ly_src_bad.nnw", dir);
    ly_src_init(&src, 1);
    for (int e = 0; e < 3; e++)
        ly_src_train_step(&src, x, y3, 8); /* running statistics and weights away from their init */
    CHECK(ly_src_save(&src, path) == 0, "save %s", path);
    ly_ft_init(&m, 2);
    before = m;
    /* feat.weight, feat.bias, feat.1.gamma?, ...: every feat tensor; z.* differ in shape */
    int got = ly_ft_load_pretrained(&m, path);
    int want = 0;
    for (int i = 0; i < LY_FT_PARAM_COUNT; i++)
        want += is_frozen(ly_ft_param(&m, i).name);
    want += LY_FT_BUFFER_COUNT;
    CHECK(got == want, "load_pretrained copied %d tensors, expected %d", got, want);
    for (int i = 0; i < LY_FT_PARAM_COUNT; i++) {
        nn_param p = ly_ft_param(&m, i);
        int found = 0;
        for (int j = 0; j < LY_SRC_PARAM_COUNT; j++) {
            nn_param s = ly_src_param(&src, j);
            if (strcmp(s.name, p.name) == 0 && s.size == p.size && s.rank == p.rank) {
                found = 1;
                CHECK(memcmp(s.value, p.value, sizeof(float) * (size_t)p.size) == 0, "%s not copied", p.name);
            }
        }
        if (!found) {
            nn_param q = ly_ft_param(&before, i);
            CHECK(memcmp(q.value, p.value, sizeof(float) * (size_t)p.size) == 0, "%s changed", p.name);
        }
    }
    nn_param zb = ly_ft_param(&m, LY_FT_PARAM_COUNT - 1);
    CHECK(strcmp(zb.name, "z.bias") == 0, "last parameter %s", zb.name);
    CHECK(zb.value[0] == ly_ft_param(&before, LY_FT_PARAM_COUNT - 1).value[0], "z.bias of another shape copied");
    for (int i = 0; i < LY_FT_BUFFER_COUNT; i++) {
        nn_param p = ly_ft_buffer(&m, i), s = ly_src_buffer(&src, i);
        CHECK(memcmp(s.value, p.value, sizeof(float) * (size_t)p.size) == 0, "buffer %s not copied", p.name);
    }

    long n = file_bytes(path, img, (long)sizeof img);
    CHECK(n == LY_SRC_WEIGHTS_BYTES, "file of %ld bytes", n);
    ly_ft_init(&m, 3);
    before = m;
    CHECK(ly_ft_import_pretrained(&m, img, (size_t)n) == want, "import_pretrained count");
    ly_ft_init(&m, 3);
    img[n - 6] ^= 0x10; /* in the data of the last tensor */
    int st = ly_ft_import_pretrained(&m, img, (size_t)n);
    CHECK(st == NN_ERR_CHECKSUM, "damaged image: status %d", st);
    CHECK(same_model(&m, &before), "a refused image changed the model");
    write_bytes(bad, img, n);
    CHECK(ly_ft_load_pretrained(&m, bad) == NN_ERR_CHECKSUM, "damaged file accepted");
    img[n - 6] ^= 0x10; /* in the data of the last tensor */
    write_bytes(bad, img, n - 3);
    CHECK(ly_ft_load_pretrained(&m, bad) == NN_ERR_TRUNCATED, "truncated file accepted");
    img[0] = 'X';
    CHECK(ly_ft_import_pretrained(&m, img, (size_t)n) == NN_ERR_FORMAT, "bad magic accepted");
    snprintf(bad, sizeof bad, "%s/no/such/file.nnw", dir);
    CHECK(ly_ft_load_pretrained(&m, bad) == NN_ERR_IO, "missing file");
    CHECK(same_model(&m, &before), "a refused file changed the model");
    /* NET_load stays strict: another network's file is refused */
    CHECK(ly_ft_load(&m, path) == NN_ERR_NETWORK, "NET_load took another network's file");
}

int main(int argc, char **argv) {
    fill();
    check_training();
    check_pretrained(argc > 1 ? argv[1] : ".");
    printf("%s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
