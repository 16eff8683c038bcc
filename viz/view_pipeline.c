/* view_pipeline.c - the forward pass as a row of stages (embed; per block LayerNorm, attention, add,
 * LayerNorm, FFN, add; ln_f, logits, probs, sample), the selected layer expanded, and what the stages
 * do to the selected position: the residual stream's norm and the logit lens's top token after each
 * block, and the vector into and out of the selected stage. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"
#include "vizint.h"

/* Whether anything in layer l is switched off (a head, a neuron, a sublayer). */
static int layer_touched(const VizState *v, int l) {
    const Interventions *iv = &v->run.gen.state.iv;
    for (int i = 0; i < iv->n; i++)
        if (iv->a[i].kind != ABL_POS && iv->a[i].layer == l) return 1;
    return 0;
}

static const char *SUB[VIZ_LAYER_STAGES] = {"LN", "attn", "+", "LN", "FFN", "+"};

/* The layer drawn expanded: the selected stage's, else the selected layer ("you are here" follows it). */
static int expanded_layer(const VizState *v) {
    int sl = v->view.stage >= 0 ? viz_stage_layer(v, v->view.stage) : -1;
    return sl >= 0 ? sl : v->view.layer;
}

/* The boxes; returns the height used. */
static double boxes(VizState *v, Gfx *g, Rect r) {
    int L = v->run.gen.model.cfg.n_layer, ns = viz_n_stages(v), cur = v->view.stage, xl = expanded_layer(v);
    double pad = g->fs * 0.4, gap = fmax(1.5, g->fs * 0.12);
    gfx_font(g, FONT_SANS, g->fs * 0.8, 1);
    double tag_h = gfx_line_h(g);
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    double h = gfx_line_h(g) * 1.5, y = r.y + tag_h + pad * 0.5;
    double fixed = 0, expanded = 0;
    char name[64];
    for (int s = 0; s < ns; s++) {
        int sl = viz_stage_layer(v, s);
        if (sl < 0) viz_stage_name(v, s, name, sizeof name), fixed += gfx_text_w(g, name) + 2 * pad + gap;
        else if (sl == xl) expanded += gfx_text_w(g, SUB[viz_stage_sub(v, s)]) + 2 * pad + gap;
    }
    double avail = r.w - fixed - expanded;
    double layer_w = L > 1 ? fmin(g->fs * 3.2, avail / (L - 1) - gap) : 0;
    if (layer_w < 2) layer_w = 2;
    double scale = 1; /* a narrow canvas: everything narrower, text cut */
    double total = fixed + expanded + (L - 1) * (layer_w + gap);
    if (total > r.w) scale = r.w / total;
    double x = r.x;
    double tick_x[512], name_x0 = 0, name_x1 = 0;
    int tick_l[512], n_ticks = 0;
    for (int s = 0; s < ns; s++) {
        int sl = viz_stage_layer(v, s);
        const char *lab;
        double w;
        if (sl < 0) {
            viz_stage_name(v, s, name, sizeof name);
            lab = name;
            w = gfx_text_w(g, lab) + 2 * pad;
        } else if (sl == xl) {
            lab = SUB[viz_stage_sub(v, s)];
            w = gfx_text_w(g, lab) + 2 * pad;
        } else {
            if (viz_stage_sub(v, s) != SUB_LN_1) continue; /* one box per collapsed layer */
            snprintf(name, sizeof name, "%d", sl);
            lab = name;
            w = layer_w;
        }
        w *= scale;
        int here = s == cur || (cur < 0 && sl == xl && sl >= 0 && viz_stage_sub(v, s) == SUB_ATTN); /* no stage: the layer's attention */
        Rgb fill = s == cur ? GFX_ACCENT : sl == xl && sl >= 0 ? (Rgb){0.86, 0.91, 0.99} : (Rgb){0.93, 0.93, 0.95};
        Rect b = {x, y, w, h};
        gfx_fill(g, b, fill);
        if (here && s != cur) gfx_stroke(g, b, GFX_ACCENT, fmax(1.5, g->fs * 0.1));
        if (sl == xl && viz_stage_sub(v, s) == SUB_LN_1) { /* the expanded layer's name above its six boxes */
            gfx_font(g, FONT_SANS, g->fs * 0.8, 1);
            gfx_color(g, GFX_ACCENT);
            snprintf(name, sizeof name, "h.%d", sl);
            name_x0 = x, name_x1 = x + gfx_text_fit(g, x, r.y + gfx_ascent(g), name, r.x + r.w - x, 0);
            gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
        }
        if (w >= gfx_text_w(g, lab) + pad * 0.5) {
            gfx_color(g, s == cur ? GFX_WHITE : GFX_INK);
            gfx_text(g, x + w / 2, y + (h - gfx_line_h(g)) / 2 + gfx_ascent(g), lab, 0.5);
        } else if (sl >= 0 && sl != xl && n_ticks < 512) { /* too narrow for its number: a tick label below */
            tick_x[n_ticks] = x + w / 2, tick_l[n_ticks++] = sl;
        }
        /* switched off: the embedding with pos, an expanded layer's attn or ffn; a collapsed layer with
         * anything off in it is outlined */
        int sub = viz_stage_sub(v, s);
        if ((s == 0 && viz_part_ablated(v, ABL_POS, 0, 0)) ||
            (sl == xl && sl >= 0 && ((sub == SUB_ATTN && viz_part_ablated(v, ABL_ATTN, sl, 0)) || (sub == SUB_FFN && viz_part_ablated(v, ABL_MLP, sl, 0)))))
            gfx_cross(g, b);
        else if (sl >= 0 && sl != xl && layer_touched(v, sl))
            gfx_stroke(g, b, GFX_ERROR, fmax(1.5, g->fs * 0.1));
        viz_add_hit(v, HIT_STAGE, b, sl >= 0 && sl != xl ? viz_stage_at(sl, SUB_ATTN) : s, sl == xl || sl < 0);
        x += w + gap * scale;
    }
    if (n_ticks) { /* the layers too narrow to name: every k-th named under the boxes, k as small as fits */
        gfx_font(g, FONT_SANS, g->fs * 0.7, 0);
        gfx_color(g, GFX_MUTED);
        snprintf(name, sizeof name, "%d", L - 1);
        double need = gfx_text_w(g, name) + pad, span = n_ticks > 1 ? fabs(tick_x[1] - tick_x[0]) : need;
        int every = 1;
        static const int STEPS[] = {1, 2, 5, 10, 20, 50, 100};
        for (int i = 0; i < 7 && every * span < need; i++) every = STEPS[i];
        if (every * span < need) every = 100;
        for (int i = 0; i < n_ticks; i++) { /* above the boxes, in the row of the expanded layer's name, clear of it */
            if (tick_l[i] % every) continue;
            snprintf(name, sizeof name, "%d", tick_l[i]);
            double tw = gfx_text_w(g, name);
            if (tick_x[i] + tw / 2 + pad * 0.3 > name_x0 && tick_x[i] - tw / 2 - pad * 0.3 < name_x1) continue;
            gfx_text(g, tick_x[i], r.y + gfx_ascent(g), name, 0.5);
        }
    }
    return tag_h + pad * 0.5 + h;
}

/* What the stage reads and writes at the position (trace tensors), and what it does. */
static void stage_io(const VizState *v, int s, TensorKind *in, int *in_layer, TensorKind *out, int *out_layer, const char **what) {
    int L = v->run.gen.model.cfg.n_layer, l = viz_stage_layer(v, s);
    *in = *out = TK_COUNT;
    *in_layer = *out_layer = l;
    if (s <= 0) *in = TK_TOK_EMB, *out = TK_EMBED, *in_layer = *out_layer = 0, *what = "token embedding + position embedding";
    else if (l >= 0) {
        switch (viz_stage_sub(v, s)) {
        case SUB_LN_1:
            *in = l ? TK_RESID_OUT : TK_EMBED, *in_layer = l ? l - 1 : 0, *out = TK_LN_1;
            *what = "LayerNorm: each vector to mean 0 and variance 1, then scaled and shifted";
            break;
        case SUB_ATTN: *in = TK_LN_1, *out = TK_ATTN_PROJ, *what = "masked self-attention over the earlier positions, heads mixed by c_proj"; break;
        case SUB_ADD_1: *in = TK_ATTN_PROJ, *out = TK_RESID_MID, *what = "residual: the block's input + attention's output"; break;
        case SUB_LN_2: *in = TK_RESID_MID, *out = TK_LN_2, *what = "LayerNorm before the feed-forward network"; break;
        case SUB_FFN: *in = TK_LN_2, *out = TK_MLP_PROJ, *what = "feed-forward: c_fc, gelu, c_proj (4x wider in the middle)"; break;
        default: *in = TK_MLP_PROJ, *out = TK_RESID_OUT, *what = "residual: + the feed-forward output (the block's output)"; break;
        }
    } else {
        int e = s - viz_stage_at(L, 0);
        *in_layer = *out_layer = 0;
        if (e == 0) *in = TK_RESID_OUT, *in_layer = L - 1, *out = TK_LN_F, *what = "the final LayerNorm";
        else if (e == 1) *in = TK_LN_F, *out = TK_LOGITS, *what = "logits: one score per vocabulary token (ln_f \xC2\xB7 wte)";
        else if (e == 2) *in = TK_LOGITS, *out = TK_PROBS, *what = "softmax: the logits as probabilities";
        else *in = TK_PROBS, *what = "sample: the sampler picks the next token";
    }
}


void view_pipeline(VizState *v, Gfx *g, Rect r) {
    gfx_panel(g, r);
    if (!v->run.loaded) return;
    double pad = g->fs * 0.5;
    Rect in = {r.x + pad, r.y + pad * 0.5, r.w - 2 * pad, r.h - pad};
    double used = boxes(v, g, in);
    double y = in.y + used + pad * 0.5;
    int q = viz_query_pos(v), s = v->view.stage, xl = expanded_layer(v);
    const VizDerived *d = &v->run.d;
    char line[600], name[64], nin[64], nout[64];
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    double lh = gfx_line_h(g), asc = gfx_ascent(g);
    if (y + lh > r.y + r.h) return;
    /* you are here: the stage (or the selected layer), what it does, its input and output */
    TensorKind ki, ko;
    int li, lo;
    const char *what = "";
    int shown_stage = s >= 0 ? s : viz_stage_at(xl, SUB_ATTN);
    stage_io(v, shown_stage, &ki, &li, &ko, &lo, &what);
    viz_stage_name(v, shown_stage, name, sizeof name);
    snprintf(line, sizeof line, "you are here: %s (position %d) \xE2\x80\x94 %s", name, q, what);
    gfx_font(g, FONT_SANS, g->fs * 0.85, 1);
    gfx_color(g, GFX_ACCENT);
    gfx_text_fit(g, in.x, y + asc, line, in.w, 0);
    y += lh * 1.2;
    const Trace *tr = &v->run.gen.trace;
    int C = v->run.gen.model.cfg.n_embd;
    if (y + lh * 2.4 <= r.y + r.h) { /* the vectors in and out, with their norms */
        gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
        double nw = g->fs * 13;
        for (int i = 0; i < 2; i++) {
            TensorKind k = i ? ko : ki;
            int layer = i ? lo : li;
            if (k == TK_COUNT) continue;
            const float *a = viz_tensor(v, k, layer, q);
            if (!a) continue;
            int len = k == TK_LOGITS || k == TK_PROBS ? v->run.gen.model.cfg.n_vocab : C;
            trace_name(tr, trace_id(tr, k, layer), i ? nout : nin, sizeof nin);
            snprintf(line, sizeof line, "%s %s", i ? "out" : "in ", i ? nout : nin);
            gfx_color(g, GFX_INK);
            gfx_text_fit(g, in.x, y + asc, line, nw - pad, 0);
            double nrm = vec_norm(a, len);
            snprintf(line, sizeof line, "\xE2\x80\x96x\xE2\x80\x96 = %.2f", nrm);
            gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
            double tw = fmax(gfx_text_w(g, line), gfx_text_w(g, "\xE2\x80\x96x\xE2\x80\x96 = 0000.00"));
            if (in.w - nw - tw - pad > g->fs * 3) {
                gfx_vector(g, (Rect){in.x + nw, y, in.w - nw - tw - pad, lh}, a, len);
                gfx_color(g, GFX_INK);
                gfx_text(g, in.x + in.w, y + asc, line, 1);
            }
            y += lh * 1.2;
        }
    }
    if (d->epoch < 0 || d->pos != q) return;
    /* per block: the residual stream's norm after attention and after the block, and the lens */
    double row = lh * 1.15;
    int L = d->n_layers, fit = (int)((r.y + r.h - y - pad) / row) - 1;
    if (fit < 1) return;
    /* room to spare (a few blocks, the view alone): the table as large as fills it, up to 1.6 times (2.5
     * in presenter mode, where a four-block model's table would otherwise leave a third of the room
     * empty) */
    const double most = v->view.presenter ? 2.5 : 1.6;
    double k = fmin(fmin(most, (r.y + r.h - y - pad) / ((L + 2.5) * row)), (in.w - g->fs * 8) / (g->fs * 22)); /* and the width */
    if (k > 1) {
        row *= k;
        fit = (int)((r.y + r.h - y - pad) / row) - 1;
        gfx_font(g, FONT_MONO, g->fs * 0.8 * k, 0);
        asc = gfx_ascent(g);
    } else {
        k = 1;
    }
    /* presenter mode, every block shown and room still to spare (the width stopped the text growing):
     * the rows spaced out over the room, up to 1.8 times apart */
    double spread = (r.y + r.h - y - pad) / ((L + 2.5) * row);
    if (v->view.presenter && fit > L && spread > 1) {
        row *= fmin(spread, 1.8);
        fit = (int)((r.y + r.h - y - pad) / row) - 1;
    }
    gfx_font(g, FONT_SANS, g->fs * 0.8 * k, 1);
    gfx_color(g, GFX_MUTED);
    double c0 = in.x, c1 = in.x + g->fs * 4 * k, c2 = c1 + g->fs * 9 * k, c3 = c2 + g->fs * 9 * k;
    if (c3 + g->fs * 6 > in.x + in.w) return;
    gfx_text_fit(g, c0, y + asc, "block", c1 - c0 - pad, 0);
    gfx_text_fit(g, c1, y + asc, "\xE2\x80\x96resid_mid\xE2\x80\x96", c2 - c1 - pad, 0);
    gfx_text_fit(g, c2, y + asc, "\xE2\x80\x96resid_out\xE2\x80\x96", c3 - c2 - pad, 0);
    gfx_text_fit(g, c3, y + asc, gfx_text_w(g, "logit lens: top token after the block") <= in.x + in.w - c3 ? "logit lens: top token after the block"
                                                                                                  : "logit lens",
                 in.x + in.w - c3, 0);
    y += row;
    int first = L > fit ? xl - fit / 2 : 0;
    if (first > L - fit) first = L - fit;
    if (first < 0) first = 0;
    if (first == 0 && fit > L) { /* the blocks' input first */
        gfx_font(g, FONT_MONO, g->fs * 0.8 * k, 0);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, c0, y + asc, "embed", c1 - c0 - pad, 0);
        snprintf(line, sizeof line, "%.2f", d->embed_norm);
        gfx_text_fit(g, c2, y + asc, line, c3 - c2 - pad, 0);
        y += row;
        fit--;
    }
    for (int l = first; l < L && l < first + fit; l++) {
        gfx_font(g, FONT_MONO, g->fs * 0.8 * k, l == xl);
        gfx_color(g, l == xl ? GFX_ACCENT : GFX_INK);
        snprintf(line, sizeof line, "h.%d", l);
        gfx_text_fit(g, c0, y + asc, line, c1 - c0 - pad, 0);
        snprintf(line, sizeof line, "%.2f", d->norm_mid[l]);
        gfx_text_fit(g, c1, y + asc, line, c2 - c1 - pad, 0);
        snprintf(line, sizeof line, "%.2f", d->norm_out[l]);
        gfx_text_fit(g, c2, y + asc, line, c3 - c2 - pad, 0);
        if (d->lens_id[l] >= 0) {
            char piece[128];
            viz_piece(v, d->lens_id[l], piece, sizeof piece);
            snprintf(line, sizeof line, "%s  %.1f%%", piece, 100 * d->lens_p[l]);
            gfx_text_fit(g, c3, y + asc, line, in.x + in.w - c3, 0);
        }
        y += row;
    }
}
