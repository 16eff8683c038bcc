/* state.c - the viewer's run (model, trace, branches), its view defaults, and the numbers derived from
 * the trace for drawing (viz_prepare). The command table that changes all this is in commands.c. */
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

static const char *VIEW_NAMES[VIEW_COUNT] = {"all", "tokens", "attention", "grid", "distribution", "block", "pipeline", "experiment"};

const char *viz_view_name(ViewName v) { return v < VIEW_COUNT ? VIEW_NAMES[v] : "?"; }

int viz_view_by_name(const char *name) {
    for (int i = 0; i < VIEW_COUNT; i++)
        if (strcasecmp(name, VIEW_NAMES[i]) == 0) return i;
    if (strcasecmp(name, "heatmap") == 0) return VIEW_ATTENTION;
    if (strcasecmp(name, "dist") == 0 || strcasecmp(name, "probs") == 0) return VIEW_DIST;
    if (strcasecmp(name, "vectors") == 0) return VIEW_BLOCK;
    return -1;
}

ViewName viz_shown_view(const VizState *v) {
    if (v->view.only != VIEW_ALL) return v->view.only;
    return v->view.presenter ? (v->view.main == MAIN_GRID ? VIEW_GRID : VIEW_ATTENTION) : VIEW_ALL;
}

void viz_view_defaults(VizView *w) {
    int presenter = w->presenter, colorblind = w->colorblind, fullscreen = w->fullscreen;
    memset(w, 0, sizeof *w);
    w->query = -1;
    w->key = -1;
    w->stage = -1;
    w->att = ATT_WEIGHTS;
    w->main = MAIN_HEATMAP;
    w->only = VIEW_ALL;
    w->bars = 12;
    w->pan = -1;
    w->grid_layer0 = -1;
    w->presenter = presenter, w->colorblind = colorblind, w->fullscreen = fullscreen;
}

void viz_init(VizState *v) {
    memset(v, 0, sizeof *v);
    viz_view_defaults(&v->view);
    v->ui.hover = -1;
    atomic_store(&v->ui.load_percent, -1);
    v->run.d.epoch = -1;
    v->run.gen.sampler = sampler_default();
    v->run.prompt = xstrdup("Once upon a time there was a");
}

static void free_branches(VizRun *r) {
    for (int i = 0; i < r->n_branches; i++) {
        free(r->branches[i].chosen);
        free(r->branches[i].settings);
    }
    free(r->branches);
    r->branches = NULL;
    r->n_branches = r->branch = 0;
}

static void free_derived(VizDerived *d) {
    free(d->order);
    free(d->samp);
    free(d->curve);
    d->order = NULL, d->samp = NULL, d->curve = NULL;
    d->epoch = -1;
}


/* ---- the difference cache: (tensor id, position) -> ablated - clean, made when first read ---- */

#define STB_DS_IMPLEMENTATION
#ifndef typeof
#define typeof __typeof__ /* stb_ds spells GCC's typeof without underscores; -std=c11 has only __typeof__ */
#endif
#include <stb/stb_ds.h>

typedef struct {
    int64_t key;  /* id * VIZ_DIFF_STRIDE + position */
    float *value;
} DiffEntry;

struct DiffCache {
    DiffEntry *map; /* stb_ds hash map */
    int epoch;      /* the run it was made from */
};
#define VIZ_DIFF_STRIDE ((int64_t)1 << 32)

static void drop_diff(VizRun *r) {
    if (!r->diff) return;
    for (ptrdiff_t i = 0; i < hmlen(r->diff->map); i++) free(r->diff->map[i].value);
    hmfree(r->diff->map);
    free(r->diff);
    r->diff = NULL;
}

static void drop_clean(VizRun *r) {
    if (r->other) trace_free(r->other);
    free(r->other);
    r->other = NULL;
    free(r->other_text);
    r->other_text = NULL;
    r->other_kind = OTHER_CLEAN;
    drop_diff(r);
}

void viz_experiment_free(VizExperiment *e) {
    if (e->kind == EXP_ATTRIBUTION) attribution_free(&e->attr);
    if (e->kind == EXP_PATCHING) patch_sweep_free(&e->sweep);
    free(e->tokens);
    free(e->corrupt);
    memset(e, 0, sizeof *e);
}

void viz_free(VizState *v) {
    viz_experiment_free(&v->run.exp);
    if (v->run.loaded) gen_close(&v->run.gen);
    v->run.loaded = 0;
    free_derived(&v->run.d);
    free_branches(&v->run);
    drop_clean(&v->run);
    free(v->run.prompt);
    free(v->run.ran_prompt);
    v->run.prompt = v->run.ran_prompt = NULL;
}

void viz_message(VizState *v, int is_error, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->ui.message, sizeof v->ui.message, fmt, ap);
    va_end(ap);
    v->ui.message_is_error = is_error;
}

/* ---- positions ---- */

int viz_n_shown(const VizState *v) {
    const Trace *tr = &v->run.gen.trace;
    if (!v->run.loaded || tr->n_steps == 0) return 0;
    int s = v->run.step < tr->n_steps ? v->run.step : tr->n_steps - 1;
    return tr->steps[s].pos0 + tr->steps[s].n_pos;
}

int viz_query_pos(const VizState *v) {
    int n = viz_n_shown(v);
    return v->view.query >= 0 && v->view.query < n ? v->view.query : n - 1;
}

int viz_prompt_len(const VizState *v) {
    const Trace *tr = &v->run.gen.trace;
    return v->run.loaded && tr->n_steps ? tr->steps[0].n_pos : 0;
}

int viz_picked(const VizState *v, int p) {
    const Trace *tr = &v->run.gen.trace;
    int s = p - viz_prompt_len(v); /* the step whose choice became position p */
    return v->run.loaded && p >= viz_prompt_len(v) && s >= 0 && s < tr->n_steps && tr->steps[s].chosen >= 0 &&
           tr->steps[s].sampler.greedy == -1;
}

void viz_piece(const VizState *v, int id, char *out, size_t cap) {
    int len;
    const char *b = tok_bytes(v->run.gen.tok, id, &len);
    gfx_piece(b, len, out, cap);
}

const float *viz_tensor(const VizState *v, TensorKind k, int layer, int pos) {
    const Trace *tr = &v->run.gen.trace;
    if (!v->run.loaded || pos < 0 || pos >= tr->n_pos) return NULL;
    return trace_get(tr, trace_id(tr, k, layer), pos);
}

/* ---- the heatmap's window of positions ---- */

void viz_heatmap_window(const VizState *v, int fit, int *first, int *count) {
    int n = viz_n_shown(v), z = v->view.zoom > 0 && v->view.zoom < n ? v->view.zoom : n;
    if (fit > 0 && z > fit) z = fit; /* no more than fit on screen */
    if (z < 1) z = 1;
    int f = v->view.pan;
    if (f < 0) { /* follow the query: keep it in the window, three quarters down */
        int q = viz_query_pos(v);
        f = q - z * 3 / 4;
    }
    if (f > n - z) f = n - z;
    if (f < 0) f = 0;
    *first = f, *count = z;
}

/* ---- the pipeline of stages ---- */

static const char *LAYER_STAGES[VIZ_LAYER_STAGES] = {"ln_1", "attn", "add_1", "ln_2", "ffn", "add_2"};
static const char *END_STAGES[4] = {"ln_f", "logits", "probs", "sample"};

int viz_n_stages(const VizState *v) { return viz_stage_at(v->run.loaded ? v->run.gen.model.cfg.n_layer : 0, 0) + 4; }

int viz_stage_at(int layer, int sub) { return 1 + VIZ_LAYER_STAGES * layer + sub; }

int viz_stage_layer(const VizState *v, int stage) {
    int L = v->run.loaded ? v->run.gen.model.cfg.n_layer : 0;
    return stage >= 1 && stage < viz_stage_at(L, 0) ? (stage - 1) / VIZ_LAYER_STAGES : -1;
}

int viz_stage_sub(const VizState *v, int stage) {
    return viz_stage_layer(v, stage) >= 0 ? (stage - 1) % VIZ_LAYER_STAGES : -1;
}

void viz_stage_name(const VizState *v, int stage, char *buf, size_t cap) {
    int L = v->run.loaded ? v->run.gen.model.cfg.n_layer : 0;
    if (stage <= 0) snprintf(buf, cap, "embed");
    else if (viz_stage_layer(v, stage) >= 0) snprintf(buf, cap, "L%d.%s", viz_stage_layer(v, stage), LAYER_STAGES[viz_stage_sub(v, stage)]);
    else snprintf(buf, cap, "%s", END_STAGES[stage - viz_stage_at(L, 0) < 4 ? stage - viz_stage_at(L, 0) : 3]);
}

int viz_stage_by_name(const VizState *v, const char *name) {
    char buf[64];
    for (int s = 0; s < viz_n_stages(v); s++) {
        viz_stage_name(v, s, buf, sizeof buf);
        if (strcasecmp(buf, name) == 0) return s;
    }
    return -1;
}

/* ---- branches ---- */

/* The current path as a branch (replacing slot i). */
static void snapshot(VizRun *r, int i) {
    const Trace *tr = &r->gen.trace;
    VizBranch *b = &r->branches[i];
    b->n_steps = tr->n_steps;
    b->chosen = xrealloc(b->chosen, sizeof(int) * (size_t)(tr->n_steps + 1));
    b->settings = xrealloc(b->settings, sizeof(SamplerSettings) * (size_t)(tr->n_steps + 1));
    for (int s = 0; s < tr->n_steps; s++) b->chosen[s] = tr->steps[s].chosen, b->settings[s] = tr->steps[s].sampler;
}

void viz_branches_reset(VizRun *r) {
    free_branches(r);
    r->branches = xcalloc(1, sizeof(VizBranch));
    r->n_branches = 1;
    r->branch = 0;
    snapshot(r, 0);
}

void viz_branch_save(VizRun *r) {
    if (r->n_branches == 0) viz_branches_reset(r);
    else snapshot(r, r->branch);
}

/* Sets the choice of the newest step as the branch recorded it. */
static void choose_as(VizRun *r, const VizBranch *b, int s) {
    gen_choose(&r->gen, b->chosen[s]);
    r->gen.trace.steps[s].sampler = b->settings[s];
}

int viz_branch_switch(VizState *v, int to, Err *err) {
    VizRun *r = &v->run;
    if (to < 0 || to >= r->n_branches) return err_set(err, "branch expects 0..%d, got %d", r->n_branches - 1, to);
    viz_branch_save(r);
    if (to == r->branch) return 0;
    const VizBranch *b = &r->branches[to];
    const Trace *tr = &r->gen.trace;
    int k = 0; /* the first step whose choice differs */
    while (k < b->n_steps && k < tr->n_steps && b->chosen[k] == tr->steps[k].chosen) k++;
    if (k >= b->n_steps) k = b->n_steps - 1;
    r->epoch++;
    gen_truncate(&r->gen, tr->steps[k].pos0 + tr->steps[k].n_pos);
    choose_as(r, b, k);
    for (int s = k + 1; s < b->n_steps; s++) {
        if (gen_advance(&r->gen, err)) return -1;
        choose_as(r, b, s);
    }
    r->branch = to;
    if (r->step > r->gen.trace.n_steps - 1) r->step = r->gen.trace.n_steps - 1;
    if (r->step < k) r->step = k;
    v->view.query = -1, v->view.key = -1;
    return 0;
}

/* Continues from `id` instead of the token chosen at the shown step: a new branch, or the branch that
 * already continues that way. */
int viz_pick(VizState *v, int id, Err *err) {
    VizRun *r = &v->run;
    if (id < 0 || id >= r->gen.model.cfg.n_vocab)
        return err_set(err, "token id %d is out of range 0..%d", id, r->gen.model.cfg.n_vocab - 1);
    viz_branch_save(r);
    int s = r->step;
    for (int i = 0; i < r->n_branches; i++) { /* an existing branch with the same path to here and this token */
        const VizBranch *b = &r->branches[i];
        int same = b->n_steps > s && b->chosen[s] == id;
        for (int j = 0; same && j < s; j++) same = b->chosen[j] == r->gen.trace.steps[j].chosen;
        if (same && b->n_steps > s + 1) {
            if (viz_branch_switch(v, i, err)) return -1;
            r->step = s + 1;
            v->view.query = -1, v->view.key = -1;
            return 0;
        }
    }
    r->epoch++;
    gen_truncate(&r->gen, viz_n_shown(v));
    if (!r->gen.has_logits) return err_set(err, "this step kept no logits to branch from");
    gen_choose(&r->gen, id);
    if (gen_advance(&r->gen, err)) return -1;
    gen_choose(&r->gen, -1);
    r->branches = xrealloc(r->branches, sizeof(VizBranch) * (size_t)(r->n_branches + 1));
    memset(&r->branches[r->n_branches], 0, sizeof(VizBranch));
    r->branch = r->n_branches++;
    snapshot(r, r->branch);
    r->step = r->gen.trace.n_steps - 1;
    v->view.query = -1, v->view.key = -1;
    return 0;
}

/* ---- loading and generation ---- */

static void load_progress(void *ctx, double fraction) {
    atomic_store(&((VizState *)ctx)->ui.load_percent, (int)(fraction * 100));
}

static int start_prompt(VizState *v, Err *err) {
    VizRun *r = &v->run;
    r->epoch++;
    rng_seed(&r->gen.rng, r->gen.sampler.seed);
    int rc;
    const Trace *tr = &r->gen.trace;
    if (r->ran_prompt && !strcmp(r->ran_prompt, r->prompt) && tr->n_steps > 0 && tr->steps[0].pos0 == 0) {
        /* the same prompt on the same model: its positions are in the trace already (the forward pass is
         * deterministic), so go back to them instead of running them again; the choice after them is
         * drawn again from the recorded logits with the seed, as a fresh run would */
        gen_truncate(&r->gen, tr->steps[0].n_pos);
        rc = r->gen.has_logits ? 0 : err_set(err, "the prompt's logits were not recorded");
    } else {
        free(r->ran_prompt);
        r->ran_prompt = NULL;
        rc = r->prompt[0] ? gen_start_text(&r->gen, r->prompt, 1, err) : gen_start_unconditional(&r->gen, err);
        if (rc == 0) r->ran_prompt = xstrdup(r->prompt);
    }
    if (rc == 0) gen_choose(&r->gen, -1);
    r->step = 0;
    v->view.query = -1;
    v->view.key = -1;
    v->view.pan = -1;
    viz_branches_reset(r);
    return rc;
}

int viz_load_and_run(VizState *v, Err *err) {
    VizRun *r = &v->run;
    r->epoch++;
    free_derived(&r->d); /* the vocabulary may change size */
    drop_clean(r);          /* and a new model has no ablations */
    viz_experiment_free(&r->exp); /* nor experiments */
    SamplerSettings keep = r->gen.sampler; /* settings survive a change of model */
    if (r->loaded) gen_close(&r->gen);
    free(r->ran_prompt);
    r->ran_prompt = NULL;
    r->loaded = 0;
    atomic_store(&v->ui.load_percent, 0);
    int rc_open = gen_open_progress(&r->gen, r->model_arg[0] ? r->model_arg : NULL, TRACE_FULL, load_progress, v, err);
    atomic_store(&v->ui.load_percent, -1);
    r->gen.sampler = keep;
    if (rc_open) return -1;
    r->loaded = 1;
    const Gpt2Config *c = &r->gen.model.cfg;
    if (v->view.layer >= c->n_layer) v->view.layer = 0;
    if (v->view.head >= c->n_head) v->view.head = 0;
    if (v->view.stage >= viz_n_stages(v)) v->view.stage = -1;
    return start_prompt(v, err);
}

int viz_rerun_prompt(VizState *v, Err *err) {
    if (!v->run.loaded) return viz_load_and_run(v, err);
    return start_prompt(v, err);
}

int viz_step_next(VizState *v, Err *err) {
    VizRun *r = &v->run;
    if (!r->loaded || r->gen.trace.n_steps == 0) return err_set(err, "no model is loaded");
    if (r->step < r->gen.trace.n_steps - 1) {
        r->step++;
    } else {
        r->epoch++;
        if (gen_advance(&r->gen, err)) return -1;
        gen_choose(&r->gen, -1);
        r->step = r->gen.trace.n_steps - 1;
    }
    v->view.query = -1;
    v->view.key = -1;
    return 0;
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

static void clean_probs_at(VizRun *r, int p);
static int other_applies(const VizRun *r, int p);

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
        if (other_applies(r, q)) { /* the clean run's lens beside it */
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
    if (viz_comparing(v)) clean_probs_at(r, pos); /* the other run's prediction there, to compare */
    if (r->other && (!r->diff || r->diff->epoch != r->epoch)) { /* differences of this run, made when read */
        drop_diff(r);
        r->diff = xcalloc(1, sizeof *r->diff);
        r->diff->epoch = r->epoch;
    }
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
    viz_piece(v, v->run.gen.trace.pos[c->q].token, a, sizeof a);
    viz_piece(v, v->run.gen.trace.pos[c->k].token, b, sizeof b);
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
        LINE("weight = %.6g \xC3\xB7 %.6g = %.4f", c->e, c->z, c->weight);
    }
#undef LINE
    return n;
}

/* ---- ablations ---- */

/* Whether the other run's numbers hold at position p: with OTHER_CLEAN, an ablation is on and the text up
 * to p is the one the clean run saw; with OTHER_TEXT, B has a position p. */
static int other_applies(const VizRun *r, int p) {
    if (!r->other || p < 0 || p >= r->other->n_pos || p >= r->gen.trace.n_pos) return 0;
    if (r->other_kind == OTHER_TEXT) return 1;
    if (!r->gen.state.iv.n) return 0;
    for (int i = 0; i <= p; i++)
        if (r->gen.trace.pos[i].token != r->other->pos[i].token) return 0;
    return 1;
}

/* The clean probabilities at position p, computed now (the worker's work) so that drawing only reads them. */
static void clean_probs_at(VizRun *r, int p) {
    if (other_applies(r, p)) trace_get(r->other, trace_id(r->other, TK_PROBS, 0), p);
}

float viz_clean_prob(const VizState *v, int p, int id) {
    const VizRun *r = &v->run;
    if (!other_applies(r, p) || !trace_recorded(r->other, trace_id(r->other, TK_PROBS, 0), p)) return -1;
    const TracePos *tp = &r->other->pos[p];
    int idp = trace_id(r->other, TK_PROBS, 0);
    if (tp->off[idp] == TRACE_DEFERRED && !tp->head) return -1; /* not computed yet: viz_prepare does it */
    return trace_get(r->other, idp, p)[id];
}

int viz_comparing(const VizState *v) {
    return v->run.other && (v->run.other_kind == OTHER_TEXT || v->run.gen.state.iv.n);
}

void viz_run_names(const VizState *v, const char **cur, const char **oth) {
    int text = v->run.other_kind == OTHER_TEXT;
    *cur = text ? "A" : "ablated";
    *oth = text ? "B" : "clean";
}

const char *viz_run_label(const VizState *v) {
    if (!viz_comparing(v)) return NULL;
    static const char *ABL[3] = {"ablated run", "clean run", "ablated \xE2\x88\x92 clean"};
    static const char *TXT[3] = {"text A", "text B", "A \xE2\x88\x92 B"};
    return (v->run.other_kind == OTHER_TEXT ? TXT : ABL)[v->view.run_shown];
}

const float *viz_tensor_shown(const VizState *v, TensorKind k, int layer, int pos) {
    const VizRun *r = &v->run;
    if (v->view.run_shown == RUN_ABLATED || !other_applies(r, pos)) return viz_tensor(v, k, layer, pos);
    const Trace *c = r->other;
    int id = trace_id(c, k, layer);
    if (k == TK_LOGITS || k == TK_PROBS) { /* deferred ones are read only once viz_prepare computed them */
        const TracePos *tp = &c->pos[pos];
        if (tp->off[id] == TRACE_DEFERRED && !tp->head) return NULL;
    }
    const float *cv = trace_get(c, id, pos);
    if (!cv) return NULL;
    /* attention rows have as many keys as existed when the position ran, which differ between runs
     * (one pass, or one token at a time; another text): they are laid out as this run's */
    const int att = k == TK_SCORES || k == TK_MASKED || k == TK_WEIGHTS;
    const int Ka = r->gen.trace.pos[pos].n_keys, Kb = c->pos[pos].n_keys, diff = v->view.run_shown == RUN_DIFF;
    if (!diff && (!att || Ka == Kb)) return cv;
    const float *av = viz_tensor(v, k, layer, pos);
    struct DiffCache *d = r->diff;
    if (!av || !d || d->epoch != r->epoch) return NULL; /* viz_prepare makes the cache for this run */
    int64_t key = ((int64_t)id * VIZ_DIFF_STRIDE + pos) * 2 + diff;
    ptrdiff_t at = hmgeti(d->map, key);
    if (at >= 0) return d->map[at].value;
    int64_t shape[2];
    int nd = trace_shape(&r->gen.trace, id, pos, shape);
    size_t n = (size_t)shape[0] * (nd == 2 ? (size_t)shape[1] : 1);
    float *out = xmalloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        float b = cv[i];
        if (att) { /* keys past the other run's: after the query, masked in both (a raw score unknown) */
            size_t h = i / (size_t)Ka, kk = i % (size_t)Ka;
            b = kk < (size_t)Kb ? cv[h * (size_t)Kb + kk] : k == TK_WEIGHTS ? 0.0f : k == TK_MASKED ? -INFINITY : NAN;
        }
        /* masked stays masked: -inf - -inf is not a difference */
        out[i] = !diff ? b : isinf(av[i]) && isinf(b) ? av[i] : av[i] - b;
    }
    hmput(d->map, key, out);
    return out;
}

/* The first layer whose computation differs between two sets of interventions: -1 when the embedding
 * does (pos), n_layer when nothing does. */
static int first_changed_layer(const Interventions *a, const Interventions *b, int n_layer) {
    int first = n_layer;
    for (int side = 0; side < 2; side++) {
        const Interventions *x = side ? b : a, *y = side ? a : b;
        for (int i = 0; i < x->n; i++) {
            int in_y = 0;
            for (int j = 0; j < y->n; j++)
                in_y |= y->a[j].kind == x->a[i].kind && y->a[j].layer == x->a[i].layer && y->a[j].index == x->a[i].index;
            if (in_y && x->mode == y->mode) continue;
            int l = x->a[i].kind == ABL_POS ? -1 : x->a[i].layer;
            if (l < first) first = l;
        }
    }
    return first;
}

/* Whether the text can be rerun from layer `first` on: the trace holds these n tokens, run in one pass
 * (as after an earlier toggle), with every tensor recorded, and mean ablation's means are over them. */
static int can_rerun(const VizRun *r, const int *tokens, int n, int steps, int first) {
    const Trace *tr = &r->gen.trace;
    if (first < 0 || tr->mode != TRACE_FULL || tr->n_pos != n || r->gen.state.n_past != n || tr->n_steps != steps) return 0;
    for (int p = 0; p < n; p++)
        if (tr->pos[p].n_keys != n || tr->pos[p].token != tokens[p]) return 0;
    const Interventions *iv = &r->gen.state.iv;
    return !iv->n || iv->mode != ABLATE_MEAN || gpt2_means_cover(&r->gen.state, tokens, n);
}

/* Whether the kept clean run is this very text, with the same steps and choices, recorded in full (its
 * keys and values can refill the cache). */
static int can_restore_clean(const VizRun *r, const int *tokens, int n, int steps) {
    const Trace *c = r->other, *t = &r->gen.trace;
    if (!c || r->other_kind != OTHER_CLEAN || c->mode != TRACE_FULL || c->n_pos != n || t->n_pos != n || c->n_steps != steps ||
        t->n_steps != steps || r->gen.state.n_past != n)
        return 0;
    for (int p = 0; p < n; p++)
        if (c->pos[p].token != tokens[p]) return 0;
    for (int s = 0; s < steps; s++)
        if (c->steps[s].chosen != t->steps[s].chosen || c->steps[s].pos0 != t->steps[s].pos0) return 0;
    return 1;
}

/* Puts the kept clean run back as the run (gen_adopt_trace refills the cache from it). */
static void restore_clean(VizRun *r) {
    Trace *t = r->other;
    r->other = NULL;
    gen_adopt_trace(&r->gen, t);
    free(t);
    drop_clean(r);
}

/* Reruns the text with these interventions (none: the clean model again), keeping the step shown. */
static int rerun_with(VizState *v, const Interventions *new_iv, Err *err) {
    VizRun *r = &v->run;
    Interventions iv = *new_iv;
    /* the same tokens again, through the model with these parts switched off */
    viz_branch_save(r);
    VizBranch b = r->branches[r->branch];
    int *chosen = xmalloc(sizeof(int) * (size_t)(b.n_steps + 1));
    SamplerSettings *set = xmalloc(sizeof(SamplerSettings) * (size_t)(b.n_steps + 1));
    memcpy(chosen, b.chosen, sizeof(int) * (size_t)b.n_steps);
    memcpy(set, b.settings, sizeof(SamplerSettings) * (size_t)b.n_steps);
    int steps = b.n_steps, shown = r->step, query = v->view.query, key = v->view.key;
    const int n_prompt = r->gen.trace.steps[0].n_pos, n_tok = n_prompt + steps - 1;
    int *tokens = xmalloc(sizeof(int) * (size_t)(n_tok > 0 ? n_tok : 1));
    for (int i = 0; i < n_tok; i++) tokens[i] = r->gen.trace.pos[i].token;
    if (!r->gen.state.iv.n && iv.n) { /* the clean run, kept to compare with (instead of a text B): a copy, so that
                                      * the ablated run can still be rerun from the changed layer on */
        drop_clean(r);
        r->other = xmalloc(sizeof(Trace));
        if (trace_copy(r->other, &r->gen.trace, err)) {
            trace_free(r->other);
            free(r->other);
            r->other = NULL;
            free(tokens), free(chosen), free(set);
            return -1;
        }
    }
    int first = first_changed_layer(&r->gen.state.iv, &iv, r->gen.model.cfg.n_layer);
    const int back_to_clean = !iv.n && can_restore_clean(r, tokens, n_tok, steps);
    gen_set_interventions(&r->gen, &iv);
    SamplerSettings keep = r->gen.sampler;
    r->epoch++;
    int rc;
    if (back_to_clean) { /* everything back on: the kept clean run is this text's, so it comes back as it was */
        restore_clean(r);
        rc = 0;
        r->restores++;
    } else if (can_rerun(r, tokens, n_tok, steps, first)) { /* the layers before the first change are kept */
        rc = gen_rerun_from(&r->gen, first, err);
        r->reruns_from[first < VIZ_MAX_LAYERS ? first : VIZ_MAX_LAYERS - 1]++;
    } else { /* the same tokens, in one pass through the model with these parts switched off */
        rc = gen_replay(&r->gen, tokens, n_prompt, steps, chosen, set, err);
        r->replays++;
    }
    free(tokens);
    if (!iv.n) drop_clean(r); /* nothing off: nothing to compare with */
    if (rc == 0) { /* the trace starts with this prompt's positions as the model now computes them */
        free(r->ran_prompt);
        r->ran_prompt = xstrdup(r->prompt);
    }
    viz_branches_reset(r);
    r->gen.sampler = keep;
    viz_branch_save(r);
    r->step = shown < r->gen.trace.n_steps ? shown : r->gen.trace.n_steps - 1;
    v->view.query = query, v->view.key = key;
    free(chosen);
    free(set);
    return rc;
}

int viz_ablate(VizState *v, const char *spec, Err *err) {
    VizRun *r = &v->run;
    Interventions iv = r->gen.state.iv;
    if (!strcmp(spec, "clear") || !strcmp(spec, "none")) {
        iv.n = 0;
    } else {
        Ablation a;
        if (ablation_parse(spec, &r->gen.model.cfg, &a, err)) return -1;
        int found = interventions_find(&iv, &a);
        if (found >= 0) { /* already off: switch it back on */
            iv.a[found] = iv.a[--iv.n];
        } else {
            if (iv.n == GPT2_MAX_ABLATIONS) return err_set(err, "at most %d ablations at once", GPT2_MAX_ABLATIONS);
            iv.a[iv.n++] = a;
        }
    }
    return rerun_with(v, &iv, err);
}

/* The text shown, its steps and what is selected, kept while the model runs something else (text B, a
 * patching sweep), to run it again in one pass afterwards so that the cache holds it and generation goes
 * on from it. */
typedef struct {
    int *tokens, *chosen, n_prompt, n_tok, steps, shown, query, key;
    SamplerSettings *set, keep;
} SavedText;

static void save_text(VizState *v, SavedText *t) {
    VizRun *r = &v->run;
    viz_branch_save(r);
    VizBranch b = r->branches[r->branch];
    t->steps = b.n_steps, t->shown = r->step, t->query = v->view.query, t->key = v->view.key;
    t->n_prompt = r->gen.trace.steps[0].n_pos, t->n_tok = t->n_prompt + t->steps - 1;
    t->tokens = xmalloc(sizeof(int) * (size_t)(t->n_tok > 0 ? t->n_tok : 1));
    for (int i = 0; i < t->n_tok; i++) t->tokens[i] = r->gen.trace.pos[i].token;
    t->chosen = xmalloc(sizeof(int) * (size_t)(t->steps + 1));
    t->set = xmalloc(sizeof(SamplerSettings) * (size_t)(t->steps + 1));
    memcpy(t->chosen, b.chosen, sizeof(int) * (size_t)t->steps);
    memcpy(t->set, b.settings, sizeof(SamplerSettings) * (size_t)t->steps);
    t->keep = r->gen.sampler;
}

static int restore_text(VizState *v, SavedText *t, Err *err) {
    VizRun *r = &v->run;
    r->epoch++;
    int rc = gen_replay(&r->gen, t->tokens, t->n_prompt, t->steps, t->chosen, t->set, err);
    if (rc == 0) { /* the trace starts with this prompt's positions as the model now computes them */
        free(r->ran_prompt);
        r->ran_prompt = xstrdup(r->prompt);
    }
    r->gen.sampler = t->keep;
    if (rc == 0) viz_branch_save(r); /* the same path: the other branches stay as they are */
    else viz_branches_reset(r);
    r->step = t->shown < r->gen.trace.n_steps ? t->shown : r->gen.trace.n_steps - 1;
    v->view.query = t->query, v->view.key = t->key;
    free(t->tokens), free(t->chosen), free(t->set);
    return rc;
}

int viz_compare(VizState *v, const char *text, Err *err) {
    VizRun *r = &v->run;
    if (!strcmp(text, "off")) {
        if (r->other_kind == OTHER_TEXT) drop_clean(r);
        r->epoch++;
        return 0;
    }
    if (r->gen.state.iv.n)
        return err_set(err, "compare: parts are switched off (%d); switch them back on first (ablate clear): the comparison is "
                       "between two texts on the same model", r->gen.state.iv.n);
    /* "branch N": another path of this prompt, its tokens as they were run */
    int *ids = NULL, n_ids = 0;
    char label[64];
    long bn;
    char *end;
    if (!strncmp(text, "branch ", 7) && (bn = strtol(text + 7, &end, 10), end != text + 7 && !*end)) {
        if (bn < 0 || bn >= r->n_branches)
            return err_set(err, "compare branch: expected 0..%d (there %s %d), got %ld", r->n_branches - 1, r->n_branches == 1 ? "is" : "are",
                           r->n_branches, bn);
        viz_branch_save(r);
        const VizBranch *b = &r->branches[bn];
        const int n_prompt = r->gen.trace.steps[0].n_pos;
        n_ids = n_prompt + (b->n_steps > 1 ? b->n_steps - 1 : 0);
        ids = xmalloc(sizeof(int) * (size_t)n_ids);
        for (int i = 0; i < n_prompt; i++) ids[i] = r->gen.trace.pos[i].token;
        for (int i = n_prompt; i < n_ids; i++) ids[i] = b->chosen[i - n_prompt];
        snprintf(label, sizeof label, "branch %ld", bn);
        text = label;
    }
    /* B runs through the model as a prompt; then this text (A) runs again */
    SavedText t;
    save_text(v, &t);
    r->epoch++;
    drop_clean(r);
    int rc = ids ? gen_start_ids(&r->gen, ids, n_ids, err) : gen_start_text(&r->gen, text, 1, err);
    free(ids);
    if (rc == 0) {
        r->other = xmalloc(sizeof(Trace));
        *r->other = r->gen.trace;
        r->other_kind = OTHER_TEXT;
        r->other_text = xstrdup(text);
        trace_init(&r->gen.trace, &r->gen.model.cfg, r->gen.model.name, r->other->mode);
    }
    Err e2;
    int rc2 = restore_text(v, &t, rc ? &e2 : err);
    if (rc2 && rc == 0) rc = rc2, drop_clean(r);
    return rc;
}

int viz_attribute(VizState *v, int token, Err *err) {
    VizRun *r = &v->run;
    int pos = viz_query_pos(v);
    if (token < 0) token = viz_next_token(v, pos); /* the token that came (or was chosen) next */
    if (token < 0) { /* none yet: the most likely one */
        const float *p = viz_tensor(v, TK_PROBS, 0, pos);
        if (!p) return err_set(err, "attribute: position %d has no probabilities", pos);
        token = argmax(p, r->gen.model.cfg.n_vocab);
    }
    Attribution a;
    if (attribution_compute(&r->gen, pos, token, &a, err)) return -1;
    viz_experiment_free(&r->exp);
    r->exp.kind = EXP_ATTRIBUTION;
    r->exp.attr = a;
    r->exp.target = token;
    r->exp.n_tokens = pos + 1;
    r->exp.tokens = xmalloc(sizeof(int) * (size_t)(pos + 1));
    for (int i = 0; i <= pos; i++) r->exp.tokens[i] = r->gen.trace.pos[i].token;
    v->view.only = VIEW_EXPERIMENT;
    return 0;
}

int viz_patch(VizState *v, PatchKind what, int target, Err *err) {
    VizRun *r = &v->run;
    if (!r->other || r->other_kind != OTHER_TEXT)
        return err_set(err, "patch: give the corrupted text first with 'compare TEXT' (this text is the clean one)");
    const int n = r->gen.trace.n_pos, nb = r->other->n_pos;
    if (n != nb)
        return err_set(err, "patch: this text is %d tokens and text B %d: patching needs the same number (edit one of them)", n, nb);
    if (target < 0) { /* the clean text's most likely next token */
        const float *p = viz_tensor(v, TK_PROBS, 0, n - 1);
        if (!p) return err_set(err, "patch: the last position has no probabilities");
        target = argmax(p, r->gen.model.cfg.n_vocab);
    }
    int *clean = xmalloc(sizeof(int) * (size_t)n), *corrupt = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) clean[i] = r->gen.trace.pos[i].token, corrupt[i] = r->other->pos[i].token;
    SavedText t;
    save_text(v, &t);
    PatchSweep s;
    int rc = patch_sweep(&r->gen, clean, corrupt, n, target, what, &s, err);
    Err e2;
    int rc2 = restore_text(v, &t, rc ? &e2 : err);
    if (rc == 0) {
        viz_experiment_free(&r->exp);
        r->exp.kind = EXP_PATCHING;
        r->exp.sweep = s;
        r->exp.tokens = clean, r->exp.corrupt = corrupt, r->exp.n_tokens = n;
        r->exp.target = target;
        v->view.only = VIEW_EXPERIMENT;
    } else {
        free(clean), free(corrupt);
    }
    return rc ? rc : rc2;
}

int viz_ablate_mode(VizState *v, AblateMode mode, Err *err) {
    Interventions iv = v->run.gen.state.iv;
    if (iv.mode == mode) return 0;
    iv.mode = mode;
    if (!iv.n) { /* nothing off: the next ablation uses it */
        gen_set_interventions(&v->run.gen, &iv);
        return 0;
    }
    return rerun_with(v, &iv, err);
}

int viz_part_ablated(const VizState *v, AblationKind kind, int layer, int index) {
    return interventions_has(&v->run.gen.state.iv, kind, layer, index);
}

int viz_head_ablated(const VizState *v, int layer, int head) { /* the head itself, or its whole sublayer */
    const Interventions *iv = &v->run.gen.state.iv;
    return interventions_has(iv, ABL_HEAD, layer, head) || interventions_has(iv, ABL_ATTN, layer, 0);
}
