/*
 * util.c - what the subcommands share: reading files (output.c writes
 * them), the compile call, option and number parsing, child processes
 * (posix_spawn, never system()), private temporary directories.
 *
 * Invariants: nothing here exits but for running out of memory (base.h's
 * policy: one message, status 2); every other failure returns a status and
 * the caller reports it (or cli_error has, when documented so).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("nngen: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

char *cli_read_file(const char *path, size_t *len) {
    return cli_read_file_max(path, CLI_MAX_FILE, len);
}

char *cli_read_file_max(const char *path, long max, size_t *len) {
    FILE *f = fopen(path, "rb");
    *len = 0;
    if (!f)
        return NULL;
    Buf b = {0};
    char chunk[65536];
    size_t n;
    int big = 0;
    while (!big && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        big = b.len + n > (size_t)max;
        for (size_t i = 0; i < n && !big; i++)
            buf_putc(&b, chunk[i]);
    }
    int bad = ferror(f) || big;
    fclose(f);
    if (bad) {
        buf_free(&b);
        *len = big ? SIZE_MAX : 0;
        return NULL;
    }
    buf_putc(&b, '\0');
    *len = b.len - 1;
    return b.data;
}

int cli_compile(const char *path, CompileOptions *co, Buf *c, Buf *h) {
    size_t len;
    char *text = cli_read_file(path, &len);
    if (!text && len == SIZE_MAX)
        return cli_error("'%s' is larger than %ld MiB, the most a source file may hold", path, CLI_MAX_FILE >> 20);
    if (!text)
        return cli_error("cannot read '%s': %s", path, strerror(errno));
    co->path = path;
    if (!co->header_name)
        co->header_name = "net.h";
    if (!co->diag)
        co->diag = stderr;
    int rc = nngen_compile(text, len, co, c, h) < 0 ? 1 : 0;
    free(text);
    return rc;
}

int cli_parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int wait_child(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 256 + WTERMSIG(status);
    return -1;
}

/* ---- stop signals: SIGTERM, SIGHUP and SIGINT while a command runs children */

static volatile sig_atomic_t stop_signal; /* the first one received, or 0 */
static volatile sig_atomic_t catching;    /* cli_catch_stop_signals was called */
static volatile pid_t running_child;      /* the child being waited for, or 0 */

/* Records the signal and passes it on to the running child. A SIGINT from
 * the terminal reached the child already (one process group): only one
 * sent by kill() (SI_USER) is passed on, so the trainer's "a second Ctrl-C
 * kills" never counts one keypress twice. */
static void on_stop_signal(int sig, siginfo_t *si, void *ctx) {
    (void)ctx;
    if (!stop_signal)
        stop_signal = sig;
    if (running_child > 0 && (sig != SIGINT || (si && si->si_code == SI_USER)))
        kill(running_child, sig);
}

void cli_catch_stop_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_stop_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    catching = 1;
}

int cli_stop_signal(void) {
    return stop_signal;
}

/* posix_spawn(p) with the stop signals blocked until the child's pid is
 * known to the handler (a signal in between is passed on, not lost); a
 * stop signal received before: no child, as if it had been killed by it */
static int spawn_tracked(pid_t *pid, int search, const char *prog, const posix_spawn_file_actions_t *fa,
                         posix_spawnattr_t *attr, char *const argv[]) {
    sigset_t stops, old;
    sigemptyset(&stops);
    sigaddset(&stops, SIGTERM);
    sigaddset(&stops, SIGHUP);
    sigaddset(&stops, SIGINT);
    sigprocmask(SIG_BLOCK, &stops, &old);
    if (stop_signal) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return -2;
    }
    posix_spawnattr_setsigmask(attr, &old); /* the child starts with the mask we had */
    short flags = 0;
    posix_spawnattr_getflags(attr, &flags);
    posix_spawnattr_setflags(attr, flags | POSIX_SPAWN_SETSIGMASK);
    int rc =
        search ? posix_spawnp(pid, prog, fa, attr, argv, environ) : posix_spawn(pid, prog, fa, attr, argv, environ);
    if (rc == 0)
        running_child = *pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* the child's status as wait_child's, and it is no longer the running one */
static int wait_tracked(pid_t pid) {
    int rc = wait_child(pid);
    running_child = 0;
    return rc;
}

/* As system() does, the parent ignores SIGINT and SIGQUIT while the child
 * runs (Ctrl-C reaches the child, which has the default actions back), so
 * that nngen can clean up and report after it; after cli_catch_stop_signals
 * SIGINT is caught instead (and passed on when it was sent by kill). */
int cli_run(char *const argv[], const char *stdout_path) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    struct sigaction ign, old_int, old_quit;
    sigset_t deflt;
    pid_t pid;
    posix_spawn_file_actions_init(&fa);
    if (stdout_path)
        posix_spawn_file_actions_addopen(&fa, 1, stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawnattr_init(&attr);
    sigemptyset(&deflt);
    sigaddset(&deflt, SIGINT);
    sigaddset(&deflt, SIGQUIT);
    posix_spawnattr_setsigdefault(&attr, &deflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    if (!catching)
        sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    int rc = spawn_tracked(&pid, 1, argv[0], &fa, &attr, argv);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc == 0) {
        rc = wait_tracked(pid);
    } else if (rc == -2) {
        rc = 256 + stop_signal;
    } else {
        errno = rc;
        rc = -1;
    }
    if (!catching)
        sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    return rc;
}

/* the child's output through a pipe, into out */
static void drain(int fd, Buf *out) {
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (ssize_t k = 0; k < n; k++)
            buf_putc(out, chunk[k]);
    }
}

int cli_shell(const char *cmd, const char *dir, Buf *out) {
    Buf full = {0};
    if (dir) {
        buf_puts(&full, "cd ");
        cli_shell_quote(&full, dir);
        buf_puts(&full, " && ");
    }
    buf_puts(&full, cmd);
    char *argv[] = {"sh", "-c", full.data, NULL};
    int fds[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out) {
        if (pipe(fds) < 0) {
            posix_spawn_file_actions_destroy(&fa);
            buf_free(&full);
            return -1;
        }
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
        posix_spawn_file_actions_addclose(&fa, fds[0]);
        posix_spawn_file_actions_addclose(&fa, fds[1]);
    }
    pid_t pid;
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    int rc = spawn_tracked(&pid, 0, "/bin/sh", &fa, &attr, argv);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    buf_free(&full);
    if (out)
        close(fds[1]);
    if (rc != 0) {
        if (out)
            close(fds[0]);
        if (rc == -2)
            return 256 + stop_signal;
        errno = rc;
        return -1;
    }
    if (out) {
        drain(fds[0], out);
        close(fds[0]);
        buf_puts(out, ""); /* data != NULL */
    }
    return wait_tracked(pid);
}

char *cli_which(const char *prog) {
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0 ? base_xstrdup(prog) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t n = colon ? (size_t)(colon - path) : strlen(path);
        Buf b = {0};
        buf_printf(&b, "%.*s/%s", (int)n, n ? path : ".", prog);
        struct stat st;
        if (stat(b.data, &st) == 0 && S_ISREG(st.st_mode) && access(b.data, X_OK) == 0)
            return b.data;
        buf_free(&b);
        path += n + (colon ? 1 : 0);
    }
    return NULL;
}

void cli_shell_quote(Buf *b, const char *text) {
    buf_putc(b, '\'');
    for (const char *p = text; *p; p++) {
        if (*p == '\'')
            buf_puts(b, "'\\''");
        else
            buf_putc(b, *p);
    }
    buf_putc(b, '\'');
}

char *cli_temp_dir(const char *tag) {
    const char *base = getenv("TMPDIR");
    Buf b = {0};
    buf_printf(&b, "%s/nngen-%s.XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(b.data)) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}

void cli_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            Buf child = {0};
            buf_printf(&child, "%s/%s", path, de->d_name);
            cli_remove_tree(child.data);
            buf_free(&child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

int cli_make_dirs(const char *path) {
    char *p = base_xstrdup(path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = c;
        if (!c)
            break;
    }
    struct stat st;
    int ok = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
    free(p);
    if (!ok)
        errno = ENOTDIR;
    return ok ? 0 : -1;
}

/* FNV-1a: h = (h ^ byte) * 0x100000001b3 */
char *cli_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return base_xstrdup(".");
    if (slash == path)
        return base_xstrdup("/");
    return base_xstrndup(path, (size_t)(slash - path));
}

/* ---- the generated pair net.c / net.h (nngen NET.nn, nngen quantize) ---- */

/* NET.c -> NET.h beside it; the include names the header without directory */
char *cli_header_path(const char *c_path) {
    size_t n = strlen(c_path);
    char *h = base_xmalloc(n + 3);
    strcpy(h, c_path);
    if (n > 2 && !strcmp(h + n - 2, ".c"))
        h[n - 1] = 'h';
    else
        strcat(h, ".h");
    return h;
}

char *cli_default_output(const char *input) {
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    char *out = base_xmalloc(strlen(base) + 3);
    strcpy(out, base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = '\0';
    strcat(out, ".c");
    return out;
}

/* 1 when both paths name one existing file (nngen net.nn -o net.nn) */
int cli_same_file(const char *a, const char *b) {
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
