/* commands.c - the viewer's one command table. Every input ends here: keys (through the key table
 * below), mouse clicks, the ':' prompt, lesson scripts, `gptstep render`, the help overlay and the
 * docs (docs/viewer.md holds the table as viz_commands_markdown prints it; a test compares them).
 * Each command has a name, aliases, the kind and fixed range of its argument, a usage, a help line
 * and a handler. Arguments are parsed once, here, the same way for every caller. */
#define _XOPEN_SOURCE 700
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "viz.h"
#include "vizint.h"

typedef enum {
    A_NONE,   /* no argument */
    A_INT,    /* a whole number in [lo, hi], or one of `words` */
    A_NUM,    /* a number in [lo, hi], or one of `words` */
    A_ONOFF,  /* on, off or toggle (left out: toggle) */
    A_ENUM,   /* one of `words` */
    A_TEXT,   /* the rest of the line; "double quotes" and \n \t \\ \" escapes are undone */
    A_INTS2,  /* two whole numbers in [lo, hi] */
    A_TOKEN,  /* a token id in [lo, hi] or a "quoted piece" */
    A_WORDS,  /* free words checked by the handler (highlight, stage) */
} ArgKind;

typedef struct {
    const char *text; /* A_TEXT, A_TOKEN's piece, A_WORDS: the argument (unquoted) */
    const char *raw;  /* the argument as written */
    long i, i2;
    double d;
    int word;         /* index into the command's words, or -1 */
    int given;        /* an argument was written */
} Args;

typedef struct {
    const char *name;
    const char *aliases; /* space-separated */
    ArgKind kind;
    const char *words;   /* '|'-separated */
    double lo, hi;
    int optional;        /* the argument may be left out */
    int flags;           /* VIZ_CMD_SLOW: runs the model (the window runs it on its worker); VIZ_CMD_GENERATES:
                          * its progress line says "generating"; VIZ_CMD_REPORTS: its message stays */
    const char *usage;   /* the argument, as docs and errors show it */
    const char *help;
    int (*run)(VizState *v, const Args *a, Err *err);
} Command;

/* ---- helpers ---- */

static int need_model(const VizState *v, Err *err) {
    if (!v->run.loaded) return err_set(err, "no model is loaded");
    return v->run.gen.trace.n_steps > 0 ? 0 : err_set(err, "nothing has run yet: give a prompt (Enter)");
}

static void unquote(const char *in, char *out, size_t cap) {
    size_t n = strlen(in), k = 0;
    if (n >= 2 && in[0] == '"' && in[n - 1] == '"') in++, n -= 2;
    for (size_t i = 0; i < n && k + 1 < cap; i++) {
        if (in[i] == '\\' && i + 1 < n) {
            char c = in[++i];
            out[k++] = c == 'n' ? '\n' : c == 't' ? '\t' : c;
        } else {
            out[k++] = in[i];
        }
    }
    out[k] = 0;
}

static int word_index(const char *words, const char *s) {
    if (!words) return -1;
    int i = 0;
    for (const char *p = words; *p; i++) {
        const char *e = strchr(p, '|');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (strlen(s) == n && strncasecmp(p, s, n) == 0) return i;
        if (!e) break;
        p = e + 1;
    }
    return -1;
}

static int parse_long(const char *s, long *out) {
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (end == s || *end || errno) return -1;
    *out = x;
    return 0;
}

static int parse_num(const char *s, double *out) {
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(x)) return -1;
    *out = x;
    return 0;
}

/* "0..3" or "0.001..100" for messages */
static void range_text(const Command *c, char *buf, size_t cap) {
    if (c->kind == A_NUM) snprintf(buf, cap, "%g..%g", c->lo, c->hi);
    else snprintf(buf, cap, "%.0f..%.0f", c->lo, c->hi);
}

/* ---- the handlers ---- */

static void clear_selection(VizState *v) { v->view.query = -1, v->view.key = -1; }

static int c_next(VizState *v, const Args *a, Err *err) {
    (void)a;
    return viz_step_next(v, err);
}

static int c_prev(VizState *v, const Args *a, Err *err) {
    (void)a;
    if (need_model(v, err)) return -1;
    if (v->run.step > 0) v->run.step--;
    clear_selection(v);
    return 0;
}

static int c_first(VizState *v, const Args *a, Err *err) {
    (void)a;
    if (need_model(v, err)) return -1;
    v->run.step = 0;
    clear_selection(v);
    return 0;
}

static int c_last(VizState *v, const Args *a, Err *err) {
    (void)a;
    if (need_model(v, err)) return -1;
    v->run.step = v->run.gen.trace.n_steps - 1;
    clear_selection(v);
    return 0;
}

/* Generates (or shows) up to step `target`, checking the context first. */
static int go_to_step(VizState *v, long target, Err *err) {
    if (need_model(v, err)) return -1;
    int ctx = v->run.gen.model.cfg.n_ctx, prompt = viz_prompt_len(v);
    if (prompt + target > ctx)
        return err_set(err, "step %ld needs %ld positions, past the model's %d-token context (at most step %d)", target,
                       prompt + target, ctx, ctx - prompt);
    if (target <= v->run.gen.trace.n_steps - 1) {
        v->run.step = (int)target;
        clear_selection(v);
        return 0;
    }
    v->run.step = v->run.gen.trace.n_steps - 1;
    while (v->run.step < target)
        if (viz_step_next(v, err)) return -1;
    return 0;
}

static int c_generate(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    return go_to_step(v, v->run.step + (a->given ? a->i : 1), err);
}

static int c_step(VizState *v, const Args *a, Err *err) { return go_to_step(v, a->i, err); }

/* follow ID,ID,...: steps forward choosing these tokens, in order (a link's steps, as they were chosen):
 * each one recorded as the sampler's choice of its step, with the settings of the moment. */
static int c_follow(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    VizRun *r = &v->run;
    const int V = r->gen.model.cfg.n_vocab;
    char *list = xstrdup(a->text), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(list, ",", &save); t && rc == 0; t = strtok_r(NULL, ",", &save)) {
        long id;
        while (*t == ' ') t++;
        if (parse_int(t, 0, V - 1, &id)) {
            rc = err_set(err, "follow expects token ids 0..%d separated by commas, got '%.40s'", V - 1, t);
            break;
        }
        if (go_to_step(v, r->gen.trace.n_steps - 1, err)) rc = -1; /* the newest step: its pending choice */
        else {
            TraceStep *s = &r->gen.trace.steps[r->gen.trace.n_steps - 1];
            if (s->chosen != (int)id) {
                SamplerSettings drew = s->sampler;
                gen_choose(&r->gen, (int)id);
                s->sampler = drew; /* chosen by the sampler then, not picked by hand */
                r->epoch++;
            }
            rc = viz_step_next(v, err);
        }
    }
    free(list);
    return rc;
}

static int c_query(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int n = viz_n_shown(v);
    long p = a->word == 0 ? n - 1 : a->i;
    if (p < 0 || p >= n) return err_set(err, "query expects a position 0..%d (or last), got '%s'", n - 1, a->raw);
    v->view.query = (int)p;
    v->view.key = -1;
    return 0;
}

static int c_key(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int n = viz_n_shown(v);
    if (a->word == 0) {
        v->view.key = -1;
        return 0;
    }
    if (a->i < 0 || a->i >= n) return err_set(err, "key expects a position 0..%d (or none), got '%s'", n - 1, a->raw);
    v->view.key = (int)a->i;
    return 0;
}

static int c_cell(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int n = viz_n_shown(v);
    if (a->i >= n || a->i2 >= n)
        return err_set(err, "cell expects a query and a key position 0..%d, got '%s'", n - 1, a->raw);
    v->view.query = (int)a->i, v->view.key = (int)a->i2;
    return 0;
}

/* layer/head: a number, or +/- (next/prev) wrapping around */
/* next / prev: heads go round (wrap 1); layers are a stack with a first and a last, and stop there. */
static int pick_index(const Args *a, int cur, int n, int wrap, const char *what, const char *plural, Err *err, int *out) {
    if (a->word == 0 || a->word == 2) *out = wrap ? (cur + 1) % n : (cur + 1 < n ? cur + 1 : cur);
    else if (a->word == 1 || a->word == 3) *out = wrap ? (cur + n - 1) % n : (cur > 0 ? cur - 1 : 0);
    else if (a->i < 0 || a->i >= n)
        return err_set(err, "%s expects 0..%d (this model has %d %s, counted from 0), got '%s'", what, n - 1, n, plural, a->raw);
    else *out = (int)a->i;
    return 0;
}

/* The selected layer; the grid's window follows it, and so does the pipeline's selected stage. */
static void set_layer(VizState *v, int l) {
    v->view.layer = l;
    v->view.grid_layer0 = -1;
    int s = v->view.stage, sl = s >= 0 ? viz_stage_layer(v, s) : -1;
    if (sl >= 0 && sl != l) v->view.stage = viz_stage_at(l, viz_stage_sub(v, s));
}

static int c_layer(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int l = 0;
    if (pick_index(a, v->view.layer, v->run.gen.model.cfg.n_layer, 0, "layer", "layers", err, &l)) return -1;
    set_layer(v, l);
    return 0;
}

static int c_head(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int h = 0;
    if (pick_index(a, v->view.head, v->run.gen.model.cfg.n_head, 1, "head", "heads", err, &h)) return -1;
    v->view.head = h;
    return 0;
}

static int c_attention(VizState *v, const Args *a, Err *err) {
    (void)err;
    v->view.att = a->word < 0 || a->word == 3 ? (AttMode)((v->view.att + 1) % 3) : (AttMode)a->word;
    return 0;
}

static int c_view(VizState *v, const Args *a, Err *err) {
    (void)err;
    const char *w = a->text;
    if (!strcasecmp(w, "next") || !strcasecmp(w, "prev")) { /* cycle the single views */
        int cur = viz_shown_view(v), d = !strcasecmp(w, "next") ? 1 : VIEW_COUNT - 2;
        if (cur == VIEW_ALL) cur = d == 1 ? VIEW_COUNT - 1 : 1;
        int nxt = 1 + (cur - 1 + d) % (VIEW_COUNT - 1);
        v->view.only = (ViewName)nxt;
    } else if (!strcasecmp(w, "heatmap")) {
        v->view.main = MAIN_HEATMAP;
        if (v->view.only == VIEW_GRID) v->view.only = VIEW_ATTENTION;
        return 0;
    } else {
        v->view.only = (ViewName)viz_view_by_name(w);
    }
    if (v->view.only == VIEW_GRID) v->view.main = MAIN_GRID;
    if (v->view.only == VIEW_ATTENTION) v->view.main = MAIN_HEATMAP;
    return 0;
}

/* open L.H: that head's heatmap (a click on the grid). */
static int c_open(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    const Gpt2Config *c = &v->run.gen.model.cfg;
    const char *rest;
    long l, h;
    if (parse_int_prefix(a->text, 0, c->n_layer - 1, &l, &rest) || *rest != '.' || parse_int(rest + 1, 0, c->n_head - 1, &h))
        return err_set(err, "open '%.40s': expected L.H, a head (layers 0..%d, heads 0..%d)", a->text, c->n_layer - 1, c->n_head - 1);
    set_layer(v, (int)l);
    v->view.head = (int)h;
    v->view.main = MAIN_HEATMAP;
    if (v->view.only == VIEW_GRID || v->view.only == VIEW_HEADS) v->view.only = VIEW_ATTENTION;
    return 0;
}

static int on_off(const Args *a, int cur) { return a->word == 0 ? 1 : a->word == 1 ? 0 : !cur; }

static int c_grid(VizState *v, const Args *a, Err *err) {
    (void)err;
    int on = on_off(a, viz_shown_view(v) == VIEW_GRID || (v->view.only == VIEW_ALL && v->view.main == MAIN_GRID));
    v->view.main = on ? MAIN_GRID : MAIN_HEATMAP;
    if (v->view.only == VIEW_GRID && !on) v->view.only = VIEW_ATTENTION;
    else if (v->view.only == VIEW_ATTENTION && on) v->view.only = VIEW_GRID;
    return 0;
}

static int c_stage(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int n = viz_n_stages(v), s, cur = v->view.stage;
    const char *w = a->text;
    /* with no stage selected, next and prev go on from "you are here" (the pipeline's: the selected
     * layer's attention) */
    if (cur < 0) cur = viz_stage_at(v->view.layer, SUB_ATTN);
    if (!strcasecmp(w, "next") || !strcmp(w, "+")) s = cur + 1 < n ? cur + 1 : n - 1;
    else if (!strcasecmp(w, "prev") || !strcmp(w, "-")) s = cur > 0 ? cur - 1 : 0;
    else if (!strcasecmp(w, "none") || !strcasecmp(w, "off")) s = -1;
    else if ((s = viz_stage_by_name(v, w)) < 0)
        return err_set(err, "stage expects embed, L0.ln_1|attn|add_1|ln_2|ffn|add_2 .. L%d.*, ln_f, logits, probs, sample, "
                       "next, prev or none, got '%s'", v->run.gen.model.cfg.n_layer - 1, w);
    v->view.stage = s;
    if (s >= 0 && viz_stage_layer(v, s) >= 0) v->view.layer = viz_stage_layer(v, s);
    return 0;
}

/* The sampler settings changed: the pending choice of the newest step is drawn again, and said so. */
static void settings_changed(VizState *v) {
    VizRun *r = &v->run;
    if (!r->loaded || r->step != r->gen.trace.n_steps - 1 || !r->gen.has_logits) return;
    int id = gen_choose(&r->gen, -1);
    r->epoch++;
    char piece[128];
    viz_piece(v, id, piece, sizeof piece);
    viz_message(v, 0, "the next token was drawn again with the new settings: \"%s\"", piece);
}

static const int TOPK_STEPS[] = {0, 1, 2, 3, 5, 10, 20, 40, 100, 1000};
static const float TOPP_STEPS[] = {0.1f, 0.25f, 0.5f, 0.75f, 0.9f, 0.95f, 1.0f};

static int c_temperature(VizState *v, const Args *a, Err *err) {
    (void)err;
    SamplerSettings *s = &v->run.gen.sampler;
    double t = a->d;
    if (a->word >= 0) {
        double cur = s->greedy == 1 ? 1.0 : s->temperature;
        t = a->word == 0 ? cur * 1.25 : cur / 1.25;
        t = t < 0.05 ? 0.05 : t > 5 ? 5 : t;
        char buf[32]; /* three significant digits: the value shown is the value used */
        snprintf(buf, sizeof buf, "%.3g", t);
        t = strtod(buf, NULL);
    }
    s->temperature = (float)t;
    s->greedy = 0;
    settings_changed(v);
    return 0;
}

static int c_top_k(VizState *v, const Args *a, Err *err) {
    (void)err;
    SamplerSettings *s = &v->run.gen.sampler;
    long k = a->i;
    if (a->word >= 0) {
        int n = (int)(sizeof TOPK_STEPS / sizeof TOPK_STEPS[0]), i = 0;
        while (i < n - 1 && TOPK_STEPS[i] < s->top_k) i++;
        i = a->word == 0 ? (i + 1 < n ? i + 1 : n - 1) : (i > 0 ? i - 1 : 0);
        k = TOPK_STEPS[i];
    }
    s->top_k = (int)k;
    s->greedy = 0;
    settings_changed(v);
    return 0;
}

static int c_top_p(VizState *v, const Args *a, Err *err) {
    (void)err;
    SamplerSettings *s = &v->run.gen.sampler;
    double p = a->d;
    if (a->word >= 0) {
        int n = (int)(sizeof TOPP_STEPS / sizeof TOPP_STEPS[0]), i = 0;
        while (i < n - 1 && TOPP_STEPS[i] < s->top_p - 1e-4f) i++;
        i = a->word == 0 ? (i + 1 < n ? i + 1 : n - 1) : (i > 0 ? i - 1 : 0);
        p = TOPP_STEPS[i];
    }
    s->top_p = (float)p;
    s->greedy = 0;
    settings_changed(v);
    return 0;
}

static int c_greedy(VizState *v, const Args *a, Err *err) {
    (void)err;
    v->run.gen.sampler.greedy = on_off(a, v->run.gen.sampler.greedy == 1);
    settings_changed(v);
    return 0;
}

static int c_seed(VizState *v, const Args *a, Err *err) {
    char *end;
    errno = 0;
    unsigned long long s = strtoull(a->raw, &end, 10);
    if (!*a->raw || *end || a->raw[0] == '-' || errno)
        return err_set(err, "seed expects a whole number >= 0, got '%s'", a->raw);
    v->run.gen.sampler.seed = s;
    return v->run.loaded ? viz_rerun_prompt(v, err) : 0;
}

static int c_prompt(VizState *v, const Args *a, Err *err) {
    const char *text = a->text;
    if (!text[0]) return err_set(err, "prompt expects some text (or use 'unconditional')");
    size_t bad;
    if (!utf8_valid(text, strlen(text), &bad)) return err_set(err, "the prompt is not valid UTF-8 (byte %zu)", bad);
    /* checked before anything changes: a prompt that cannot run leaves the run as it was */
    if (v->run.loaded && gen_check_text(&v->run.gen, text, 1, err)) return -1;
    char *old = v->run.prompt;
    v->run.prompt = xstrdup(text);
    int rc = viz_rerun_prompt(v, err);
    if (rc) { /* keep showing what was there */
        free(v->run.prompt);
        v->run.prompt = old;
        Err ignore;
        if (v->run.loaded) viz_rerun_prompt(v, &ignore);
        return rc;
    }
    free(old);
    return 0;
}

static int c_unconditional(VizState *v, const Args *a, Err *err) {
    (void)a;
    free(v->run.prompt);
    v->run.prompt = xstrdup("");
    return viz_rerun_prompt(v, err);
}

static int c_model(VizState *v, const Args *a, Err *err) {
    char old[sizeof v->run.model_arg];
    snprintf(old, sizeof old, "%s", v->run.model_arg);
    Err probe;
    char *dir = gpt2_resolve_model(a->text[0] ? a->text : NULL, &probe);
    if (!dir) return err_set(err, "%s", probe.msg);
    free(dir);
    snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", a->text);
    int rc = viz_load_and_run(v, err);
    if (rc && !v->run.loaded) { /* the new model failed: go back to the old one */
        snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", old);
        Err ignore;
        viz_load_and_run(v, &ignore);
    }
    return rc;
}

/* Finds the token whose piece is exactly `text` (e.g. " king"). */
static int token_by_piece(const VizState *v, const char *text) {
    int id = tok_id_of_piece(v->run.gen.tok, text);
    return id < v->run.gen.model.cfg.n_vocab ? id : -1; /* a token the model has a row for */
}

static int token_arg(const VizState *v, const Args *a, const char *cmd, Err *err) {
    if (a->text) {
        int id = token_by_piece(v, a->text);
        if (id < 0) return err_set(err, "%s: no single token is \"%s\" (see 'gptstep tokens')", cmd, a->text);
        return id;
    }
    int V = v->run.gen.model.cfg.n_vocab;
    if (a->i >= V) return err_set(err, "%s expects a token id 0..%d or a \"quoted piece\", got '%s'", cmd, V - 1, a->raw);
    return (int)a->i;
}

static int c_pick(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int id = token_arg(v, a, "pick", err);
    return id < 0 ? -1 : viz_pick(v, id, err);
}

static int c_branch(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int n = v->run.n_branches, to;
    if (a->word == 0) to = (v->run.branch + 1) % n;
    else if (a->word == 1) to = (v->run.branch + n - 1) % n;
    else if (a->i >= n) return err_set(err, "branch expects 0..%d (there %s %d), got '%s'", n - 1, n == 1 ? "is" : "are", n, a->raw);
    else to = (int)a->i;
    return viz_branch_switch(v, to, err);
}

static int c_ablate(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    char spec[64];
    if (!strcasecmp(a->text, "head")) snprintf(spec, sizeof spec, "%d.%d", v->view.layer, v->view.head); /* the selected one */
    else snprintf(spec, sizeof spec, "%s", a->text);
    return viz_ablate(v, spec, err);
}

static int c_ablate_mode(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    AblateMode mode = a->word == 2 ? (v->run.gen.state.iv.mode == ABLATE_MEAN ? ABLATE_ZERO : ABLATE_MEAN) : (AblateMode)a->word;
    if (viz_ablate_mode(v, mode, err)) return -1;
    /* say what changed: with nothing off, only the mode the next ablation will use */
    const char *how = mode == ABLATE_MEAN ? "mean ablation: a part switched off takes its mean over this text's positions (clean run)"
                                          : "zero ablation: a part switched off is set to zero";
    if (!v->run.gen.state.iv.n) viz_message(v, 0, "%s \xE2\x80\x94 nothing is off yet (X, or right-click a part)", how);
    else {
        char iv[200];
        interventions_text(&v->run.gen.state.iv, iv, sizeof iv);
        viz_message(v, 0, "%s \xE2\x80\x94 rerun with %s", how, iv);
    }
    return 0;
}

static int c_compare(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    return viz_compare(v, a->text, err);
}

/* A metric argument (metric.h): " piece", an id, or " right"-" wrong"; none: {-1, -1}, the default. */
static int metric_arg(VizState *v, const char *cmd, const char *text, Metric *m, Err *err) {
    *m = (Metric){-1, -1};
    if (!text[0]) return 0;
    Err e;
    if (metric_parse(text, v->run.gen.tok, v->run.gen.model.cfg.n_vocab, m, &e)) return err_set(err, "%s %s", cmd, e.msg);
    return 0;
}

static int c_attribute(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    Metric m;
    if (metric_arg(v, "attribute", a->raw, &m, err)) return -1;
    return viz_attribute(v, m, err);
}

static int c_patch(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    char what[16] = "", rest[256] = "";
    if (sscanf(a->text, "%15s %255[^\n]", what, rest) < 1 || (strcmp(what, "resid") && strcmp(what, "mlp") && strcmp(what, "heads")))
        return err_set(err, "patch expects resid, mlp or heads, then optionally the target token (an id or a \"quoted piece\"), got '%s'", a->raw);
    Metric m;
    if (metric_arg(v, "patch", rest, &m, err)) return -1;
    return viz_patch(v, !strcmp(what, "resid") ? PATCH_RESID : !strcmp(what, "mlp") ? PATCH_MLP : PATCH_HEAD, m, err);
}

/* lines [head|all|next]: attention on the text, for one head or every head of the layer; next: the view
 * (one head), then the other of the two. */
static int c_lines(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    if (a->word == 0 || a->word == 1) v->view.lines_all = a->word;
    else if (v->view.only == VIEW_LINES) v->view.lines_all = !v->view.lines_all;
    v->view.only = VIEW_LINES;
    return 0;
}

/* heads [previous|first|induction|duplicate|next]: the head finder (scores measured the first time). */
static int c_heads(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int which = a->word >= 0 && a->word < HEAD_SCORES ? a->word : -1;
    if (a->word == HEAD_SCORES && v->view.only == VIEW_HEADS && v->run.head_scores) which = (v->view.head_score + 1) % HEAD_SCORES;
    return viz_heads(v, which, err);
}

static int c_show_run(VizState *v, const Args *a, Err *err) {
    (void)err;
    v->view.run_shown = a->word == 3 ? (RunShown)((v->view.run_shown + 1) % 3) : (RunShown)a->word;
    return 0;
}

static int c_bars(VizState *v, const Args *a, Err *err) {
    (void)err;
    v->view.bars = (int)a->i;
    return 0;
}

static int c_zoom(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    /* from what the heatmap shows now (the screen may have limited it below the zoom asked for) */
    int n = viz_n_shown(v), cur = v->view.zoom > 0 && v->view.zoom < n ? v->view.zoom : n;
    if (v->ui.heat_shown > 0 && v->ui.heat_shown < cur) cur = v->ui.heat_shown;
    if (a->word == 0) cur = cur * 2 / 3 > 4 ? cur * 2 / 3 : 4;               /* in */
    else if (a->word == 1) cur = cur * 3 / 2 + 1;                            /* out: past what fits, cells get smaller */
    else if (a->word == 2) { /* fit: every position, however small the cells */
        v->view.zoom = -1;
        return 0;
    } else cur = (int)a->i;
    v->view.zoom = cur >= n ? -1 : cur;
    return 0;
}

static int c_pan(VizState *v, const Args *a, Err *err) {
    if (need_model(v, err)) return -1;
    int first, count, n = viz_n_shown(v);
    viz_heatmap_window(v, 1, &first, &count);
    int step = count / 4 > 1 ? count / 4 : 1;
    if (a->word == 0) first -= step;
    else if (a->word == 1) first += step;
    else if (a->word == 2) first = -1;
    else first = (int)a->i;
    if (first >= 0 && first > n - count) first = n - count;
    v->view.pan = a->word == 2 ? -1 : first < 0 ? 0 : first;
    return 0;
}

static int c_presenter(VizState *v, const Args *a, Err *err) {
    (void)err;
    v->view.presenter = on_off(a, v->view.presenter);
    return 0;
}

static int c_colorblind(VizState *v, const Args *a, Err *err) {
    (void)err;
    v->view.colorblind = on_off(a, v->view.colorblind);
    return 0;
}

static int c_help(VizState *v, const Args *a, Err *err) {
    (void)err;
    v->view.help = on_off(a, v->view.help);
    return 0;
}

static int c_fullscreen(VizState *v, const Args *a, Err *err) {
    (void)err;
    v->view.fullscreen = on_off(a, v->view.fullscreen);
    return 0;
}

static int c_title(VizState *v, const Args *a, Err *err) {
    (void)err;
    snprintf(v->view.title, sizeof v->view.title, "%s", a->text);
    return 0;
}

static int c_caption(VizState *v, const Args *a, Err *err) {
    (void)err;
    snprintf(v->view.caption, sizeof v->view.caption, "%s", a->text);
    return 0;
}

static int c_highlight(VizState *v, const Args *a, Err *err) {
    char what[32] = "";
    int used = 0;
    sscanf(a->text, "%31s %n", what, &used);
    const char *p = a->text + used;
    VizView *w = &v->view;
    if (!strcasecmp(what, "clear") || !strcasecmp(what, "none")) {
        w->n_hl_tokens = w->n_hl_cells = w->n_hl_cands = 0;
        return 0;
    }
    if (need_model(v, err)) return -1;
    int n = viz_n_shown(v);
    if (!strcasecmp(what, "token") || !strcasecmp(what, "tokens")) {
        char *end;
        for (long x = strtol(p, &end, 10); end != p; p = end, x = strtol(p, &end, 10)) {
            if (x < 0 || x >= n) return err_set(err, "highlight token: position %ld is not shown (0..%d)", x, n - 1);
            if (w->n_hl_tokens < VIZ_MAX_HIGHLIGHT) w->hl_tokens[w->n_hl_tokens++] = (int)x;
        }
        return 0;
    }
    if (!strcasecmp(what, "cell")) {
        long q, k;
        if (sscanf(p, "%ld %ld", &q, &k) != 2 || q < 0 || k < 0 || q >= n || k >= n)
            return err_set(err, "highlight cell expects a query and a key position 0..%d", n - 1);
        if (w->n_hl_cells < VIZ_MAX_HIGHLIGHT) w->hl_cells[w->n_hl_cells][0] = (int)q, w->hl_cells[w->n_hl_cells++][1] = (int)k;
        return 0;
    }
    if (!strcasecmp(what, "candidate")) {
        char piece[256];
        Args t = {0};
        long id;
        t.raw = p;
        if (p[0] == '"') unquote(p, piece, sizeof piece), t.text = piece;
        else if (parse_long(p, &id) || id < 0) return err_set(err, "highlight candidate expects a token id or a \"quoted piece\"");
        else t.i = id;
        int tok = token_arg(v, &t, "highlight candidate", err);
        if (tok < 0) return -1;
        if (w->n_hl_cands < VIZ_MAX_HIGHLIGHT) w->hl_cands[w->n_hl_cands++] = tok;
        return 0;
    }
    return err_set(err, "highlight expects token P..., cell Q K, candidate ID|\"piece\" or clear, got '%s'", a->text);
}

static int c_export(VizState *v, const Args *a, Err *err) {
    char path[1024];
    if (a->word >= 0) { /* an automatic name in the current folder */
        static const char *EXT[] = {"png", "pdf", "svg"};
        snprintf(path, sizeof path, "gptstep-%03d.%s", ++v->ui.exports, EXT[a->word]);
    } else {
        snprintf(path, sizeof path, "%s", a->text);
    }
    v->ui.message[0] = 0; /* an export never shows the previous message */
    /* what is on the screen, at its size (1920x1080 where there is no screen: render, lessons) */
    int w = v->ui.screen_w > 0 ? v->ui.screen_w : 1920, h = v->ui.screen_h > 0 ? v->ui.screen_h : 1080;
    if (viz_export(v, path, w, h, err)) return -1;
    char *full = realpath(path, NULL); /* the folder too: where the file went */
    viz_message(v, 0, "exported %s (%dx%d)", full ? full : path, w, h);
    free(full);
    return 0;
}

static int c_escape(VizState *v, const Args *a, Err *err) {
    (void)a, (void)err;
    v->view.help = 0;
    v->view.key = -1;
    v->ui.message[0] = 0;
    return 0;
}

static int c_edit(VizState *v, const Args *a, Err *err) {
    (void)err;
    v->ui.edit_request = a->word == 0 ? 1 : 2;
    return 0;
}

int viz_ablation_named_before(const VizState *v, const char *const *specs, int i) {
    if (!v->run.loaded) return 0;
    Interventions before = {0};
    Ablation a;
    Err err;
    if (ablation_parse(specs[i], &v->run.gen.model.cfg, &a, &err)) return 0; /* the command says what is wrong */
    for (int j = 0; j < i && before.n < GPT2_MAX_ABLATIONS; j++)
        if (ablation_parse(specs[j], &v->run.gen.model.cfg, &before.a[before.n], &err) == 0) before.n++;
    return interventions_find(&before, &a) >= 0;
}

static int c_link(VizState *v, const Args *a, Err *err) {
    (void)a, (void)err;
    v->ui.link_request = 1;
    snprintf(v->ui.message, sizeof v->ui.message, "link copied: what is shown, as a link the browser page opens (docs/web.md)");
    v->ui.message_is_error = 0;
    return 0;
}

/* record FILE | stop: the lecture as given, written as a lesson (lesson.h) that replays it. */
static int c_record(VizState *v, const Args *a, Err *err) {
    if (!strcmp(a->text, "stop") || !strcmp(a->text, "off")) {
        if (!v->ui.record) return err_set(err, "record stop: nothing is being recorded");
        fclose(v->ui.record);
        v->ui.record = NULL;
        viz_message(v, 0, "recorded %d step%s into %s: gptstep lesson %s plays it, --pdf prints it", v->ui.record_steps,
                    v->ui.record_steps == 1 ? "" : "s", v->ui.record_path, v->ui.record_path);
        return 0;
    }
    if (v->ui.record) return err_set(err, "record: already recording into %s (record stop first)", v->ui.record_path);
    if (need_model(v, err)) return -1;
    const char *dot = strrchr(a->text, '.');
    if (!dot || strcmp(dot, ".lesson")) return err_set(err, "record expects a file name ending in .lesson, got '%.100s'", a->text);
    FILE *f = fopen(a->text, "w");
    if (!f) return err_set(err, "record: cannot write %.200s: %s", a->text, strerror(errno));
    /* the start: what is shown now, as the commands a link holds (the prompt, the settings, the steps,
     * the ablations, the view) */
    char frag[4096];
    VizLink lk;
    Err le;
    viz_link_make(v, frag, sizeof frag);
    viz_link_parse(frag, &lk, &le);
    fprintf(f, "# Recorded with gptstep's 'record' command: the lecture as it was given. Play it with\n"
               "# 'gptstep lesson FILE', print it with --pdf; add '>' captions under its steps.\n");
    /* the model by its name when that finds the same folder (models/NAME), so that the file travels */
    const char *model = v->run.model_arg[0] ? v->run.model_arg : v->run.gen.model.dir;
    Err me;
    char *by_name = gpt2_resolve_model(v->run.gen.model.name, &me), *a1 = by_name ? realpath(by_name, NULL) : NULL,
         *a2 = realpath(v->run.gen.model.dir, NULL);
    if (a1 && a2 && !strcmp(a1, a2)) model = v->run.gen.model.name;
    fprintf(f, "title Recorded: %s\nmodel %s\n", v->run.gen.model.name, model);
    free(by_name), free(a1), free(a2);
    for (int i = 0; i < lk.n_pre; i++) fprintf(f, "%s\n", lk.pre[i]);
    fprintf(f, "prompt ");
    for (const char *p = lk.prompt ? lk.prompt : ""; *p; p++) { /* one line: a new line and a backslash as the command reads them */
        if (*p == '\n') fputs("\\n", f);
        else if (*p == '\\') fputs("\\\\", f);
        else fputc(*p, f);
    }
    fprintf(f, "\n");
    for (int i = 0; i < lk.n; i++) fprintf(f, "%s\n", lk.cmds[i]);
    fprintf(f, "\n## 1. Where we started\n> The state when recording began.\n");
    fflush(f);
    viz_link_free(&lk);
    v->ui.record = f;
    v->ui.record_steps = 1;
    snprintf(v->ui.record_path, sizeof v->ui.record_path, "%s", a->text);
    viz_message(v, 0, "recording into %s: every command from now on (record stop ends it)", a->text);
    return 0;
}

static int c_console(VizState *v, const Args *a, Err *err) {
    (void)a, (void)err;
    v->ui.console_request = 1;
    return 0;
}

static int c_quit(VizState *v, const Args *a, Err *err) {
    (void)a, (void)err;
    v->ui.quit = 1;
    return 0;
}

/* ---- the table ---- */

#define BIG 1e9
static const Command COMMANDS[] = {
    {"next", "", A_NONE, 0, 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_GENERATES | VIZ_CMD_STEP, "", "show the next token (generates one at the end)", c_next},
    {"prev", "previous", A_NONE, 0, 0, 0, 0, VIZ_CMD_STEP, "", "show the previous token", c_prev},
    {"first", "", A_NONE, 0, 0, 0, 0, VIZ_CMD_STEP, "", "show the prompt (step 0)", c_first},
    {"last", "", A_NONE, 0, 0, 0, 0, VIZ_CMD_STEP, "", "show the newest step", c_last},
    {"generate", "", A_INT, 0, 1, 100000, 1, VIZ_CMD_SLOW | VIZ_CMD_GENERATES | VIZ_CMD_STEP, "N", "generate N more tokens (default 1), showing the last", c_generate},
    {"follow", "", A_WORDS, 0, 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_GENERATES | VIZ_CMD_STEP, "ID,ID,...",
     "step forward choosing these tokens in order (what a link's steps chose)", c_follow},
    {"step", "", A_INT, 0, 0, 100000, 0, VIZ_CMD_SLOW | VIZ_CMD_GENERATES | VIZ_CMD_STEP, "N", "show step N (0 = the prompt), generating up to it", c_step},
    {"query", "token position", A_INT, "last", 0, BIG, 0, 0, "P|last", "select position P as the query (heatmap row, distribution, vectors)", c_query},
    {"key", "", A_INT, "none", 0, BIG, 0, 0, "P|none", "select key P of the query's row: the panel shows how its weight is computed", c_key},
    {"cell", "", A_INTS2, 0, 0, BIG, 0, 0, "Q K", "select query Q and key K (the cell panel)", c_cell},
    {"layer", "", A_INT, "+|-|next|prev", 0, BIG, 0, 0, "L|+|-", "choose the layer (counted from 0, as in h.0)", c_layer},
    {"head", "", A_INT, "+|-|next|prev", 0, BIG, 0, 0, "H|+|-", "choose the head (counted from 0)", c_head},
    {"attention", "show", A_ENUM, "scores|masked|weights|next", 0, 0, 1, 0, "scores|masked|weights",
     "what the heatmap shows: q\xC2\xB7k/\xE2\x88\x9A" "d, after the causal mask, after softmax", c_attention},
    {"view", "", A_ENUM, "all|tokens|attention|heatmap|grid|distribution|block|pipeline|experiment|heads|values|lines|vectors|dist|next|prev", 0, 0, 0, VIZ_CMD_STEP,
     "all|tokens|attention|grid|distribution|block|pipeline|experiment|heads|values|lines|next|prev", "show one view filling the screen, or all of them", c_view},
    {"grid", "", A_ONOFF, "on|off|toggle", 0, 0, 1, VIZ_CMD_STEP, "on|off", "all heads (layers \xC3\x97 heads) instead of one heatmap", c_grid},
    {"open", "", A_WORDS, 0, 0, 0, 0, 0, "L.H", "open head H of layer L: its heatmap (what a click on the grid does)", c_open},
    {"stage", "", A_WORDS, 0, 0, 0, 0, 0, "NAME|next|prev|none",
     "select a stage of the forward pass: embed, L0.ln_1, L0.attn, L0.add_1, L0.ln_2, L0.ffn, L0.add_2, ..., ln_f, logits, probs, sample", c_stage},
    {"temperature", "", A_NUM, "up|down", SAMPLER_TEMPERATURE_MIN, SAMPLER_TEMPERATURE_MAX, 0, VIZ_CMD_SLOW | VIZ_CMD_REPORTS | VIZ_CMD_STEP, "T|up|down",
     "divide the logits by T before softmax", c_temperature},
    {"top-k", "topk", A_INT, "up|down", 0, SAMPLER_TOP_K_MAX, 0, VIZ_CMD_SLOW | VIZ_CMD_REPORTS | VIZ_CMD_STEP, "K|up|down", "sample among the K most likely tokens (0 = all)", c_top_k},
    {"top-p", "topp", A_NUM, "up|down", SAMPLER_TOP_P_MIN, 1, 0, VIZ_CMD_SLOW | VIZ_CMD_REPORTS | VIZ_CMD_STEP, "P|up|down", "... and the smallest set holding mass P (1 = all)", c_top_p},
    {"greedy", "", A_ONOFF, "on|off|toggle", 0, 0, 1, VIZ_CMD_SLOW | VIZ_CMD_REPORTS | VIZ_CMD_STEP, "on|off", "always take the most likely token", c_greedy},
    {"seed", "", A_WORDS, 0, 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_STEP, "S", "the random seed (restarts from the prompt)", c_seed},
    {"prompt", "", A_TEXT, 0, 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_STEP, "TEXT", "run a new prompt (\\n is a new line)", c_prompt},
    {"unconditional", "", A_NONE, 0, 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_STEP, "", "start from <|endoftext|> alone", c_unconditional},
    {"model", "", A_TEXT, 0, 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_STEP, "NAME|DIR", "load another model (a name under models/ or a directory)", c_model},
    {"pick", "", A_TOKEN, 0, 0, BIG, 0, VIZ_CMD_SLOW | VIZ_CMD_STEP, "ID|\"piece\"", "continue from this token instead (a new branch; the old one is kept)", c_pick},
    {"branch", "", A_INT, "next|prev", 0, BIG, 0, VIZ_CMD_SLOW | VIZ_CMD_STEP, "N|next|prev", "switch to branch N of this prompt (0 = the first)", c_branch},
    {"ablate", "knockout", A_WORDS, 0, 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_STEP, "L.H|L.mlp.N|L.attn|L.mlp|pos|head|clear",
     "switch a part off at every position, or back on, and rerun the same text; head = the selected head", c_ablate},
    {"ablate-mode", "", A_ENUM, "zero|mean|toggle", 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_REPORTS | VIZ_CMD_STEP, "zero|mean|toggle",
     "what a part switched off becomes: zero, or its mean over the positions of the text (clean run)", c_ablate_mode},
    {"compare", "", A_TEXT, 0, 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_STEP, "TEXT|branch N|off",
     "run text B (or branch N of this prompt) beside this one (A), position by position: tokens paired, B's prediction beside A's, D shows A, B or A \xE2\x88\x92 B", c_compare},
    {"attribute", "", A_WORDS, 0, 0, 0, 1, VIZ_CMD_SLOW | VIZ_CMD_STEP, "ID|\"piece\"|\"right\"-\"wrong\"",
     "direct logit attribution at the query position: what each head and MLP adds to this token's logit (default: the one that came next), or to the difference of two tokens' logits", c_attribute},
    {"patch", "", A_WORDS, 0, 0, 0, 0, VIZ_CMD_SLOW | VIZ_CMD_STEP, "resid|mlp|heads [ID|\"piece\"|\"right\"-\"wrong\"]",
     "activation patching: this text clean, text B (compare) corrupted; how much of the target's logit (default: the top token), or of a difference of two logits, each patch restores", c_patch},
    {"lines", "", A_ENUM, "head|all|next", 0, 0, 1, VIZ_CMD_STEP, "head|all|next",
     "attention on the text: each token tinted by the query's weight on it, arcs from the query to what it attends to, for the selected head or every head of the layer (a colour a head)", c_lines},
    {"heads", "", A_ENUM, "previous|first|induction|duplicate|next", 0, 0, 1, VIZ_CMD_SLOW | VIZ_CMD_STEP, "previous|first|induction|duplicate|next",
     "the head finder: every head coloured by how much it attends to the previous token, the first, the token after an earlier copy (induction) or the earlier copy itself (duplicate); click one to open it", c_heads},
    {"show-run", "", A_ENUM, "ablated|clean|difference|next", 0, 0, 0, 0, "ablated|clean|difference|next",
     "with parts switched off: the heatmaps, vectors and logit lens show the ablated run, the clean run, or ablated \xE2\x88\x92 clean", c_show_run},
    {"bars", "", A_INT, 0, 1, 40, 0, 0, "N", "how many candidates the distribution lists (1-40)", c_bars},
    {"zoom", "", A_INT, "in|out|fit", 4, 1024, 0, 0, "in|out|fit|N", "heatmap: show N positions across, around the query", c_zoom},
    {"pan", "", A_INT, "left|right|follow", 0, BIG, 0, 0, "left|right|follow|P", "heatmap: move the zoomed window (follow = keep the query in it)", c_pan},
    {"presenter", "large", A_ONOFF, "on|off|toggle", 0, 0, 1, VIZ_CMD_NORECORD, "on|off", "presenter mode: one view fills the screen, readable from the back of a room", c_presenter},
    {"colorblind", "colourblind", A_ONOFF, "on|off|toggle", 0, 0, 1, VIZ_CMD_NORECORD, "on|off", "colour-blind-safe colours (viridis, blue/orange)", c_colorblind},
    {"help", "", A_ONOFF, "on|off|toggle", 0, 0, 1, VIZ_CMD_NORECORD, "on|off", "the keys, over the window", c_help},
    {"fullscreen", "", A_ONOFF, "on|off|toggle", 0, 0, 1, VIZ_CMD_NORECORD, "on|off", "full screen", c_fullscreen},
    {"title", "", A_TEXT, 0, 0, 0, 1, 0, "TEXT", "a title in the header", c_title},
    {"caption", "", A_TEXT, 0, 0, 0, 1, 0, "TEXT", "a caption under the views (**bold**)", c_caption},
    {"highlight", "", A_WORDS, 0, 0, 0, 0, 0, "token P...|cell Q K|candidate ID|clear",
     "outline positions, a heatmap cell or a candidate", c_highlight},
    {"export", "", A_TEXT, "png|pdf|svg", 0, 0, 0, VIZ_CMD_REPORTS | VIZ_CMD_NORECORD, "FILE|png|pdf|svg",
     "write the screen to FILE (.png, .pdf, .svg), or to gptstep-NNN.EXT", c_export},
    {"escape", "", A_NONE, 0, 0, 0, 0, VIZ_CMD_NORECORD, "", "close the help, the cell panel and the message", c_escape},
    {"edit", "", A_ENUM, "prompt|command", 0, 0, 0, VIZ_CMD_NORECORD, "prompt|command", "window: type a new prompt, or a command", c_edit},
    {"link", "", A_NONE, 0, 0, 0, 0, VIZ_CMD_NORECORD | VIZ_CMD_REPORTS, "", "copy a link to what is shown: the prompt, steps, seed, layer, head, view, ablations (docs/web.md)", c_link},
    {"record", "", A_TEXT, 0, 0, 0, 0, VIZ_CMD_REPORTS | VIZ_CMD_NORECORD, "FILE.lesson|stop",
     "record the lecture as given into a lesson file: every command from now on (keys and clicks included), which 'gptstep lesson' replays and --pdf prints", c_record},
    {"console", "", A_NONE, 0, 0, 0, 0, VIZ_CMD_NORECORD, "",
     "window: open or close the lecturer's console of a lesson (its notes, the expected answer, what comes next, a clock) in a second window, on the second display when there is one", c_console},
    {"quit", "", A_NONE, 0, 0, 0, 0, VIZ_CMD_NORECORD, "", "window: close it", c_quit},
};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static const Command *find_command(const char *name) {
    for (int i = 0; i < N_COMMANDS; i++) {
        if (!strcasecmp(COMMANDS[i].name, name)) return &COMMANDS[i];
        char al[64];
        snprintf(al, sizeof al, "%s", COMMANDS[i].aliases);
        for (char *save, *t = strtok_r(al, " ", &save); t; t = strtok_r(NULL, " ", &save))
            if (!strcasecmp(t, name)) return &COMMANDS[i];
    }
    return NULL;
}

/* Splits "name rest" (both trimmed); name is cut to cap. Returns the rest's offset in line. */
static size_t split(const char *line, char *name, size_t cap, const char **rest, size_t *rest_len) {
    size_t i = 0, k = 0;
    while (isspace((unsigned char)line[i])) i++;
    while (line[i] && !isspace((unsigned char)line[i])) {
        if (k + 1 < cap) name[k++] = line[i];
        i++;
    }
    name[k] = 0;
    while (isspace((unsigned char)line[i])) i++;
    size_t n = strlen(line + i);
    while (n > 0 && isspace((unsigned char)line[i + n - 1])) n--;
    *rest = line + i;
    *rest_len = n;
    return i;
}

/* Parses the argument by its kind. text_buf receives unquoted text (cap bytes). */
static int parse_args(const Command *c, const char *typed, const char *raw, Args *a, char *text_buf, size_t cap, Err *err) {
    memset(a, 0, sizeof *a);
    a->raw = raw;
    a->word = -1;
    a->given = raw[0] != 0;
    char range[64];
    range_text(c, range, sizeof range);
    if (!a->given) {
        if (c->kind == A_NONE || c->optional) {
            a->text = "";
            return 0;
        }
        return err_set(err, "%s expects %s", typed, c->usage);
    }
    switch (c->kind) {
    case A_NONE: return err_set(err, "%s takes no argument, got '%s'", typed, raw);
    case A_INT:
    case A_NUM:
        if ((a->word = word_index(c->words, raw)) >= 0) return 0;
        if (c->kind == A_INT ? parse_long(raw, &a->i) == 0 && a->i >= c->lo && a->i <= c->hi
                             : parse_num(raw, &a->d) == 0 && a->d >= c->lo && a->d <= c->hi)
            return 0;
        if (c->hi >= BIG) return err_set(err, "%s expects %s (whole numbers from 0), got '%s'", typed, c->usage, raw);
        return err_set(err, "%s expects %s (%s %s), got '%s'", typed, c->usage, c->kind == A_INT ? "whole numbers" : "numbers",
                       range, raw);
    case A_ONOFF:
    case A_ENUM:
        if ((a->word = word_index(c->words, raw)) >= 0) {
            a->text = raw;
            return 0;
        }
        return err_set(err, "%s expects %s, got '%s'", typed, c->usage, raw);
    case A_INTS2: {
        char x[32], y[32], extra;
        if (sscanf(raw, "%31s %31s %c", x, y, &extra) == 2 && parse_long(x, &a->i) == 0 && parse_long(y, &a->i2) == 0 &&
            a->i >= 0 && a->i2 >= 0)
            return 0;
        return err_set(err, "%s expects %s (positions from 0), got '%s'", typed, c->usage, raw);
    }
    case A_TOKEN:
        if (raw[0] == '"') {
            unquote(raw, text_buf, cap);
            a->text = text_buf;
            return 0;
        }
        if (parse_long(raw, &a->i) == 0 && a->i >= 0) return 0;
        return err_set(err, "%s expects a token id or a \"quoted piece\", got '%s'", typed, raw);
    case A_TEXT:
        a->word = word_index(c->words, raw);
        unquote(raw, text_buf, cap);
        a->text = text_buf;
        return 0;
    case A_WORDS: a->text = raw; return 0;
    }
    return 0;
}

/* A command that ran, written into the recording: a new step for the commands that move the lecture on
 * (VIZ_CMD_STEP), the same step for the rest (a layer, a head, a cell). */
static void record_line(VizState *v, const Command *c, const char *line) {
    if (!v->ui.record || (c->flags & VIZ_CMD_NORECORD)) return;
    while (*line == ' ') line++;
    int n = (int)strlen(line);
    while (n > 0 && isspace((unsigned char)line[n - 1])) n--;
    if (c->flags & VIZ_CMD_STEP) {
        v->ui.record_steps++;
        fprintf(v->ui.record, "\n## %d. ", v->ui.record_steps);
        for (int i = 0; i < n && i < 60; i++) fputc(line[i] == '\n' ? ' ' : line[i], v->ui.record);
        fprintf(v->ui.record, "\n");
    }
    fprintf(v->ui.record, "%.*s\n", n, line);
    fflush(v->ui.record);
}

static int run_line(VizState *v, const char *line, Err *err, int *arg_col) {
    char name[64];
    const char *rest;
    size_t rest_len;
    size_t off = split(line, name, sizeof name, &rest, &rest_len);
    if (arg_col) *arg_col = (int)off + 1;
    if (!name[0]) return 0;
    const Command *c = find_command(name);
    if (!c) return err_set(err, "unknown command '%s' (press ? for the keys; docs/viewer.md lists every command)", name);
    char *raw = xmalloc(rest_len + 1), *text = xmalloc(rest_len + 1);
    memcpy(raw, rest, rest_len);
    raw[rest_len] = 0;
    Args a;
    int rc = parse_args(c, name, raw, &a, text, rest_len + 1, err);
    if (rc == 0 && v) rc = c->run(v, &a, err);
    if (rc == 0 && v) record_line(v, c, line);
    free(raw);
    free(text);
    return rc;
}

int viz_command(VizState *v, const char *line, Err *err) { return run_line(v, line, err, NULL); }

int viz_command_check(const char *line, Err *err, int *arg_col) { return run_line(NULL, line, err, arg_col); }

int viz_command_flags(const char *line) {
    char name[64];
    const char *rest;
    size_t n;
    split(line, name, sizeof name, &rest, &n);
    const Command *c = find_command(name);
    return c ? c->flags : 0;
}

void viz_commands_markdown(FILE *out) {
    fprintf(out, "| command | argument | what it does |\n|---|---|---|\n");
    for (int i = 0; i < N_COMMANDS; i++) {
        const Command *c = &COMMANDS[i];
        fprintf(out, "| `%s`", c->name);
        if (c->aliases[0]) {
            char al[64];
            snprintf(al, sizeof al, "%s", c->aliases);
            for (char *save, *t = strtok_r(al, " ", &save); t; t = strtok_r(NULL, " ", &save)) fprintf(out, ", `%s`", t);
        }
        fprintf(out, " | ");
        for (const char *p = c->usage; *p; p++) fprintf(out, *p == '|' ? "\\|" : "%c", *p);
        fprintf(out, "%s | ", c->optional && c->usage[0] ? " (optional)" : "");
        for (const char *p = c->help; *p; p++) fprintf(out, *p == '|' ? "\\|" : "%c", *p);
        fprintf(out, " |\n");
    }
}

/* ---- keys (the key table is keys.c) ---- */

int viz_key(VizState *v, const char *key, int shift, int ctrl, Err *err) {
    char cmd[128];
    viz_key_command(v, key, shift, ctrl, cmd, sizeof cmd);
    return cmd[0] ? viz_command(v, cmd, err) : 0;
}

/* ---- the mouse ---- */

const char *viz_click_command(VizState *v, double x, double y, char *buf, size_t cap) {
    buf[0] = 0;
    for (int i = v->ui.n_hits - 1; i >= 0; i--) {
        const Hit *h = &v->ui.hits[i];
        if (x < h->r.x || y < h->r.y || x >= h->r.x + h->r.w || y >= h->r.y + h->r.h) continue;
        switch (h->kind) {
        case HIT_TOKEN: snprintf(buf, cap, "query %d", h->a); break;
        case HIT_CELL: /* the heatmap: h->b x h->b cells from position h->a */
            snprintf(buf, cap, "cell %d %d", h->a + (int)((y - h->r.y) / h->r.h * h->b), h->a + (int)((x - h->r.x) / h->r.w * h->b));
            break;
        case HIT_GRID: snprintf(buf, cap, "open %d.%d", h->a, h->b); break;
        case HIT_CANDIDATE:
            if (!h->b) continue; /* a prompt position's candidates are not clickable */
            snprintf(buf, cap, "pick %d", h->a);
            break;
        case HIT_STAGE: {
            char name[64];
            viz_stage_name(v, h->a, name, sizeof name);
            snprintf(buf, cap, "stage %s", name);
            break;
        }
        case HIT_SCORE: snprintf(buf, cap, "heads %s", HEAD_SCORE_NAMES[h->a]); break;
        default: continue;
        }
        return buf;
    }
    return buf;
}

const char *viz_knock_command(VizState *v, double x, double y, char *buf, size_t cap) {
    buf[0] = 0;
    for (int i = v->ui.n_hits - 1; i >= 0; i--) {
        const Hit *h = &v->ui.hits[i];
        if (x < h->r.x || y < h->r.y || x >= h->r.x + h->r.w || y >= h->r.y + h->r.h) continue;
        switch (h->kind) {
        case HIT_GRID: snprintf(buf, cap, "ablate %d.%d", h->a, h->b); break;
        case HIT_VECTOR: view_block_knock(v, h, x, buf, cap); break;
        case HIT_STAGE: { /* the embedding (its positions), or an expanded layer's attention or MLP */
            int l = viz_stage_layer(v, h->a);
            if (h->a == 0) snprintf(buf, cap, "ablate pos");
            else if (l >= 0 && h->b && viz_stage_sub(v, h->a) == SUB_ATTN) snprintf(buf, cap, "ablate %d.attn", l);
            else if (l >= 0 && h->b && viz_stage_sub(v, h->a) == SUB_FFN) snprintf(buf, cap, "ablate %d.mlp", l);
            break;
        }
        default: continue;
        }
        return buf;
    }
    return buf;
}

int viz_click(VizState *v, double x, double y, Err *err) {
    char cmd[128];
    viz_click_command(v, x, y, cmd, sizeof cmd);
    return cmd[0] ? viz_command(v, cmd, err) : 0;
}

int viz_wheel(VizState *v, double x, double y, int dy, int ctrl, Err *err) {
    const Hit *h = NULL;
    for (int i = v->ui.n_hits - 1; i >= 0 && !h; i--) {
        const Hit *c = &v->ui.hits[i];
        if (c->kind == HIT_PANEL && c->a == VIEW_ATTENTION && x >= c->r.x && y >= c->r.y && x < c->r.x + c->r.w &&
            y < c->r.y + c->r.h)
            h = c;
    }
    if (!h) return 0;
    if (ctrl) return viz_command(v, dy > 0 ? "zoom in" : "zoom out", err);
    return viz_command(v, dy > 0 ? "pan left" : "pan right", err);
}
