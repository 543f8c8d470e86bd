/*
 * suggest.c - "did you mean": the known word closest to a misspelled one.
 *
 * Closeness is the optimal-string-alignment distance (Levenshtein plus the
 * swap of two neighbours, so desne -> dense is 1), compared without case.
 * A word equal to a candidate but for case wins outright (Relu -> relu);
 * otherwise the closest candidate within 1 edit (words of up to 4 bytes)
 * or 2 edits (longer words) is suggested, the first of the list on a tie,
 * and nothing when none is that close. Words longer than 63 bytes are
 * never matched.
 */
#include <ctype.h>
#include <string.h>

#include "base/base.h"

#define SUGGEST_MAX 64

/* the optimal-string-alignment distance of a and b, case folded */
static int edit_distance(const char *a, const char *b) {
    int n = (int)strlen(a), m = (int)strlen(b);
    static int d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
    for (int i = 0; i <= n; i++)
        d[i][0] = i;
    for (int j = 0; j <= m; j++)
        d[0][j] = j;
    for (int i = 1; i <= n; i++) {
        for (int j = 1; j <= m; j++) {
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best)
                best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

const char *base_suggest(const char *word, const char *const *cands, int n) {
    if (!word || strlen(word) >= SUGGEST_MAX)
        return NULL;
    int limit = strlen(word) <= 4 ? 1 : 2, best = limit + 1;
    const char *pick = NULL;
    for (int i = 0; i < n; i++) {
        if (!cands[i] || strlen(cands[i]) >= SUGGEST_MAX || !strcmp(cands[i], word))
            continue;
        int d = edit_distance(word, cands[i]);
        if (d == 0) /* equal but for case */
            return cands[i];
        if (d < best) {
            best = d;
            pick = cands[i];
        }
    }
    return pick;
}
