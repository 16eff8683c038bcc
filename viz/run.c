/* run.c - the viewer's run: loading the model and running the prompt, stepping and picking tokens, and
 * the branches a run can take (each a chosen path with its sampler settings). */
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

void viz_free_branches(VizRun *r) {
    for (int i = 0; i < r->n_branches; i++) {
        free(r->branches[i].chosen);
        free(r->branches[i].settings);
    }
    free(r->branches);
    r->branches = NULL;
    r->n_branches = r->branch = 0;
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
    viz_free_branches(r);
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

/* The worker's load reports here; the window, closed meanwhile, stops it (ui.stop). */
static int load_progress(void *ctx, double fraction) {
    VizState *v = ctx;
    atomic_store(&v->ui.load_percent, (int)(fraction * 100));
    return atomic_load(&v->ui.stop);
}

static int start_prompt(VizState *v, Err *err) {
    VizRun *r = &v->run;
    r->epoch++;
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
    viz_free_derived(&r->d); /* the vocabulary may change size */
    viz_drop_clean(r);          /* and a new model has no ablations */
    viz_experiment_free(&r->exp); /* nor experiments */
    free(r->head_scores);         /* nor its heads' scores */
    r->head_scores = NULL;
    SamplerSettings keep = r->gen.sampler; /* settings survive a change of model */
    if (r->loaded) gen_close(&r->gen);
    free(r->ran_prompt);
    r->ran_prompt = NULL;
    r->loaded = 0;
    atomic_store(&v->ui.load_percent, 0);
    GenFirst first = {r->prompt, 1, !r->prompt[0], 0}; /* as start_prompt starts it */
    int rc_open = gen_open_progress(&r->gen, r->model_arg[0] ? r->model_arg : NULL, TRACE_FULL, &first, load_progress, v, err);
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

