/* vizint.h - what the viewer's own files share: the run's operations (state.c), used by the command
 * table (commands.c), and the views (view_NAME.c), called by the layout (draw.c). Not for outside viz/. */
#ifndef GPTSTEP_VIZINT_H
#define GPTSTEP_VIZINT_H

#include "viz.h"

/* ---- the run (run.c, derived.c, experiments.c) ---- */
int viz_rerun_prompt(VizState *v, Err *err);
int viz_step_next(VizState *v, Err *err);
int viz_pick(VizState *v, int id, Err *err);
int viz_branch_switch(VizState *v, int to, Err *err);
void viz_branches_reset(VizRun *r);
void viz_branch_save(VizRun *r);
int viz_dist_pos(const VizState *v);
/* Switches an ablation on or off (spec as for --ablate; "clear" for none) and reruns the same tokens. */
int viz_ablate(VizState *v, const char *spec, Err *err);
/* Runs text B beside the text shown (A), position by position ("off": stop comparing). */
int viz_compare(VizState *v, const char *text, Err *err);
/* Direct logit attribution at the query position, of token (-1: the one that came next, or the most
 * likely); the experiment view then shows it. */
int viz_attribute(VizState *v, Metric metric, Err *err);
/* Activation patching of this text (clean) against text B (corrupted, from 'compare'), for target (-1:
 * this text's most likely next token); the experiment view then shows the sweep. */
int viz_patch(VizState *v, PatchKind what, Metric metric, Err *err);
void viz_experiment_free(VizExperiment *e);
/* Measures every head's scores (heads.h) on this model, once (the text shown is run again after), and
 * shows the head finder with score which (0..3; -1: the one shown). */
int viz_heads(VizState *v, int which, Err *err);
/* Zero or mean ablation from now on; reruns the text when something is switched off. */
int viz_ablate_mode(VizState *v, AblateMode mode, Err *err);
/* Tensor k at pos as the heatmaps, vectors and lens show it (view.run_shown): the run's own, the clean
 * run's, or ablated - clean; the run's own where no clean run applies (nothing off, another text). */
const float *viz_tensor_shown(const VizState *v, TensorKind k, int layer, int pos);
/* Whether another run is there to compare with: the clean run while parts are off, or text B. */
int viz_comparing(const VizState *v);
/* The names of this run and the other: "ablated" and "clean", or "A" and "B". */
void viz_run_names(const VizState *v, const char **cur, const char **oth);
/* What they show, for titles: "ablated run", "clean run" or "ablated - clean"; NULL when nothing is off. */
const char *viz_run_label(const VizState *v);
/* The clean (unablated) probability of token id at position p, or -1 when none is kept. */
float viz_clean_prob(const VizState *v, int p, int id);
/* Whether that part is switched off (index: the head or neuron; ignored for sublayers and pos). */
int viz_part_ablated(const VizState *v, AblationKind kind, int layer, int index);
/* The vectors view's right-click: the ablate command for the element of row hit h at x ("" for none). */
void view_block_knock(const VizState *v, const Hit *h, double x, char *buf, size_t cap);
/* Whether that head's output is switched off (the head itself, or its layer's whole attention). */
int viz_head_ablated(const VizState *v, int layer, int head);
int viz_next_token(const VizState *v, int pos);

/* ---- what the state's files share (run.c, derived.c, experiments.c) ---- */
void viz_free_branches(VizRun *r);
void viz_free_derived(VizDerived *d);
/* Forgets the other run (clean or text B) and its differences; the difference cache alone. */
void viz_drop_clean(VizRun *r);
void viz_drop_diff(VizRun *r);
/* An empty difference cache for this run when another run is kept and the cache is of an older one. */
void viz_diff_renew(VizRun *r);
/* Whether the other run's numbers hold at position p; its probabilities at p made (when first read). */
int viz_other_applies(const VizRun *r, int p);
void viz_clean_probs_at(VizRun *r, int p);

/* x with four decimals, or three significant digits where four decimals would show a value that is not
 * zero as 0.0000 (a weight of 7.18e-07); sign: always a sign. Returns buf. */
const char *viz_num4(double x, int sign, char *buf, size_t cap);

/* ---- hit areas (ui.c) ---- */
void viz_add_hit(VizState *v, HitKind kind, Rect r, int a, int b);
int viz_hovered(const VizState *v, HitKind kind, int a, int b);
const Hit *viz_hover_hit(const VizState *v, HitKind kind);
/* The layers a grid of heads shows when they do not all fit: fit of them from *first, around the selected
 * layer (or from grid.layer0 when set); returns how many (the grid and the head finder, state.c). */
int viz_layer_window(const VizState *v, int fit, int *first);
/* The positions a heatmap shows: [*first, *first + *count), around the query when zoomed (state.c). */
void viz_heatmap_window(const VizState *v, int fit, int *first, int *count);

/* ---- the views (view_NAME.c): each draws into r, within r ---- */
void view_header(VizState *v, Gfx *g, Rect r);
void view_token_strip(VizState *v, Gfx *g, Rect r);
void view_tokens(VizState *v, Gfx *g, Rect r);
/* alone: the view fills the canvas (the cell panel goes beside or below the heatmap) */
void view_attention(VizState *v, Gfx *g, Rect r, int alone);
/* How one weight is computed (the selected cell), and the height it needs. */
void view_cell_panel(VizState *v, Gfx *g, Rect r, const CellBreakdown *c);
double cell_panel_h(Gfx *g, double w);
double cell_panel_min_w(Gfx *g);
void view_grid(VizState *v, Gfx *g, Rect r);
void view_distribution(VizState *v, Gfx *g, Rect r);
void view_block(VizState *v, Gfx *g, Rect r);
void view_experiment(VizState *v, Gfx *g, Rect r);
/* The head finder: the layers x heads grid coloured by one score of every head. */
void view_heads(VizState *v, Gfx *g, Rect r);
/* The weighted sum of values for the selected layer, head and query: the most weighted keys' value
 * vectors, scaled by their weights, and their sum beside the recorded head output. */
void view_values(VizState *v, Gfx *g, Rect r);
/* Attention on the text: the paragraph tinted by the query's weights, arcs to what it attends to. */
void view_lines(VizState *v, Gfx *g, Rect r);
/* That sum over every key of query q (HS floats into sum) and the recorded output it equals; -1 when
 * not recorded. */
int viz_values_sum(const VizState *v, int q, float *sum, const float **recorded);
/* A patching sweep as a heatmap in r (the experiment view, and `gptstep patch -o`). */
void draw_patch_sweep(Gfx *g, Rect r, const PatchSweep *s, const Tokenizer *tok, const int *clean, int n_head, const char *title,
                      const char *footer);
void view_pipeline(VizState *v, Gfx *g, Rect r);
/* The caption box's height for width w (0 without a caption), and the caption itself. */
double view_caption_height(VizState *v, Gfx *g, double w);
void view_caption(VizState *v, Gfx *g, Rect r);
void view_help(VizState *v, Gfx *g);
void view_message(VizState *v, Gfx *g);

#endif
