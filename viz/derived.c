/* derived.c - the numbers derived from the trace for drawing, made once per run and query position
 * (viz_prepare: the order of the distribution, the sampler's view of it, the logit lens, entropy), and the
 * breakdown of one attention weight (the cell panel). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "forward.h"
#include "ops.h"
#include "viz.h"
#include "vizint.h"

void viz_free_derived(VizDerived *d) {
    free(d->order);
    free(d->samp);
    free(d->curve);
    d->order = NULL, d->samp = NULL, d->curve = NULL;
    d->epoch = -1;
}


/* ---- derived numbers ---- */

/* The position the distribution describes: the query, or the step's last position when the query (a
 * prompt position) kept no probabilities. */
int viz_dist_pos(const VizState *v) {
    int q = viz_query_pos(v);
    return viz_tensor(v, TK_PROBS, 0, q) ? q : viz_n_shown(v) - 1;
}

/* The token chosen after position pos (the pending choice at the shown step's end), or -1. */
int viz_next_token(const VizState *v, int pos) {
    const Trace *tr = &v->run.gen.trace;
    if (pos == viz_n_shown(v) - 1) return tr->steps[v->run.step].chosen;
    return pos + 1 < tr->n_pos ? tr->pos[pos + 1].token : -1;
}

int viz_needs_prepare(const VizState *v) {
    const VizDerived *d = &v->run.d;
    if (!v->run.loaded || viz_n_shown(v) == 0) return 0;
    return d->epoch != v->run.epoch || d->pos != viz_query_pos(v) ||
           memcmp(&d->s, &v->run.gen.sampler, sizeof d->s) != 0;
}

void viz_prepare(VizState *v) {
    if (!viz_needs_prepare(v)) return;
    VizRun *r = &v->run;
    VizDerived *d = &r->d;
    const Gpt2Config *c = &r->gen.model.cfg;
    int V = c->n_vocab, q = viz_query_pos(v), pos = viz_dist_pos(v);
    if (!d->order) {
        d->order = xmalloc(sizeof(int) * (size_t)V);
        d->samp = xmalloc(sizeof(float) * (size_t)V);
        d->curve = xmalloc(sizeof(float) * (size_t)V);
    }
    const float *probs = viz_tensor(v, TK_PROBS, 0, pos), *logits = viz_tensor(v, TK_LOGITS, 0, pos);
    int new_pos = d->epoch != r->epoch || d->pos != q;
    if (probs && logits) {
        if (new_pos) {
            dist_sort(probs, V, d->order);
            for (int i = 0; i < V; i++) d->curve[i] = probs[d->order[i]];
            d->entropy = dist_entropy(probs, V);
        }
        d->kept = sampler_distribution(logits, V, &r->gen.sampler, d->samp);
        d->samp_entropy = dist_entropy(d->samp, V);
        d->kept_mass = 0;
        for (int i = 0; i < V; i++)
            if (d->samp[i] > 0) d->kept_mass += probs[i];
        int next = viz_next_token(v, pos);
        d->chosen_rank = -1;
        for (int i = 0; next >= 0 && i < V; i++)
            if (d->order[i] == next) { d->chosen_rank = i; break; }
    }
    if (new_pos) { /* the logit lens and the residual stream's norms at the query position */
        int C = c->n_embd, L = c->n_layer < VIZ_MAX_LAYERS ? c->n_layer : VIZ_MAX_LAYERS, n = 0;
        d->n_layers = L;
        const float *e = viz_tensor(v, TK_EMBED, 0, q), *lnf = viz_tensor(v, TK_LN_F, 0, q);
        d->embed_norm = e ? vec_norm(e, C) : NAN;
        d->lnf_norm = lnf ? vec_norm(lnf, C) : NAN;
        float *resid = alloc_floats((size_t)L * C);
        int at[VIZ_MAX_LAYERS], ids[VIZ_MAX_LAYERS];
        float ps[VIZ_MAX_LAYERS];
        for (int l = 0; l < L; l++) {
            const float *mid = viz_tensor(v, TK_RESID_MID, l, q), *out = viz_tensor(v, TK_RESID_OUT, l, q);
            d->norm_mid[l] = mid ? vec_norm(mid, C) : NAN;
            d->norm_out[l] = out ? vec_norm(out, C) : NAN;
            d->lens_id[l] = -1;
            d->lens_p[l] = 0;
            if (out) memcpy(resid + (size_t)n * C, out, sizeof(float) * (size_t)C), at[n++] = l;
        }
        if (n) gpt2_logit_lens_batch(&r->gen.model, resid, n, ids, ps); /* every layer in one pass */
        for (int i = 0; i < n; i++) d->lens_id[at[i]] = ids[i], d->lens_p[at[i]] = ps[i];
        d->has_clean_lens = 0;
        if (viz_other_applies(r, q)) { /* the clean run's lens beside it */
            n = 0;
            for (int l = 0; l < L; l++) {
                const float *out = trace_get(r->other, trace_id(r->other, TK_RESID_OUT, l), q);
                d->clean_lens_id[l] = -1, d->clean_lens_p[l] = 0;
                if (out) memcpy(resid + (size_t)n * C, out, sizeof(float) * (size_t)C), at[n++] = l;
            }
            if (n) gpt2_logit_lens_batch(&r->gen.model, resid, n, ids, ps);
            for (int i = 0; i < n; i++) d->clean_lens_id[at[i]] = ids[i], d->clean_lens_p[at[i]] = ps[i];
            d->has_clean_lens = n > 0;
        }
        free(resid);
    }
    if (viz_comparing(v)) viz_clean_probs_at(r, pos); /* the other run's prediction there, to compare */
    viz_diff_renew(r); /* differences of this run, made when read */
    d->epoch = r->epoch, d->pos = q, d->s = r->gen.sampler;
}

/* ---- the cell breakdown ---- */

int viz_cell_breakdown(const VizState *v, int q, int k, CellBreakdown *out) {
    const Gpt2Config *c = &v->run.gen.model.cfg;
    int n = viz_n_shown(v);
    if (q < 0 || q >= n || k < 0 || k >= n) return -1;
    int HS = c->n_embd / c->n_head, K = v->run.gen.trace.pos[q].n_keys, h = v->view.head, l = v->view.layer;
    const float *qv = viz_tensor(v, TK_Q, l, q), *kv = viz_tensor(v, TK_K, l, k);
    const float *sc = viz_tensor(v, TK_SCORES, l, q), *mk = viz_tensor(v, TK_MASKED, l, q),
                *wt = viz_tensor(v, TK_WEIGHTS, l, q);
    if (!qv || !kv || !sc || !mk || !wt || k >= K) return -1;
    memset(out, 0, sizeof *out);
    out->q = q, out->k = k, out->layer = l, out->head = h, out->hs = HS;
    out->dot = vec_dot(qv + (size_t)h * HS, kv + (size_t)h * HS, HS);
    out->sqrt_d = sqrt((double)HS);
    out->score = sc[(size_t)h * K + k];
    out->kept = !isinf(mk[(size_t)h * K + k]);
    softmax_parts(mk + (size_t)h * K, K, &out->row_max, &out->z);
    out->e = out->kept ? exp((double)out->score - out->row_max) : 0;
    out->weight = wt[(size_t)h * K + k];
    return 0;
}

int viz_cell_lines(const VizState *v, const CellBreakdown *c, char lines[][256], int max) {
    char a[64], b[64];
    viz_piece_at(v, c->q, a, sizeof a);
    viz_piece_at(v, c->k, b, sizeof b);
    int n = 0;
#define LINE(...) (n < max ? snprintf(lines[n++], 256, __VA_ARGS__) : 0)
    LINE("How query %d \"%s\" attends to key %d \"%s\" (layer %d, head %d)", c->q, a, c->k, b, c->layer, c->head);
    /* inputs of a division shown with more digits than its result, so that a calculator given the
     * shown numbers gets the shown result */
    LINE("q\xC2\xB7k = %.6f", c->dot);
    LINE("\xE2\x88\x9A" "d = \xE2\x88\x9A%d = %.6f", c->hs, c->sqrt_d);
    LINE("score = q\xC2\xB7k \xC3\xB7 \xE2\x88\x9A" "d = %.4f", c->score);
    if (!c->kept) {
        LINE("mask: key %d is after query %d \xE2\x86\x92 score becomes \xE2\x88\x92\xE2\x88\x9E", c->k, c->q);
        LINE("row max (kept keys) = %.4f", c->row_max);
        LINE("Z = \xCE\xA3 exp(score \xE2\x88\x92 row max) = %.6g", c->z);
        LINE("weight = exp(\xE2\x88\x92\xE2\x88\x9E) \xC3\xB7 Z = 0");
    } else {
        LINE("mask: kept (key at or before the query)");
        LINE("row max (kept keys) = %.4f", c->row_max);
        LINE("exp(score \xE2\x88\x92 row max) = exp(%.6f) = %.6g", (double)c->score - c->row_max, c->e);
        LINE("Z = \xCE\xA3 exp(score \xE2\x88\x92 row max) = %.6g", c->z);
        char w[32];
        LINE("weight = %.6g \xC3\xB7 %.6g = %s", c->e, c->z, viz_num4(c->weight, 0, w, sizeof w));
    }
#undef LINE
    return n;
}

