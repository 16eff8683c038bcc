/* state.c - the viewer's state and the command language that changes it. Keys, mouse clicks and
 * lesson scripts all end up here, as the same commands (documented in docs/viewer.md). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "viz.h"

static const char *VIEW_NAMES[VIEW_COUNT] = {"all", "tokens", "attention", "grid", "distribution", "block", "pipeline"};

const char *viz_view_name(ViewName v) { return v < VIEW_COUNT ? VIEW_NAMES[v] : "?"; }

int viz_view_by_name(const char *name) {
    for (int i = 0; i < VIEW_COUNT; i++)
        if (strcasecmp(name, VIEW_NAMES[i]) == 0) return i;
    if (strcasecmp(name, "heatmap") == 0) return VIEW_ATTENTION;
    if (strcasecmp(name, "dist") == 0 || strcasecmp(name, "probs") == 0) return VIEW_DIST;
    return -1;
}

void viz_init(VizState *v) {
    memset(v, 0, sizeof *v);
    v->query = -1;
    v->key = -1;
    v->att = ATT_WEIGHTS;
    v->top_k_bars = 12;
    v->hover = -1;
    v->stage = -1;
    v->dist.epoch = v->lens.epoch = -1;
    v->load_percent = -1;
    v->gen.sampler = sampler_default();
    snprintf(v->prompt, sizeof v->prompt, "Once upon a time there was a");
}

void viz_free(VizState *v) {
    if (v->loaded) gen_close(&v->gen);
    v->loaded = 0;
    free(v->dist.order);
    free(v->dist.samp);
    v->dist.order = NULL, v->dist.samp = NULL;
}

/* ---- positions and steps ---- */

int viz_n_shown(const VizState *v) {
    const Trace *tr = &v->gen.trace;
    if (!v->loaded || tr->n_steps == 0) return 0;
    const TraceStep *s = &tr->steps[v->step];
    return s->pos0 + s->n_pos;
}

int viz_query_pos(const VizState *v) {
    int n = viz_n_shown(v);
    return v->query >= 0 && v->query < n ? v->query : n - 1;
}

/* ---- the pipeline of stages ---- */

static const char *LAYER_STAGES[6] = {"ln_1", "attn", "add_1", "ln_2", "ffn", "add_2"};
static const char *END_STAGES[4] = {"ln_f", "logits", "probs", "sample"};

int viz_n_stages(const VizState *v) { return 1 + 6 * (v->loaded ? v->gen.model.cfg.n_layer : 0) + 4; }

int viz_stage_layer(const VizState *v, int stage) {
    int L = v->loaded ? v->gen.model.cfg.n_layer : 0;
    return stage >= 1 && stage < 1 + 6 * L ? (stage - 1) / 6 : -1;
}

void viz_stage_name(const VizState *v, int stage, char *buf, size_t cap) {
    int L = v->loaded ? v->gen.model.cfg.n_layer : 0;
    if (stage <= 0) snprintf(buf, cap, "embed");
    else if (stage < 1 + 6 * L) snprintf(buf, cap, "L%d.%s", (stage - 1) / 6, LAYER_STAGES[(stage - 1) % 6]);
    else snprintf(buf, cap, "%s", END_STAGES[(stage - 1 - 6 * L) < 4 ? stage - 1 - 6 * L : 3]);
}

static int stage_by_name(const VizState *v, const char *name) {
    char buf[64];
    for (int s = 0; s < viz_n_stages(v); s++) {
        viz_stage_name(v, s, buf, sizeof buf);
        if (strcasecmp(buf, name) == 0) return s;
    }
    return -1;
}

/* ---- loading and generation ---- */

static void load_progress(void *ctx, double fraction) { ((VizState *)ctx)->load_percent = (int)(fraction * 100); }

int viz_load_and_run(VizState *v, Err *err) {
    v->epoch++;
    free(v->dist.order);
    free(v->dist.samp);
    v->dist.order = NULL, v->dist.samp = NULL; /* the vocabulary may change size */
    SamplerSettings keep = v->gen.sampler; /* settings survive a change of model */
    if (v->loaded) gen_close(&v->gen);
    v->loaded = 0;
    v->load_percent = 0;
    int rc_open = gen_open_progress(&v->gen, v->model_arg[0] ? v->model_arg : NULL, TRACE_FULL, load_progress, v, err);
    v->load_percent = -1;
    if (rc_open) {
        v->gen.sampler = keep;
        return -1;
    }
    v->loaded = 1;
    v->gen.sampler = keep;
    rng_seed(&v->gen.rng, v->gen.sampler.seed);
    v->layer = v->layer < v->gen.model.cfg.n_layer ? v->layer : 0;
    v->head = v->head < v->gen.model.cfg.n_head ? v->head : 0;
    int rc = v->prompt[0] ? gen_start_text(&v->gen, v->prompt, 1, err) : gen_start_unconditional(&v->gen, err);
    if (rc == 0) gen_choose(&v->gen, -1);
    v->step = 0;
    v->query = -1;
    v->key = -1;
    return rc;
}

/* Restarts from the prompt with the current model and settings. */
static int rerun_prompt(VizState *v, Err *err) {
    if (!v->loaded) return viz_load_and_run(v, err);
    v->epoch++;
    rng_seed(&v->gen.rng, v->gen.sampler.seed);
    int rc = v->prompt[0] ? gen_start_text(&v->gen, v->prompt, 1, err) : gen_start_unconditional(&v->gen, err);
    if (rc == 0) gen_choose(&v->gen, -1);
    v->step = 0;
    v->query = -1;
    v->key = -1;
    return rc;
}

static int last_step(const VizState *v) { return v->gen.trace.n_steps - 1; }

/* Shows the next step, generating it when the display is already at the end. */
static int step_next(VizState *v, Err *err) {
    if (!v->loaded || v->gen.trace.n_steps == 0) return err_set(err, "no model is loaded");
    if (v->step < last_step(v)) {
        v->step++;
    } else {
        v->epoch++;
        if (gen_advance(&v->gen, err)) return -1;
        gen_choose(&v->gen, -1);
        v->step = last_step(v);
    }
    v->query = -1;
    v->key = -1;
    return 0;
}

/* The sampler settings changed: when the shown step is the newest, its pending choice is redrawn. */
static void settings_changed(VizState *v) {
    if (v->loaded && v->step == last_step(v) && v->gen.has_logits) gen_choose(&v->gen, -1);
}

/* Continues from `id` instead of the token chosen at the shown step (a branch). */
static int pick(VizState *v, int id, Err *err) {
    if (!v->loaded) return err_set(err, "no model is loaded");
    if (id < 0 || id >= v->gen.model.cfg.n_vocab)
        return err_set(err, "token id %d is out of range 0..%d", id, v->gen.model.cfg.n_vocab - 1);
    v->epoch++;
    gen_truncate(&v->gen, viz_n_shown(v));
    if (!v->gen.has_logits) return err_set(err, "this step kept no logits to branch from");
    gen_choose(&v->gen, id);
    return step_next(v, err);
}

/* Finds the token whose piece is exactly `text` (e.g. " king"). */
static int token_by_piece(const VizState *v, const char *text) {
    int n = (int)strlen(text);
    for (int id = 0; id < v->gen.model.cfg.n_vocab; id++) {
        int len;
        const char *b = tok_bytes(v->gen.tok, id, &len);
        if (len == n && memcmp(b, text, (size_t)n) == 0) return id;
    }
    return -1;
}

/* ---- parsing helpers ---- */

static int parse_int_arg(const char *s, long lo, long hi, long *out) {
    char *end;
    long x = strtol(s, &end, 10);
    while (*end == ' ') end++;
    if (end == s || *end || x < lo || x > hi) return -1;
    *out = x;
    return 0;
}

static int parse_double_arg(const char *s, double lo, double hi, double *out) {
    char *end;
    double x = strtod(s, &end);
    while (*end == ' ') end++;
    if (end == s || *end || !(x >= lo && x <= hi)) return -1;
    *out = x;
    return 0;
}

static int on_off(const char *arg, int current) {
    if (!*arg || strcasecmp(arg, "toggle") == 0) return !current;
    return strcasecmp(arg, "on") == 0 || strcmp(arg, "1") == 0 || strcasecmp(arg, "yes") == 0;
}

/* Strips surrounding double quotes and turns \n, \t, \\ and \" escapes into characters. */
static void unquote(const char *in, char *out, size_t cap) {
    size_t n = strlen(in), k = 0;
    if (n >= 2 && in[0] == '"' && in[n - 1] == '"') {
        in++;
        n -= 2;
    }
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

static int need_model(const VizState *v, Err *err) {
    return v->loaded && v->gen.trace.n_steps > 0 ? 0 : err_set(err, "no model is loaded");
}

/* ---- the commands ---- */

int viz_command(VizState *v, const char *line, Err *err) {
    char cmd[64] = "", arg[4096] = "";
    while (isspace((unsigned char)*line)) line++;
    size_t i = 0;
    while (line[i] && !isspace((unsigned char)line[i]) && i < sizeof cmd - 1) {
        cmd[i] = (char)tolower((unsigned char)line[i]);
        i++;
    }
    cmd[i] = 0;
    const char *rest = line + i;
    while (isspace((unsigned char)*rest)) rest++;
    snprintf(arg, sizeof arg, "%s", rest);
    for (size_t n = strlen(arg); n > 0 && isspace((unsigned char)arg[n - 1]);) arg[--n] = 0;
    long l;
    double d;
    const Gpt2Config *c = &v->gen.model.cfg;

    if (!*cmd) return 0;
    if (!strcmp(cmd, "next")) return step_next(v, err);
    if (!strcmp(cmd, "prev") || !strcmp(cmd, "previous")) {
        if (need_model(v, err)) return -1;
        if (v->step > 0) v->step--;
        v->query = -1, v->key = -1;
        return 0;
    }
    if (!strcmp(cmd, "first")) {
        if (need_model(v, err)) return -1;
        v->step = 0, v->query = -1, v->key = -1;
        return 0;
    }
    if (!strcmp(cmd, "last")) {
        if (need_model(v, err)) return -1;
        v->step = last_step(v), v->query = -1, v->key = -1;
        return 0;
    }
    if (!strcmp(cmd, "generate") || !strcmp(cmd, "step")) {
        if (need_model(v, err)) return -1;
        if (parse_int_arg(arg[0] ? arg : "1", 0, 100000, &l))
            return err_set(err, "%s expects a number of tokens, got '%s'", cmd, arg);
        int target = !strcmp(cmd, "step") ? (int)l : v->step + (int)l;
        if (!strcmp(cmd, "step") && target < v->step) {
            v->step = target, v->query = -1, v->key = -1;
            return 0;
        }
        while (v->step < target)
            if (step_next(v, err)) return -1;
        return 0;
    }
    if (!strcmp(cmd, "query") || !strcmp(cmd, "token") || !strcmp(cmd, "position")) {
        if (need_model(v, err)) return -1;
        int n = viz_n_shown(v);
        if (!strcmp(arg, "last")) l = n - 1;
        else if (parse_int_arg(arg, 0, n - 1, &l)) return err_set(err, "%s expects a position 0..%d, got '%s'", cmd, n - 1, arg);
        v->query = (int)l;
        v->key = -1;
        return 0;
    }
    if (!strcmp(cmd, "key") || !strcmp(cmd, "cell")) {
        if (need_model(v, err)) return -1;
        int n = viz_n_shown(v);
        if (!strcmp(cmd, "cell")) {
            long q, k;
            char a[64], b[64];
            if (sscanf(arg, "%63s %63s", a, b) != 2 || parse_int_arg(a, 0, n - 1, &q) || parse_int_arg(b, 0, n - 1, &k))
                return err_set(err, "cell expects a query and a key position 0..%d, got '%s'", n - 1, arg);
            v->query = (int)q, v->key = (int)k;
            return 0;
        }
        if (!strcmp(arg, "none")) {
            v->key = -1;
            return 0;
        }
        if (parse_int_arg(arg, 0, n - 1, &l)) return err_set(err, "key expects a position 0..%d, got '%s'", n - 1, arg);
        v->key = (int)l;
        return 0;
    }
    if (!strcmp(cmd, "layer")) {
        if (need_model(v, err)) return -1;
        if (!strcmp(arg, "+") || !strcmp(arg, "next")) l = (v->layer + 1) % c->n_layer;
        else if (!strcmp(arg, "-") || !strcmp(arg, "prev")) l = (v->layer + c->n_layer - 1) % c->n_layer;
        else if (parse_int_arg(arg, 0, c->n_layer - 1, &l))
            return err_set(err, "layer expects 0..%d (this model has %d layers), got '%s'", c->n_layer - 1, c->n_layer, arg);
        v->layer = (int)l;
        return 0;
    }
    if (!strcmp(cmd, "head")) {
        if (need_model(v, err)) return -1;
        if (!strcmp(arg, "+") || !strcmp(arg, "next")) l = (v->head + 1) % c->n_head;
        else if (!strcmp(arg, "-") || !strcmp(arg, "prev")) l = (v->head + c->n_head - 1) % c->n_head;
        else if (parse_int_arg(arg, 0, c->n_head - 1, &l))
            return err_set(err, "head expects 0..%d (this model has %d heads), got '%s'", c->n_head - 1, c->n_head, arg);
        v->head = (int)l;
        return 0;
    }
    if (!strcmp(cmd, "attention") || !strcmp(cmd, "show")) {
        if (!strcasecmp(arg, "scores") || !strcasecmp(arg, "raw")) v->att = ATT_SCORES;
        else if (!strcasecmp(arg, "masked")) v->att = ATT_MASKED;
        else if (!strcasecmp(arg, "weights") || !strcasecmp(arg, "softmax")) v->att = ATT_WEIGHTS;
        else if (!*arg || !strcasecmp(arg, "next")) v->att = (AttMode)((v->att + 1) % 3);
        else return err_set(err, "%s expects scores, masked or weights, got '%s'", cmd, arg);
        return 0;
    }
    if (!strcmp(cmd, "view")) {
        if (!strcasecmp(arg, "grid")) {
            v->main = v->only == VIEW_ALL ? MAIN_GRID : v->main;
            if (v->only != VIEW_ALL) v->only = VIEW_GRID;
            return 0;
        }
        if (!strcasecmp(arg, "heatmap")) {
            v->main = MAIN_HEATMAP;
            if (v->only == VIEW_GRID) v->only = VIEW_ATTENTION;
            return 0;
        }
        int k = viz_view_by_name(arg);
        if (k < 0) return err_set(err, "view expects all, tokens, attention, grid, distribution, block or pipeline, got '%s'", arg);
        v->only = (ViewName)k;
        if (k == VIEW_GRID) v->main = MAIN_GRID;
        if (k == VIEW_ATTENTION) v->main = MAIN_HEATMAP;
        return 0;
    }
    if (!strcmp(cmd, "grid")) {
        v->main = on_off(arg, v->main == MAIN_GRID) ? MAIN_GRID : MAIN_HEATMAP;
        return 0;
    }
    if (!strcmp(cmd, "stage")) {
        if (need_model(v, err)) return -1;
        int n = viz_n_stages(v), s;
        if (!strcmp(arg, "next") || !strcmp(arg, "+")) s = v->stage + 1 < n ? v->stage + 1 : n - 1;
        else if (!strcmp(arg, "prev") || !strcmp(arg, "-")) s = v->stage > 0 ? v->stage - 1 : 0;
        else if (!strcmp(arg, "none") || !strcmp(arg, "off")) s = -1;
        else if ((s = stage_by_name(v, arg)) < 0)
            return err_set(err, "stage expects embed, L<n>.ln_1|attn|add_1|ln_2|ffn|add_2, ln_f, logits, probs or sample, got '%s'", arg);
        v->stage = s;
        if (s >= 0 && viz_stage_layer(v, s) >= 0) v->layer = viz_stage_layer(v, s);
        return 0;
    }
    if (!strcmp(cmd, "temperature")) {
        if (parse_double_arg(arg, 0.01, 100, &d)) return err_set(err, "temperature expects a number 0.01..100, got '%s'", arg);
        v->gen.sampler.temperature = (float)d;
        v->gen.sampler.greedy = 0;
        settings_changed(v);
        return 0;
    }
    if (!strcmp(cmd, "top-k") || !strcmp(cmd, "topk")) {
        if (parse_int_arg(arg, 0, 1000000, &l)) return err_set(err, "top-k expects a whole number >= 0 (0 = off), got '%s'", arg);
        v->gen.sampler.top_k = (int)l;
        v->gen.sampler.greedy = 0;
        settings_changed(v);
        return 0;
    }
    if (!strcmp(cmd, "top-p") || !strcmp(cmd, "topp")) {
        if (parse_double_arg(arg, 0.001, 1, &d)) return err_set(err, "top-p expects a number in (0, 1], got '%s'", arg);
        v->gen.sampler.top_p = (float)d;
        v->gen.sampler.greedy = 0;
        settings_changed(v);
        return 0;
    }
    if (!strcmp(cmd, "greedy")) {
        v->gen.sampler.greedy = on_off(arg, v->gen.sampler.greedy == 1);
        settings_changed(v);
        return 0;
    }
    if (!strcmp(cmd, "seed")) {
        char *end;
        unsigned long long s = strtoull(arg, &end, 10);
        if (!*arg || *end || arg[0] == '-') return err_set(err, "seed expects a whole number >= 0, got '%s'", arg);
        v->gen.sampler.seed = s;
        return v->loaded ? rerun_prompt(v, err) : 0;
    }
    if (!strcmp(cmd, "prompt")) {
        char text[4096];
        unquote(arg, text, sizeof text);
        if (!text[0]) return err_set(err, "prompt expects some text (or use 'unconditional')");
        size_t bad;
        if (!utf8_valid(text, strlen(text), &bad)) return err_set(err, "the prompt is not valid UTF-8 (byte %zu)", bad);
        char old[sizeof v->prompt];
        snprintf(old, sizeof old, "%s", v->prompt);
        snprintf(v->prompt, sizeof v->prompt, "%s", text);
        int rc = rerun_prompt(v, err);
        if (rc) { /* keep showing what was there */
            snprintf(v->prompt, sizeof v->prompt, "%s", old);
            Err ignore;
            if (v->loaded) rerun_prompt(v, &ignore);
        }
        return rc;
    }
    if (!strcmp(cmd, "unconditional")) {
        v->prompt[0] = 0;
        return rerun_prompt(v, err);
    }
    if (!strcmp(cmd, "model")) {
        char old[sizeof v->model_arg];
        snprintf(old, sizeof old, "%s", v->model_arg);
        unquote(arg, v->model_arg, sizeof v->model_arg);
        Err probe;
        char *dir = gpt2_resolve_model(v->model_arg[0] ? v->model_arg : NULL, &probe);
        if (!dir) {
            snprintf(v->model_arg, sizeof v->model_arg, "%s", old);
            return err_set(err, "%s", probe.msg);
        }
        free(dir);
        int rc = viz_load_and_run(v, err);
        if (rc && !v->loaded) { /* the new model failed: go back to the old one */
            snprintf(v->model_arg, sizeof v->model_arg, "%s", old);
            Err ignore;
            viz_load_and_run(v, &ignore);
        }
        return rc;
    }
    if (!strcmp(cmd, "pick") || !strcmp(cmd, "branch")) {
        if (need_model(v, err)) return -1;
        if (arg[0] == '"') {
            char piece[256];
            unquote(arg, piece, sizeof piece);
            int id = token_by_piece(v, piece);
            if (id < 0) return err_set(err, "no single token is \"%s\" (try 'gptstep tokens')", piece);
            return pick(v, id, err);
        }
        if (parse_int_arg(arg, 0, c->n_vocab - 1, &l)) return err_set(err, "pick expects a token id or a \"quoted piece\", got '%s'", arg);
        return pick(v, (int)l, err);
    }
    if (!strcmp(cmd, "bars")) {
        if (parse_int_arg(arg, 1, 40, &l)) return err_set(err, "bars expects 1..40, got '%s'", arg);
        v->top_k_bars = (int)l;
        return 0;
    }
    if (!strcmp(cmd, "large")) { v->large = on_off(arg, v->large); return 0; }
    if (!strcmp(cmd, "colorblind") || !strcmp(cmd, "colourblind")) { v->colorblind = on_off(arg, v->colorblind); return 0; }
    if (!strcmp(cmd, "help")) { v->help = on_off(arg, v->help); return 0; }
    if (!strcmp(cmd, "fullscreen")) { v->fullscreen = on_off(arg, v->fullscreen); return 0; }
    if (!strcmp(cmd, "title")) { unquote(arg, v->title, sizeof v->title); return 0; }
    if (!strcmp(cmd, "caption")) { unquote(arg, v->caption, sizeof v->caption); return 0; }
    if (!strcmp(cmd, "highlight")) {
        char what[32] = "";
        int used = 0;
        sscanf(arg, "%31s %n", what, &used);
        const char *p = arg + used;
        if (!strcasecmp(what, "clear") || !strcasecmp(what, "none")) {
            v->n_hl_tokens = v->n_hl_cells = v->n_hl_cands = 0;
            return 0;
        }
        if (need_model(v, err)) return -1;
        int n = viz_n_shown(v);
        if (!strcasecmp(what, "token") || !strcasecmp(what, "tokens")) {
            char *end;
            for (long x = strtol(p, &end, 10); end != p; p = end, x = strtol(p, &end, 10)) {
                if (x < 0 || x >= n) return err_set(err, "highlight token: position %ld is not shown (0..%d)", x, n - 1);
                if (v->n_hl_tokens < VIZ_MAX_HIGHLIGHT) v->hl_tokens[v->n_hl_tokens++] = (int)x;
            }
            return 0;
        }
        if (!strcasecmp(what, "cell")) {
            long q, k;
            if (sscanf(p, "%ld %ld", &q, &k) != 2 || q < 0 || k < 0 || q >= n || k >= n)
                return err_set(err, "highlight cell expects a query and a key position 0..%d", n - 1);
            if (v->n_hl_cells < VIZ_MAX_HIGHLIGHT) v->hl_cells[v->n_hl_cells][0] = (int)q, v->hl_cells[v->n_hl_cells++][1] = (int)k;
            return 0;
        }
        if (!strcasecmp(what, "candidate")) {
            int id;
            if (p[0] == '"') {
                char piece[256];
                unquote(p, piece, sizeof piece);
                if ((id = token_by_piece(v, piece)) < 0) return err_set(err, "no single token is \"%s\"", piece);
            } else if (parse_int_arg(p, 0, c->n_vocab - 1, &l)) {
                return err_set(err, "highlight candidate expects a token id or a \"quoted piece\"");
            } else {
                id = (int)l;
            }
            if (v->n_hl_cands < VIZ_MAX_HIGHLIGHT) v->hl_cands[v->n_hl_cands++] = id;
            return 0;
        }
        return err_set(err, "highlight expects token, cell, candidate or clear, got '%s'", what);
    }
    if (!strcmp(cmd, "export")) {
        char path[1024];
        unquote(arg, path, sizeof path);
        if (!path[0]) return err_set(err, "export expects a file name ending in .png, .svg or .pdf");
        return viz_export(v, path, 1920, 1080, err);
    }
    return err_set(err, "unknown command '%s' (press ? for the keys, see docs/viewer.md for commands)", cmd);
}

/* ---- keys and mouse ---- */

const char *VIZ_HELP_LINES[] = {
    "Right, Space, PageDown   next token (generates one at the end)",
    "Left, PageUp             previous token",
    "Home / End               first / last step",
    "Up / Down                layer",
    "1-9, 0  or  , .          head (0 = head 10)",
    "] / [                    next / previous stage of the forward pass",
    "A                        attention: scores -> masked -> weights",
    "G                        all heads at once (grid)",
    "T / Shift+T              temperature down / up",
    "K / Shift+K              top-k down / up (0 = off)",
    "P / Shift+P              top-p down / up",
    "Enter                    type a new prompt",
    ":                        type a command (e.g. model gpt2, seed 7)",
    "Click a token            select it as the query",
    "Click a heatmap cell     how its score and weight are computed",
    "Click a candidate        continue from that token (a branch)",
    "E / Shift+E / Ctrl+E     export PNG / PDF / SVG",
    "L  large font    C  colour-blind colours    F / F11  full screen",
    "?  this help     Esc  close     Q  quit",
    NULL,
};

static const int TOPK_STEPS[] = {0, 1, 2, 3, 5, 10, 20, 40, 100, 1000};
static const float TOPP_STEPS[] = {0.1f, 0.25f, 0.5f, 0.75f, 0.9f, 0.95f, 1.0f};

int viz_key(VizState *v, const char *key, int shift, int ctrl, Err *err) {
    char cmd[128];
    if (!strcmp(key, "Right") || !strcmp(key, "Space") || !strcmp(key, "PageDown")) return viz_command(v, "next", err);
    if (!strcmp(key, "Left") || !strcmp(key, "PageUp") || !strcmp(key, "Backspace")) return viz_command(v, "prev", err);
    if (!strcmp(key, "Home")) return viz_command(v, "first", err);
    if (!strcmp(key, "End")) return viz_command(v, "last", err);
    if (!strcmp(key, "Up")) return viz_command(v, "layer -", err);
    if (!strcmp(key, "Down")) return viz_command(v, "layer +", err);
    if (!strcmp(key, ",")) return viz_command(v, "head -", err);
    if (!strcmp(key, ".")) return viz_command(v, "head +", err);
    if (!strcmp(key, "]")) return viz_command(v, "stage next", err);
    if (!strcmp(key, "[")) return viz_command(v, "stage prev", err);
    if (strlen(key) == 1 && key[0] >= '0' && key[0] <= '9' && !shift) {
        snprintf(cmd, sizeof cmd, "head %d", key[0] == '0' ? 9 : key[0] - '1');
        return viz_command(v, cmd, err);
    }
    if (!strcasecmp(key, "a")) return viz_command(v, "attention next", err);
    if (!strcasecmp(key, "g")) return viz_command(v, "grid toggle", err);
    if (!strcasecmp(key, "l")) return viz_command(v, "large toggle", err);
    if (!strcasecmp(key, "c")) return viz_command(v, "colorblind toggle", err);
    if (!strcmp(key, "?") || !strcasecmp(key, "h") || !strcmp(key, "F1")) return viz_command(v, "help toggle", err);
    if (!strcasecmp(key, "f") || !strcmp(key, "F11")) return viz_command(v, "fullscreen toggle", err);
    if (!strcasecmp(key, "t")) {
        float t = v->gen.sampler.greedy == 1 ? 1.0f : v->gen.sampler.temperature;
        t = shift ? t * 1.25f : t / 1.25f;
        snprintf(cmd, sizeof cmd, "temperature %.3g", t < 0.05f ? 0.05f : t > 5 ? 5 : t);
        return viz_command(v, cmd, err);
    }
    if (!strcasecmp(key, "k")) {
        int n = (int)(sizeof TOPK_STEPS / sizeof TOPK_STEPS[0]), i = 0, cur = v->gen.sampler.top_k;
        while (i < n - 1 && TOPK_STEPS[i] < cur) i++;
        i = shift ? (i + 1 < n ? i + 1 : n - 1) : (i > 0 ? i - 1 : 0);
        snprintf(cmd, sizeof cmd, "top-k %d", TOPK_STEPS[i]);
        return viz_command(v, cmd, err);
    }
    if (!strcasecmp(key, "p")) {
        int n = (int)(sizeof TOPP_STEPS / sizeof TOPP_STEPS[0]), i = 0;
        while (i < n - 1 && TOPP_STEPS[i] < v->gen.sampler.top_p - 1e-4f) i++;
        i = shift ? (i + 1 < n ? i + 1 : n - 1) : (i > 0 ? i - 1 : 0);
        snprintf(cmd, sizeof cmd, "top-p %g", TOPP_STEPS[i]);
        return viz_command(v, cmd, err);
    }
    if (!strcasecmp(key, "e")) {
        const char *ext = ctrl ? "svg" : shift ? "pdf" : "png";
        snprintf(cmd, sizeof cmd, "export gptstep-%03d.%s", ++v->exports, ext);
        int rc = viz_command(v, cmd, err);
        if (rc == 0) {
            snprintf(v->message, sizeof v->message, "exported gptstep-%03d.%s", v->exports, ext);
            v->message_is_error = 0;
        }
        return rc;
    }
    if (!strcmp(key, "Escape")) {
        v->help = 0;
        v->key = -1;
        v->message[0] = 0;
        return 0;
    }
    return 0;
}

int viz_click(VizState *v, double x, double y, Err *err) {
    char cmd[128];
    for (int i = v->n_hits - 1; i >= 0; i--) {
        const Hit *h = &v->hits[i];
        if (x < h->r.x || y < h->r.y || x >= h->r.x + h->r.w || y >= h->r.y + h->r.h) continue;
        switch (h->kind) {
        case HIT_TOKEN: snprintf(cmd, sizeof cmd, "query %d", h->a); return viz_command(v, cmd, err);
        case HIT_CELL: { /* the heatmap: h->a x h->b cells over h->r */
            int q = (int)((y - h->r.y) / h->r.h * h->a), k = (int)((x - h->r.x) / h->r.w * h->b);
            snprintf(cmd, sizeof cmd, "cell %d %d", q, k);
            return viz_command(v, cmd, err);
        }
        case HIT_GRID:
            snprintf(cmd, sizeof cmd, "layer %d", h->a);
            viz_command(v, cmd, err);
            snprintf(cmd, sizeof cmd, "head %d", h->b);
            viz_command(v, cmd, err);
            return viz_command(v, "grid off", err);
        case HIT_CANDIDATE: snprintf(cmd, sizeof cmd, "pick %d", h->a); return viz_command(v, cmd, err);
        case HIT_STAGE: snprintf(cmd, sizeof cmd, "stage next"); v->stage = h->a - 1; return viz_command(v, cmd, err);
        default: return 0;
        }
    }
    return 0;
}
