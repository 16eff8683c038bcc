/* patching.h - activation patching: run a corrupted text, put back one activation from the clean text's
 * run, and measure how much of the clean prediction it restores:
 *   restored = (m_patched - m_corrupt) / (m_clean - m_corrupt)
 * for a metric m at the last position - the target token's logit, or the difference of two tokens'
 * logits (metric.h) - 1: all of it, 0: none. A sweep tries every layer and
 * position (or every layer and head) and gives the classic "where does the model keep it" map. */
#ifndef GPTSTEP_PATCHING_H
#define GPTSTEP_PATCHING_H

#include "generate.h"
#include "metric.h"

typedef struct {
    PatchKind what;
    int rows, cols;      /* resid, mlp: layers x positions; head: layers*heads x 1 (every position) */
    double *restored;    /* (rows, cols) */
    double clean_logit, corrupt_logit; /* the metric in the clean and the corrupted run */
    Metric metric;
    int n_tokens;
    int too_close; /* |clean - corrupted| < METRIC_MIN_SPAN: nothing to restore, no map (restored is all 0) */
} PatchSweep;

/* The sweep over what (PATCH_RESID, PATCH_MLP: each layer at each position; PATCH_HEAD: each head of
 * each layer at every position at once). clean and corrupt must be the same number of tokens. Replaces
 * what g holds; g's trace must record everything (TRACE_FULL). */
int patch_sweep(Gen *g, const int *clean, const int *corrupt, int n, Metric metric, PatchKind what, PatchSweep *out, Err *err);
void patch_sweep_free(PatchSweep *s);

#endif
