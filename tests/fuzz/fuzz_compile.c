/*
 * fuzz_compile.c - libFuzzer harness over the whole compiler: the input bytes
 * are a .nn source, run through nngen_compile (parse, lower with the shape
 * rules, autodiff, optimizer updates, every pass with --verify, emit), with
 * diagnostics going to a memory stream.
 *
 * Besides crashes and sanitizer reports, the harness aborts when the result
 * breaks a promise of the compiler (the oracle):
 *   - success: no diagnostic at all, and C source and header were produced
 *     (or the IR, for the emit=ir variant);
 *   - failure: at least one error, every diagnostic located (NAME:LINE:COL
 *     with both >= 1), none an "internal:" verifier message; nothing
 *     produced. (nngen's own bug reports, nn_unreachable, abort anyway.)
 * The options vary with the input's length (len % 4), so that one corpus
 * reaches the training, inference-only, IR and no-optimization paths:
 *   0: defaults    1: --infer-only --standalone
 *   2: --emit=ir -O0    3: --max-batch 1
 * All variants run with --verify.
 *
 * Built two ways (tests/fuzz/CMakeLists.txt): with clang -fsanitize=fuzzer
 * (NNGEN_FUZZ=ON, scripts/fuzz.sh), and linked with replay.c as a plain
 * program that CTest runs over the seed and regression corpora.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nngen.h"

#define FUZZ_FILE "fuzz.nn"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_fail(const char *why, const char *diag, size_t len) {
    fprintf(stderr, "fuzz_compile: %s\n--- diagnostics (%zu bytes):\n%.*s\n", why, len,
            (int)(len > 4000 ? 4000 : len), diag ? diag : "");
    abort();
}

/* "fuzz.nn:12:3: error: MESSAGE" with line and column >= 1: the message
 * (after "error: " or "note: "), or NULL when the line is not located */
static const char *located(const char *line) {
    const char *p = line + strlen(FUZZ_FILE);
    long l, c;
    char *end;
    if (strncmp(line, FUZZ_FILE ":", strlen(FUZZ_FILE) + 1) != 0)
        return NULL;
    l = strtol(p + 1, &end, 10);
    if (end == p + 1 || *end != ':' || l < 1)
        return NULL;
    p = end;
    c = strtol(p + 1, &end, 10);
    if (end == p + 1 || c < 1)
        return NULL;
    if (strncmp(end, ": error: ", 9) == 0)
        return end + 9;
    if (strncmp(end, ": note: ", 8) == 0)
        return end + 8;
    return NULL;
}

/* Every diagnostic header line (a line not starting with a blank, the quote
 * and caret lines start with one) must be located and not an internal error
 * (the verifier's messages start with "internal"; the source quoted in a
 * message may say anything); returns the error count. */
static int check_diagnostics(const char *d, size_t len) {
    int errors = 0;
    const char *p = d, *end = d + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char line[256];
        snprintf(line, sizeof line, "%.*s", (int)(n < 255 ? n : 255), p);
        if (n > 0 && line[0] != ' ' && strcmp(line, FUZZ_FILE ": note: too many errors, stopping here") != 0) {
            const char *msg = located(line);
            if (!msg)
                fuzz_fail("a diagnostic without a location", d, len);
            if (strncmp(msg, "internal", 8) == 0)
                fuzz_fail("an internal error", d, len);
            if (strncmp(msg - 7, "error: ", 7) == 0)
                errors++;
        }
        p = nl ? nl + 1 : end;
    }
    return errors;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    CompileOptions o;
    Buf c = {0}, h = {0};
    char *diag = NULL;
    size_t diag_len = 0;
    FILE *ds = open_memstream(&diag, &diag_len);
    int variant = (int)(size % 4), rc, errors;

    if (!ds)
        abort();
    memset(&o, 0, sizeof o);
    o.path = FUZZ_FILE;
    o.header_name = "fuzz.h";
    o.cmdline = "nngen fuzz.nn -o fuzz.c";
    o.opt_level = 2;
    o.max_batch = 64;
    o.verify = 1;
    o.diag = ds;
    o.dump = ds;
    if (variant == 1)
        o.infer_only = o.standalone = 1;
    else if (variant == 2)
        o.emit = "ir", o.opt_level = 0;
    else if (variant == 3)
        o.max_batch = 1;

    rc = nngen_compile((const char *)data, size, &o, &c, &h);
    fclose(ds);
    errors = check_diagnostics(diag, diag_len);
    if (rc == 0) {
        if (diag_len != 0)
            fuzz_fail("success with diagnostics", diag, diag_len);
        if (c.len == 0 || (variant != 2 && h.len == 0))
            fuzz_fail("success without output", diag, diag_len);
    } else {
        if (rc != -1)
            fuzz_fail("nngen_compile returned neither 0 nor -1", diag, diag_len);
        if (errors == 0)
            fuzz_fail("failure without an error message", diag, diag_len);
        if (c.len != 0 || h.len != 0)
            fuzz_fail("failure with output", diag, diag_len);
    }
    buf_free(&c);
    buf_free(&h);
    free(diag);
    return 0;
}
