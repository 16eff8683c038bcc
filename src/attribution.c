/* attribution.c - direct logit attribution (attribution.h), from the recorded tensors of a trace. */
#include "attribution.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* (o - mean(o)) / sigma * g . u : one part's contribution, o (C) */
static double through_frozen_ln(const float *o, int C, double sigma, const float *g, const float *u) {
    double mean = 0, s = 0;
    for (int i = 0; i < C; i++) mean += o[i];
    mean /= C;
    for (int i = 0; i < C; i++) s += ((double)o[i] - mean) / sigma * g[i] * u[i];
    return s;
}

int attribution_compute(Gen *g, int pos, Metric metric, Attribution *a, Err *err) {
    const int token = metric.token, minus = metric.minus;
    const Gpt2Model *m = &g->model;
    const Gpt2Config *c = &m->cfg;
    const Trace *tr = &g->trace;
    const int L = c->n_layer, NH = c->n_head, C = c->n_embd, HS = C / NH;
    memset(a, 0, sizeof *a);
    if (tr->mode != TRACE_FULL) return err_set(err, "attribution needs a full recording");
    if (pos < 0 || pos >= tr->n_pos) return err_set(err, "position %d is not in the text (0..%d)", pos, tr->n_pos - 1);
    if (token < 0 || token >= c->n_vocab) return err_set(err, "token %d is out of range 0..%d", token, c->n_vocab - 1);
    if (minus >= c->n_vocab) return err_set(err, "token %d is out of range 0..%d", minus, c->n_vocab - 1);
    const float *x = trace_get(tr, trace_id(tr, TK_RESID_OUT, L - 1), pos);
    const float *logits = trace_get(tr, trace_id(tr, TK_LOGITS, 0), pos);
    const float *embed = trace_get(tr, trace_id(tr, TK_EMBED, 0), pos);
    if (!x || !logits || !embed) return err_set(err, "position %d has no recorded residual stream or logits", pos);
    /* the metric's direction in the residual stream: W_U[t], or W_U[t] - W_U[u] for a difference */
    float *u = malloc(sizeof(float) * (size_t)C), *rows = malloc(sizeof(float) * 2 * (size_t)C);
    const WMat wu = gpt2_output_matrix(m);
    const float *ut = wmat_row(wu, (size_t)C, (size_t)token, rows), *uu = minus >= 0 ? wmat_row(wu, (size_t)C, (size_t)minus, rows + C) : NULL;
    for (int i = 0; i < C; i++) u[i] = uu ? ut[i] - uu[i] : ut[i];
    /* the final LayerNorm's scale, frozen: sigma of the final residual stream */
    double mean = 0, var = 0;
    for (int i = 0; i < C; i++) mean += x[i];
    mean /= C;
    for (int i = 0; i < C; i++) var += ((double)x[i] - mean) * ((double)x[i] - mean);
    const double sigma = sqrt(var / C + c->ln_eps);
    a->pos = pos, a->token = token, a->minus = minus, a->logit = metric_value(&metric, logits);
    a->heads = calloc((size_t)L * NH, sizeof(double));
    a->attn_bias = calloc((size_t)L, sizeof(double));
    a->mlp = calloc((size_t)L, sizeof(double));
    a->embed = through_frozen_ln(embed, C, sigma, m->w.ln_f_w, u);
    float *o = malloc(sizeof(float) * (size_t)C);
    for (int l = 0; l < L; l++) {
        const Gpt2Layer *w = &m->w.h[l];
        const float *heads = trace_get(tr, trace_id(tr, TK_HEADS, l), pos), *mp = trace_get(tr, trace_id(tr, TK_MLP_PROJ, l), pos);
        if (!heads || !mp || !trace_get(tr, trace_id(tr, TK_ATTN_PROJ, l), pos)) {
            free(o), free(u), free(rows);
            attribution_free(a);
            return err_set(err, "position %d: layer %d's outputs were not recorded", pos, l);
        }
        /* the whole attention output switched off: its heads and bias add nothing */
        int attn_off = interventions_has(&g->state.iv, ABL_ATTN, l, 0);
        for (int h = 0; h < NH && !attn_off; h++) { /* o = heads[h*HS .. (h+1)*HS) @ W_O rows h*HS .. (Conv1D: in x out) */
            memset(o, 0, sizeof(float) * (size_t)C);
            for (int i = h * HS; i < (h + 1) * HS; i++) {
                const float *wo = wmat_row(w->attn_proj_w, (size_t)C, (size_t)i, rows);
                for (int j = 0; j < C; j++) o[j] += heads[i] * wo[j];
            }
            a->heads[l * NH + h] = through_frozen_ln(o, C, sigma, m->w.ln_f_w, u);
        }
        /* switched off, the sublayer wrote zero or (mean ablation) its mean: counted in the bias column */
        const float *ap = attn_off ? trace_get(tr, trace_id(tr, TK_ATTN_PROJ, l), pos) : NULL;
        a->attn_bias[l] = through_frozen_ln(attn_off ? ap : w->attn_proj_b, C, sigma, m->w.ln_f_w, u);
        a->mlp[l] = through_frozen_ln(mp, C, sigma, m->w.ln_f_w, u);
    }
    free(o), free(rows);
    for (int i = 0; i < C; i++) a->final_bias += (double)m->w.ln_f_b[i] * u[i];
    free(u);
    a->sum = a->embed + a->final_bias;
    for (int l = 0; l < L; l++) {
        a->sum += a->attn_bias[l] + a->mlp[l];
        for (int h = 0; h < NH; h++) a->sum += a->heads[l * NH + h];
    }
    return 0;
}

void attribution_free(Attribution *a) {
    free(a->heads);
    free(a->attn_bias);
    free(a->mlp);
    a->heads = NULL, a->attn_bias = NULL, a->mlp = NULL;
}
