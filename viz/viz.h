/* viz.h - the viewer: its state, the commands that change it, and drawing as a function of state.
 *
 * The state has three parts: the run (model, trace, branches, and numbers derived from them), the
 * view (what is selected and shown) and the UI (hover, hit areas, messages). Keys, mouse clicks, the
 * ':' prompt and lesson scripts all change it through one command table (commands.c), so they behave
 * the same. Drawing (the view_NAME.c files, over the gfx.h layer) reads the state and the trace and computes no
 * model math: derived numbers (sampler distribution, entropy, logit lens, norms) come from the core,
 * through viz_prepare(), which runs off the UI thread in the window. */
#ifndef GPTSTEP_VIZ_H
#define GPTSTEP_VIZ_H

#include <cairo.h>
#include <stdatomic.h>
#include <stdio.h>

#include "attribution.h"
#include "heads.h"
#include "generate.h"
#include "patching.h"
#include "gfx.h"

typedef enum { ATT_SCORES, ATT_MASKED, ATT_WEIGHTS } AttMode;
/* Which run the heatmaps, the vectors and the logit lens show while parts are switched off: the run as
 * it is (ablated), the clean run of the same text, or their difference (ablated - clean); while two texts
 * are compared: A (the text shown), B (the other), or A - B. */
typedef enum { RUN_ABLATED, RUN_CLEAN, RUN_DIFF } RunShown;
typedef enum { OTHER_CLEAN, OTHER_TEXT } OtherKind;
typedef enum { MAIN_HEATMAP, MAIN_GRID } MainView;

/* Named views for `gptstep render --view NAME`, lesson scripts and presenter mode. */
typedef enum { VIEW_ALL, VIEW_TOKENS, VIEW_ATTENTION, VIEW_GRID, VIEW_DIST, VIEW_BLOCK, VIEW_PIPELINE, VIEW_EXPERIMENT, VIEW_HEADS, VIEW_VALUES, VIEW_LINES, VIEW_COUNT } ViewName;

/* Something on screen the mouse can act on, recorded while drawing. */
typedef enum { HIT_NONE, HIT_TOKEN, HIT_CELL, HIT_GRID, HIT_CANDIDATE, HIT_STAGE, HIT_VECTOR, HIT_PANEL, HIT_SCORE } HitKind;
typedef struct {
    HitKind kind;
    Rect r;
    int a, b; /* token: position; cell: first position shown, positions across (r is the whole grid);
               * grid: layer, head; candidate: token id, 1 when a click picks it; stage: index; vector: row, length;
               * panel: the view (-1 header, -2 caption, -3 message) */
} Hit;

#define VIZ_MAX_HITS 8192
#define VIZ_MAX_HIGHLIGHT 64
#define VIZ_MAX_LAYERS 256

/* ---- the run ---- */

/* One path through the generation: the token chosen after each step, and how it was chosen
 * (sampler.greedy == -1: picked by hand). All branches share the prompt. */
typedef struct {
    int n_steps;
    int *chosen;
    SamplerSettings *settings;
} VizBranch;

/* Numbers derived from the trace for the shown position, computed by viz_prepare (off the UI thread in
 * the window) and only read while drawing. */
typedef struct {
    long epoch;          /* VizRun.epoch they were computed at (-1: none) */
    int pos;             /* the position they describe */
    SamplerSettings s;   /* the sampler settings they used */
    int *order;          /* (V) token ids by descending model probability */
    float *samp;         /* (V) the sampler's distribution (after temperature, top-k, top-p) */
    float *curve;        /* (V) the model's probabilities in rank order */
    int kept;            /* tokens the sampler can draw */
    double kept_mass;    /* their mass under the model */
    double entropy;      /* of the model's distribution (temperature 1), nats */
    double samp_entropy; /* of the sampler's distribution, nats */
    int chosen_rank;     /* 0-based rank of the chosen (or actual next) token, -1 when none */
    /* the pipeline and the logit lens: after each block, at pos */
    int n_layers;
    int lens_id[VIZ_MAX_LAYERS];
    float lens_p[VIZ_MAX_LAYERS];
    int has_clean_lens;  /* parts are switched off and the clean run holds at pos: its lens too */
    int clean_lens_id[VIZ_MAX_LAYERS];
    float clean_lens_p[VIZ_MAX_LAYERS];
    double embed_norm, norm_mid[VIZ_MAX_LAYERS], norm_out[VIZ_MAX_LAYERS], lnf_norm;
} VizDerived;

/* The last experiment run from the viewer or a lesson (the experiment view draws it). */
typedef enum { EXP_NONE, EXP_ATTRIBUTION, EXP_PATCHING } ExpKind;
typedef struct {
    ExpKind kind;
    Attribution attr;    /* EXP_ATTRIBUTION: at attr.pos of `tokens`, for attr.token */
    PatchSweep sweep;    /* EXP_PATCHING: clean `tokens`, corrupted `corrupt` */
    int *tokens, *corrupt, n_tokens;
    Metric metric;       /* what was attributed or restored: a token's logit, or the difference of two */
} VizExperiment;

typedef struct {
    Gen gen;             /* the model, tokenizer, trace and sampler */
    int loaded;          /* gen holds a model */
    long epoch;          /* bumped whenever the trace's positions may have changed */
    char model_arg[512]; /* what --model / the model command named ("" = default) */
    char *prompt;        /* the prompt text (any length; "" = unconditional) */
    char *ran_prompt;    /* the prompt whose positions start the trace (NULL: none), so running it again
                          * can go back to them instead of recomputing them */
    int step;            /* the displayed step: positions up to its end are shown */
    VizBranch *branches; /* every path generated from this prompt (the current one may be newer) */
    int n_branches, branch;
    Trace *other;        /* the run compared with (NULL: none): OTHER_CLEAN, the clean (unablated) run of
                          * the text, kept when the first ablation is switched on, whose numbers hold
                          * where the text still matches; OTHER_TEXT, the run of another text (B, with
                          * `compare`), position by position */
    OtherKind other_kind;
    char *other_text;    /* OTHER_TEXT: B's text */
    struct DiffCache *diff; /* ablated - clean tensors, made when first read (viz_tensor_shown) */
    VizExperiment exp;
    /* the head finder (view heads): every head's scores (heads.h), measured once per model on demand,
     * with what was switched off then ("" = nothing) */
    HeadScores *head_scores;
    int head_text_tokens, head_random;
    char head_off[128];
    int restores;        /* everything switched back on: how often the kept clean run came back as it was */
    int replays;         /* interventions changed: how often the whole text was run again, and how often */
    int reruns_from[VIZ_MAX_LAYERS]; /* it was rerun from layer L on, the layers before kept (tests, bench) */
    VizDerived d;
} VizRun;

/* ---- the view: what is selected and shown ---- */

typedef struct {
    int query;           /* selected query position (-1: the step's last position) */
    int key;             /* selected key for the cell breakdown (-1: none) */
    int layer, head;
    int stage;           /* index into the forward-pass pipeline (-1: none), see viz_stage_name */
    AttMode att;
    MainView main;
    ViewName only;       /* VIEW_ALL, or one view filling the canvas */
    int bars;            /* candidates shown as bars */
    int presenter;       /* presenter mode: one view fills the screen, text >= 1/40 of its height */
    int colorblind;      /* colour-blind-safe colour maps */
    int help;            /* help overlay shown */
    int fullscreen;
    int zoom;            /* heatmap: positions shown across (0: as many as fit at a readable size; -1: every
                          * position, however small its cells - Z) */
    int pan;             /* heatmap: first key/query position shown when zoomed (-1: follow the query) */
    int grid_layer0;     /* grid: first layer shown when not all fit (-1: follow the layer) */
    int lines_all;       /* view lines: every head of the layer (1) or the selected one (0) */
    int head_score;      /* the head finder's score: 0 previous, 1 first, 2 induction, 3 duplicate (heads.h) */
    RunShown run_shown;  /* with parts switched off: the ablated run, the clean one or the difference; A, B, A - B */
    int hl_tokens[VIZ_MAX_HIGHLIGHT], n_hl_tokens;  /* highlighted positions */
    int hl_cells[VIZ_MAX_HIGHLIGHT][2], n_hl_cells; /* highlighted (query, key) cells */
    int hl_cands[VIZ_MAX_HIGHLIGHT], n_hl_cands;    /* highlighted candidate token ids */
    char caption[4096];  /* lesson caption (markdown-ish: **bold**) */
    char progress[128];  /* lesson progress, e.g. "step 4 / 12" */
    char title[256];     /* lesson title, shown in the header */
} VizView;

/* ---- the UI ---- */

typedef struct {
    double mouse_x, mouse_y;
    int hover;           /* index into hits under the mouse, or -1 */
    Hit hits[VIZ_MAX_HITS];
    int n_hits;
    char message[1024];  /* an error or notice shown in the window */
    int message_is_error;
    int exports;         /* files exported from the window so far (for their names) */
    int screen_w, screen_h; /* the size the window or page last drew at (0: none, headless); E exports it */
    atomic_int load_percent; /* written by the worker while it loads a model, -1 when not loading */
    atomic_int stop;     /* set by the window when it closes during a job: a model's load stops there */
    int busy;            /* a worker owns the run: nothing may read it */
    int edit_request;    /* the edit command asked the window for its editor: 1 prompt, 2 command */
    int quit;            /* the quit command asked the window to close */
    int heat_shown;      /* positions the last heatmap drawn showed across (zoom out starts from it) */
    int interactive;     /* a person is at the keys (the window, the page): the header says how to go on */
    int async_prepare;   /* the window runs viz_prepare on its worker; otherwise viz_draw runs it */
    double fs, fs_min;   /* the last frame's body and smallest text sizes */
    int placeholder;     /* the last frame's view showed a line saying what to do instead of its content
                          * (heads not scored yet, nothing to restore): the layout test does not ask it to
                          * fill its panel */
    char unseen[256];    /* the last frame: what a lesson asked for that it could not show ("" when all
                          * shown): a caption cut short, a highlighted token, cell or candidate off screen */
    char busy_what[256];
    long frames;         /* frames drawn so far (viz_draw) */
    int link_request;    /* the link command asked the front end to copy viz_link_make's link */
    int console_request; /* the console command asked the window to open (or close) the lecturer's console */
    FILE *record;        /* `record FILE`: every command that changes what is shown is written there, as a lesson */
    char record_path[512];
    int record_steps, record_open; /* steps written; whether a step has been started */
} VizUi;

typedef struct {
    VizRun run;
    VizView view;
    VizUi ui;
} VizState;

void viz_init(VizState *v);
void viz_free(VizState *v);
/* The view's defaults (one place for them); keeps presenter, colour-blind and full-screen settings. */
void viz_view_defaults(VizView *w);

/* Runs one command line (see docs/viewer.md, or viz_commands_markdown): keys, clicks, the ':' prompt and
 * lessons all come here. Returns 0, or -1 with err filled; the state stays usable either way. */
int viz_command(VizState *v, const char *line, Err *err);
/* Checks a command line's form without running it (name, argument kinds, fixed ranges): for lessons. */
int viz_command_check(const char *line, Err *err, int *arg_col);
/* What the command table says of a command line's command (0 for an unknown one): VIZ_CMD_SLOW, it can
 * take long (a model's forward pass), so the window runs it on its worker; VIZ_CMD_GENERATES, its
 * progress line says "generating"; VIZ_CMD_REPORTS, the message it leaves stays on screen. */
enum { VIZ_CMD_SLOW = 1, VIZ_CMD_GENERATES = 2, VIZ_CMD_REPORTS = 4, VIZ_CMD_NORECORD = 8, VIZ_CMD_STEP = 16 };
/* (VIZ_CMD_NORECORD: what `record` leaves out of a recorded lecture - files, the window, help; VIZ_CMD_STEP:
 * a recorded command that starts a new step of the lesson it writes.) */
int viz_command_flags(const char *line);
/* The command table as a Markdown table (docs/viewer.md must contain it), and the key table. */
void viz_commands_markdown(FILE *out);
void viz_keys_markdown(FILE *out);
/* The help overlay's lines (key, what it does), NULL-terminated pairs. */
int viz_help_lines(const char ***keys, const char ***what);

/* Keyboard and mouse, mapped to commands. key is an SDL-independent name: "Right", "a", "F11"... */
int viz_key(VizState *v, const char *key, int shift, int ctrl, Err *err);
/* The command a key sends ("" when none): the window asks first, to run slow ones on its worker. */
const char *viz_key_command(VizState *v, const char *key, int shift, int ctrl, char *buf, size_t cap);
int viz_click(VizState *v, double x, double y, Err *err);
const char *viz_click_command(VizState *v, double x, double y, char *buf, size_t cap);
/* A right-click (or Shift+click): the command that switches off the part under (x, y) - a head in the
 * grid or the heatmap's title, a neuron or a head's or sublayer's row in the vectors view, the
 * embedding or an expanded layer's attn or ffn in the pipeline - or "" when there is none. */
const char *viz_knock_command(VizState *v, double x, double y, char *buf, size_t cap);
int viz_wheel(VizState *v, double x, double y, int dy, int ctrl, Err *err);

/* Loads run.model_arg and runs run.prompt (slow: the window runs it on its worker). */
int viz_load_and_run(VizState *v, Err *err);
/* Computes the derived numbers for what is shown (slow on big models: the window runs it on its
 * worker after every command that changes them). Cheap when they are current. */
void viz_prepare(VizState *v);
int viz_needs_prepare(const VizState *v);

/* Draws the whole window (or the view alone) into a w x h area of cr; records hit areas. */
void viz_draw(VizState *v, cairo_t *cr, double w, double h);
/* The caption alone, at a print size (a handout's page): its height for width r.w (draw 0), or drawn
 * into r. */
double viz_caption_print(VizState *v, cairo_t *cr, Rect r, double size, int draw);

/* Writes the current drawing to FILE.png, .svg or .pdf at w x h. */
int viz_export(VizState *v, const char *path, int w, int h, Err *err);
/* A cairo surface writing to path by its ending (.png, .pdf, .svg; kinds names them in the error),
 * *png set for a PNG; viz_file_finish writes and closes it. NULL / -1 with a one-line message. */
cairo_surface_t *viz_file_surface(const char *path, int w, int h, const char *kinds, int *png, Err *err);
int viz_file_finish(cairo_surface_t *s, const char *path, int png, Err *err);

/* The forward-pass pipeline: embed, VIZ_LAYER_STAGES stages per layer (in the order of StageSub), then
 * ln_f, logits, probs, sample. viz_stage_sub and viz_stage_at are the only arithmetic on stage numbers. */
#define VIZ_LAYER_STAGES 6
typedef enum { SUB_LN_1, SUB_ATTN, SUB_ADD_1, SUB_LN_2, SUB_FFN, SUB_ADD_2 } StageSub;
int viz_stage_sub(const VizState *v, int stage);           /* the StageSub of a layer's stage, -1 outside the blocks */
int viz_stage_at(int layer, int sub);                      /* the stage of a layer's StageSub */
int viz_n_stages(const VizState *v);
void viz_stage_name(const VizState *v, int stage, char *buf, size_t cap);
int viz_stage_by_name(const VizState *v, const char *name);
int viz_stage_layer(const VizState *v, int stage); /* -1 outside the blocks */

const char *viz_view_name(ViewName v);
int viz_view_by_name(const char *name);
/* The view presenter mode shows for the current selection. */
ViewName viz_shown_view(const VizState *v);

/* Positions shown at the displayed step, and the selected query position. */
int viz_n_shown(const VizState *v);
int viz_query_pos(const VizState *v);
int viz_prompt_len(const VizState *v);
/* Whether the token at position p (or the pending choice, p == n_shown) was picked by hand. */
int viz_picked(const VizState *v, int p);

/* A token's text for display (spaces as a visible mark). */
void viz_piece(const VizState *v, int id, char *out, size_t cap);
/* The token at position p of the text as the screen shows it: viz_piece's form, except a token holding
 * part of a character (a byte token), shown as the character its bytes form with the tokens around it
 * and which part of it this token holds ("\xE2\x80\x9D\xC2\xB9", "\xE2\x80\x9D\xC2\xB2"). */
void viz_piece_at(const VizState *v, int p, char *out, size_t cap);
/* A tensor of the trace at a position (NULL when not recorded). */
const float *viz_tensor(const VizState *v, TensorKind k, int layer, int pos);

/* How one attention weight is computed, from the trace's q and k: every number the cell panel shows. */
typedef struct {
    int q, k, layer, head, hs, kept;
    double dot;      /* q . k over the head's hs channels */
    double sqrt_d;   /* sqrt(hs) */
    float score;     /* the recorded score (q . k / sqrt(d)) */
    float row_max;   /* the largest kept score in the query's row */
    double e;        /* exp(score - row_max), 0 when masked */
    double z;        /* the softmax normaliser: sum over kept keys of exp(score_j - row_max) */
    float weight;    /* the recorded weight */
} CellBreakdown;
int viz_cell_breakdown(const VizState *v, int q, int k, CellBreakdown *out);
/* The panel's lines, as drawn (n lines of at most 256 bytes); returns n. */
int viz_cell_lines(const VizState *v, const CellBreakdown *c, char lines[][256], int max);

/* A link's fragment ("prompt=The%20dragon&steps=3&layer=3&head=3&ablate=3.3"; docs/web.md): the
 * prompt and lesson for the front end, and viewer commands in a fixed order, each checked against the
 * command table. A bad or unknown key gives -1 with err naming the first one; the rest still apply. */
#define VIZ_LINK_MAX 96
typedef struct {
    char *prompt;        /* NULL: not given */
    char *lesson;        /* NULL: not given */
    int lesson_step;     /* 0-based, -1: not given */
    char *pre[8];        /* the sampler's settings (seed, temperature, top-k, top-p, greedy): applied before the
                          * prompt runs, so that its next token is drawn as it was when the link was made */
    int n_pre;
    char *cmds[VIZ_LINK_MAX];
    int n;
} VizLink;
int viz_link_parse(const char *fragment, VizLink *l, Err *err);
void viz_link_free(VizLink *l);
/* The current state as a fragment (without '#'), which viz_link_parse reads back to the same screen. */
void viz_link_make(const VizState *v, char *buf, size_t cap);
/* What the screen shows as JSON (malloc'd): the model, token ids and pieces, position, layer, head, view,
 * the top 10 candidates with their probabilities, the sampler, what is switched off, the lesson step. */
char *viz_state_json(VizState *v);

/* Whether specs[i] names a part that one of specs[0..i-1] named already (in any spelling), for the loaded
 * model: --ablate means "switched off" however often it is given, as in gptstep generate. */
int viz_ablation_named_before(const VizState *v, const char *const *specs, int i);

/* Sets the UI message (an error or a notice). */
void viz_message(VizState *v, int is_error, const char *fmt, ...) GS_PRINTF(3, 4);

#endif
