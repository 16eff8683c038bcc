/* view_block.c - the vectors at the query position in the selected layer, each a strip of coloured
 * cells named as in the trace (h.L.attn.q ...); the selected pipeline stage's rows are marked; on the
 * right, the logit lens: each layer's top token if decoding stopped after it (from viz_prepare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vizint.h"

typedef struct {
    const char *name;
    TensorKind kind;
    int layer_kind; /* a per-layer tensor */
    int head_slice; /* only the selected head's slice */
    int stage;      /* the pipeline stage it belongs to: 0 embed, 1 ln_1, 2 attn, 3 add_1, 4 ln_2, 5 ffn, 6 add_2 */
} RowDef;

static const RowDef ROWS[] = {
    {"tok_emb", TK_TOK_EMB, 0, 0, 0},       {"pos_emb", TK_POS_EMB, 0, 0, 0},     {"embed", TK_EMBED, 0, 0, 0},
    {"ln_1", TK_LN_1, 1, 0, 1},             {"attn.q", TK_Q, 1, 1, 2},            {"attn.k", TK_K, 1, 1, 2},
    {"attn.v", TK_V, 1, 1, 2},              {"attn.heads", TK_HEADS, 1, 1, 2},    {"attn.proj", TK_ATTN_PROJ, 1, 0, 2},
    {"resid_mid", TK_RESID_MID, 1, 0, 3},   {"ln_2", TK_LN_2, 1, 0, 4},           {"mlp.fc", TK_FC, 1, 0, 5},
    {"mlp.gelu", TK_GELU, 1, 0, 5},         {"mlp.proj", TK_MLP_PROJ, 1, 0, 5},   {"resid_out", TK_RESID_OUT, 1, 0, 6},
};
#define N_ROWS ((int)(sizeof ROWS / sizeof ROWS[0]))
/* which rows stay when not all fit, most important first */
static const int PRIORITY[N_ROWS] = {2, 3, 4, 5, 6, 7, 9, 11, 12, 14, 0, 1, 8, 10, 13};

/* The pipeline stage selected, as ROWS' stage numbers (-1: none or outside the blocks). */
static int selected_stage(const VizState *v) {
    int s = v->view.stage;
    if (s < 0) return -1;
    if (s == 0) return 0;
    return viz_stage_sub(v, s) >= 0 ? 1 + viz_stage_sub(v, s) : -1;
}

/* Whether a row's values are switched off (as a whole, or for the selected head's slice). */
static int row_ablated(const VizState *v, const RowDef *d, int l) {
    switch (d->kind) {
    case TK_POS_EMB: return viz_part_ablated(v, ABL_POS, 0, 0);
    case TK_HEADS: return viz_head_ablated(v, l, v->view.head);
    case TK_ATTN_PROJ: return viz_part_ablated(v, ABL_ATTN, l, 0);
    case TK_MLP_PROJ: return viz_part_ablated(v, ABL_MLP, l, 0);
    default: return 0;
    }
}

/* The element under x of a row: its index within the row (the hover tooltip's, before the head offset). */
static int element_at(const Hit *h, double x) {
    int idx = (int)((x - h->r.x) / h->r.w * h->b);
    return idx < 0 ? 0 : idx >= h->b ? h->b - 1 : idx;
}

void view_block_knock(const VizState *v, const Hit *h, double x, char *buf, size_t cap) {
    buf[0] = 0;
    if (h->a < 0 || h->a >= N_ROWS) return;
    const RowDef *d = &ROWS[h->a];
    int l = v->view.layer;
    switch (d->kind) {
    case TK_POS_EMB: snprintf(buf, cap, "ablate pos"); break;
    case TK_Q: case TK_K: case TK_V: case TK_HEADS: snprintf(buf, cap, "ablate %d.%d", l, v->view.head); break;
    case TK_ATTN_PROJ: snprintf(buf, cap, "ablate %d.attn", l); break;
    case TK_FC: case TK_GELU: snprintf(buf, cap, "ablate %d.mlp.%d", l, element_at(h, x)); break;
    case TK_MLP_PROJ: snprintf(buf, cap, "ablate %d.mlp", l); break;
    default: break;
    }
}

void view_block(VizState *v, Gfx *g, Rect r) {
    gfx_panel(g, r);
    if (!v->run.loaded) return;
    const Gpt2Config *c = &v->run.gen.model.cfg;
    int q = viz_query_pos(v), l = v->view.layer, HS = c->n_embd / c->n_head, sel = selected_stage(v);
    char title[300], label[128], line[512];
    viz_piece_at(v, q, label, sizeof label);
    const char *run = viz_run_label(v);
    snprintf(title, sizeof title, "Vectors%s%s%s at position %d \"%s\", layer h.%d, head %d", run ? " (" : "", run ? run : "",
             run ? ")" : "", q, label, l, v->view.head);
    double pad = g->fs * 0.5, top = r.y + gfx_title_h(g);
    gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
    double lh = gfx_line_h(g), asc = gfx_ascent(g);
    double name_w = gfx_text_w(g, "attn.heads[h0] ") + pad;
    double lens_w = fmin(r.w * 0.3, g->fs * 16);
    double x = r.x + pad + name_w, w = r.w - name_w - lens_w - 3 * pad;
    int fit = (int)((r.y + r.h - top - pad) / (lh * 1.1));
    if (fit > N_ROWS) fit = N_ROWS;
    if (fit < 1 || w < g->fs * 3) {
        gfx_panel_title(g, r, title, "");
        return;
    }
    /* the rows shown: all, or the selected stage's first and then by priority */
    int show[N_ROWS] = {0}, taken = 0;
    for (int i = 0; i < N_ROWS && taken < fit; i++)
        if (sel >= 0 && ROWS[i].stage == sel) show[i] = 1, taken++;
    for (int i = 0; i < N_ROWS && taken < fit; i++)
        if (!show[PRIORITY[i]]) show[PRIORITY[i]] = 1, taken++;
    /* a difference (ablated - clean, A - B): every row on one scale, so that a small change looks small */
    const int diff = v->view.run_shown == RUN_DIFF && viz_comparing(v);
    float scale = 0;
    for (int i = 0; i < N_ROWS; i++) {
        const RowDef *d = &ROWS[i];
        const float *a = viz_tensor_shown(v, d->kind, d->layer_kind ? l : 0, q);
        int n = d->kind == TK_FC || d->kind == TK_GELU ? c->n_inner : d->head_slice ? HS : c->n_embd;
        if (a && d->head_slice) a += (size_t)v->view.head * HS;
        for (int j = 0; diff && show[i] && a && j < n; j++) scale = fmaxf(scale, fabsf(a[j]));
    }
    char note[160];
    if (diff) snprintf(note, sizeof note, "blue < 0 < red, every row on one scale (\xC2\xB1%.3g)", scale);
    else snprintf(note, sizeof note, "blue < 0 < red, each row scaled to its largest |value|");
    if (taken < N_ROWS) /* rows left out say so */
        snprintf(note + strlen(note), sizeof note - strlen(note), " \xC2\xB7 %d of %d rows (Tab: the view alone)", taken, N_ROWS);
    gfx_panel_title(g, r, title, note);
    double rh = (r.y + r.h - top - pad) / taken;
    if (rh > lh * 1.6) rh = lh * 1.6;
    double y = top;
    const float *vals[N_ROWS];
    int lens[N_ROWS];
    for (int i = 0; i < N_ROWS; i++) {
        const RowDef *d = &ROWS[i];
        const float *a = viz_tensor_shown(v, d->kind, d->layer_kind ? l : 0, q);
        int n = d->kind == TK_FC || d->kind == TK_GELU ? c->n_inner : d->head_slice ? HS : c->n_embd;
        vals[i] = a && d->head_slice ? a + (size_t)v->view.head * HS : a;
        lens[i] = n;
        if (!show[i]) continue;
        if (sel >= 0 && d->stage == sel) gfx_fill(g, (Rect){r.x + pad * 0.3, y, r.w - lens_w - 2 * pad, rh}, (Rgb){0.86, 0.91, 0.99});
        if (d->head_slice) snprintf(line, sizeof line, "%s[h%d]", d->name, v->view.head);
        else snprintf(line, sizeof line, "%s", d->name);
        gfx_font(g, FONT_MONO, g->fs * 0.8, sel >= 0 && d->stage == sel);
        int off = row_ablated(v, d, l);
        gfx_color(g, off ? GFX_ERROR : GFX_INK);
        gfx_text_fit(g, x - pad * 0.5, y + (rh - lh) / 2 + asc, line, name_w - pad, 1);
        if (off) { /* switched off: the name struck through */
            double tw = fmin(gfx_text_w(g, line), name_w - pad), sy = y + (rh - lh) / 2 + asc * 0.62;
            cairo_set_line_width(g->cr, fmax(1.2, g->fs * 0.08));
            cairo_move_to(g->cr, x - pad * 0.5 - tw, sy), cairo_line_to(g->cr, x - pad * 0.5, sy);
            cairo_stroke(g->cr);
        }
        if (vals[i]) {
            if (diff) gfx_vector_scaled(g, (Rect){x, y + rh * 0.12, w, rh * 0.76}, vals[i], n, scale);
            else gfx_vector(g, (Rect){x, y + rh * 0.12, w, rh * 0.76}, vals[i], n);
            viz_add_hit(v, HIT_VECTOR, (Rect){x, y, w, rh}, i, n);
            if (d->kind == TK_GELU) /* knocked-out neurons: a red tick above and below each */
                for (int k = 0; k < v->run.gen.state.iv.n; k++) {
                    const Ablation *a = &v->run.gen.state.iv.a[k];
                    if (a->kind != ABL_NEURON || a->layer != l) continue;
                    double nx = x + (a->index + 0.5) * w / n, tick = rh * 0.14;
                    gfx_fill(g, (Rect){nx - fmax(1, g->fs * 0.06), y, 2 * fmax(1, g->fs * 0.06), tick}, GFX_ERROR);
                    gfx_fill(g, (Rect){nx - fmax(1, g->fs * 0.06), y + rh - tick, 2 * fmax(1, g->fs * 0.06), tick}, GFX_ERROR);
                }
        }
        y += rh;
    }
    const Hit *hh = viz_hover_hit(v, HIT_VECTOR);
    if (hh && vals[hh->a]) { /* hover: the element's index and value */
        int i = hh->a, n = lens[i], idx = element_at(hh, v->ui.mouse_x);
        if (idx >= 0 && idx < n) {
            char name[64];
            trace_name(&v->run.gen.trace, trace_id(&v->run.gen.trace, ROWS[i].kind, ROWS[i].layer_kind ? l : 0), name, sizeof name);
            int off = ROWS[i].head_slice ? v->view.head * HS : 0;
            char knock[64];
            view_block_knock(v, hh, v->ui.mouse_x, knock, sizeof knock);
            snprintf(line, sizeof line, "%s[%d][%d]%s%s%s = %.5f%s%s", name, q, idx + off, run ? " (" : "", run ? run : "",
                     run ? ")" : "", vals[i][idx], knock[0] ? " \xC2\xB7 right-click: " : "", knock);
            gfx_tooltip(g, r, v->ui.mouse_x, hh->r.y, line);
        }
    }
    /* the logit lens */
    const VizDerived *dd = &v->run.d;
    double lx = r.x + r.w - lens_w - pad, ly = top;
    gfx_font(g, FONT_SANS, g->fs * 0.8, 1);
    gfx_color(g, GFX_INK);
    int lens_run = run && dd->has_clean_lens ? v->view.run_shown : RUN_ABLATED;
    const char *cur, *oth;
    viz_run_names(v, &cur, &oth);
    if (lens_run == RUN_DIFF) snprintf(line, sizeof line, "logit lens: top token, %s \xE2\x86\x92 %s", oth, cur);
    else if (lens_run == RUN_CLEAN) snprintf(line, sizeof line, "logit lens (%s): top token after each layer", run);
    else snprintf(line, sizeof line, "logit lens: top token after each layer");
    if (gfx_text_w(g, line) > lens_w && lens_run != RUN_DIFF) snprintf(line, sizeof line, "logit lens: top token per layer");
    gfx_text_fit(g, lx, ly + asc, line, lens_w, 0);
    ly += lh * 1.15;
    if (dd->epoch < 0 || dd->pos != q) return;
    gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
    int rows = (int)((r.y + r.h - ly - pad * 0.5) / lh), L = dd->n_layers;
    if (rows < 1) return;
    /* every k-th layer when they do not all fit, the selected one in its slot, and always the last (what
     * the model's own output reads) */
    int every = L > rows && rows > 1 ? (L - 1 + rows - 2) / (rows - 1) : (L + rows - 1) / rows;
    if (every < 1) every = 1;
    for (int layer = 0, k = 0; layer < L; layer++) {
        int is_sel = layer == l;
        if (layer % every && !is_sel && layer != L - 1) continue;
        if (!is_sel && layer / every == l / every && every > 1) continue; /* the selected layer takes its slot */
        if (k >= rows) break;
        const int *ids = lens_run == RUN_CLEAN ? dd->clean_lens_id : dd->lens_id;
        const float *ps = lens_run == RUN_CLEAN ? dd->clean_lens_p : dd->lens_p;
        if (ids[layer] < 0) continue;
        viz_piece(v, ids[layer], label, sizeof label);
        if (lens_run == RUN_DIFF && dd->clean_lens_id[layer] >= 0) {
            char was[128];
            viz_piece(v, dd->clean_lens_id[layer], was, sizeof was);
            snprintf(line, sizeof line, "h.%-2d %s %.1f%% \xE2\x86\x92 %s %.1f%%", layer, was, 100 * dd->clean_lens_p[layer], label,
                     100 * ps[layer]);
        } else {
            snprintf(line, sizeof line, "h.%-2d %5.1f%% %s", layer, 100 * ps[layer], label);
        }
        gfx_font(g, FONT_MONO, g->fs * 0.8, is_sel);
        gfx_color(g, is_sel ? GFX_ACCENT : GFX_INK);
        gfx_text_fit(g, lx, ly + k * lh + asc, line, lens_w, 0);
        k++;
    }
}
