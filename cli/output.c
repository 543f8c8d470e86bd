/*
 * output.c - every file a command writes: checked before any work, written
 * so that nothing it read is lost.
 *
 * The rules (docs/hostile-input.md, "Files, saves and processes"):
 *   - an output is never the same file as an input (device and inode, so
 *     hard links and other spellings of one file are caught);
 *   - a regular file (or a new one) is written to a temporary beside it,
 *     created with O_EXCL under a name no other write uses, then renamed
 *     over it: the old content or the new, never half;
 *   - a FIFO or a character device (/dev/stdout, /dev/null, a terminal) is
 *     written directly, never replaced (when the output may be one);
 *   - a symbolic link is refused (whatever it points to but a FIFO or a
 *     character device): writing through it would follow a link someone
 *     may have planted, renaming over it would turn it into a file;
 *   - a directory, a missing parent, a parent that is not a writable
 *     directory, a block device, a socket: refused before any work.
 *
 * Invariants: nothing here exits; the check prints its error and returns 2;
 * the writers return 0 or -1 with errno set (the callers say what failed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_is_stream(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode));
}

/* 0, or 2 after the message when path is the input file named by spec or,
 * for a data spec IMAGES,LABELS, by one of its parts */
static int check_not_input(const char *path, const char *what, const CliInput *in) {
    const char *spec = in->path;
    int same = cli_same_file(path, spec);
    for (const char *p = spec; !same && strchr(spec, ',');) {
        const char *comma = strchr(p, ',');
        char *part = base_xstrndup(p, comma ? (size_t)(comma - p) : strlen(p));
        same = cli_same_file(path, part);
        free(part);
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!same)
        return 0;
    return cli_error("%s '%s' would overwrite %s '%s' (the same file): nothing was done", what, path, in->what, spec);
}

/* the parent directory of a file to be created or replaced */
static int check_parent(const char *path, const char *what) {
    char *dir = cli_dirname(path);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0)
        rc = cli_error("cannot write '%s' (%s): the directory '%s' does not exist", path, what, dir);
    else if (!S_ISDIR(st.st_mode))
        rc = cli_error("cannot write '%s' (%s): '%s' is not a directory", path, what, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = cli_error("cannot write '%s' (%s): cannot create files in '%s': %s", path, what, dir, strerror(errno));
    free(dir);
    return rc;
}

int cli_same_target(const char *a, const char *b) {
    if (!strcmp(a, b) || cli_same_file(a, b))
        return 1;
    const char *ba = strrchr(a, '/'), *bb = strrchr(b, '/');
    if (strcmp(ba ? ba + 1 : a, bb ? bb + 1 : b) != 0)
        return 0;
    char *da = cli_dirname(a), *db = cli_dirname(b);
    int same = cli_same_file(da, db);
    free(da);
    free(db);
    return same;
}

int cli_check_output(const char *path, const char *what, int streams_ok, const CliInput *inputs, int ninputs) {
    struct stat st;
    for (int k = 0; k < ninputs; k++) {
        int rc = inputs[k].path ? check_not_input(path, what, &inputs[k]) : 0;
        if (rc)
            return rc;
    }
    if (lstat(path, &st) != 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            return cli_error("cannot write '%s' (%s): %s", path, what, strerror(errno));
        return check_parent(path, what);
    }
    if (S_ISREG(st.st_mode))
        return check_parent(path, what);
    if (S_ISDIR(st.st_mode))
        return cli_error("cannot write '%s' (%s): it is a directory; give a file name", path, what);
    if (cli_is_stream(path)) {
        if (streams_ok)
            return 0;
        return cli_error("cannot write '%s' (%s): not a regular file (this output is written to a temporary and "
                         "renamed, which would replace it); give a file name",
                         path, what);
    }
    if (S_ISLNK(st.st_mode))
        return cli_error("cannot write '%s' (%s): it is a symbolic link; nngen neither writes through links (one "
                         "may have been planted) nor replaces them: give the file's own path",
                         path, what);
    return cli_error("cannot write '%s' (%s): not a regular file (a device or socket)", path, what);
}

/* a new file beside path, "PATH.tmp.PID.N", O_EXCL (never an existing file
 * or a symlink), mode 0666 less the umask; its descriptor, its name in *tmp */
static int open_temp(const char *path, Buf *tmp) {
    static unsigned counter;
    for (int attempt = 0; attempt < 100; attempt++) {
        tmp->len = 0;
        buf_printf(tmp, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        int fd = open(tmp->data, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    return -1;
}

/* all of data into fd (partial and interrupted writes continued); 0 or -1 */
static int write_all(int fd, const void *data, size_t len) {
    const char *p = data;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = EIO;
            return -1;
        }
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

/* a FIFO or character device: opened (not created, not truncated), written */
static int write_stream(const char *path, const void *data, size_t len) {
    int fd = open(path, O_WRONLY | O_NOCTTY);
    if (fd < 0)
        return -1;
    int rc = write_all(fd, data, len);
    int e = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = e;
    return rc;
}

/* 0 when path may be renamed over: absent or a regular file (not a symlink) */
static int replaceable(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISREG(st.st_mode))
        return 0;
    errno = S_ISDIR(st.st_mode) ? EISDIR : S_ISLNK(st.st_mode) ? ELOOP : EEXIST;
    return -1;
}

char *cli_write_temp(const char *path, const void *data, size_t len) {
    Buf tmp = {0};
    int fd = open_temp(path, &tmp);
    if (fd < 0) {
        buf_free(&tmp);
        return NULL;
    }
    int ok = write_all(fd, data, len) == 0;
    int e = errno;
    ok &= close(fd) == 0 || !ok;
    if (!ok) {
        unlink(tmp.data);
        buf_free(&tmp);
        errno = e;
        return NULL;
    }
    return tmp.data;
}

int cli_rename_over(const char *tmp, const char *path) {
    if (replaceable(path) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int cli_write_file(const char *path, const void *data, size_t len) {
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && cli_is_stream(path))
        return write_stream(path, data, len);
    if (replaceable(path) != 0)
        return -1;
    char *tmp = cli_write_temp(path, data, len);
    if (!tmp)
        return -1;
    int rc = cli_rename_over(tmp, path);
    free(tmp);
    return rc;
}

int cli_write_pair(const char *c_path, const char *h_path, const Buf *c, const Buf *h) {
    const char *paths[2] = {h ? h_path : NULL, c_path};
    const Buf *data[2] = {h, c};
    char *tmp[2] = {NULL, NULL};
    const char *bad = NULL;
    /* the temporaries first: a failure there leaves both targets as they were */
    for (int k = 0; k < 2 && !bad; k++)
        if (paths[k] && !cli_is_stream(paths[k]) && !(tmp[k] = cli_write_temp(paths[k], data[k]->data, data[k]->len)))
            bad = paths[k];
    for (int k = 0; k < 2 && !bad; k++) {
        if (!paths[k])
            continue;
        int rc = tmp[k] ? cli_rename_over(tmp[k], paths[k]) : write_stream(paths[k], data[k]->data, data[k]->len);
        free(tmp[k]);
        tmp[k] = NULL;
        if (rc)
            bad = paths[k];
    }
    int e = errno;
    for (int k = 0; k < 2; k++) {
        if (tmp[k])
            unlink(tmp[k]);
        free(tmp[k]);
    }
    if (!bad)
        return 0;
    return cli_error("cannot write '%s': %s", bad, strerror(e));
}

int cli_flush_stdout(int rc) {
    if (fflush(stdout) == 0 && !ferror(stdout))
        return rc;
    int e = errno;
    cli_error("cannot write to the standard output: %s", strerror(e));
    return rc ? rc : 2;
}
