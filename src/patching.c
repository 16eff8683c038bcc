/* patching.c - activation patching sweeps (patching.h). The clean run is recorded once; each patched run
 * reuses the corrupted run's cache for the positions before the patch (they cannot see it) and runs the
 * rest again, with the trace off. */
#include "patching.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The corrupted run's keys and values of positions [0, n), for every layer: (n, L, C) each, as the
 * cache holds them (gpt2_kv_row). */
typedef struct {
    float *k, *v;
} CacheCopy;

static void cache_copy(Gpt2State *s, int n, CacheCopy *cc, int restore_upto) {
    const size_t row = gpt2_kv_stride(s) * sizeof(float); /* one position, every layer */
    float *k = gpt2_kv_row(s, 0, 0, 0), *v = gpt2_kv_row(s, 1, 0, 0);
    if (restore_upto < 0) memcpy(cc->k, k, row * (size_t)n), memcpy(cc->v, v, row * (size_t)n);
    else memcpy(k, cc->k, row * (size_t)restore_upto), memcpy(v, cc->v, row * (size_t)restore_upto);
}

/* One patched run from position p on; returns the target's logit at the last position. The positions
 * before p are the corrupted run's (restored from cc: an earlier patched run may have written them). */
static int patched_logit(Gen *g, const int *corrupt, int n, int p, Patch patch, const Metric *metric, double *logit, CacheCopy *cc, Err *err) {
    cache_copy(&g->state, n, cc, p);
    gpt2_state_truncate(&g->state, p);
    g->state.patch = patch;
    int rc = gpt2_forward(&g->state, corrupt + p, n - p, NULL, g->logits, err);
    g->state.patch.kind = PATCH_NONE;
    *logit = metric_value(metric, g->logits);
    return rc;
}

int patch_sweep(Gen *g, const int *clean, const int *corrupt, int n, Metric metric, PatchKind what, PatchSweep *out, Err *err) {
    const Gpt2Config *c = &g->model.cfg;
    const int L = c->n_layer, NH = c->n_head, C = c->n_embd, HS = C / NH;
    memset(out, 0, sizeof *out);
    if (g->trace.mode != TRACE_FULL) return err_set(err, "patching needs a full recording of the clean run");
    if (metric.token < 0 || metric.token >= c->n_vocab || metric.minus >= c->n_vocab)
        return err_set(err, "target token %d is out of range 0..%d", metric.minus >= c->n_vocab ? metric.minus : metric.token, c->n_vocab - 1);
    /* the clean run: its activations, position by position */
    if (gen_start_ids(g, clean, n, err)) return -1;
    out->clean_logit = metric_value(&metric, g->logits);
    TensorKind kind = what == PATCH_RESID ? TK_RESID_OUT : what == PATCH_MLP ? TK_MLP_PROJ : TK_HEADS;
    float *act = malloc(sizeof(float) * (size_t)L * n * C); /* (L, n, C) */
    for (int l = 0; l < L; l++)
        for (int p = 0; p < n; p++) {
            const float *x = trace_get(&g->trace, trace_id(&g->trace, kind, l), p);
            if (!x) {
                free(act);
                return err_set(err, "the clean run did not record %s at position %d", trace_kind_name(kind), p);
            }
            memcpy(act + ((size_t)l * n + p) * C, x, sizeof(float) * (size_t)C);
        }
    /* the corrupted run, without recording: the patched runs start from its cache */
    TraceMode keep = g->trace.mode;
    gen_truncate(g, 0);
    g->trace.mode = TRACE_OFF;
    int rc = gen_start_ids(g, corrupt, n, err);
    out->corrupt_logit = metric_value(&metric, g->logits);
    CacheCopy cc = {malloc(sizeof(float) * (size_t)L * n * C), malloc(sizeof(float) * (size_t)L * n * C)};
    cache_copy(&g->state, n, &cc, -1);
    out->metric = metric, out->n_tokens = n, out->what = what;
    out->rows = what == PATCH_HEAD ? L * NH : L;
    out->cols = what == PATCH_HEAD ? 1 : n;
    out->restored = calloc((size_t)out->rows * out->cols, sizeof(double));
    const double span = out->clean_logit - out->corrupt_logit;
    out->too_close = fabs(span) < METRIC_MIN_SPAN; /* a ratio of noise: no sweep */
    float *head_rows = malloc(sizeof(float) * (size_t)n * HS);
    for (int l = 0; l < L && rc == 0 && !out->too_close; l++) {
        if (what == PATCH_HEAD) {
            for (int h = 0; h < NH && rc == 0; h++) { /* this head's output at every position */
                for (int p = 0; p < n; p++) memcpy(head_rows + (size_t)p * HS, act + ((size_t)l * n + p) * C + (size_t)h * HS, sizeof(float) * HS);
                double lg;
                rc = patched_logit(g, corrupt, n, 0, (Patch){PATCH_HEAD, l, h, -1, head_rows}, &metric, &lg, &cc, err);
                out->restored[l * NH + h] = span != 0 ? (lg - out->corrupt_logit) / span : 0;
            }
        } else {
            for (int p = 0; p < n && rc == 0; p++) {
                double lg;
                rc = patched_logit(g, corrupt, n, p, (Patch){what, l, 0, p, act + ((size_t)l * n + p) * C}, &metric, &lg, &cc, err);
                out->restored[l * n + p] = span != 0 ? (lg - out->corrupt_logit) / span : 0;
            }
        }
    }
    free(head_rows);
    free(act);
    free(cc.k);
    free(cc.v);
    gen_truncate(g, 0);
    g->trace.mode = keep;
    if (rc) patch_sweep_free(out);
    return rc;
}

void patch_sweep_free(PatchSweep *s) {
    free(s->restored);
    s->restored = NULL;
}
