/* experiments.c - the viewer's live experiments: parts switched off (and the clean run kept beside,
 * with a cache of ablated - clean differences), a second text compared position by position,
 * attribution and patching. */
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

void viz_drop_diff(VizRun *r) {
    if (!r->diff) return;
    for (ptrdiff_t i = 0; i < hmlen(r->diff->map); i++) free(r->diff->map[i].value);
    hmfree(r->diff->map);
    free(r->diff);
    r->diff = NULL;
}

void viz_diff_renew(VizRun *r) {
    if (!r->other || (r->diff && r->diff->epoch == r->epoch)) return;
    viz_drop_diff(r);
    r->diff = xcalloc(1, sizeof *r->diff);
    r->diff->epoch = r->epoch;
}

void viz_drop_clean(VizRun *r) {
    if (r->other) trace_free(r->other);
    free(r->other);
    r->other = NULL;
    free(r->other_text);
    r->other_text = NULL;
    r->other_kind = OTHER_CLEAN;
    viz_drop_diff(r);
}

void viz_experiment_free(VizExperiment *e) {
    if (e->kind == EXP_ATTRIBUTION) attribution_free(&e->attr);
    if (e->kind == EXP_PATCHING) patch_sweep_free(&e->sweep);
    free(e->tokens);
    free(e->corrupt);
    memset(e, 0, sizeof *e);
}

/* ---- ablations ---- */

/* Whether the other run's numbers hold at position p: with OTHER_CLEAN, an ablation is on and the text up
 * to p is the one the clean run saw; with OTHER_TEXT, B has a position p. */
int viz_other_applies(const VizRun *r, int p) {
    if (!r->other || p < 0 || p >= r->other->n_pos || p >= r->gen.trace.n_pos) return 0;
    if (r->other_kind == OTHER_TEXT) return 1;
    if (!r->gen.state.iv.n) return 0;
    for (int i = 0; i <= p; i++)
        if (r->gen.trace.pos[i].token != r->other->pos[i].token) return 0;
    return 1;
}

/* The clean probabilities at position p, computed now (the worker's work) so that drawing only reads them. */
void viz_clean_probs_at(VizRun *r, int p) {
    if (viz_other_applies(r, p)) trace_get(r->other, trace_id(r->other, TK_PROBS, 0), p);
}

float viz_clean_prob(const VizState *v, int p, int id) {
    const VizRun *r = &v->run;
    if (!viz_other_applies(r, p) || !trace_recorded(r->other, trace_id(r->other, TK_PROBS, 0), p)) return -1;
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
    if (v->view.run_shown == RUN_ABLATED || !viz_other_applies(r, pos)) return viz_tensor(v, k, layer, pos);
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
    viz_drop_clean(r);
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
        viz_drop_clean(r);
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
    if (!iv.n) viz_drop_clean(r); /* nothing off: nothing to compare with */
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
        if (r->other_kind == OTHER_TEXT) viz_drop_clean(r);
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
    viz_drop_clean(r);
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
    if (rc2 && rc == 0) rc = rc2, viz_drop_clean(r);
    return rc;
}

int viz_attribute(VizState *v, Metric metric, Err *err) {
    VizRun *r = &v->run;
    int pos = viz_query_pos(v);
    if (metric.token < 0) metric.token = viz_next_token(v, pos); /* the token that came (or was chosen) next */
    if (metric.token < 0) { /* none yet: the most likely one */
        const float *p = viz_tensor(v, TK_PROBS, 0, pos);
        if (!p) return err_set(err, "attribute: position %d has no probabilities", pos);
        metric.token = argmax(p, r->gen.model.cfg.n_vocab);
    }
    Attribution a;
    if (attribution_compute(&r->gen, pos, metric, &a, err)) return -1;
    viz_experiment_free(&r->exp);
    r->exp.kind = EXP_ATTRIBUTION;
    r->exp.attr = a;
    r->exp.metric = metric;
    r->exp.n_tokens = pos + 1;
    r->exp.tokens = xmalloc(sizeof(int) * (size_t)(pos + 1));
    for (int i = 0; i <= pos; i++) r->exp.tokens[i] = r->gen.trace.pos[i].token;
    v->view.only = VIEW_EXPERIMENT;
    return 0;
}

int viz_patch(VizState *v, PatchKind what, Metric metric, Err *err) {
    VizRun *r = &v->run;
    if (!r->other || r->other_kind != OTHER_TEXT)
        return err_set(err, "patch: give the corrupted text first with 'compare TEXT' (this text is the clean one)");
    const int n = r->gen.trace.n_pos, nb = r->other->n_pos;
    if (n != nb)
        return err_set(err, "patch: this text is %d tokens and text B %d: patching needs the same number (edit one of them)", n, nb);
    if (metric.token < 0) { /* the clean text's most likely next token */
        const float *p = viz_tensor(v, TK_PROBS, 0, n - 1);
        if (!p) return err_set(err, "patch: the last position has no probabilities");
        metric.token = argmax(p, r->gen.model.cfg.n_vocab);
    }
    int *clean = xmalloc(sizeof(int) * (size_t)n), *corrupt = xmalloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) clean[i] = r->gen.trace.pos[i].token, corrupt[i] = r->other->pos[i].token;
    SavedText t;
    save_text(v, &t);
    PatchSweep s;
    int rc = patch_sweep(&r->gen, clean, corrupt, n, metric, what, &s, err);
    Err e2;
    int rc2 = restore_text(v, &t, rc ? &e2 : err);
    if (rc == 0) {
        viz_experiment_free(&r->exp);
        r->exp.kind = EXP_PATCHING;
        r->exp.sweep = s;
        r->exp.tokens = clean, r->exp.corrupt = corrupt, r->exp.n_tokens = n;
        r->exp.metric = metric;
        v->view.only = VIEW_EXPERIMENT;
    } else {
        free(clean), free(corrupt);
    }
    return rc ? rc : rc2;
}

int viz_heads(VizState *v, int which, Err *err) {
    VizRun *r = &v->run;
    if (which >= 0) v->view.head_score = which;
    if (!r->head_scores) { /* measure: the default text, then a repeated random sequence; then this text again */
        const Gpt2Config *c = &r->gen.model.cfg;
        HeadScores *sc = xcalloc((size_t)c->n_layer * c->n_head, sizeof *sc);
        int R = 50, n_text = 0;
        SavedText t;
        save_text(v, &t);
        int rc = heads_measure(&r->gen, NULL, &R, 0, sc, &n_text, err);
        Err e2;
        int rc2 = restore_text(v, &t, rc ? &e2 : err);
        if (rc) {
            free(sc);
            return rc;
        }
        r->head_scores = sc, r->head_text_tokens = n_text, r->head_random = R;
        interventions_text(&r->gen.state.iv, r->head_off, sizeof r->head_off);
        if (rc2) return rc2;
    }
    v->view.only = VIEW_HEADS;
    return 0;
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

