/* view_attention.c - one head's query x key heatmap (raw scores, masked scores or softmax weights), with
 * zoom and pan for long texts, exact numbers on hover, and the cell panel: every number of how one
 * weight is computed, from the trace's q and k (viz_cell_breakdown). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vizint.h"

/* The value shown for (query, key) in the current mode: 1 kept, 2 a raw score the mask removes,
 * 0 nothing (masked, or the key did not exist when the query ran). */
static int att_value(const VizState *v, int q, int k, float *out) {
    TensorKind kind = v->view.att == ATT_SCORES ? TK_SCORES : v->view.att == ATT_MASKED ? TK_MASKED : TK_WEIGHTS;
    const float *row = viz_tensor_shown(v, kind, v->view.layer, q);
    if (!row) return 0;
    int K = v->run.gen.trace.pos[q].n_keys;
    if (k >= K) return 0;
    *out = row[(size_t)v->view.head * K + k];
    if (k > q) return v->view.att == ATT_SCORES ? 2 : 0;
    return isfinite(*out) ? 1 : 0;
}

/* Whether the heatmap shows ablated - clean (a diverging scale, weights included). */
static int showing_diff(const VizState *v) {
    return v->view.run_shown == RUN_DIFF && viz_comparing(v);
}

static Rgb att_color(const Gfx *g, const VizState *v, float x, float scale) {
    return v->view.att == ATT_WEIGHTS && !showing_diff(v) ? gfx_seq(g, x) : gfx_div(g, x / scale);
}


/* The cell panel: a title, the q and k strips, then its nine numbers' lines in as many columns as the
 * width allows (one number a line). In presenter mode a line that does not fit its column goes on over
 * more, at an equals sign where it can ("exp(score - row max)", "  = exp(-10.740099)", "  = 2.16588e-05"):
 * a narrower panel leaves the heatmap more room, and no number is ever cut. */
#define PANEL_LINES 9
#define PANEL_SPLITS 5 /* lines the splits can add in presenter mode, at the narrowest panel */
static double panel_line_w(Gfx *g) {
    gfx_font(g, FONT_MONO, g->fs * 0.85, 0);
    return gfx_text_w(g, g->presenter ? "row max (kept keys) = -123.4567" : "exp(score \xE2\x88\x92 row max) = exp(-10.0000) = 0.000123456") +
           g->fs;
}

static int panel_cols(Gfx *g, double w) {
    int cols = (int)((w - g->fs) / panel_line_w(g));
    return cols < 1 ? 1 : cols > 3 ? 3 : cols;
}

double cell_panel_h(Gfx *g, double w) {
    gfx_font(g, FONT_MONO, g->fs * 0.85, 0);
    double lh = gfx_line_h(g) * 1.3;
    int n = PANEL_LINES + (g->presenter ? PANEL_SPLITS : 0), rows = (n + panel_cols(g, w) - 1) / panel_cols(g, w);
    return g->fs * 0.5 + lh * (4 + (g->presenter ? 1 : 0) + rows) + g->fs * 0.5; /* the title may take two lines (three in
                                                                                  * presenter mode) */
}

/* One of the panel's lines as lines of at most w (the current font): broken before an " = " where one
 * fits, else at a space; the lines after the first indented. Returns how many (at most max). */
static int wrap_line(Gfx *g, const char *line, double w, char (*out)[256], int max) {
    int n = 0;
    char rest[256];
    snprintf(rest, sizeof rest, "%s", line);
    while (n < max) {
        if (n == max - 1 || gfx_text_w(g, rest) <= w) {
            snprintf(out[n++], 256, "%s", rest);
            break;
        }
        size_t len = strlen(rest), cut = 0, cut_eq = 0;
        for (size_t i = 1; i < len; i++) {
            if (rest[i] != ' ') continue;
            char head[256];
            snprintf(head, sizeof head, "%.*s", (int)i, rest);
            if (gfx_text_w(g, head) > w) break;
            cut = i;
            if (!strncmp(rest + i, " = ", 3)) cut_eq = i;
        }
        if (cut_eq) cut = cut_eq;
        if (!cut) { /* one word wider than the line: cut, as any text that does not fit */
            snprintf(out[n++], 256, "%s", rest);
            break;
        }
        snprintf(out[n++], 256, "%.*s", (int)cut, rest);
        char next[256];
        snprintf(next, sizeof next, "  %s", rest + cut + 1);
        snprintf(rest, sizeof rest, "%s", next);
    }
    return n;
}

/* The panel's number lines as shown in a panel w wide (lines[1..nl): lines[0] is its title), in presenter
 * mode wrapped to their column; the mono font selected. Returns how many, and their columns in *cols. */
static int panel_shown(Gfx *g, double w, char (*lines)[256], int nl, char (*shown)[256], int cap, int *cols) {
    gfx_font(g, FONT_MONO, g->fs * 0.85, 0);
    *cols = panel_cols(g, w);
    double pad = g->fs * 0.5, cw = (w - 2 * pad) / *cols;
    int ns = 0;
    for (int i = 1; i < nl && ns < cap; i++) {
        if (g->presenter) ns += wrap_line(g, lines[i], cw - pad, shown + ns, cap - ns);
        else snprintf(shown[ns++], 256, "%s", lines[i]);
    }
    return ns;
}

#define PANEL_SHOWN (PANEL_LINES + PANEL_SPLITS + 4)

/* The panel's height for this cell at width w: its own lines counted in presenter mode (where they
 * wrap), cell_panel_h's estimate otherwise. */
static double panel_h_for(VizState *v, Gfx *g, double w, const CellBreakdown *cb) {
    if (!g->presenter || !cb) return cell_panel_h(g, w);
    char lines[12][256], shown[PANEL_SHOWN][256];
    int nl = viz_cell_lines(v, cb, lines, 12), cols, ns = panel_shown(g, w, lines, nl, shown, PANEL_SHOWN, &cols);
    double lh = gfx_line_h(g) * 1.3;
    return g->fs * 0.5 + lh * (5 + (ns + cols - 1) / cols) + g->fs * 0.5; /* the title over up to three lines */
}

double cell_panel_min_w(Gfx *g) { return panel_line_w(g) + g->fs; }

void view_attention(VizState *v, Gfx *g, Rect r, int alone) {
    static const char *MODE[3] = {("raw scores q\xC2\xB7k/\xE2\x88\x9A" "d"), "masked scores", "weights (softmax)"};
    char title[256], note[160];
    gfx_panel(g, r);
    if (!v->run.loaded) return;
    int n = viz_n_shown(v), qsel = viz_query_pos(v);
    double pad = g->fs * 0.5;
    double top = r.y + gfx_title_h(g);
    /* label sizes: the widest piece among the shown positions, within limits */
    gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
    double lab_h = gfx_line_h(g);
    double label_w = fmin(fmax(g->fs * 3, r.w * 0.2), g->fs * 7.5);
    if (v->view.presenter && n <= 64) { /* presenter mode, a short text: as wide as its widest piece needs,
                                         * the room left to the heatmap */
        double widest = 0;
        char piece[200], lab[220];
        for (int p = 0; p < n; p++) { /* with its position, as when the labels are thinned */
            viz_piece_at(v, p, piece, sizeof piece);
            snprintf(lab, sizeof lab, "%d %s", p, piece);
            widest = fmax(widest, gfx_text_w(g, lab));
        }
        label_w = fmin(label_w, fmax(g->fs * 3, widest + g->fs));
    }
    double band_h = fmin(label_w, (r.h - (top - r.y)) * 0.22); /* the rotated key labels */
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    double legend_w = fmax(gfx_text_w(g, "\xE2\x88\x92" "88.88"), gfx_text_w(g, "masked")) + g->fs * 1.6;
    if (v->view.att == ATT_SCORES) /* the note under the legend is part of it: the cell panel goes beyond it */
        legend_w = fmax(legend_w, fmax(gfx_text_w(g, "(faded: score"), gfx_text_w(g, "the mask drops)")) + pad);
    double avail_w = r.w - label_w - legend_w - 3 * pad, avail_h = r.y + r.h - top - band_h - lab_h - 2 * pad;
    /* the cell panel's place, whether or not a cell is selected (so that selecting one moves nothing):
     * beside the heatmap when the panel is wide, else below it; in the whole window it is drawn in the
     * vectors' place instead (draw.c) */
    double ph = 0, pw = 0;
    int beside = 0;
    double ph_below = 0, panel_fs = g->fs;
    /* presenter mode: no room kept for a panel nobody asked for - the heatmap as large as it can be */
    if (alone && !(v->view.presenter && v->view.key < 0)) {
        /* the panel's text as large as leaves the heatmap a third of the room (presenter mode on a 4:3
         * projector: its body size left the heatmap a thumbnail), down to the smallest text allowed */
        const double body = g->fs;
        /* the room the heatmap keeps: a third; in presenter mode, where the heatmap is what the room
         * looks at, nine tenths of what it would have alone (the panel's text no smaller than the
         * smallest allowed, H/40) */
        const double want = fmin(avail_w, avail_h) * (v->view.presenter ? 0.9 : 1.0 / 3);
        double side_beside = 0, side_below = 0;
        CellBreakdown sel, *selp = v->view.key >= 0 && viz_cell_breakdown(v, qsel, v->view.key, &sel) == 0 ? &sel : NULL;
        for (panel_fs = body;; panel_fs *= v->view.presenter ? 0.95 : 0.9) {
            if (panel_fs < g->fs_min) panel_fs = g->fs_min;
            g->fs = panel_fs;
            pw = cell_panel_min_w(g);
            ph_below = panel_h_for(v, g, r.w - 2 * pad, selp);
            double ph_beside = panel_h_for(v, g, pw, selp);
            g->fs = body;
            side_beside = fmin(avail_w - pw - 2 * pad, avail_h), side_below = fmin(avail_w, avail_h - ph_below - pad);
            if (v->view.presenter && ph_beside > r.y + r.h - top - pad) side_beside = 0; /* its lines would not all show */
            if (fmax(side_beside, side_below) >= want || panel_fs <= g->fs_min) break;
        }
        beside = side_beside >= side_below;
        /* a heatmap under half its room in presenter mode is a thumbnail nobody at the back can read */
        const double too_small = v->view.presenter ? fmax(g->fs * 4, want / 2) : g->fs * 4;
        if (fmax(side_beside, side_below) < too_small && selp) {
            /* a cell chosen and no room for both at a readable size (presenter mode on a 4:3 projector): the
             * computation being talked about fills the view, at least in the body size; Esc goes back to
             * the heatmap */
            char t[200];
            snprintf(t, sizeof t, "Attention \xE2\x80\x94 layer %d \xC2\xB7 head %d: one weight, worked out", v->view.layer, v->view.head);
            gfx_panel_title(g, r, t, "Esc: back to the heatmap");
            /* in presenter mode as large as the view holds it, up to 1.6 times the body size */
            const double room_h = r.y + r.h - top - pad, pw_all = r.w - 2 * pad;
            double fs = body;
            for (g->fs = body * 1.05; g->presenter && g->fs <= body * 1.6 && panel_h_for(v, g, pw_all, selp) <= room_h; g->fs *= 1.05) fs = g->fs;
            g->fs = fs;
            view_cell_panel(v, g, (Rect){r.x + pad, top + pad * 0.5, pw_all, fmin(panel_h_for(v, g, pw_all, selp), room_h)}, selp);
            g->fs = body;
            return;
        }
        if (fmax(side_beside, side_below) < g->fs * 2) beside = 0, ph = 0; /* no room for both: the heatmap first, the
                                                                           * panel over its foot when a cell is chosen */
        else if (beside) avail_w -= pw + 2 * pad;
        else avail_h -= ph_below + pad, ph = ph_below;
    }
    double side = fmin(avail_w, avail_h);
    if (side < g->fs * 2) {
        gfx_panel_title(g, r, "Attention", NULL);
        return;
    }
    /* cells readable by default; as small as a pixel when a zoom was asked for (+, -, Z) */
    double min_cell = v->view.zoom != 0 ? 1 : fmax(4, g->fs * 0.3);
    int fit = (int)(side / min_cell), first, count;
    viz_heatmap_window(v, fit, &first, &count);
    v->ui.heat_shown = count;
    double cell = fmin(side / count, g->fs * 3);
    const char *run = viz_run_label(v);
    char where[96] = ""; /* which positions, in the title itself (a narrow panel has no room for the note) */
    if (count < n) snprintf(where, sizeof where, " \xC2\xB7 positions %d\xE2\x80\x93%d of %d", first, first + count - 1, n);
    snprintf(title, sizeof title, "Attention%s%s%s \xE2\x80\x94 layer %d \xC2\xB7 head %d%s%s \xC2\xB7 %s", run ? " (" : "", run ? run : "",
             run ? ")" : "", v->view.layer, v->view.head,
             !viz_head_ablated(v, v->view.layer, v->view.head) ? ""
             : v->run.gen.state.iv.mode == ABLATE_MEAN ? " (knocked out: its output is its mean)" : " (knocked out: its output is zero)",
             where, MODE[v->view.att]);
    if (count < n) snprintf(note, sizeof note, "+/\xE2\x88\x92 zoom \xC2\xB7 Z: every position \xC2\xB7 wheel pans");
    else if (run) snprintf(note, sizeof note, "D: ablated / clean / difference \xC2\xB7 A: scores/masked/weights");
    else snprintf(note, sizeof note, "A: scores/masked/weights \xC2\xB7 G: all heads");
    gfx_panel_title(g, r, title, note);
    viz_add_hit(v, HIT_GRID, (Rect){r.x, r.y, r.w, top - r.y}, v->view.layer, v->view.head); /* right-click: knock it out */
    /* keys before the window: one more column, left of the grid, with their total weight (or their
     * largest score), so that no row's attention goes unseen when zoomed */
    double hid_w = first > 0 ? fmax(cell, g->fs * 1.2) : 0, hid_gap = first > 0 ? pad * 0.6 : 0;
    double gx = r.x + label_w + pad + hid_w + hid_gap, gy = top + pad;
    Rect grid = {gx, gy, count * cell, count * cell};
    /* the masked region (keys after the query) hatched as one staircase */
    cairo_save(g->cr);
    for (int i = 0; i < count; i++) {
        int q = first + i, k0 = q + 1 - first; /* first masked column */
        if (k0 < count) cairo_rectangle(g->cr, gx + (k0 > 0 ? k0 : 0) * cell, gy + i * cell, (count - (k0 > 0 ? k0 : 0)) * cell, cell);
    }
    cairo_clip(g->cr);
    gfx_hatch(g, grid);
    cairo_restore(g->cr);
    float scale = 1e-6f;
    for (int i = 0; i < count; i++)
        for (int j = 0; j < count; j++) {
            float x;
            if (att_value(v, first + i, first + j, &x) == 1 && fabsf(x) > scale) scale = fabsf(x);
        }
    uint32_t *px = xcalloc((size_t)count * count, sizeof(uint32_t));
    for (int i = 0; i < count; i++)
        for (int j = 0; j < count; j++) {
            float val;
            int st = att_value(v, first + i, first + j, &val);
            if (st == 1) px[(size_t)i * count + j] = gfx_argb(att_color(g, v, val, scale), 1);
            else if (st == 2 && isfinite(val)) px[(size_t)i * count + j] = gfx_argb(att_color(g, v, val, scale), 0.45);
        }
    gfx_cells(g, grid, px, count, count);
    free(px);
    if (first > 0) {
        for (int i = 0; i < count; i++) {
            TensorKind kind = v->view.att == ATT_SCORES ? TK_SCORES : v->view.att == ATT_MASKED ? TK_MASKED : TK_WEIGHTS;
            int q = first + i, K = v->run.gen.trace.pos[q].n_keys;
            const float *row = viz_tensor_shown(v, kind, v->view.layer, q);
            if (!row) continue;
            double acc = v->view.att == ATT_WEIGHTS ? 0 : -INFINITY;
            for (int k = 0; k < first && k < K; k++) {
                float x = row[(size_t)v->view.head * K + k];
                if (v->view.att == ATT_WEIGHTS) acc += x;
                else if (x > acc) acc = x;
            }
            Rgb col = att_color(g, v, (float)acc, scale);
            gfx_fill(g, (Rect){gx - hid_gap - hid_w, gy + i * cell, hid_w, cell}, col);
        }
        gfx_stroke(g, (Rect){gx - hid_gap - hid_w, gy, hid_w, count * cell}, GFX_MUTED, 1);
    }
    viz_add_hit(v, HIT_CELL, grid, first, count); /* the cell comes from where the mouse is */
    /* the selected query row, highlighted cells, the selected cell */
    if (qsel >= first && qsel < first + count)
        gfx_stroke(g, (Rect){gx, gy + (qsel - first) * cell, count * cell, cell}, GFX_ACCENT, fmax(1.5, g->fs * 0.12));
    for (int i = 0; i < v->view.n_hl_cells; i++) {
        int q = v->view.hl_cells[i][0], k = v->view.hl_cells[i][1];
        if (q >= first && q < first + count && k >= first && k < first + count)
            gfx_stroke(g, (Rect){gx + (k - first) * cell, gy + (q - first) * cell, cell, cell}, GFX_HILITE, fmax(2, g->fs * 0.2));
    }
    if (v->view.key >= first && v->view.key < first + count && qsel >= first && qsel < first + count)
        gfx_stroke(g, (Rect){gx + (v->view.key - first) * cell, gy + (qsel - first) * cell, cell, cell}, GFX_INK, fmax(2, g->fs * 0.18));
    /* axis labels, each centred on its own row / column; thinned to every `every`-th when cells are
     * smaller than a label, always including the query */
    gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
    int every = cell >= lab_h * 1.1 ? 1 : (int)ceil(lab_h * 1.1 / cell);
    char label[256];
    for (int i = 0; i < count; i++) {
        int p = first + i;
        int show = p == qsel || (i % every == 0 && abs(p - qsel) >= every);
        if (!show) continue;
        char piece[200];
        viz_piece_at(v, p, piece, sizeof piece);
        if (every > 1 || first > 0) snprintf(label, sizeof label, "%d %s", p, piece); /* thinned: say where */
        else snprintf(label, sizeof label, "%s", piece);
        gfx_color(g, p == qsel ? GFX_ACCENT : GFX_INK);
        gfx_text_fit(g, gx - hid_w - hid_gap - pad * 0.6, gy + i * cell + cell / 2 + gfx_ascent(g) * 0.4, label, label_w - pad * 0.6, 1);
        gfx_text_up(g, gx + i * cell + cell / 2 + gfx_ascent(g) * 0.4, gy + count * cell + lab_h * 0.6, label, band_h - lab_h * 0.6);
    }
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    gfx_color(g, GFX_MUTED);
    double ax = gx - hid_w - hid_gap - pad * 0.6, ay = gy + count * cell + lab_h * 0.6 + gfx_ascent(g);
    gfx_text_fit(g, ax, ay, "query \xE2\x86\x93", label_w - pad, 1);
    gfx_text_fit(g, ax, ay + gfx_line_h(g), "key \xE2\x86\x92", label_w - pad, 1);
    if (first > 0) { /* the column of the keys before the window */
        char h[64];
        snprintf(h, sizeof h, "%s 0\xE2\x80\x93%d", v->view.att == ATT_WEIGHTS ? "\xCE\xA3" : "max", first - 1);
        gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
        gfx_text_up(g, gx - hid_gap - hid_w / 2 + gfx_ascent(g) * 0.4, gy + count * cell + lab_h * 0.6, h, band_h - lab_h * 0.6);
    }
    /* legend: the colour bar with its range, and what the hatching means */
    double lx = gx + count * cell + pad * 2, lh = fmin(count * cell, g->fs * 10), bar = g->fs * 0.8;
    if (lh < g->fs * 3) lh = g->fs * 3;
    for (int i = 0; i < 64; i++) {
        double t = 1 - i / 63.0;
        gfx_fill(g, (Rect){lx, gy + lh * i / 64.0, bar, lh / 64.0 + 0.5}, v->view.att == ATT_WEIGHTS && !showing_diff(v) ? gfx_seq(g, t) : gfx_div(g, 2 * t - 1));
    }
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    gfx_color(g, GFX_INK);
    char lo[32], hi[32];
    if (v->view.att == ATT_WEIGHTS && !showing_diff(v)) snprintf(hi, sizeof hi, "1"), snprintf(lo, sizeof lo, "0");
    else snprintf(hi, sizeof hi, "+%.2f", scale), snprintf(lo, sizeof lo, "\xE2\x88\x92%.2f", scale);
    double lw = r.x + r.w - (lx + bar + pad * 0.5) - pad * 0.5;
    gfx_text_fit(g, lx + bar + pad * 0.5, gy + gfx_ascent(g), hi, lw, 0);
    gfx_text_fit(g, lx + bar + pad * 0.5, gy + lh, lo, lw, 0);
    double sy = gy + lh + pad;
    gfx_hatch(g, (Rect){lx, sy, bar, bar});
    gfx_color(g, GFX_INK);
    gfx_text_fit(g, lx + bar + pad * 0.5, sy + bar, "masked", lw, 0);
    if (v->view.att == ATT_SCORES) {
        gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
        gfx_color(g, GFX_MUTED);
        gfx_text_fit(g, lx, sy + bar + gfx_line_h(g) * 1.1, "(faded: score", legend_w, 0);
        gfx_text_fit(g, lx, sy + bar + gfx_line_h(g) * 2.1, "the mask drops)", legend_w, 0);
    }
    /* hover: the exact numbers of one cell */
    const Hit *hh = viz_hover_hit(v, HIT_CELL);
    if (hh) {
        int q = first + (int)((v->ui.mouse_y - gy) / cell), k = first + (int)((v->ui.mouse_x - gx) / cell);
        if (q >= first + count) q = first + count - 1;
        if (k >= first + count) k = first + count - 1;
        int K = v->run.gen.trace.pos[q].n_keys, h = v->view.head;
        const float *rs = viz_tensor_shown(v, TK_SCORES, v->view.layer, q), *rw = viz_tensor_shown(v, TK_WEIGHTS, v->view.layer, q);
        char tip[200], ns[32], nw[32];
        if (showing_diff(v) && rs && rw && k < K && k <= q)
            snprintf(tip, sizeof tip, "query %d \xE2\x86\x92 key %d: ablated \xE2\x88\x92 clean: score %s, weight %s", q, k,
                     viz_num4(rs[(size_t)h * K + k], 1, ns, sizeof ns), viz_num4(rw[(size_t)h * K + k], 1, nw, sizeof nw));
        else if (rs && rw && k < K && k <= q)
            snprintf(tip, sizeof tip, "query %d \xE2\x86\x92 key %d: score %.4f, weight %s", q, k, rs[(size_t)h * K + k],
                     viz_num4(rw[(size_t)h * K + k], 0, nw, sizeof nw));
        else if (rs && k < K)
            snprintf(tip, sizeof tip, "query %d \xE2\x86\x92 key %d: score %.4f, masked (key after the query): weight 0", q, k, rs[(size_t)h * K + k]);
        else snprintf(tip, sizeof tip, "query %d \xE2\x86\x92 key %d: masked (key after the query)", q, k);
        gfx_tooltip(g, r, gx + (k - first) * cell, gy + (q - first) * cell, tip);
    }
    CellBreakdown cb;
    if (alone && v->view.key >= 0 && viz_cell_breakdown(v, qsel, v->view.key, &cb) == 0) {
        double right_x = lx + legend_w + pad, pr_w = r.x + r.w - right_x - pad;
        double below_h = ph > 0 ? ph : fmin(ph_below, r.h * 0.6);
        const double body = g->fs;
        g->fs = panel_fs;
        Rect pr = beside ? (Rect){right_x, top, pr_w, fmin(panel_h_for(v, g, pr_w, &cb), r.y + r.h - top - pad)}
                         : (Rect){r.x + pad, r.y + r.h - below_h - pad * 0.5, r.w - 2 * pad, below_h};
        view_cell_panel(v, g, pr, &cb);
        g->fs = body;
    }
}


void view_cell_panel(VizState *v, Gfx *g, Rect r, const CellBreakdown *c) {
    gfx_fill(g, r, (Rgb){0.95, 0.96, 0.99});
    gfx_stroke(g, r, GFX_ACCENT, 1);
    char lines[12][256];
    int nl = viz_cell_lines(v, c, lines, 12);
    double pad = g->fs * 0.5, x = r.x + pad, w = r.w - 2 * pad;
    gfx_font(g, FONT_SANS, g->fs * 0.9, 1);
    double y = r.y + pad + gfx_ascent(g);
    gfx_color(g, GFX_INK);
    char *at = strstr(lines[0], " attends to ");
    if (g->presenter && gfx_text_w(g, lines[0]) > w && at) { /* who, then to whom, over as many lines as it takes */
        char first[256], title[3][256];
        snprintf(first, sizeof first, "%.*s", (int)(at - lines[0]), lines[0]);
        gfx_text_fit(g, x, y, first, w, 0);
        int nt = wrap_line(g, at + 1, w, title, 2);
        for (int i = 0; i < nt; i++) {
            y += gfx_line_h(g);
            gfx_text_fit(g, x, y, i ? title[i] + 2 : title[i], w, 0); /* the title's own lines are not indented */
        }
    } else if (gfx_text_w(g, lines[0]) > w && at) { /* two lines: who, then to whom */
        char first[256];
        snprintf(first, sizeof first, "%.*s", (int)(at - lines[0]), lines[0]);
        gfx_text_fit(g, x, y, first, w, 0);
        y += gfx_line_h(g);
        gfx_text_fit(g, x, y, at + 1, w, 0);
    } else {
        gfx_text_fit(g, x, y, lines[0], w, 0);
    }
    gfx_font(g, FONT_MONO, g->fs * 0.85, 0);
    double lh = gfx_line_h(g) * 1.3, asc = gfx_ascent(g);
    const Gpt2Config *cfg = &v->run.gen.model.cfg;
    int HS = cfg->n_embd / cfg->n_head;
    const float *qv = viz_tensor(v, TK_Q, c->layer, c->q), *kv = viz_tensor(v, TK_K, c->layer, c->k);
    const char *names[2] = {"q (query)", "k (key)"};
    const float *vecs[2] = {qv + (size_t)c->head * HS, kv + (size_t)c->head * HS};
    double nw = gfx_text_w(g, "q (query) ") + pad;
    for (int i = 0; i < 2; i++) {
        y += lh;
        if (y > r.y + r.h - pad * 0.3) return;
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, x, y, names[i], nw, 0);
        gfx_vector(g, (Rect){x + nw, y - asc, w - nw, gfx_line_h(g)}, vecs[i], HS);
    }
    char shown[PANEL_SHOWN][256];
    int cols, ns = panel_shown(g, r.w, lines, nl, shown, PANEL_SHOWN, &cols);
    double cw = w / cols;
    int rows = (ns + cols - 1) / cols;
    for (int i = 0; i < ns; i++) { /* column by column */
        int col = i / rows, row = i % rows;
        double yy = y + lh * (row + 1);
        if (yy > r.y + r.h - pad * 0.3) continue;
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, x + col * cw, yy, shown[i], cw - pad, 0);
    }
}
