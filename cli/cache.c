/*
 * cache.c - the build cache of `nngen train` and `nngen predict`.
 *
 * A driver is compiled once per content: the key is the text of
 *   nngen's version, the .nn source, the nngen flags that shape the code
 *   (and "threaded": the trainer's runtime runs on threads, -pthread),
 *   the C compiler command ($CC, else cc), its `--version` output, the C
 *   flags ($NNGEN_CFLAGS, else -O3 -march=native, the -march=native only
 *   when one probe finds that the compiler accepts it: gcc vectorizes the
 *   kernels only from -O3, and -march=native gives them the machine's
 *   vector width), the CPU (/proc/cpuinfo's model name and a hash of its
 *   flags line, or $NNGEN_CPUINFO's: a cache directory shared between
 *   machines never runs a trainer built for another CPU), and hashes of the
 *   embedded runtime, of the driver's embedded sources (trainer.c and the
 *   data loaders) and of the C generated for the network (a rebuilt nngen
 *   whose code generation changed never reuses a stale driver);
 * the entry is CACHE/<FNV-1a 64 of the key, 16 hex digits>/ holding key,
 * net.c, net.h, driver.c, the executable nntrain and digest (nntrain's
 * FNV-1a 64 and size when it was built). A hit compares the stored key
 * byte for byte, so a hash collision costs a rebuild, never a wrong
 * program, and nntrain against its digest, so a damaged binary (a full
 * disk, a crash, an edit) is rebuilt instead of failing on every run. Entries are built in CACHE/tmp.XXXXXX and renamed into
 * place, so concurrent runs never see half an entry; the loser of a race
 * uses the winner's entry.
 *
 * The compiler's facts (its --version text, whether it takes -march=native)
 * cost two compiler runs, a fifth of a second on a loaded machine, which
 * would be paid before every cached trainer starts: they are kept in
 * CACHE/compilers/<FNV-1a 64 of the identity>, whose first lines repeat the
 * identity: the CC command, the path of its program with the device,
 * inode, size and modification time of the file its links lead to (an
 * upgraded or replaced compiler, another alternative, is asked again), and
 * the CPU line of the key. A CC of several words (a
 * wrapper such as "ccache gcc", whose compiler may change behind it) is
 * asked every run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_CFLAGS "-O3"

char *cache_default_dir(void) {
    const char *v = getenv("NNGEN_CACHE_DIR");
    Buf b = {0};
    if (v && *v)
        buf_puts(&b, v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v == '/')
        buf_printf(&b, "%s/nngen", v);
    else if ((v = getenv("HOME")) && *v)
        buf_printf(&b, "%s/.cache/nngen", v);
    return b.data;
}

static const char *compiler(void) {
    const char *cc = getenv("CC");
    return cc && *cc ? cc : "cc";
}

/* what nngen knows of the compiler: asked once per run, or read back from
 * the cache (know_compiler) */
static struct {
    int known;   /* 1: the fields hold the answers */
    int rc;      /* `CC --version`'s status: 0, else cli_shell's */
    Buf version; /* its output */
    int march;   /* 1 when it takes -march=native, 0 when not, -1 not asked yet */
} facts;

/* asks the compiler `CC --version` */
static void ask_version(void) {
    Buf cmd = {0};
    buf_printf(&cmd, "%s --version", compiler());
    facts.rc = cli_shell(cmd.data, NULL, &facts.version);
    buf_free(&cmd);
    facts.march = -1;
    facts.known = 1;
}

/* 1 when the compiler accepts -march=native (one probe, once per run at most) */
static int accepts_march_native(void) {
    if (!facts.known)
        ask_version();
    if (facts.march < 0) {
        Buf cmd = {0}, out = {0};
        buf_printf(&cmd, "%s -march=native -E -x c /dev/null", compiler());
        facts.march = facts.rc == 0 && cli_shell(cmd.data, NULL, &out) == 0;
        buf_free(&cmd);
        buf_free(&out);
    }
    return facts.march;
}

static void put_cpu(Buf *key);

/* the compiler's identity (see the top of this file); -1 when it has none
 * that can be trusted: a CC of several words, a program not found */
static int compiler_identity(Buf *id) {
    const char *cc = compiler();
    if (strpbrk(cc, " \t\n'\"\\$`"))
        return -1;
    char *prog = cli_which(cc);
    struct stat st; /* of the file at the end of its symbolic links (cc -> gcc -> gcc-12) */
    int ok = prog && stat(prog, &st) == 0 && S_ISREG(st.st_mode);
    if (ok) {
        buf_printf(id, "cc: %s\nprogram: %s %llu %llu %lld %lld.%09ld\n", cc, prog, (unsigned long long)st.st_dev,
                   (unsigned long long)st.st_ino, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                   (long)st.st_mtim.tv_nsec);
        put_cpu(id);
    }
    free(prog);
    return ok ? 0 : -1;
}

/* the facts file's text: the identity, then "march: 0|1", then the version */
static void format_facts(const Buf *id, Buf *text) {
    buf_printf(text, "%smarch: %d\n%s", id->data, facts.march, facts.version.data ? facts.version.data : "");
}

/* reads CACHE/compilers/<hash> when it is a regular file made for this
 * identity; 1 when facts now holds its answers */
static int read_facts(const char *path, const Buf *id) {
    struct stat st;
    size_t len;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    char *text = cli_read_file(path, &len);
    const char *p = text;
    int ok = text && len > id->len + 9 && memcmp(text, id->data, id->len) == 0 &&
             strncmp(p = text + id->len, "march: ", 7) == 0 && (p[7] == '0' || p[7] == '1') && p[8] == '\n';
    if (ok) {
        facts.rc = 0;
        facts.march = p[7] == '1';
        buf_puts(&facts.version, p + 9);
        facts.known = 1;
    }
    free(text);
    return ok;
}

/* fills facts for this run: from CACHE/compilers when it knows this
 * compiler, else by asking it (and keeping the answers there when it ran) */
static void know_compiler(const char *root) {
    if (facts.known)
        return;
    Buf id = {0}, path = {0}, text = {0};
    if (compiler_identity(&id) < 0) { /* asked every run, -march=native only when needed */
        ask_version();
        buf_free(&id);
        return;
    }
    buf_printf(&path, "%s/compilers", root);
    int dir_ok = cli_make_dirs(path.data) == 0;
    buf_printf(&path, "/%016llx", (unsigned long long)hash_fnv64(HASH_FNV64_INIT, id.data, id.len));
    if (!read_facts(path.data, &id)) {
        ask_version();
        accepts_march_native();
        if (facts.rc == 0 && dir_ok) { /* a failure to keep them only costs the next run the asking */
            format_facts(&id, &text);
            char *tmp = cli_write_temp(path.data, text.data, text.len);
            if (tmp && cli_rename_over(tmp, path.data) != 0)
                unlink(tmp);
            free(tmp);
        }
    }
    buf_free(&id);
    buf_free(&path);
    buf_free(&text);
}

static const char *cflags(void) {
    const char *f = getenv("NNGEN_CFLAGS");
    if (f)
        return f;
    return accepts_march_native() ? DEFAULT_CFLAGS " -march=native" : DEFAULT_CFLAGS;
}

/* the value of the first line of text that starts with field, up to eol */
static void find_field(const char *text, const char *field, const char **start, size_t *len) {
    *start = NULL;
    *len = 0;
    size_t n = strlen(field);
    for (const char *l = text, *eol = NULL; l && *l; l = eol ? eol + 1 : NULL) {
        eol = strchr(l, '\n');
        if (strncmp(l, field, n) != 0)
            continue;
        const char *v = strchr(l, ':');
        if (!v || (eol && v > eol))
            continue;
        for (v++; *v == ' ' || *v == '\t'; v++)
            ;
        *start = v;
        *len = eol ? (size_t)(eol - v) : strlen(v);
        return;
    }
}

/* "cpu: MODEL NAME, flags FNV" from /proc/cpuinfo (or $NNGEN_CPUINFO) */
static void put_cpu(Buf *key) {
    static Buf line; /* read once a run: the compiler's identity and the key both name the CPU */
    if (!line.data) {
        const char *path = getenv("NNGEN_CPUINFO");
        size_t len;
        char *text = cli_read_file(path && *path ? path : "/proc/cpuinfo", &len);
        const char *info = text ? text : "", *model, *flags;
        size_t model_len, flags_len;
        find_field(info, "model name", &model, &model_len);
        find_field(info, "flags", &flags, &flags_len);
        if (!flags) /* arm64's /proc/cpuinfo says Features */
            find_field(info, "Features", &flags, &flags_len);
        buf_puts(&line, "cpu: ");
        if (model)
            for (size_t i = 0; i < model_len; i++)
                buf_putc(&line, model[i]);
        else
            buf_puts(&line, "unknown");
        buf_printf(&line, ", flags %016llx\n",
                   (unsigned long long)hash_fnv64(HASH_FNV64_INIT, flags ? flags : "", flags_len));
        free(text);
    }
    buf_puts(key, line.data);
}

/* the key text; 2 after an error message when the compiler cannot run */
static int make_key(const BuildRequest *r, Buf *key) {
    if (!facts.known)
        ask_version();
    if (facts.rc != 0) {
        if (facts.rc == 127)
            cli_error("no C compiler: '%s' was not found (install gcc or clang, or set CC)", compiler());
        else
            cli_error("cannot run the C compiler '%s --version' (status %d): set CC to a C99 compiler", compiler(),
                      facts.rc);
        if (facts.version.len)
            fprintf(stderr, "%s", facts.version.data);
        return 2;
    }
    uint64_t rt = hash_fnv64(HASH_FNV64_INIT, nnrt_embedded_h, strlen(nnrt_embedded_h));
    rt = hash_fnv64(rt, nnrt_embedded_c, strlen(nnrt_embedded_c));
    uint64_t dr = hash_fnv64(HASH_FNV64_INIT, nn_embedded_train_driver, strlen(nn_embedded_train_driver));
    dr = hash_fnv64(dr, nn_embedded_data_h, strlen(nn_embedded_data_h));
    dr = hash_fnv64(dr, nn_embedded_data_c, strlen(nn_embedded_data_c));
    /* the C this nngen generated for the network: a rebuilt nngen of the
     * same version whose code generation changed never reuses a trainer
     * built from the old C */
    uint64_t gen = HASH_FNV64_INIT;
    const Buf *texts[3] = {r->net_c, r->net_h, r->driver_c};
    for (int i = 0; i < 3; i++)
        if (texts[i] && texts[i]->len) {
            /* after the header comment, which names the .nn file's path: the
             * same network from another directory is the same trainer */
            const char *end = strstr(texts[i]->data, "*/");
            size_t skip = i < 2 && end ? (size_t)(end - texts[i]->data) : 0;
            gen = hash_fnv64(gen, texts[i]->data + skip, texts[i]->len - skip);
        }
    buf_printf(key, "nngen %s\nflags: %s\ncc: %s\ncflags: %s\nruntime: %016llx\ndriver: %016llx\ngenerated: %016llx\n",
               NNGEN_VERSION, r->flags, compiler(), cflags(), (unsigned long long)rt, (unsigned long long)dr,
               (unsigned long long)gen);
    put_cpu(key);
    buf_printf(key, "compiler version:\n%s\nsource (%lu bytes):\n", facts.version.data ? facts.version.data : "",
               (unsigned long)r->nn_len);
    for (size_t i = 0; i < r->nn_len; i++)
        buf_putc(key, r->nn_text[i]);
    return 0;
}

/* "<FNV-1a 64 of the file, 16 hex digits> <bytes>\n"; 0, or -1 when unreadable */
static int file_digest(const char *path, Buf *out) {
    size_t len;
    char *data = cli_read_file(path, &len);
    if (!data)
        return -1;
    buf_printf(out, "%016llx %lu\n", (unsigned long long)hash_fnv64(HASH_FNV64_INIT, data, len), (unsigned long)len);
    free(data);
    return 0;
}

/* 1 when dir/name holds exactly want's bytes */
static int holds(const char *dir, const char *name, const Buf *want) {
    Buf p = {0};
    size_t len;
    buf_printf(&p, "%s/%s", dir, name);
    char *stored = cli_read_file(p.data, &len);
    buf_free(&p);
    int ok = stored && len == want->len && memcmp(stored, want->data, len) == 0;
    free(stored);
    return ok;
}

/* 1 when dir holds a finished entry for exactly this key whose nntrain is
 * the program that was built (its digest, stored when it was built: a
 * damaged or replaced binary is rebuilt, never run again and again); 0
 * when there is none, -1 when there is one with a damaged nntrain */
static int entry_valid(const char *dir, const Buf *key) {
    if (!holds(dir, "key", key))
        return 0;
    Buf p = {0}, digest = {0};
    buf_printf(&p, "%s/nntrain", dir);
    int ok = access(p.data, X_OK) == 0 && file_digest(p.data, &digest) == 0 && holds(dir, "digest", &digest);
    buf_free(&p);
    buf_free(&digest);
    return ok ? 1 : -1;
}

static int write_in(const char *dir, const char *name, const Buf *b) {
    Buf p = {0};
    buf_printf(&p, "%s/%s", dir, name);
    FILE *f = fopen(p.data, "wb");
    int ok = f && fwrite(b->data, 1, b->len, f) == b->len;
    if (f)
        ok &= fclose(f) == 0;
    if (!ok)
        cli_error("cannot write '%s': %s", p.data, strerror(errno));
    buf_free(&p);
    return ok ? 0 : -1;
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* writes the sources into dir and compiles nntrain there; 0 or 2 */
static int build(const BuildRequest *r, const char *dir, const Buf *key) {
    if (write_in(dir, "net.c", r->net_c) < 0 || write_in(dir, "net.h", r->net_h) < 0 ||
        write_in(dir, "driver.c", r->driver_c) < 0)
        return 2;
    Buf cmd = {0}, out = {0};
    buf_printf(&cmd, "%s -std=c99 %s -pthread -o nntrain driver.c -lm", compiler(), cflags()); /* threads.c */
    double t0 = seconds_now();
    int rc = cli_shell(cmd.data, dir, &out);
    if (rc != 0) {
        if (out.len)
            fprintf(stderr, "%s", out.data);
        cli_error("the C compiler failed on the generated trainer (status %d): %s (in %s)", rc, cmd.data, dir);
    } else {
        fprintf(stderr, "nngen: compiled the trainer in %.1f s (%s -std=c99 %s; cached: the next run starts at once)\n",
                seconds_now() - t0, compiler(), cflags());
        if (r->verbose)
            fprintf(stderr, "nngen: built in %s\n", dir);
    }
    buf_free(&cmd);
    buf_free(&out);
    /* the digest of the program, then the key last: an entry with a key is complete */
    Buf exe = {0}, digest = {0};
    buf_printf(&exe, "%s/nntrain", dir);
    if (rc == 0 && file_digest(exe.data, &digest) != 0)
        rc = cli_error("cannot read the trainer just built, '%s': %s", exe.data, strerror(errno));
    rc = rc == 0 && write_in(dir, "digest", &digest) == 0 && write_in(dir, "key", key) == 0 ? 0 : 2;
    buf_free(&exe);
    buf_free(&digest);
    return rc;
}

static void set_entry(CacheEntry *e, const char *dir, int temporary, int built) {
    Buf exe = {0};
    buf_printf(&exe, "%s/nntrain", dir);
    e->dir = base_xstrdup(dir);
    e->exe = exe.data;
    e->temporary = temporary;
    e->built = built;
}

int cache_get(const BuildRequest *r, CacheEntry *e) {
    memset(e, 0, sizeof *e);
    char *root = r->cache_dir ? base_xstrdup(r->cache_dir) : cache_default_dir();
    if (!root)
        return cli_error("no cache directory: set NNGEN_CACHE_DIR, XDG_CACHE_HOME or HOME, or pass --cache-dir");
    if (cli_make_dirs(root) < 0) {
        int rc = cli_error("cannot create the cache directory '%s': %s", root, strerror(errno));
        free(root);
        return rc;
    }
    Buf key = {0}, entry = {0}, tmp = {0};
    know_compiler(root);
    int rc = make_key(r, &key);
    if (rc) {
        free(root);
        return rc;
    }
    buf_printf(&entry, "%s/%016llx", root, (unsigned long long)hash_fnv64(HASH_FNV64_INIT, key.data, key.len));
    int valid = entry_valid(entry.data, &key);
    if (valid > 0) {
        if (r->verbose)
            fprintf(stderr, "nngen: using the cached trainer in %s\n", entry.data);
        set_entry(e, entry.data, 0, 0);
        goto done;
    }
    if (valid < 0)
        fprintf(stderr,
                "nngen: the cached trainer %s/nntrain is damaged (it is not the program that was built): "
                "building it again\n",
                entry.data);
    buf_printf(&tmp, "%s/tmp.XXXXXX", root);
    if (!mkdtemp(tmp.data)) {
        rc = cli_error("cannot create a directory in the cache '%s': %s", root, strerror(errno));
        goto done;
    }
    if ((rc = build(r, tmp.data, &key)) != 0) {
        cli_remove_tree(tmp.data);
        goto done;
    }
    if (rename(tmp.data, entry.data) == 0) {
        set_entry(e, entry.data, 0, 1);
    } else if (entry_valid(entry.data, &key) > 0) { /* another run built it meanwhile */
        cli_remove_tree(tmp.data);
        set_entry(e, entry.data, 0, 1);
    } else { /* a stale entry of another key (a collision, or damage): replace it */
        cli_remove_tree(entry.data);
        if (rename(tmp.data, entry.data) == 0)
            set_entry(e, entry.data, 0, 1);
        else
            set_entry(e, tmp.data, 1, 1);
    }
done:
    buf_free(&key);
    buf_free(&entry);
    buf_free(&tmp);
    free(root);
    return rc;
}

void cache_release(CacheEntry *e) {
    if (e->temporary && e->dir)
        cli_remove_tree(e->dir);
    free(e->dir);
    free(e->exe);
    memset(e, 0, sizeof *e);
}
