/* metric.h - what attribution and patching measure at a position: one token's logit, or the difference
 * of two tokens' logits (" flew" - " went"), as interpretability papers measure "how much the model
 * prefers the right answer over the wrong one". */
#ifndef GPTSTEP_METRIC_H
#define GPTSTEP_METRIC_H

#include "common.h"
#include "tokenizer.h"

typedef struct {
    int token; /* the token whose logit counts */
    int minus; /* the token whose logit is taken away, or -1: the logit of token alone */
} Metric;

/* Patching measures restored = (patched - corrupted) / (clean - corrupted): when clean and corrupted
 * differ by less than this many logits, the ratio is noise (a run of -0.58 ... 1.00 from 6.351 vs 6.448),
 * so a sweep says so instead of showing a map (docs/experiments.md). */
#define METRIC_MIN_SPAN 0.5

double metric_value(const Metric *m, const float *logits);

/* Reads `" flew"`, `" flew"-" went"`, `1234` or `1234-3478` (a "quoted piece" is one token of the
 * vocabulary, an id is 0..n_vocab-1; inside quotes \" and \\ are a quote and a backslash). Returns 0, or
 * -1 with one line saying what was expected. */
int metric_parse(const char *text, Tokenizer *tok, int n_vocab, Metric *out, Err *err);

/* `logit(" flew")` or `logit(" flew") − logit(" went")`, each piece as tok_show writes it. */
void metric_name(const Metric *m, const Tokenizer *tok, TokShow how, char *buf, size_t cap);

#endif
