/* viz.h - the viewer: its state, the commands that change it, and drawing as a function of state.
 * Drawing goes to any cairo_t (window, PNG, SVG, PDF). Views never compute model math: they read the
 * trace, and ask the core (sampler, logit lens) for anything derived. Keys, mouse clicks and lesson
 * scripts all change the state through viz_command(), so they behave the same. */
#ifndef GPTSTEP_VIZ_H
#define GPTSTEP_VIZ_H

#include <cairo.h>

#include "generate.h"

typedef enum { ATT_SCORES, ATT_MASKED, ATT_WEIGHTS } AttMode;
typedef enum { MAIN_HEATMAP, MAIN_GRID } MainView;

/* Named views for `gptstep render --view NAME` and lesson scripts. */
typedef enum { VIEW_ALL, VIEW_TOKENS, VIEW_ATTENTION, VIEW_GRID, VIEW_DIST, VIEW_BLOCK, VIEW_PIPELINE, VIEW_COUNT } ViewName;

typedef struct {
    double x, y, w, h;
} Rect;

/* Something on screen the mouse can act on, recorded while drawing. */
typedef enum { HIT_NONE, HIT_TOKEN, HIT_CELL, HIT_GRID, HIT_CANDIDATE, HIT_STAGE, HIT_VECTOR } HitKind;
typedef struct {
    HitKind kind;
    Rect r;
    int a, b;      /* token: position; cell: the heatmap's rows, columns (r is the whole heatmap);
                    * grid: layer, head; candidate: token id; stage: index */
    int vec;       /* vector strip index (HIT_VECTOR) */
} Hit;

#define VIZ_MAX_HITS 8192
#define VIZ_MAX_HIGHLIGHT 64

/* Derived numbers the views show, kept until what they depend on changes (see draw.c). */
typedef struct {
    long epoch;          /* VizState.epoch they were computed at (-1: empty) */
    int pos;
    SamplerSettings s;
    int *order;          /* (V) token ids by descending probability */
    float *samp;         /* (V) the sampler's distribution */
    int kept;
    double entropy;
} DistCache;

typedef struct {
    long epoch;
    int pos;
    int n;               /* layers filled */
    int ids[128];
    float probs[128];
} LensCache;

typedef struct {
    Gen gen;             /* the model, tokenizer, trace and sampler */
    long epoch;          /* bumped whenever the trace's positions may have changed */
    DistCache dist;
    LensCache lens;
    int loaded;          /* gen holds a model */
    char model_arg[512]; /* what --model / the model command named ("" = default) */
    char prompt[4096];
    int step;            /* the displayed step: positions up to its end are shown */
    int query;           /* selected query position (-1: the step's last position) */
    int key;             /* selected key for the cell breakdown (-1: none) */
    int layer, head;
    int stage;           /* index into the forward-pass pipeline, see viz_stage_name */
    AttMode att;
    MainView main;
    ViewName only;       /* VIEW_ALL, or one view filling the canvas */
    int top_k_bars;      /* candidates shown as bars */
    int large;           /* large-font presentation mode */
    int colorblind;      /* colour-blind-safe colour maps */
    int help;            /* help overlay shown */
    int fullscreen;
    double mouse_x, mouse_y;
    int hover;           /* index into hits under the mouse, or -1 */
    Hit hits[VIZ_MAX_HITS];
    int n_hits;
    char message[1024];  /* an error or notice shown in the window */
    int message_is_error;
    char caption[2048];  /* lesson caption (markdown-ish: **bold** lines) */
    char progress[128];  /* lesson progress, e.g. "Lesson 3 - step 4 / 12" */
    int hl_tokens[VIZ_MAX_HIGHLIGHT], n_hl_tokens;         /* highlighted positions */
    int hl_cells[VIZ_MAX_HIGHLIGHT][2], n_hl_cells;        /* highlighted (query, key) cells */
    int hl_cands[VIZ_MAX_HIGHLIGHT], n_hl_cands;           /* highlighted candidate token ids */
    char title[256];     /* lesson title, shown in the header */
    int exports;         /* files exported from the window so far (for their names) */
    volatile int load_percent; /* written by the worker while it loads a model, -1 when not loading */
    int busy;            /* a worker is computing: the state must not be touched */
    char busy_what[256];
} VizState;

void viz_init(VizState *v);
void viz_free(VizState *v);

/* Runs one command (the language of keys, clicks and lessons; see docs/viewer.md), e.g.
 * "next", "prev", "layer 2", "head 3", "attention weights", "view grid", "stage L1.attn", "query 4",
 * "temperature 0.8", "top-k 40", "top-p 0.9", "seed 7", "prompt Once upon a time", "model gpt2",
 * "pick 1234", "export out.pdf". Returns 0, or -1 with err filled (the state stays usable). */
int viz_command(VizState *v, const char *cmd, Err *err);

/* Loads v->model_arg and runs v->prompt (the slow part: callers may run it off the UI thread). */
int viz_load_and_run(VizState *v, Err *err);

/* Draws the whole window (or v->only) into a w x h area of cr; records hit areas for the mouse. */
void viz_draw(VizState *v, cairo_t *cr, double w, double h);

/* Writes the current drawing to FILE.png, .svg or .pdf at w x h. */
int viz_export(VizState *v, const char *path, int w, int h, Err *err);

/* The forward-pass pipeline: 1 + 6 per layer + 4 stages. */
int viz_n_stages(const VizState *v);
void viz_stage_name(const VizState *v, int stage, char *buf, size_t cap);
int viz_stage_layer(const VizState *v, int stage); /* -1 outside the blocks */

const char *viz_view_name(ViewName v);
int viz_view_by_name(const char *name);

/* Positions shown at the displayed step, and its last position (the one predicting the next token). */
int viz_n_shown(const VizState *v);
int viz_query_pos(const VizState *v);

/* Keyboard and mouse, mapped to commands. key is an SDL keycode-independent name: "Right", "a", ... */
int viz_key(VizState *v, const char *key, int shift, int ctrl, Err *err);
int viz_click(VizState *v, double x, double y, Err *err);

extern const char *VIZ_HELP_LINES[];

#endif
