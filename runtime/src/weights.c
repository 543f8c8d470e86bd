/*
 * weights.c - CRC-32 and the weight image (docs/c-api.md "Weight file"): its
 * size, export into a caller's buffer, validating import from one, and the
 * byte streams (nnrt_out, nnrt_in: internal.h) behind them, which files.c
 * runs over files.
 *
 * Invariants: images are written and read byte by byte, little-endian
 * whatever the host; an import validates the whole image before it writes
 * any tensor, so on any error nothing is written; every length read from
 * an image is bounded (saturating products), never trusted to allocate.
 *
 * Weight image status codes (nnrt_import, nnrt_load): the image is walked in
 * file order. A bad magic (FORMAT) or format version (VERSION) stops the walk
 * at once, since nothing after them can be trusted. Otherwise the structure is
 * walked to its end using the file's own lengths: data ending early gives
 * TRUNCATED, bytes after the CRC give FORMAT; then the CRC is compared
 * (CHECKSUM); only an intact image is compared with the caller's network:
 * the name (NETWORK), then counts, names, ranks and dims (SHAPE). So a
 * damaged file whose structure is intact reports CHECKSUM even when the
 * damage hit a name, and a healthy file of another network reports NETWORK.
 */
#include "internal.h"

/* --------------------------------------------------------- weight format */
/* u32 values, little-endian byte by byte whatever the host */
static inline void nnrt_put_le32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)((v >> 8) & 0xffu);
    p[2] = (unsigned char)((v >> 16) & 0xffu);
    p[3] = (unsigned char)((v >> 24) & 0xffu);
}

static inline uint32_t nnrt_get_le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* CRC-32, IEEE 802.3 reflected polynomial 0xEDB88320, table-driven:
 * table[n] = n shifted right eight times, xoring the polynomial whenever a 1
 * falls out; crc' = table[(crc ^ byte) & 0xff] ^ (crc >> 8), with the
 * register inverted before and after (zlib's crc32: start from 0). */
static const uint32_t nnrt_crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u, 0x706af48fu, 0xe963a535u, 0x9e6495a3u, 0x0edb8832u,
    0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u, 0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u, 0x1db71064u, 0x6ab020f2u,
    0xf3b97148u, 0x84be41deu, 0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u, 0x136c9856u, 0x646ba8c0u, 0xfd62f97au,
    0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u, 0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu, 0x35b5a8fau, 0x42b2986cu, 0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u,
    0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u, 0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u,
    0xcfba9599u, 0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u, 0x2f6f7c87u, 0x58684c11u, 0xc1611dabu,
    0xb6662d3du, 0x76dc4190u, 0x01db7106u, 0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du, 0x91646c97u, 0xe6635c01u, 0x6b6b51f4u,
    0x1c6c6162u, 0x856530d8u, 0xf262004eu, 0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
    0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u, 0x4db26158u, 0x3ab551ceu, 0xa3bc0074u,
    0xd4bb30e2u, 0x4adfa541u, 0x3dd895d7u, 0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau, 0xbe0b1010u, 0xc90c2086u, 0x5768b525u,
    0x206f85b3u, 0xb966d409u, 0xce61e49fu, 0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u, 0x2eb40d81u,
    0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au, 0xead54739u, 0x9dd277afu, 0x04db2615u,
    0x73dc1683u, 0xe3630b12u, 0x94643b84u, 0x0d6d6a3eu, 0x7a6a5aa8u, 0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu, 0x196c3671u, 0x6e6b06e7u, 0xfed41b76u,
    0x89d32be0u, 0x10da7a5au, 0x67dd4accu, 0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u, 0xd6d6a3e8u, 0xa1d1937eu,
    0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu, 0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u,
    0x41047a60u, 0xdf60efc3u, 0xa867df55u, 0x316e8eefu, 0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu, 0xb2bd0b28u, 0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u,
    0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du, 0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au, 0x9c0906a9u, 0xeb0e363fu,
    0x72076785u, 0x05005713u, 0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u, 0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u,
    0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u, 0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu, 0x8f659effu, 0xf862ae69u, 0x616bffd3u, 0x166ccf45u, 0xa00ae278u,
    0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u, 0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu,
    0x40df0b66u, 0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u, 0xbdbdf21cu, 0xcabac28au, 0x53b39330u,
    0x24b4a3a6u, 0xbad03605u, 0xcdd70693u, 0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du,
};

NNRT_API uint32_t nnrt_crc32(uint32_t crc, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    crc = ~crc;
    for (i = 0; i < n; i++)
        crc = nnrt_crc_table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
    return ~crc;
}

/* A tensor can be described when its name is set, 0 <= rank <= 4, every dim
 * is >= 0 with product == size, and value is set when size > 0. */
static inline int nnrt_param_shape_ok(const nn_param *p) {
    long prod = 1;
    int i;
    if (!p->name || p->rank < 0 || p->rank > 4 || p->size < 0)
        return 0;
    for (i = 0; i < p->rank; i++) {
        if (p->dims[i] < 0 || (p->dims[i] > 0 && prod > NNRT_LONG_MAX / p->dims[i]))
            return 0;
        prod *= p->dims[i];
    }
    return prod == p->size;
}

static inline int nnrt_param_ok(const nn_param *p) {
    return nnrt_param_shape_ok(p) && (p->size == 0 || p->value);
}

NNRT_PRIVATE int nnrt_group_ok(const nn_param *ps, int n) {
    int i;
    if (n < 0 || (n > 0 && !ps))
        return 0;
    for (i = 0; i < n; i++)
        if (!nnrt_param_ok(&ps[i]))
            return 0;
    return 1;
}

/* As nnrt_group_ok, for reading: a NULL value marks a tensor not to write
 * (const data of an nngen --weights training build). */
NNRT_PRIVATE int nnrt_group_readable(const nn_param *ps, int n) {
    int i;
    if (n < 0 || (n > 0 && !ps))
        return 0;
    for (i = 0; i < n; i++)
        if (!nnrt_param_shape_ok(&ps[i]))
            return 0;
    return 1;
}

/* u32 count, then per tensor: u32 + name, u32 rank, u32 dims[rank], f32 data */
static inline size_t nnrt_group_size(const nn_param *ps, int n) {
    size_t total = 4;
    int i;
    for (i = 0; i < n; i++)
        total += 4 + nnrt_strlen(ps[i].name) + 4 + 4 * (size_t)ps[i].rank + 4 * (size_t)ps[i].size;
    return total;
}

/* magic, version, u32 + network name, parameters, buffers, CRC. 0 when the
 * arguments are invalid (a real image has at least 24 bytes). */
NNRT_API size_t nnrt_weights_size(const char *net, const nn_param *params, int np, const nn_param *bufs, int nb) {
    if (!net || !nnrt_group_ok(params, np) || !nnrt_group_ok(bufs, nb))
        return 0;
    return 4 + 4 + 4 + nnrt_strlen(net) + nnrt_group_size(params, np) + nnrt_group_size(bufs, nb) + 4;
}

/* ---- writing (nnrt_out: internal.h) */
NNRT_PRIVATE void nnrt_out_init(nnrt_out *w, void *buf, size_t cap, int (*flush)(nnrt_out *), int fd) {
    w->buf = (unsigned char *)buf;
    w->cap = cap;
    w->len = 0;
    w->crc = 0;
    w->flush = flush;
    w->fd = fd;
    w->status = NN_OK;
}

/* Appends k bytes without touching the CRC. */
static inline void nnrt_out_raw(nnrt_out *w, const unsigned char *b, size_t k) {
    size_t i;
    for (i = 0; i < k && w->status == NN_OK; i++) {
        if (w->len == w->cap)
            w->status = w->flush ? w->flush(w) : NN_ERR_CAPACITY;
        if (w->status == NN_OK)
            w->buf[w->len++] = b[i];
    }
}

static inline void nnrt_out_put(nnrt_out *w, const unsigned char *b, size_t k) {
    w->crc = nnrt_crc32(w->crc, b, k);
    nnrt_out_raw(w, b, k);
}

static inline void nnrt_out_u32(nnrt_out *w, uint32_t v) {
    unsigned char b[4];
    nnrt_put_le32(b, v);
    nnrt_out_put(w, b, 4);
}

static inline void nnrt_out_str(nnrt_out *w, const char *s) {
    size_t n = nnrt_strlen(s);
    nnrt_out_u32(w, (uint32_t)n);
    nnrt_out_put(w, (const unsigned char *)s, n);
}

/* float32 data, little-endian, encoded 64 values at a time. */
static inline void nnrt_out_floats(nnrt_out *w, const float *x, long n) {
    unsigned char b[256];
    long i, j;
    for (i = 0; i < n; i += 64) {
        long m = n - i < 64 ? n - i : 64;
        for (j = 0; j < m; j++)
            nnrt_put_le32(b + 4 * j, nnrt_f2u(x[i + j]));
        nnrt_out_put(w, b, 4 * (size_t)m);
    }
}

static inline void nnrt_out_group(nnrt_out *w, const nn_param *ps, int n) {
    int i, d;
    nnrt_out_u32(w, (uint32_t)n);
    for (i = 0; i < n; i++) {
        nnrt_out_str(w, ps[i].name);
        nnrt_out_u32(w, (uint32_t)ps[i].rank);
        for (d = 0; d < ps[i].rank; d++)
            nnrt_out_u32(w, (uint32_t)ps[i].dims[d]);
        nnrt_out_floats(w, ps[i].value, ps[i].size);
    }
}

/* The whole image (docs/c-api.md "Weight file"), ending with the CRC-32 of every
 * byte before it; flushed at the end when w has a flush. */
NNRT_PRIVATE int nnrt_out_image(nnrt_out *w, const char *net, const nn_param *params, int np, const nn_param *bufs,
                                int nb) {
    static const unsigned char magic[4] = {'N', 'N', 'W', '1'};
    unsigned char crc[4];
    nnrt_out_put(w, magic, 4);
    nnrt_out_u32(w, 1u);
    nnrt_out_str(w, net);
    nnrt_out_group(w, params, np);
    nnrt_out_group(w, bufs, nb);
    nnrt_put_le32(crc, w->crc);
    nnrt_out_raw(w, crc, 4);
    if (w->status == NN_OK && w->flush)
        w->status = w->flush(w);
    return w->status;
}

NNRT_API long nnrt_export(const char *net, const nn_param *params, int np, const nn_param *bufs, int nb, void *buf,
                          size_t cap) {
    size_t need = nnrt_weights_size(net, params, np, bufs, nb);
    nnrt_out w;
    int st;
    if (need == 0 || need > (size_t)NNRT_LONG_MAX || (!buf && cap > 0))
        return NN_ERR_ARG;
    if (need > cap)
        return NN_ERR_CAPACITY;
    nnrt_out_init(&w, buf, need, NULL, -1);
    st = nnrt_out_image(&w, net, params, np, bufs, nb);
    return st != NN_OK ? st : (long)w.len;
}

/* ---- reading (nnrt_in: internal.h) */
NNRT_PRIVATE void nnrt_in_init(nnrt_in *r, const void *p, size_t n, int (*refill)(nnrt_in *), void *file,
                               unsigned char *store, size_t cap) {
    r->p = (const unsigned char *)p;
    r->n = n;
    r->pos = 0;
    r->crc = 0;
    r->refill = refill;
    r->file = file;
    r->store = store;
    r->cap = cap;
}

/* Consumes k bytes into dst (skipped when dst is NULL), adding them to the
 * CRC. NN_ERR_TRUNCATED when the image ends first. */
static inline int nnrt_in_take(nnrt_in *r, unsigned char *dst, uint64_t k) {
    while (k > 0) {
        size_t span, i;
        if (r->pos == r->n) {
            int st = r->refill ? r->refill(r) : NN_ERR_TRUNCATED;
            if (st != NN_OK)
                return st;
        }
        span = r->n - r->pos;
        if ((uint64_t)span > k)
            span = (size_t)k;
        if (dst) { /* copy and CRC in one loop, which no compiler turns into memcpy */
            uint32_t crc = ~r->crc;
            for (i = 0; i < span; i++) {
                unsigned char c = r->p[r->pos + i];
                crc = nnrt_crc_table[(crc ^ c) & 0xffu] ^ (crc >> 8);
                *dst++ = c;
            }
            r->crc = ~crc;
        } else {
            r->crc = nnrt_crc32(r->crc, r->p + r->pos, span);
        }
        r->pos += span;
        k -= span;
    }
    return NN_OK;
}

static inline int nnrt_in_u32(nnrt_in *r, uint32_t *v) {
    unsigned char b[4];
    int st = nnrt_in_take(r, b, 4);
    *v = nnrt_get_le32(b);
    return st;
}

/* The magic, byte by byte: a wrong byte is FORMAT even in a short file. */
static inline int nnrt_in_magic(nnrt_in *r) {
    static const unsigned char magic[4] = {'N', 'N', 'W', '1'};
    unsigned char c;
    int i, st;
    for (i = 0; i < 4; i++) {
        if ((st = nnrt_in_take(r, &c, 1)) != NN_OK)
            return st;
        if (c != magic[i])
            return NN_ERR_FORMAT;
    }
    return NN_OK;
}

/* u32 length + bytes, compared with want (NULL: nothing expected);
 * *same is cleared on any difference. */
static inline int nnrt_in_name(nnrt_in *r, const char *want, int *same) {
    uint32_t len, i;
    unsigned char c;
    int st;
    if ((st = nnrt_in_u32(r, &len)) != NN_OK)
        return st;
    if (!want || (size_t)len != nnrt_strlen(want)) {
        *same = 0;
        return nnrt_in_take(r, NULL, len);
    }
    for (i = 0; i < len; i++) {
        if ((st = nnrt_in_take(r, &c, 1)) != NN_OK)
            return st;
        if (c != (unsigned char)want[i])
            *same = 0;
    }
    return NN_OK;
}

/* a * b, saturating at UINT64_MAX (a corrupt header's product of dims). */
static inline uint64_t nnrt_mul_sat(uint64_t a, uint64_t b) {
    if (b != 0 && a > UINT64_MAX / b)
        return UINT64_MAX;
    return a * b;
}

/* n little-endian float32 values into dst, 64 at a time. */
static inline int nnrt_in_floats(nnrt_in *r, float *dst, long n) {
    unsigned char b[256];
    long i, j;
    int st;
    for (i = 0; i < n; i += 64) {
        long m = n - i < 64 ? n - i : 64;
        if ((st = nnrt_in_take(r, b, 4 * (uint64_t)m)) != NN_OK)
            return st;
        for (j = 0; j < m; j++)
            dst[i + j] = nnrt_u2f(nnrt_get_le32(b + 4 * j));
    }
    return NN_OK;
}

/* One tensor record, walked with the file's own rank and dims; p is the
 * caller's tensor (NULL past the caller's count). Its data go to p->value
 * only when store is set and the record matches p. */
static inline int nnrt_in_tensor(nnrt_in *r, const nn_param *p, int store, int *same) {
    uint32_t rank, d, i;
    uint64_t count = 1;
    int st, match = p != NULL;
    if ((st = nnrt_in_name(r, p ? p->name : NULL, &match)) != NN_OK || (st = nnrt_in_u32(r, &rank)) != NN_OK)
        return st;
    if (p && rank != (uint32_t)p->rank)
        match = 0;
    for (i = 0; i < rank; i++) {
        if ((st = nnrt_in_u32(r, &d)) != NN_OK)
            return st;
        if (match && d != (uint32_t)p->dims[i])
            match = 0;
        count = nnrt_mul_sat(count, d);
    }
    if (!match)
        *same = 0;
    if (store && match && p->value) /* NULL: const, not written */
        return nnrt_in_floats(r, p->value, p->size);
    return nnrt_in_take(r, NULL, nnrt_mul_sat(count, 4));
}

/* u32 count + that many tensor records, matched against ps[0..n). */
static inline int nnrt_in_group(nnrt_in *r, const nn_param *ps, int n, int store, int *same) {
    uint32_t count, i;
    int st;
    if ((st = nnrt_in_u32(r, &count)) != NN_OK)
        return st;
    if (count != (uint32_t)n)
        *same = 0;
    for (i = 0; i < count; i++)
        if ((st = nnrt_in_tensor(r, i < (uint32_t)n ? &ps[i] : NULL, store, same)) != NN_OK)
            return st;
    return NN_OK;
}

/* Walks a whole image; the order of the checks (see the top of the file)
 * decides which status wins. With store, matching tensors are filled: only
 * ever called after a walk without store returned NN_OK. */
NNRT_PRIVATE int nnrt_in_image(nnrt_in *r, const char *net, const nn_param *params, int np, const nn_param *bufs,
                               int nb, int store) {
    uint32_t version, crc_file, crc_calc;
    unsigned char extra;
    int st, net_same = 1, shape_same = 1;
    if ((st = nnrt_in_magic(r)) != NN_OK || (st = nnrt_in_u32(r, &version)) != NN_OK)
        return st;
    if (version != 1u)
        return NN_ERR_VERSION;
    if ((st = nnrt_in_name(r, net, &net_same)) != NN_OK ||
        (st = nnrt_in_group(r, params, np, store, &shape_same)) != NN_OK ||
        (st = nnrt_in_group(r, bufs, nb, store, &shape_same)) != NN_OK)
        return st;
    crc_calc = r->crc;
    if ((st = nnrt_in_u32(r, &crc_file)) != NN_OK)
        return st;
    st = nnrt_in_take(r, &extra, 1);
    if (st != NN_ERR_TRUNCATED)
        return st == NN_OK ? NN_ERR_FORMAT : st; /* trailing bytes, or I/O */
    if (crc_calc != crc_file)
        return NN_ERR_CHECKSUM;
    if (!net_same)
        return NN_ERR_NETWORK;
    return shape_same ? NN_OK : NN_ERR_SHAPE;
}

/* Two walks over the same bytes: validate everything, then copy values. */
NNRT_API int nnrt_import(const char *net, nn_param *params, int np, nn_param *bufs, int nb, const void *buf,
                         size_t len) {
    nnrt_in r;
    int st;
    if (!net || !nnrt_group_readable(params, np) || !nnrt_group_readable(bufs, nb) || (!buf && len > 0))
        return NN_ERR_ARG;
    nnrt_in_init(&r, buf, len, NULL, NULL, NULL, 0);
    if ((st = nnrt_in_image(&r, net, params, np, bufs, nb, 0)) != NN_OK)
        return st;
    nnrt_in_init(&r, buf, len, NULL, NULL, NULL, 0);
    return nnrt_in_image(&r, net, params, np, bufs, nb, 1);
}

/* ------------------------------------------ pretrained weights (fine-tuning)
 * nnrt_import_pretrained / nnrt_load_pretrained copy from a weight image of
 * any network every tensor (parameter or buffer, from either group of the
 * image) whose name, rank and dims equal one of ts[0..nt): the tensors the
 * model may write (the caller leaves const ones out). Tensors of the image
 * that match nothing are skipped. As nnrt_import, the whole image is walked
 * and checked first (magic, version, structure, length, CRC; the network
 * name and the tensor list are not compared) and only then read again into
 * the tensors: on error nothing is written. A name longer than
 * NNRT_NAME_MAX bytes matches nothing. Returns the number of tensors copied
 * or a negative status. */
enum { NNRT_NAME_MAX = 255 };

static inline int nnrt_same_name(const unsigned char *a, uint32_t n, const char *b) {
    uint32_t i;
    for (i = 0; i < n; i++)
        if (b[i] == '\0' || (unsigned char)b[i] != a[i])
            return 0;
    return b[n] == '\0';
}

/* One tensor record; its data go to the matching tensor of ts when store. */
static inline int nnrt_in_pretrained_tensor(nnrt_in *r, const nn_param *ts, int nt, int store, int *copied) {
    unsigned char name[NNRT_NAME_MAX];
    uint32_t len, rank, d, i, dims[4];
    uint64_t count = 1;
    int st, k, j, known;
    if ((st = nnrt_in_u32(r, &len)) != NN_OK)
        return st;
    known = len <= NNRT_NAME_MAX;
    if ((st = nnrt_in_take(r, known ? name : NULL, len)) != NN_OK || (st = nnrt_in_u32(r, &rank)) != NN_OK)
        return st;
    for (i = 0; i < rank; i++) {
        if ((st = nnrt_in_u32(r, &d)) != NN_OK)
            return st;
        if (i < 4)
            dims[i] = d;
        count = nnrt_mul_sat(count, d);
    }
    for (k = 0; known && rank <= 4 && k < nt; k++) {
        const nn_param *t = &ts[k];
        int match = (uint32_t)t->rank == rank && nnrt_same_name(name, len, t->name);
        for (j = 0; match && j < t->rank; j++)
            match = dims[j] == (uint32_t)t->dims[j];
        if (!match)
            continue;
        ++*copied;
        return store ? nnrt_in_floats(r, t->value, t->size) : nnrt_in_take(r, NULL, nnrt_mul_sat(count, 4));
    }
    return nnrt_in_take(r, NULL, nnrt_mul_sat(count, 4));
}

NNRT_PRIVATE int nnrt_in_pretrained(nnrt_in *r, const nn_param *ts, int nt, int store, int *copied) {
    uint32_t version, count, crc_file, crc_calc, i;
    unsigned char extra;
    int st, g, dummy = 1;
    *copied = 0;
    if ((st = nnrt_in_magic(r)) != NN_OK || (st = nnrt_in_u32(r, &version)) != NN_OK)
        return st;
    if (version != 1u)
        return NN_ERR_VERSION;
    if ((st = nnrt_in_name(r, NULL, &dummy)) != NN_OK)
        return st;
    for (g = 0; g < 2; g++) { /* the parameters, then the buffers */
        if ((st = nnrt_in_u32(r, &count)) != NN_OK)
            return st;
        for (i = 0; i < count; i++)
            if ((st = nnrt_in_pretrained_tensor(r, ts, nt, store, copied)) != NN_OK)
                return st;
    }
    crc_calc = r->crc;
    if ((st = nnrt_in_u32(r, &crc_file)) != NN_OK)
        return st;
    st = nnrt_in_take(r, &extra, 1);
    if (st != NN_ERR_TRUNCATED)
        return st == NN_OK ? NN_ERR_FORMAT : st;
    return crc_calc == crc_file ? NN_OK : NN_ERR_CHECKSUM;
}

NNRT_API int nnrt_import_pretrained(const nn_param *ts, int nt, const void *buf, size_t len) {
    nnrt_in r;
    int st, copied;
    if (!nnrt_group_ok(ts, nt) || (!buf && len > 0))
        return NN_ERR_ARG;
    nnrt_in_init(&r, buf, len, NULL, NULL, NULL, 0);
    if ((st = nnrt_in_pretrained(&r, ts, nt, 0, &copied)) != NN_OK)
        return st;
    nnrt_in_init(&r, buf, len, NULL, NULL, NULL, 0);
    st = nnrt_in_pretrained(&r, ts, nt, 1, &copied);
    return st == NN_OK ? copied : st;
}
