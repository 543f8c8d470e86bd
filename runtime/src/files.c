/*
 * files.c - hosted only: weight files on disk. nnrt_save writes the image
 * (weights.c's stream, flushed into a descriptor) atomically; nnrt_load
 * validates the whole file before it writes a tensor.
 *
 * Invariants: all of it inside `#ifndef NN_FREESTANDING` (a freestanding
 * build has no files); no allocation: ~8 KiB of stack per call; a failed
 * save leaves the old file untouched and removes its temporary; the
 * temporary is a new file of a name no other save uses (O_EXCL: never an
 * existing file or symlink); nnrt_save replaces only a regular file.
 */
#include "internal.h"

#ifndef NN_FREESTANDING
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

enum { NNRT_IO_CHUNK = 4096 /* stack staging buffer of nnrt_save / nnrt_load */ };

/* ------------------------------------------------------ hosted: files */
/* POSIX open/write/fsync/close/lstat/getpid/unlink (internal.h, or the
 * generated net.c before its first include, defines _POSIX_C_SOURCE) and
 * C's fopen/fread/rename. */

/* Empties w's buffer into its descriptor; write may be partial or interrupted. */
static inline int nnrt_fd_flush(nnrt_out *w) {
    size_t done = 0;
    while (done < w->len) {
        ssize_t k = write(w->fd, w->buf + done, w->len - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return NN_ERR_IO;
        done += (size_t)k;
    }
    w->len = 0;
    return NN_OK;
}

/* dst = path + suffix; 0 when it does not fit in cap bytes. */
static inline int nnrt_path_cat(char *dst, size_t cap, const char *path, const char *suffix) {
    size_t n = nnrt_strlen(path), m = nnrt_strlen(suffix), i;
    if (n + m + 1 > cap)
        return 0;
    for (i = 0; i < n; i++)
        dst[i] = path[i];
    for (i = 0; i <= m; i++)
        dst[n + i] = suffix[i];
    return 1;
}

/* Makes a rename durable: fsync of the directory holding path, best effort
 * (not every system lets a directory be opened). buf holds path on entry. */
static inline void nnrt_sync_dir(char *buf, size_t len) {
    int fd;
    while (len > 0 && buf[len - 1] != '/')
        len--;
    if (len == 0)
        buf[len++] = '.';
    buf[len] = '\0';
    fd = open(buf, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        (void)close(fd);
    }
}

/* dst = path + ".tmp." + hex(a) + "." + hex(b); 0 when it does not fit in cap bytes. */
static inline int nnrt_temp_name(char *dst, size_t cap, const char *path, unsigned long a, unsigned long b) {
    static const char hex[] = "0123456789abcdef";
    char suffix[48];
    size_t n = 0;
    int k, part;
    suffix[n++] = '.';
    suffix[n++] = 't';
    suffix[n++] = 'm';
    suffix[n++] = 'p';
    for (part = 0; part < 2; part++) {
        unsigned long v = part ? b : a;
        suffix[n++] = '.';
        for (k = (int)(2 * sizeof v) - 1; k >= 0; k--)
            if ((v >> (4 * k)) != 0 || k == 0)
                suffix[n++] = hex[(v >> (4 * k)) & 15u];
    }
    suffix[n] = '\0';
    return nnrt_path_cat(dst, cap, path, suffix);
}

/* Creates a new temporary beside path, "<path>.tmp.PID.N", N counting this
 * process's saves: O_CREAT | O_EXCL, so it is never an existing file or a
 * symlink planted there; another name is tried when one exists (another
 * thread, a leftover of a killed process). Mode 0666 less the umask, as any
 * new file. Returns the descriptor (its name in tmp), or -1. */
static inline int nnrt_temp_open(char *tmp, size_t cap, const char *path) {
    static unsigned long counter;
    unsigned long pid = (unsigned long)getpid();
    int attempt, fd;
    for (attempt = 0; attempt < 100; attempt++) {
        if (!nnrt_temp_name(tmp, cap, path, pid, counter++))
            return -1;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* Write a new temporary beside path, fsync, close, rename over path, fsync
 * the directory. path must be absent or a regular file (not a symlink, a
 * directory, a FIFO or a device, which rename would replace). On any
 * failure the temporary is removed and path is untouched. */
NNRT_API int nnrt_save(const char *path, const char *net, const nn_param *params, int np, const nn_param *bufs,
                       int nb) {
    char tmp[NNRT_IO_CHUNK];
    unsigned char stage[NNRT_IO_CHUNK];
    struct stat st_path;
    nnrt_out w;
    int fd, st;
    if (!path || nnrt_weights_size(net, params, np, bufs, nb) == 0)
        return NN_ERR_ARG;
    if (lstat(path, &st_path) == 0 ? !S_ISREG(st_path.st_mode) : errno != ENOENT)
        return NN_ERR_IO;
    fd = nnrt_temp_open(tmp, sizeof tmp, path);
    if (fd < 0)
        return NN_ERR_IO;
    nnrt_out_init(&w, stage, sizeof stage, nnrt_fd_flush, fd);
    st = nnrt_out_image(&w, net, params, np, bufs, nb);
    if (st == NN_OK && fsync(fd) != 0)
        st = NN_ERR_IO;
    if (close(fd) != 0 && st == NN_OK)
        st = NN_ERR_IO;
    if (st == NN_OK && rename(tmp, path) != 0)
        st = NN_ERR_IO;
    if (st != NN_OK) {
        (void)unlink(tmp);
        return st;
    }
    nnrt_sync_dir(tmp, nnrt_strlen(path));
    return NN_OK;
}

/* Loads the next chunk of the reader's file into its store. */
static inline int nnrt_file_refill(nnrt_in *r) {
    FILE *f = (FILE *)r->file;
    size_t k = fread(r->store, 1, r->cap, f);
    if (k == 0)
        return ferror(f) ? NN_ERR_IO : NN_ERR_TRUNCATED;
    r->p = r->store;
    r->n = k;
    r->pos = 0;
    return NN_OK;
}

/* Two streaming walks over one open file, as nnrt_import: the first
 * validates structure, CRC, name and shapes, the second fills the tensors
 * while it recomputes the CRC. Only a file rewritten in place between the
 * two walks (nnrt_save never does that) can fail the second walk, after
 * some tensors were written. */
NNRT_API int nnrt_load(const char *path, const char *net, nn_param *params, int np, nn_param *bufs, int nb) {
    unsigned char stage[NNRT_IO_CHUNK];
    nnrt_in r;
    FILE *f;
    int st;
    if (!path || !net || !nnrt_group_readable(params, np) || !nnrt_group_readable(bufs, nb))
        return NN_ERR_ARG;
    if (!(f = fopen(path, "rb")))
        return NN_ERR_IO;
    nnrt_in_init(&r, NULL, 0, nnrt_file_refill, f, stage, sizeof stage);
    st = nnrt_in_image(&r, net, params, np, bufs, nb, 0);
    if (st == NN_OK && fseek(f, 0L, SEEK_SET) != 0)
        st = NN_ERR_IO;
    if (st == NN_OK) {
        nnrt_in_init(&r, NULL, 0, nnrt_file_refill, f, stage, sizeof stage);
        st = nnrt_in_image(&r, net, params, np, bufs, nb, 1);
    }
    fclose(f);
    return st;
}

NNRT_API int nnrt_load_pretrained(const char *path, const nn_param *ts, int nt) {
    unsigned char stage[NNRT_IO_CHUNK];
    nnrt_in r;
    FILE *f;
    int st, copied = 0;
    if (!path || !nnrt_group_ok(ts, nt))
        return NN_ERR_ARG;
    if (!(f = fopen(path, "rb")))
        return NN_ERR_IO;
    nnrt_in_init(&r, NULL, 0, nnrt_file_refill, f, stage, sizeof stage);
    st = nnrt_in_pretrained(&r, ts, nt, 0, &copied);
    if (st == NN_OK && fseek(f, 0L, SEEK_SET) != 0)
        st = NN_ERR_IO;
    if (st == NN_OK) {
        nnrt_in_init(&r, NULL, 0, nnrt_file_refill, f, stage, sizeof stage);
        st = nnrt_in_pretrained(&r, ts, nt, 1, &copied);
    }
    fclose(f);
    return st == NN_OK ? copied : st;
}
#endif /* NN_FREESTANDING */
