/* metric.c - one token's logit or the difference of two (metric.h). */
#include "metric.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double metric_value(const Metric *m, const float *logits) {
    return (double)logits[m->token] - (m->minus >= 0 ? (double)logits[m->minus] : 0.0);
}

/* One token at *p: a "quoted piece" that is exactly one token, or an id. Moves *p past it. */
static int one_token(const char **p, const char *all, Tokenizer *tok, int n_vocab, int *id, Err *err) {
    const char *s = *p;
    while (*s == ' ') s++;
    if (*s == '"') {
        char piece[256];
        size_t k = 0;
        for (s++; *s && *s != '"'; s++) {
            if (*s == '\\' && (s[1] == '"' || s[1] == '\\')) s++;
            if (k + 1 < sizeof piece) piece[k++] = *s;
        }
        if (*s != '"') return err_set(err, "'%.80s': a quoted piece is not closed", all);
        piece[k] = 0;
        s++;
        int *ids = NULL, n = 0;
        Err e;
        if (tok_encode(tok, piece, k, 0, &ids, &n, &e) || n != 1) {
            free(ids);
            return err_set(err, "'%.80s': \"%.60s\" is %d tokens, expected one (see 'gptstep tokens')", all, piece, n);
        }
        *id = ids[0];
        free(ids);
        if (*id >= n_vocab) return err_set(err, "'%.80s': \"%.60s\" is token %d, past the model's %d", all, piece, *id, n_vocab);
    } else {
        const char *end = s;
        while (*end >= '0' && *end <= '9') end++;
        long v;
        char num[24];
        snprintf(num, sizeof num, "%.*s", (int)(end - s > 20 ? 20 : end - s), s);
        if (end == s || parse_int(num, 0, n_vocab - 1, &v))
            return err_set(err, "'%.80s': expected a \"quoted piece\" or a token id 0..%d, then optionally - and another", all, n_vocab - 1);
        *id = (int)v;
        s = end;
    }
    while (*s == ' ') s++;
    *p = s;
    return 0;
}

int metric_parse(const char *text, Tokenizer *tok, int n_vocab, Metric *out, Err *err) {
    const char *p = text;
    *out = (Metric){-1, -1};
    if (one_token(&p, text, tok, n_vocab, &out->token, err)) return -1;
    if (*p == '-') {
        p++;
        if (one_token(&p, text, tok, n_vocab, &out->minus, err)) return -1;
        if (out->minus == out->token) return err_set(err, "'%.80s': the same token twice (the difference is always 0)", text);
    }
    if (*p) return err_set(err, "'%.80s': unexpected '%.20s' (a metric is \" token\" or \" right\"-\" wrong\")", text, p);
    return 0;
}

void metric_name(const Metric *m, const Tokenizer *tok, TokShow how, char *buf, size_t cap) {
    char a[128], b[128];
    tok_show(tok, m->token, how, a, sizeof a);
    if (m->minus < 0) {
        snprintf(buf, cap, "logit(\"%s\")", a);
        return;
    }
    tok_show(tok, m->minus, how, b, sizeof b);
    snprintf(buf, cap, "logit(\"%s\") \xE2\x88\x92 logit(\"%s\")", a, b);
}
