/*
 * test_rt_weights.c - the weight format (docs/c-api.md "Weight file"): CRC-32,
 * the exact byte layout, export/import and save/load round trips, and every
 * rejection, each followed by a check that the tensors were not touched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nn_runtime.h"

#define NET "testnet"
#define BIG_R 60
#define BIG_C 100 /* 24,000 bytes of data: several of nnrt_load's chunks */

/* A small network: three parameters (one larger than the file chunk) with
 * gradients, and one buffer. */
typedef struct model {
    float w1[12], b1[4], w2[BIG_R * BIG_C], rm[4];
    float g1[12], gb[4], g2[BIG_R * BIG_C];
    nn_param p[3], b[1];
} model;

static nn_param param(const char *name, int rank, int d0, int d1, float *v, float *g)
{
    nn_param p;
    memset(&p, 0, sizeof p);
    p.name = name;
    p.rank = rank;
    p.dims[0] = d0;
    p.dims[1] = d1;
    p.size = rank == 2 ? (long)d0 * d1 : d0;
    p.value = v;
    p.grad = g;
    return p;
}

/* Values base + i/1024 (exact in float), gradients 7 everywhere. */
static void model_make(model *m, float base)
{
    int i;
    for (i = 0; i < 12; i++)
        m->w1[i] = base + (float)i / 1024.0f, m->g1[i] = 7.0f;
    for (i = 0; i < 4; i++)
        m->b1[i] = base - (float)i, m->gb[i] = 7.0f, m->rm[i] = base * 2.0f + (float)i;
    for (i = 0; i < BIG_R * BIG_C; i++)
        m->w2[i] = base + (float)(i % 997) / 1024.0f, m->g2[i] = 7.0f;
    m->p[0] = param("W1", 2, 3, 4, m->w1, m->g1);
    m->p[1] = param("b1", 1, 4, 0, m->b1, m->gb);
    m->p[2] = param("fc2.weight", 2, BIG_R, BIG_C, m->w2, m->g2);
    m->b[0] = param("bn.running_mean", 1, 4, 0, m->rm, NULL);
}

/* Same values and gradients, bit for bit. */
static void assert_same_data(const model *a, const model *b)
{
    assert_memory_equal(a->w1, b->w1, sizeof a->w1);
    assert_memory_equal(a->b1, b->b1, sizeof a->b1);
    assert_memory_equal(a->w2, b->w2, sizeof a->w2);
    assert_memory_equal(a->rm, b->rm, sizeof a->rm);
    assert_memory_equal(a->g1, b->g1, sizeof a->g1);
    assert_memory_equal(a->g2, b->g2, sizeof a->g2);
}

static model src, dst, snap, other;
static unsigned char img[32768], bad[32768];

static long export_model(const char *net, const model *m, int np, int nb, void *buf)
{
    long n = nnrt_export(net, m->p, np, m->b, nb, buf, 32768);
    assert_true(n > 0);
    return n;
}

/* Importing buf must fail with want and leave dst as it was. */
static void expect_import(const void *buf, size_t len, int want)
{
    model_make(&dst, -3.0f);
    model_make(&snap, -3.0f);
    assert_int_equal(nnrt_import(NET, dst.p, 3, dst.b, 1, buf, len), want);
    assert_same_data(&dst, &snap);
}

static void test_crc32(void **state)
{
    (void)state;
    assert_int_equal(nnrt_crc32(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(nnrt_crc32(nnrt_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
    assert_int_equal(nnrt_crc32(0, "a", 1), 0xe8b7be43u);
    assert_int_equal(nnrt_crc32(0, "", 0), 0u);
}

/* The whole image of a one-tensor network, byte for byte (CRC from zlib). */
static void test_layout(void **state)
{
    static const unsigned char want[46] = {
        0x4e, 0x4e, 0x57, 0x31, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
        0x6e, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x77, 0x01, 0x00,
        0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00,
        0x00, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x99, 0x86, 0x5d, 0x5a};
    float v[2] = {1.0f, -2.0f};
    nn_param p = param("w", 1, 2, 0, v, NULL);
    unsigned char buf[64];
    (void)state;
    assert_int_equal(nnrt_weights_size("n", &p, 1, NULL, 0), 46);
    assert_int_equal(nnrt_export("n", &p, 1, NULL, 0, buf, sizeof buf), 46);
    assert_memory_equal(buf, want, 46);
    v[0] = v[1] = 0.0f;
    assert_int_equal(nnrt_import("n", &p, 1, NULL, 0, buf, 46), NN_OK);
    assert_true(v[0] == 1.0f && v[1] == -2.0f);
}

static void test_round_trip(void **state)
{
    long n;
    (void)state;
    model_make(&src, 1.5f);
    n = export_model(NET, &src, 3, 1, img);
    assert_int_equal((size_t)n, nnrt_weights_size(NET, src.p, 3, src.b, 1));
    assert_int_equal(n, 4 + 4 + 4 + 7 + 4 + (4 + 2 + 4 + 8 + 48) + (4 + 2 + 4 + 4 + 16) +
                            (4 + 10 + 4 + 8 + 4 * BIG_R * BIG_C) + 4 + (4 + 15 + 4 + 4 + 16) + 4);
    assert_int_equal(nnrt_crc32(0, img, (size_t)n - 4),
                     img[n - 4] | img[n - 3] << 8 | img[n - 2] << 16 | (uint32_t)img[n - 1] << 24);
    model_make(&dst, -3.0f);
    assert_int_equal(nnrt_import(NET, dst.p, 3, dst.b, 1, img, (size_t)n), NN_OK);
    assert_memory_equal(dst.w1, src.w1, sizeof src.w1);
    assert_memory_equal(dst.b1, src.b1, sizeof src.b1);
    assert_memory_equal(dst.w2, src.w2, sizeof src.w2);
    assert_memory_equal(dst.rm, src.rm, sizeof src.rm);
    model_make(&snap, -3.0f); /* the gradients are not touched */
    assert_memory_equal(dst.g1, snap.g1, sizeof snap.g1);
    assert_memory_equal(dst.g2, snap.g2, sizeof snap.g2);
}

/* A NULL value (a const tensor of an nngen --weights training build): the
 * tensor is checked in the image (name, shape) but not written; the others
 * are. Export still requires every value. */
static void test_import_skips_null_values(void **state)
{
    long n;
    (void)state;
    model_make(&src, 1.5f);
    n = export_model(NET, &src, 3, 1, img);
    model_make(&dst, -3.0f);
    model_make(&snap, -3.0f);
    dst.p[1].value = NULL;
    dst.b[0].value = NULL;
    assert_int_equal(nnrt_import(NET, dst.p, 3, dst.b, 1, img, (size_t)n), NN_OK);
    assert_memory_equal(dst.w1, src.w1, sizeof src.w1);
    assert_memory_equal(dst.w2, src.w2, sizeof src.w2);
    assert_memory_equal(dst.b1, snap.b1, sizeof snap.b1); /* skipped */
    assert_memory_equal(dst.rm, snap.rm, sizeof snap.rm);
    dst.p[1].dims[0] = 5, dst.p[1].size = 5; /* a skipped tensor's shape is still checked */
    assert_int_equal(nnrt_import(NET, dst.p, 3, dst.b, 1, img, (size_t)n), NN_ERR_SHAPE);
    assert_int_equal(nnrt_export(NET, dst.p, 3, dst.b, 1, bad, sizeof bad), NN_ERR_ARG);
    nnrt_init_copy(dst.b1, src.b1, 4);
    assert_memory_equal(dst.b1, src.b1, sizeof src.b1);
}

static void test_capacity_and_args(void **state)
{
    size_t need;
    int i;
    (void)state;
    model_make(&src, 1.5f);
    need = nnrt_weights_size(NET, src.p, 3, src.b, 1);
    memset(bad, 0xaa, sizeof bad);
    assert_int_equal(nnrt_export(NET, src.p, 3, src.b, 1, bad, need - 1), NN_ERR_CAPACITY);
    for (i = 0; i < (int)need; i++)
        assert_int_equal(bad[i], 0xaa);
    assert_int_equal(nnrt_export(NET, src.p, 3, src.b, 1, bad, need), (long)need);
    assert_int_equal(nnrt_export(NULL, src.p, 3, src.b, 1, bad, need), NN_ERR_ARG);
    assert_int_equal(nnrt_export(NET, src.p, 3, src.b, 1, NULL, need), NN_ERR_ARG);
    assert_int_equal(nnrt_import(NET, src.p, -1, src.b, 1, bad, need), NN_ERR_ARG);
    src.p[1].size = 5; /* != product of dims */
    assert_int_equal(nnrt_weights_size(NET, src.p, 3, src.b, 1), 0);
    assert_int_equal(nnrt_import(NET, src.p, 3, src.b, 1, bad, need), NN_ERR_ARG);
    src.p[1].size = 4;
    src.p[1].rank = 5;
    assert_int_equal(nnrt_export(NET, src.p, 3, src.b, 1, bad, need), NN_ERR_ARG);
}

/* Another network, version, tensor count, name, rank, dim, buffer count. */
static void test_reject_mismatches(void **state)
{
    nn_param four[4];
    long n;
    (void)state;
    model_make(&other, 2.0f);
    expect_import(img, (size_t)export_model("othernet", &other, 3, 1, img), NN_ERR_NETWORK);
    expect_import(img, (size_t)export_model("testne", &other, 3, 1, img), NN_ERR_NETWORK);
    expect_import(img, (size_t)export_model(NET, &other, 2, 1, img), NN_ERR_SHAPE);
    expect_import(img, (size_t)export_model(NET, &other, 3, 0, img), NN_ERR_SHAPE);
    other.p[1].name = "b2";
    expect_import(img, (size_t)export_model(NET, &other, 3, 1, img), NN_ERR_SHAPE);
    model_make(&other, 2.0f);
    other.p[0] = param("W1", 1, 12, 0, other.w1, NULL); /* rank */
    expect_import(img, (size_t)export_model(NET, &other, 3, 1, img), NN_ERR_SHAPE);
    other.p[0] = param("W1", 2, 4, 3, other.w1, NULL); /* dims */
    expect_import(img, (size_t)export_model(NET, &other, 3, 1, img), NN_ERR_SHAPE);
    model_make(&other, 2.0f);
    other.b[0] = param("bn.running_mean", 1, 3, 0, other.rm, NULL);
    expect_import(img, (size_t)export_model(NET, &other, 3, 1, img), NN_ERR_SHAPE);
    /* a file with one tensor more than the model */
    model_make(&other, 2.0f);
    memcpy(four, other.p, sizeof other.p);
    four[3] = other.b[0];
    n = nnrt_export(NET, four, 4, other.b, 1, img, sizeof img);
    assert_true(n > 0);
    expect_import(img, (size_t)n, NN_ERR_SHAPE);
}

/* Magic, version (with and without a matching CRC), trailing bytes, every
 * truncation. */
static void test_reject_format(void **state)
{
    long n, k;
    uint32_t crc;
    (void)state;
    model_make(&src, 1.5f);
    n = export_model(NET, &src, 3, 1, img);
    memcpy(bad, img, (size_t)n);
    bad[0] = 'X';
    expect_import(bad, (size_t)n, NN_ERR_FORMAT);
    bad[0] = 'N';
    bad[3] = '2';
    expect_import(bad, (size_t)n, NN_ERR_FORMAT);
    expect_import("NNW0", 4, NN_ERR_FORMAT);
    memcpy(bad, img, (size_t)n);
    bad[4] = 2;
    expect_import(bad, (size_t)n, NN_ERR_VERSION);
    crc = nnrt_crc32(0, bad, (size_t)n - 4);
    bad[n - 4] = (unsigned char)crc, bad[n - 3] = (unsigned char)(crc >> 8);
    bad[n - 2] = (unsigned char)(crc >> 16), bad[n - 1] = (unsigned char)(crc >> 24);
    expect_import(bad, (size_t)n, NN_ERR_VERSION);
    memcpy(bad, img, (size_t)n);
    bad[n] = 0;
    expect_import(bad, (size_t)n + 1, NN_ERR_FORMAT);
    memset(bad + n, 0, 100);
    expect_import(bad, (size_t)n + 100, NN_ERR_FORMAT);
    for (k = 0; k < n; k += k < 200 || k > n - 200 ? 1 : 37)
        expect_import(img, (size_t)k, NN_ERR_TRUNCATED);
}

/* Where a byte of the image lies: 0 magic, 1 version, 2 a name or data
 * byte or the CRC (the structure stays intact: CHECKSUM), 3 a length, count,
 * rank or dim (any error will do). */
static int byte_kind(const model *m, long off, long n)
{
    long pos = 4 + 4 + 4 + 7 + 4;
    int i, g;
    if (off < 8)
        return off < 4 ? 0 : 1;
    if (off >= 12 && off < 19)
        return 2;
    if (off >= n - 4)
        return 2;
    for (g = 0; g < 2; g++) {
        const nn_param *ps = g == 0 ? m->p : m->b;
        if (g == 1)
            pos += 4;
        for (i = 0; i < (g == 0 ? 3 : 1); i++) {
            long name = pos + 4, dims = name + (long)strlen(ps[i].name) + 4;
            long data = dims + 4 * ps[i].rank;
            if ((off >= name && off < dims - 4) || (off >= data && off < data + 4 * ps[i].size))
                return 2;
            pos = data + 4 * ps[i].size;
        }
    }
    return 3;
}

/* One flipped bit: an error, the tensors untouched, and CHECKSUM whenever
 * the structure survived. All bits of the first and last 300 bytes, one
 * byte in 13 elsewhere. */
static void test_reject_flipped_bits(void **state)
{
    static const int want[3] = {NN_ERR_FORMAT, NN_ERR_VERSION, NN_ERR_CHECKSUM};
    long n, off;
    int bit, st, kind;
    (void)state;
    model_make(&src, 1.5f);
    n = export_model(NET, &src, 3, 1, img);
    for (off = 0; off < n; off += off < 300 || off >= n - 300 ? 1 : 13) {
        kind = byte_kind(&src, off, n);
        for (bit = 0; bit < 8; bit++) {
            memcpy(bad, img, (size_t)n);
            bad[off] ^= (unsigned char)(1u << bit);
            model_make(&dst, -3.0f);
            st = nnrt_import(NET, dst.p, 3, dst.b, 1, bad, (size_t)n);
            if (kind < 3 && st != want[kind])
                fail_msg("bit %d of byte %ld: status %d, want %d", bit, off, st, want[kind]);
            assert_true(st < 0);
            model_make(&snap, -3.0f);
            assert_same_data(&dst, &snap);
        }
    }
}

/* The pretrained reader (fine-tuning: nnrt_import_pretrained) checks the
 * CRC like nnrt_import: an intact image copies every matching tensor; one
 * flipped bit in the data or in the CRC itself is NN_ERR_CHECKSUM, with
 * nothing written. */
static void test_pretrained_crc(void **state)
{
    long n, offs[2];
    int i;
    (void)state;
    model_make(&src, 1.5f);
    n = export_model("another_net", &src, 3, 1, img);
    model_make(&dst, -3.0f);
    assert_int_equal(nnrt_import_pretrained(dst.p, 3, img, (size_t)n), 3);
    assert_memory_equal(dst.w2, src.w2, sizeof dst.w2);
    offs[0] = n / 2; /* inside fc2.weight's data */
    offs[1] = n - 1; /* the CRC's last byte */
    for (i = 0; i < 2; i++) {
        memcpy(bad, img, (size_t)n);
        bad[offs[i]] ^= 0x10u;
        model_make(&dst, -3.0f);
        assert_int_equal(nnrt_import_pretrained(dst.p, 3, bad, (size_t)n), NN_ERR_CHECKSUM);
        model_make(&snap, -3.0f);
        assert_same_data(&dst, &snap);
    }
}

/* ---- files */
static char dir[64], path[128], tmp_path[160];

static int setup_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/nnrt_weights_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/w.nnw", dir);
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", path);
    return 0;
}

/* the names in dir but "." and ".."; the first in first (when not NULL) */
static int dir_entries(char *first, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (n++ == 0 && first)
            snprintf(first, cap, "%s", de->d_name);
    }
    closedir(d);
    return n;
}

static int teardown_dir(void **state)
{
    char name[256], p[400];
    (void)state;
    while (dir_entries(name, sizeof name) > 0) {
        snprintf(p, sizeof p, "%s/%s", dir, name);
        if (rmdir(p) != 0 && unlink(p) != 0)
            return -1;
    }
    return rmdir(dir);
}

static long file_read(const char *p, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(p, "rb");
    long n;
    assert_non_null(f);
    n = (long)fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void file_write(const char *p, const void *buf, size_t n)
{
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* nnrt_load must fail with want and leave dst as it was. */
static void expect_load(int want)
{
    model_make(&dst, -3.0f);
    model_make(&snap, -3.0f);
    assert_int_equal(nnrt_load(path, NET, dst.p, 3, dst.b, 1), want);
    assert_same_data(&dst, &snap);
}

static void test_save_load(void **state)
{
    long n;
    (void)state;
    model_make(&src, 1.5f);
    assert_int_equal(nnrt_save(path, NET, src.p, 3, src.b, 1), NN_OK);
    assert_int_equal(dir_entries(NULL, 0), 1);
    n = export_model(NET, &src, 3, 1, img);
    assert_int_equal(file_read(path, bad, sizeof bad), n); /* the file is the image */
    assert_memory_equal(bad, img, (size_t)n);
    model_make(&dst, -3.0f);
    assert_int_equal(nnrt_load(path, NET, dst.p, 3, dst.b, 1), NN_OK);
    assert_memory_equal(dst.w2, src.w2, sizeof src.w2);
    assert_memory_equal(dst.rm, src.rm, sizeof src.rm);
    model_make(&dst, -3.0f); /* a NULL value: skipped, as by nnrt_import */
    dst.p[0].value = NULL;
    assert_int_equal(nnrt_load(path, NET, dst.p, 3, dst.b, 1), NN_OK);
    model_make(&snap, -3.0f);
    assert_memory_equal(dst.w1, snap.w1, sizeof snap.w1);
    assert_memory_equal(dst.w2, src.w2, sizeof src.w2);
    dst.p[0].value = dst.w1;
    /* saving over an existing file leaves the new, valid file */
    model_make(&other, 4.25f);
    assert_int_equal(nnrt_save(path, NET, other.p, 3, other.b, 1), NN_OK);
    assert_int_equal(nnrt_load(path, NET, dst.p, 3, dst.b, 1), NN_OK);
    assert_memory_equal(dst.w1, other.w1, sizeof other.w1);
    assert_memory_equal(dst.w2, other.w2, sizeof other.w2);
    assert_int_equal(dir_entries(NULL, 0), 1); /* no temporary left */
}

/* A save never goes through a symlink planted at the old temporary name
 * "PATH.tmp", and replaces only a regular file: a symlink, a directory or a
 * FIFO at PATH is refused (NN_ERR_IO) and left as it was; a save into a
 * missing directory creates nothing. */
static void test_save_failures(void **state)
{
    char missing[192], victim[192], link_target[192];
    long n;
    (void)state;
    model_make(&src, 1.5f);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    file_write(victim, "precious", 8);
    assert_int_equal(symlink(victim, tmp_path), 0);
    assert_int_equal(nnrt_save(path, NET, src.p, 3, src.b, 1), NN_OK);
    assert_int_equal(file_read(victim, bad, sizeof bad), 8);
    assert_memory_equal(bad, "precious", 8);
    assert_int_equal(readlink(tmp_path, link_target, sizeof link_target), (long)strlen(victim));
    n = file_read(path, img, sizeof img);
    assert_int_equal(dir_entries(NULL, 0), 3); /* path, the symlink, victim: no temporary */
    unlink(tmp_path);
    model_make(&other, 4.25f);
    /* path a symlink (to victim): refused, neither replaced nor followed */
    unlink(path);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(nnrt_save(path, NET, other.p, 3, other.b, 1), NN_ERR_IO);
    assert_int_equal(file_read(victim, bad, sizeof bad), 8);
    assert_int_equal(readlink(path, link_target, sizeof link_target), (long)strlen(victim));
    unlink(path);
    /* a FIFO, a directory: refused, left in place */
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(nnrt_save(path, NET, other.p, 3, other.b, 1), NN_ERR_IO);
    {
        struct stat st;
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
    }
    unlink(path);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(nnrt_save(path, NET, other.p, 3, other.b, 1), NN_ERR_IO);
    assert_int_equal(rmdir(path), 0);
    unlink(victim);
    assert_int_equal(dir_entries(NULL, 0), 0);
    (void)n;
    snprintf(missing, sizeof missing, "%s/nope/w.nnw", dir);
    assert_int_equal(nnrt_save(missing, NET, src.p, 3, src.b, 1), NN_ERR_IO);
    assert_false(exists(missing));
    assert_int_equal(dir_entries(NULL, 0), 0);
    assert_int_equal(nnrt_save(NULL, NET, src.p, 3, src.b, 1), NN_ERR_ARG);
}

/* Concurrent saves (C-API.md: "the old or the new, never half"): 4
 * processes each save their own model to one path and load it back, in a
 * loop for 0.6 s. Every load must succeed (CRC and all) and give one of the
 * four models whole; no temporary is left. (With one fixed temporary name,
 * saves failed, and loads saw files of two writers.) */
enum { WRITERS = 4 };

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* the writer k's loop: exit status 0, or 1 on a failed save, 2 on a failed
 * load, 3 on a load that is no writer's model */
static int writer(int k)
{
    static model mine, seen;
    double end = seconds() + 0.6;
    int rounds = 0, j;
    model_make(&mine, 1.0f + (float)k);
    while (seconds() < end || rounds < 5) {
        if (nnrt_save(path, NET, mine.p, 3, mine.b, 1) != NN_OK)
            return 1;
        model_make(&seen, -9.0f);
        if (nnrt_load(path, NET, seen.p, 3, seen.b, 1) != NN_OK)
            return 2;
        for (j = 0; j < WRITERS; j++) {
            model_make(&other, 1.0f + (float)j);
            if (!memcmp(seen.w1, other.w1, sizeof seen.w1) && !memcmp(seen.w2, other.w2, sizeof seen.w2) &&
                !memcmp(seen.rm, other.rm, sizeof seen.rm))
                break;
        }
        if (j == WRITERS)
            return 3;
        rounds++;
    }
    return 0;
}

static void test_concurrent_saves(void **state)
{
    pid_t pids[WRITERS];
    int k, status;
    char name[256];
    (void)state;
    for (k = 0; k < WRITERS; k++) {
        pids[k] = fork();
        assert_true(pids[k] >= 0);
        if (pids[k] == 0)
            _exit(writer(k));
    }
    for (k = 0; k < WRITERS; k++) {
        assert_int_equal(waitpid(pids[k], &status, 0), pids[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(dir_entries(name, sizeof name), 1);
    assert_string_equal(name, "w.nnw");
}

static void test_load_rejections(void **state)
{
    long n;
    (void)state;
    assert_int_equal(nnrt_load(path, NET, dst.p, 3, dst.b, 1), NN_ERR_IO); /* missing */
    model_make(&other, 2.0f);
    file_write(path, img, (size_t)export_model("othernet", &other, 3, 1, img));
    expect_load(NN_ERR_NETWORK);
    file_write(path, img, (size_t)export_model(NET, &other, 2, 1, img));
    expect_load(NN_ERR_SHAPE);
    n = export_model(NET, &other, 3, 1, img);
    memcpy(bad, img, (size_t)n);
    bad[n - 100] ^= 0x10; /* a float near the end: seen only after all chunks */
    file_write(path, bad, (size_t)n);
    expect_load(NN_ERR_CHECKSUM);
    bad[n - 100] ^= 0x10;
    bad[4] = 9;
    file_write(path, bad, (size_t)n);
    expect_load(NN_ERR_VERSION);
    file_write(path, img, (size_t)n - 1);
    expect_load(NN_ERR_TRUNCATED);
    file_write(path, img, 5000);
    expect_load(NN_ERR_TRUNCATED);
    file_write(path, img, 0);
    expect_load(NN_ERR_TRUNCATED);
    memcpy(bad, img, (size_t)n);
    bad[n] = '\n';
    file_write(path, bad, (size_t)n + 1);
    expect_load(NN_ERR_FORMAT);
    file_write(path, "PK\3\4 not weights", 16);
    expect_load(NN_ERR_FORMAT);
    file_write(path, img, (size_t)n);
    assert_int_equal(nnrt_load(path, NET, dst.p, 3, dst.b, 1), NN_OK);
    assert_memory_equal(dst.w2, other.w2, sizeof other.w2);
}

static void test_strerror(void **state)
{
    int s;
    (void)state;
    for (s = 1; s >= -10; s--)
        assert_non_null(nnrt_strerror(s));
    assert_string_equal(nnrt_strerror(NN_ERR_CHECKSUM), "CRC-32 mismatch: the file is damaged");
    assert_string_not_equal(nnrt_strerror(NN_ERR_IO), nnrt_strerror(NN_ERR_TRUNCATED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_import_skips_null_values),
        cmocka_unit_test(test_capacity_and_args),
        cmocka_unit_test(test_reject_mismatches),
        cmocka_unit_test(test_reject_format),
        cmocka_unit_test(test_reject_flipped_bits),
        cmocka_unit_test(test_pretrained_crc),
        cmocka_unit_test_setup_teardown(test_save_load, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_save_failures, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_concurrent_saves, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_load_rejections, setup_dir, teardown_dir),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
