/* state.c - the viewer's state: view names and defaults, setting up and freeing it, messages, which
 * positions are shown, the heatmap's window of positions and the pipeline's stages. The run itself is in
 * run.c, the numbers derived for drawing in derived.c, the experiments in experiments.c; the command
 * table that changes all this is in commands.c. */
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


static const char *VIEW_NAMES[VIEW_COUNT] = {"all", "tokens", "attention", "grid", "distribution", "block", "pipeline", "experiment", "heads", "values", "lines"};

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

void viz_free(VizState *v) {
    if (v->ui.record) fclose(v->ui.record); /* a recording still open ends with the viewer */
    v->ui.record = NULL;
    viz_experiment_free(&v->run.exp);
    free(v->run.head_scores);
    v->run.head_scores = NULL;
    if (v->run.loaded) gen_close(&v->run.gen);
    v->run.loaded = 0;
    viz_free_derived(&v->run.d);
    viz_free_branches(&v->run);
    viz_drop_clean(&v->run);
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
    tok_show(v->run.gen.tok, id, TOK_SHOW_SCREEN, out, cap);
}

void viz_piece_at(const VizState *v, int p, char *out, size_t cap) {
    const Trace *tr = &v->run.gen.trace;
    if (p < 0 || p >= tr->n_pos) {
        snprintf(out, cap, "?");
        return;
    }
    const Tokenizer *tok = v->run.gen.tok;
    int len;
    const char *own = tok_bytes(tok, tr->pos[p].token, &len);
    if (utf8_valid(own, (size_t)len, NULL)) { /* whole characters: the usual form */
        tok_show_bytes(own, len, TOK_SHOW_SCREEN, out, cap);
        return;
    }
    /* part of a character (a byte token): the character its bytes belong to, read with the tokens
     * around it, and which part this token holds - the curly quote split over two tokens shows as
     * "\xE2\x80\x9D\xC2\xB9" and "\xE2\x80\x9D\xC2\xB2" - where the bytes form a character at all */
    unsigned char buf[64];
    int off[8], lo = p >= 3 ? p - 3 : 0, hi = p + 3 < tr->n_pos ? p + 3 : tr->n_pos - 1, n = 0;
    for (int t = lo; t <= hi; t++) {
        off[t - lo] = n;
        const char *b = tok_bytes(tok, tr->pos[t].token, &len);
        for (int i = 0; i < len && n < (int)sizeof buf; i++) buf[n++] = (unsigned char)b[i];
    }
    off[hi - lo + 1] = n;
    const int a = off[p - lo], e = off[p - lo + 1];
    static const char *SUP[] = {"\xC2\xB9", "\xC2\xB2", "\xC2\xB3", "\xE2\x81\xB4"};
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < n && k + 16 < cap;) {
        if ((buf[i] & 0xC0) == 0x80 && i < a) { i++; continue; } /* inside a character that began before the window */
        int L = (buf[i] & 0xC0) == 0x80 ? 0 : (int)utf8_seq_len(buf + i, (size_t)(n - i));
        int end = i + (L ? L : 1);
        if (end > a && i < e) { /* this character (or byte) touches the token */
            if (L && i >= a && end <= e) {
                char one[32];
                tok_show_bytes((const char *)buf + i, L, TOK_SHOW_SCREEN, one, sizeof one);
                k += (size_t)snprintf(out + k, cap - k, "%s", one);
            } else if (L) { /* shared with a neighbour: the character, and which of its tokens this is */
                int part = 0;
                for (int t = lo; t <= p; t++) part += off[t - lo + 1] > i && off[t - lo] < end;
                k += (size_t)snprintf(out + k, cap - k, "%.*s%s", L, (const char *)buf + i, SUP[part > 0 && part <= 4 ? part - 1 : 0]);
            } else {
                for (int j = i > a ? i : a; j < end && j < e; j++) k += (size_t)snprintf(out + k, cap - k, "\\x%02x", buf[j]);
            }
        }
        i = end;
    }
    if (!out[0]) snprintf(out, cap, "\xE2\x88\x85");
}

const float *viz_tensor(const VizState *v, TensorKind k, int layer, int pos) {
    const Trace *tr = &v->run.gen.trace;
    if (!v->run.loaded || pos < 0 || pos >= tr->n_pos) return NULL;
    return trace_get(tr, trace_id(tr, k, layer), pos);
}

/* ---- the heatmap's window of positions ---- */

void viz_heatmap_window(const VizState *v, int fit, int *first, int *count) {
    int n = viz_n_shown(v), z = v->view.zoom > 0 && v->view.zoom < n ? v->view.zoom : n;
    if (fit > 0 && z > fit) z = fit; /* no more than fit on screen (the caller's fit allows one-pixel cells when
                                       * the zoom was asked for: view_attention) */
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

int viz_layer_window(const VizState *v, int fit, int *first) {
    const int L = v->run.loaded ? v->run.gen.model.cfg.n_layer : 1;
    int shown = fit < 1 ? 1 : fit > L ? L : fit;
    int l0 = v->view.grid_layer0 >= 0 ? v->view.grid_layer0 : v->view.layer - shown / 2;
    if (l0 > L - shown) l0 = L - shown;
    *first = l0 < 0 ? 0 : l0;
    return shown;
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

const char *viz_num4(double x, int sign, char *buf, size_t cap) {
    if (x != 0 && fabs(x) < 0.00005) snprintf(buf, cap, sign ? "%+.3g" : "%.3g", x); /* 7.18e-07, not 0.0000 */
    else snprintf(buf, cap, sign ? "%+.4f" : "%.4f", x);
    return buf;
}
